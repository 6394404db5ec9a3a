"""The package layout is its data flow: imports only point down the layers, and no module imports itself back.

Layers, lowest first (``docs/architecture.md``): foundations (errors, settings, version) -> data -> model ->
analysis -> planning -> run -> maps -> pipeline -> cli -> the top-level API (``twinstar_gis/__init__``).
Every import in every module -- at the top or inside a function -- is parsed from the source, so a
lazy import cannot hide an upward arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "twinstar_gis"
LAYERS = [
    ("foundation", ("twinstar_gis._version", "twinstar_gis.errors", "twinstar_gis.settings", "twinstar_gis.resources")),
    ("data", ("twinstar_gis.data",)),
    ("model", ("twinstar_gis.model",)),
    ("analysis", ("twinstar_gis.analysis",)),
    ("planning", ("twinstar_gis.planning",)),
    ("run", ("twinstar_gis.run",)),
    ("maps", ("twinstar_gis.maps",)),
    ("pipeline", ("twinstar_gis.pipeline",)),
    ("cli", ("twinstar_gis.cli", "twinstar_gis.__main__")),
    ("api", ("twinstar_gis",)),
]


def module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    if rank is None:
        raise AssertionError(f"{module} belongs to no layer; add it to LAYERS and docs/architecture.md")
    return rank


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Absolute names of the package modules ``path`` imports (``from x import y`` counts ``x.y`` if it is a module)."""
    return imports_in(path.read_text(encoding="utf-8"), *module_name(path))


def imports_in(source: str, mod: str, is_pkg: bool) -> list[tuple[str, int]]:
    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("twinstar_gis"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                is_module = (PKG.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                    (PKG.parent / Path(*sub.split(".")) / "__init__.py").exists()
                out.append((sub if is_module else target, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("twinstar_gis")]
    return out


def all_modules():
    return sorted(p for p in PKG.rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    for p in all_modules():
        layer_of(module_name(p)[0])


def test_imports_only_point_down_the_layers():
    upward = []
    for p in all_modules():
        mod = module_name(p)[0]
        for target, line in imports_of(p):
            if target.startswith(mod + ".") and module_name(p)[1]:
                continue  # a package's __init__ re-exporting its own modules
            if layer_of(target) > layer_of(mod):
                upward.append(f"{p.relative_to(PKG.parent)}:{line} imports {target} "
                              f"({LAYERS[layer_of(mod)][0]} -> {LAYERS[layer_of(target)][0]})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def _graph():
    g = {}
    for p in all_modules():
        mod, is_pkg = module_name(p)
        deps = set()
        for target, _ in imports_of(p):
            if target == mod:
                continue
            deps.add(target)
        g[mod] = deps
    return g


def test_no_import_cycles():
    g = _graph()
    # A package __init__ and its own submodules are one unit for Python's import machinery only when the
    # submodule imports the package back; count every edge.
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if d not in g:
                continue
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    # A subpackage's __init__ importing its submodules is not a cycle unless a submodule imports the __init__ back.
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("source,upward", [
    ("from ..model.network import build_network\n", False),
    ("from ..data import crs\n", False),
    ("def f():\n    from ..cli import main\n", True),
    ("from ..maps.style import PALETTE\n", True),
])
def test_the_checker_sees_an_upward_import(source, upward):
    """The checker itself: an analysis module importing the model or data is fine; the CLI or maps, even lazily, is caught."""
    mod = "twinstar_gis.analysis.probe"
    (target, _), = imports_in(source, mod, False)
    assert (layer_of(target) > layer_of(mod)) == upward
