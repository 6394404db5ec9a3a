"""A run folder: staged beside its target, described by ``run.json``, swapped into place whole.

``twinstar run --out OUT`` writes everything into a sibling folder
``OUT.staging-<pid>-<time>`` on the same file system.  Only when every output
and the manifest are written does :func:`swap_into_place` rename the previous
``OUT`` to ``OUT.old-<pid>-<time>``, rename the staging folder to ``OUT`` and
remove the old one.  A run killed at any moment therefore leaves the previous
``OUT`` complete (or, in the instant between the two renames, its ``.old``
folder, which the next run puts back).  Leftover staging and old folders of
dead runs are removed when the next run starts (:func:`clean_leftovers`).

The manifest (:data:`MANIFEST`) records the tool version, the command, the
project, every input file with size and SHA-256, every setting, start and end
time, the steps and every output with size and SHA-256.  :func:`read_run`
loads it and checks that the folder still holds exactly those outputs;
renderers (brief, maps, figures) read a run folder only through it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ..errors import DataSourceError, RunFolderError

__all__ = ["MANIFEST", "SCHEMA", "read_run", "file_record", "sha256_file", "check_output_dir",
           "clean_leftovers", "staging_dir", "swap_into_place", "staged", "write_manifest", "outputs_of", "update_record",
           "utc_now"]

log = logging.getLogger(__name__)

MANIFEST = "run.json"
SCHEMA = 1
#: Outputs ``twinstar report`` may rewrite after the run (it re-renders them from the others).
RERENDERED = ("brief.html",)
_LEFTOVER = re.compile(r"\.(staging|old)-(\d+)-\d+$")



def utc_now() -> str:
    """The current time, ISO 8601 UTC to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def sha256_file(path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_record(path) -> dict:
    """``{"bytes": size, "sha256": digest}`` of a file."""
    return {"bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}


def check_output_dir(out_dir) -> Path:
    """Refuse an output folder that cannot be written, before anything is written.

    The folder itself may not exist yet; its nearest existing parent must be a
    writable folder.  Raises :class:`~twinstar_gis.DataSourceError` otherwise.
    """
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise DataSourceError(f"{out_dir}: exists and is not a folder; choose another --out.")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise DataSourceError(f"{out_dir}: cannot write here ({parent} is a file, not a folder); choose another --out.")
    try:  # a real probe: permissions, read-only mounts and pseudo file systems all show here
        os.rmdir(tempfile.mkdtemp(prefix=".twinstar-probe-", dir=parent))
    except OSError as exc:
        raise DataSourceError(f"{out_dir}: cannot write in {parent} ({exc.strerror or exc}); choose another --out.") from None
    return out


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(out_dir) -> list[Path]:
    """Remove staging / old folders that runs killed earlier left beside ``out_dir``.

    Folders of a process that is still running are left alone.  If ``out_dir``
    itself is missing and a complete old run is found (a run killed between the
    two renames of the swap), it is put back instead of removed.

    Returns
    -------
    list of pathlib.Path
        The folders removed or restored.
    """
    out = Path(out_dir).absolute()
    if not out.parent.exists():
        return []
    done = []
    for p in sorted(q for q in out.parent.iterdir() if q.name.startswith(f"{out.name}.")):
        m = _LEFTOVER.search(p.name)
        if not m or p.name != f"{out.name}{m.group(0)}" or _alive(int(m.group(2))):
            continue
        if m.group(1) == "old" and not out.exists() and (p / MANIFEST).exists():
            os.replace(p, out)
            log.warning("%s: restored the previous run from %s (a run was killed while swapping)", out, p.name)
        else:
            shutil.rmtree(p, ignore_errors=True)
            log.info("removed %s left by a killed run", p)
        done.append(p)
    return done


def staging_dir(out_dir) -> Path:
    """A new, empty staging folder beside ``out_dir`` (same file system, so the swap is a rename)."""
    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f"{out.name}.staging-{os.getpid()}-{time.time_ns()}"
    stage.mkdir()
    return stage


def swap_into_place(stage, out_dir) -> Path:
    """Replace ``out_dir`` by the complete folder ``stage``: two renames, then remove the old run."""
    out = Path(out_dir).absolute()
    old = None
    if out.exists():
        old = out.parent / f"{out.name}.old-{os.getpid()}-{time.time_ns()}"
        os.replace(out, old)
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


@contextlib.contextmanager
def staged(out_dir):
    """Yield a staging folder; swap it into ``out_dir`` on success, remove it on failure."""
    clean_leftovers(out_dir)
    stage = staging_dir(out_dir)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    swap_into_place(stage, out_dir)


def outputs_of(run_dir) -> dict:
    """Every file under ``run_dir`` except the manifest: relative POSIX path -> :func:`file_record`."""
    root = Path(run_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {p.relative_to(root).as_posix(): file_record(p) for p in files}


def write_manifest(run_dir, manifest: dict) -> Path:
    """Write ``run.json`` (with ``outputs`` filled from the folder), atomically. Returns its path."""
    root = Path(run_dir)
    return _dump(root, {**manifest, "outputs": outputs_of(root)})


def _dump(root: Path, manifest: dict) -> Path:
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, root / MANIFEST)
    return root / MANIFEST


def read_run(run_dir, *, verify: bool = True, skip=()) -> dict:
    """Load a run folder's manifest and check the folder against it.

    Parameters
    ----------
    run_dir : path-like
        The output folder of ``twinstar run``.
    verify : bool, default True
        Check that every recorded output exists with its recorded size and
        SHA-256, and that the folder holds no unrecorded files.
    skip : iterable of str
        Relative paths not to check (``twinstar report`` re-renders ``brief.html``).

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    RunFolderError
        No manifest, an unreadable one, or files that differ from it.
    """
    root = Path(run_dir)
    path = root / MANIFEST
    if not path.is_file():
        raise RunFolderError(f"{root}: no {MANIFEST}; this is not a complete run folder. Run `twinstar run --out {root}`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: cannot read the manifest ({exc}). Run `twinstar run --out {root}` again.") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA or not isinstance(manifest.get("outputs"), dict):
        raise RunFolderError(f"{path}: not a twinstar run manifest of schema {SCHEMA}. Run `twinstar run --out {root}` again.")
    if verify:
        problems = _mismatches(root, manifest["outputs"], set(skip))
        if problems:
            raise RunFolderError(f"{root}: the folder does not match its {MANIFEST} (files changed since the run, "
                                 f"or outputs of two runs mixed): {'; '.join(problems[:8])}"
                                 f"{f'; … (+{len(problems) - 8} more)' if len(problems) > 8 else ''}. "
                                 f"Run `twinstar run --out {root}` again.")
    return manifest


def _mismatches(root: Path, recorded: dict, skip: set) -> list[str]:
    problems = []
    for rel, rec in recorded.items():
        if rel in skip:
            continue
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel} is missing")
        elif p.stat().st_size != rec.get("bytes"):
            problems.append(f"{rel} has {p.stat().st_size} bytes, the manifest says {rec.get('bytes')}")
        elif sha256_file(p) != rec.get("sha256"):
            problems.append(f"{rel} has changed (SHA-256 differs)")
    extra = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != MANIFEST]
    extra = sorted(r for r in extra if r not in recorded and r not in skip)
    if extra:
        problems.append(f"files not recorded in the manifest: {', '.join(extra[:6])}{' …' if len(extra) > 6 else ''}")
    return problems


def update_record(run_dir, rel: str) -> None:
    """Record the current size and SHA-256 of one re-rendered output (e.g. ``brief.html``) in the manifest."""
    record_outputs(run_dir, [Path(run_dir) / rel])


def record_outputs(run_dir, paths) -> int:
    """Record re-rendered files (``twinstar map`` / ``figures`` into a run folder) in its manifest.

    Files outside ``run_dir`` are left out (a gallery written elsewhere is not part of the run).
    Returns how many were recorded.
    """
    root = Path(run_dir).resolve()
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    n = 0
    for p in paths:
        p = Path(p).resolve()
        if p.is_file() and root in p.parents:
            manifest["outputs"][p.relative_to(root).as_posix()] = file_record(p)
            n += 1
    _dump(root, manifest)
    return n
