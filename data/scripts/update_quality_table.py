"""Rewrite the data-quality table in docs/data_dictionary.md from a fresh build (maintainer script).

Run from the repository root after changing anything in data/curated/:

    python data/scripts/update_quality_table.py

tests/test_data_facts.py fails until the table in the docs equals the build's.
"""

import re
import tempfile
from pathlib import Path

from twinstar_gis.data.checks import quality_markdown
from twinstar_gis.data.dataset import build_dataset, load_dataset

DOC = Path("docs/data_dictionary.md")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        gpkg, _ = build_dataset(tmp)
        table = quality_markdown(load_dataset(gpkg).tables["data_quality"])
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(r"\| layer \| features \| surveyed \|.*?\n(?=\n)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: no data-quality table found to replace")
    DOC.write_text(pattern.sub(table + "\n", text, count=1), encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
