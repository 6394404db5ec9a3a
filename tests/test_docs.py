"""The documentation stays true: CLI reference matches the CLI; the data dictionary names every attribute."""

from pathlib import Path

from twinstar_gis.cli.reference import reference
from twinstar_gis.data.schema import LAYERS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_cli_reference_is_current():
    assert (DOCS / "cli.md").read_text(encoding="utf-8").strip() == reference().strip(), \
        "docs/cli.md is stale: python -m twinstar_gis.cli.reference > docs/cli.md"


def test_data_dictionary_covers_every_layer_and_attribute(ds):
    text = (DOCS / "data_dictionary.md").read_text(encoding="utf-8")
    for kind, gdf in ds.layers.items():
        assert f"## `{kind}`" in text, kind
        for col in gdf.columns:
            if col != "geometry":
                assert f"`{col}`" in text, (kind, col)
    for kind, spec in LAYERS.items():
        for col in spec.required:
            assert f"`{col}`" in text
