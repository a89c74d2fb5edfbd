"""`python -m witness.provider`: run the stand-in azure-native provider plugin."""

from witness.provider.server import main

main()
