"""The engine: the only tooling code that touches Pulumi runtime internals.

Loads a project and stack config as the engine does (project), runs the program in-process under
mocks (runner, mocks), and drives the policy pack over its gRPC analyzer protocol (analyzer,
pack_zygote). Imports neither reports nor org.
"""
