"""Shared fixtures: the embedded dataset is built once per test session."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from twinstar_gis.cli import cli
from twinstar_gis.data.dataset import build_dataset, load_dataset


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    gpkg, report = build_dataset(out)
    return gpkg, report


@pytest.fixture(scope="session")
def ds(built):
    return load_dataset(built[0])


@pytest.fixture()
def run(tmp_path, monkeypatch):
    """Run the CLI in an empty working folder; returns the click Result."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def _run(*args):
        return runner.invoke(cli, [str(a) for a in args])

    return _run
