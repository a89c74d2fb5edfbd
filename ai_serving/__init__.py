"""ai-serving tooling: the offline plan runner, policy driver, reports and CLI.

Nothing here is imported by the Pulumi program (infra/); the tooling drives the program from outside.
"""
