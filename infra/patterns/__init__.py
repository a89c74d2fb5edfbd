"""Builders that turn the stack config into components; ``environment.py`` calls them in order.

Each builder owns one layer and returns ``(component or None, stack exports)``.
"""

from .foundation import build_foundation
from .gpu_pool import build_gpu_pool
from .openai import build_openai

__all__ = ["build_foundation", "build_gpu_pool", "build_openai"]
