"""ai-serving Pulumi program: per-team private Azure environments for serving AI models."""
