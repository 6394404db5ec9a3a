"""pyproject.toml and environment.yml list the same dependencies with the same lower bounds."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req):
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9.]+)?", req)
    return m.group(1).lower().replace("_", "-"), (m.group(2) or "").replace(" ", "")


def test_environment_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    want = dict(_norm(r) for r in py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    got = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            got.update(_norm(r) for r in dep["pip"])
        else:
            name, bound = _norm(dep)
            if name not in ("python", "pip"):
                got[name] = bound
    assert got == want
