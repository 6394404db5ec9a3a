"""Documentation coverage of the public API: numpydoc Parameters and Returns on every public function.

Counted: module-level functions whose names do not start with ``_``, in modules whose names do not
start with ``_``, outside ``cli/`` (click commands are documented by ``--help`` and ``docs/cli.md``).
A function needs a ``Parameters`` section when it takes arguments and a ``Returns`` (or ``Yields``)
section when it returns a value.  Run this file directly for the report per module::

    python tests/test_docstrings.py
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "twinstar_gis"
#: Share of public functions that must carry the sections they need.
THRESHOLD = 0.95


def _returns_value(fn: ast.FunctionDef) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not fn:
            continue
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
    return False


def _yields(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn))


def public_functions():
    """(module path, function node) of every counted function."""
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "cli" or any(p.startswith("_") and p != "__init__.py" for p in rel.parts):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield rel, node


def problems_of(fn: ast.FunctionDef) -> list[str]:
    doc = ast.get_docstring(fn) or ""
    args = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
    if fn.args.vararg or fn.args.kwarg:
        args.append("*")
    out = []
    if not doc:
        return ["no docstring"]
    if args and "Parameters\n" not in doc:
        out.append("Parameters")
    if (_returns_value(fn) or _yields(fn)) and "Returns\n" not in doc and "Yields\n" not in doc:
        out.append("Returns")
    return out


def coverage():
    rows = [(rel, fn.name, problems_of(fn), "Examples\n" in (ast.get_docstring(fn) or "")) for rel, fn in public_functions()]
    ok = sum(1 for r in rows if not r[2])
    return rows, ok / len(rows)


def test_public_functions_are_documented():
    rows, share = coverage()
    missing = [f"{rel}::{name}: {', '.join(p)}" for rel, name, p, _ in rows if p]
    assert share >= THRESHOLD, (f"{share:.0%} of {len(rows)} public functions carry numpydoc Parameters/Returns "
                                f"(need {THRESHOLD:.0%}); missing:\n" + "\n".join(missing))


def test_the_checker_sees_a_missing_section():
    fn = ast.parse('def f(a):\n    """Add one."""\n    return a + 1\n').body[0]
    assert problems_of(fn) == ["Parameters", "Returns"]
    fn = ast.parse('def f(a):\n    """Add one.\n\n    Parameters\n    ----------\n    a : int\n\n'
                   '    Returns\n    -------\n    int\n    """\n    return a + 1\n').body[0]
    assert problems_of(fn) == []


if __name__ == "__main__":
    rows, share = coverage()
    by = {}
    for rel, name, p, ex in rows:
        b = by.setdefault(str(rel), [0, 0, 0])
        b[0] += 1
        b[1] += not p
        b[2] += ex
    for mod, (n, ok, ex) in sorted(by.items()):
        print(f"{mod:40s} {ok:3d}/{n:<3d} documented   {ex:3d} with Examples")
    print(f"total: {share:.1%} of {len(rows)} public functions documented; "
          f"{sum(r[3] for r in rows) / len(rows):.1%} with Examples")
