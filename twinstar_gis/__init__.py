"""twinstar_gis: regional planning GIS for the Chifeng-Tongliao "Twin Star" region.

Data flows one way: :mod:`~twinstar_gis.io` reads, :mod:`~twinstar_gis.validate`
checks, :mod:`~twinstar_gis.crs` and :mod:`~twinstar_gis.gcj02` convert,
:mod:`~twinstar_gis.dataset` assembles the embedded regional dataset, and
:mod:`~twinstar_gis.cli` drives it all from the ``twinstar`` command.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twinstar_gis")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

from ._errors import (  # noqa: E402
    CRSError,
    DataSourceError,
    ProjectFileError,
    TwinstarError,
    ValidationError,
)

__all__ = [
    "__version__",
    "TwinstarError",
    "DataSourceError",
    "CRSError",
    "ProjectFileError",
    "ValidationError",
]
