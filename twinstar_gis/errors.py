"""Error family of twinstar_gis: every error class of the package, in one module.

Every error the library raises on purpose derives from :class:`TwinstarError`
and also from the builtin that best describes it, so callers can catch either.
The CLI turns any :class:`TwinstarError` into one message and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "TwinstarError",
    "DataSourceError",
    "CRSError",
    "ValidationError",
    "ProjectFileError",
    "SettingsError",
    "AccessError",
    "PlanningError",
    "RunFolderError",
    "FontNotFoundError",
    "ResourceError",
]


class TwinstarError(Exception):
    """Base class of all twinstar_gis errors."""


class DataSourceError(TwinstarError, OSError):
    """A file is missing, unreadable, or not in a format we can open."""


class CRSError(TwinstarError, ValueError):
    """A layer has no CRS, or a CRS / coordinate system we cannot use."""


class ProjectFileError(TwinstarError, ValueError):
    """A project file (TOML / YAML) is malformed or names unknown things."""


class ValidationError(TwinstarError, ValueError):
    """One or more layers failed validation.

    Parameters
    ----------
    problems : list of str
        Every problem found, each naming the file / layer and feature ids.
    """

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} validation problem{'s' if n != 1 else ''}:"
        super().__init__("\n".join([head, *("  - " + p for p in self.problems)]))


class SettingsError(TwinstarError, ValueError):
    """A setting has an unknown name or an impossible value."""


class AccessError(TwinstarError, ValueError):
    """A source or point the travel-time model cannot place (unknown id, off the grid, outside the region)."""


class PlanningError(TwinstarError, ValueError):
    """Bad input to a planning analysis (unknown county, missing column, impossible setting)."""


class RunFolderError(TwinstarError, OSError):
    """A run folder has no manifest, or its files do not match the manifest."""


class FontNotFoundError(TwinstarError, LookupError):
    """No font with Chinese glyphs is installed."""


class ResourceError(TwinstarError, MemoryError):
    """A step would need more memory (or cells, or pixels) than the budget allows; refused before allocating."""
