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
    """Base class of all twinstar_gis errors.

    Raised as such only where no narrower class fits (e.g. an unknown figure
    format).  ``except TwinstarError`` catches every error the library raises
    on purpose; the ``twinstar`` command prints its message and exits with
    code 2, without a traceback.

    Examples
    --------
    >>> try:
    ...     raise PlanningError("unknown county adcode(s) ['150499']")
    ... except TwinstarError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError), exc)
    PlanningError True unknown county adcode(s) ['150499']
    """


class DataSourceError(TwinstarError, OSError):
    """A file is missing, unreadable, or not in a format we can open.

    Also an :class:`OSError`.  Raised when reading layers, project files, DEMs,
    OSM extracts and offline map assets: the message names the file (and
    layer) and says what to do (copy or export it again, give the right
    ``encoding``, ...).
    """


class CRSError(TwinstarError, ValueError):
    """A layer has no CRS, or a CRS / coordinate system we cannot use.

    Also a :class:`ValueError`.  Raised when a layer or DEM comes without a
    CRS and none is given, or names an unknown ``coord_system``: declare the
    CRS (``crs = "EPSG:4547"``) or the coordinate system (``gcj02`` for
    Amap, ``bd09`` for Baidu) in the project file.
    """


class ProjectFileError(TwinstarError, ValueError):
    """A project file (TOML / YAML) is malformed or names unknown things.

    Also a :class:`ValueError`.  The message names the file and the key
    (unknown layer kind, unknown option, a column mapping that does not
    exist, ...).
    """


class ValidationError(TwinstarError, ValueError):
    """One or more layers failed validation.

    Also a :class:`ValueError`.  Validation gathers every problem of every
    layer first and raises once, so a planner sees the whole list.

    Parameters
    ----------
    problems : list of str or str
        Every problem found, each naming the file / layer and feature ids.

    Attributes
    ----------
    problems : list of str
        The problems, in the order given.

    Examples
    --------
    >>> err = ValidationError(["parks: missing park_id for rows 3, 7", "parks: invalid geometry for P04"])
    >>> print(err)
    2 validation problems:
      - parks: missing park_id for rows 3, 7
      - parks: invalid geometry for P04
    >>> len(err.problems)
    2
    """

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} validation problem{'s' if n != 1 else ''}:"
        super().__init__("\n".join([head, *("  - " + p for p in self.problems)]))


class SettingsError(TwinstarError, ValueError):
    """A setting has an unknown name or an impossible value.

    Also a :class:`ValueError`.  Raised for ``--set NAME=VALUE``, a project's
    ``[settings]`` and settings built in code; the message names the setting
    and the values it accepts.
    """


class AccessError(TwinstarError, ValueError):
    """A source or point the travel-time model cannot place (unknown id, off the grid, outside the region).

    Also a :class:`ValueError`.  Raised by the travel-time model
    (:mod:`twinstar_gis.model.traveltime`): use a ``place_id``, ``park_id`` or
    station ``node_id`` it knows, or points inside the study region.
    """


class PlanningError(TwinstarError, ValueError):
    """Bad input to a planning analysis (unknown county, missing column, impossible setting).

    Also a :class:`ValueError`.  Raised by :mod:`twinstar_gis.planning` and by
    the planning section of the settings.
    """


class RunFolderError(TwinstarError, OSError):
    """A run folder has no manifest, or its files do not match the manifest.

    Also an :class:`OSError`.  Raised when a run folder is opened (maps,
    figures, the brief): the message names the folder and the missing or
    changed file; run ``twinstar run`` again to rebuild it.
    """


class FontNotFoundError(TwinstarError, LookupError):
    """No font with Chinese glyphs is installed.

    Also a :class:`LookupError`.  Raised before any print figure is drawn, so
    no figure is written with missing glyphs; install a CJK font (e.g. Noto
    Sans CJK) and render again.
    """


class ResourceError(TwinstarError, MemoryError):
    """A step would need more memory (or cells, or pixels) than the budget allows; refused before allocating.

    Also a :class:`MemoryError`.  Raised by
    :func:`twinstar_gis.resources.check_memory`; the message gives the
    estimate, the budget (``Settings.memory_budget_gib``), the setting to
    change (e.g. a coarser grid) and how to raise the budget
    (``--set memory_budget_gib=N``).
    """
