"""The ``twinstar`` command line (click): one module per command group."""

from .main import cli

__all__ = ["cli"]
