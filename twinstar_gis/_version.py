"""The installed version of twinstar_gis (recorded in every run's manifest)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twinstar_gis")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
