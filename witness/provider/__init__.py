"""The witness's stand-in azure-native provider (see logic.py for what it answers and why)."""
