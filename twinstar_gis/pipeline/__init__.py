"""Orchestration: ``twinstar run`` as a library call (check everything, stage, run every step, render, swap).

:mod:`.steps` holds :func:`~twinstar_gis.pipeline.steps.run_all` and the pieces the CLI reuses.
"""

from .steps import run_all

__all__ = ["run_all"]
