"""A run folder: staged beside its target, described by ``run.json``, swapped into place whole.

``twinstar run --out OUT`` writes everything into a sibling folder
``OUT.staging-<pid>-<time>`` on the same file system.  Only when every output
and the manifest are written does :func:`swap_into_place` rename the previous
``OUT`` to ``OUT.old-<pid>-<time>``, rename the staging folder to ``OUT`` and
remove the old one.  A run killed at any moment therefore leaves the previous
``OUT`` complete (or, in the instant between the two renames, its ``.old``
folder, which the next run puts back).  Leftover staging and old folders of
dead runs are removed when the next run starts (:func:`clean_leftovers`).

``--out`` is safe by construction (:func:`check_output_dir`): the only folder a
run ever replaces is a new or empty one, or an earlier run whose files still
match its ``run.json`` -- never a folder of the planner's own files, the folder
holding the project file or any input, the file-system root, a mount point,
the home directory or the current folder (unless it is a run).  Viewer side
files (QGIS ``*.aux.xml``, ``Thumbs.db``, ``.DS_Store``, Office lock files, ...)
do not stop a run from counting as one (:data:`VIEWER_FILES`); the planner's own
QGIS project and style files in it are carried over into the new run
(:data:`KEPT_FILES`).  A lock file ``OUT.lock`` (:func:`run_lock`) makes a
second run on the same folder refuse while the first is writing; the lock of a
killed run is released by the operating system and taken over by the next run.

Per-command outputs (``twinstar distances --out DIR`` and the others) go into
``DIR`` itself and never into a recorded run (:func:`staged_outputs`).

The manifest (:data:`MANIFEST`) records the tool version, the command, the
project, every input file with size and SHA-256, every setting, start and end
time, the steps and every output with size and SHA-256.  :func:`read_run`
loads it and checks that the folder still holds exactly those outputs (side
files of viewers are listed and left alone); renderers (brief, maps, figures)
read a run folder only through it.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ..data.io import write_error
from ..errors import DataSourceError, RunFolderError

__all__ = ["MANIFEST", "SCHEMA", "read_run", "file_record", "sha256_file", "check_output_dir", "check_command_out",
           "check_write_targets", "clean_leftovers", "staging_dir", "swap_into_place", "staged", "staged_outputs",
           "run_lock", "lock_path", "write_manifest", "outputs_of", "update_record", "record_outputs", "run_problems",
           "side_files", "VIEWER_FILES", "KEPT_FILES", "utc_now"]

log = logging.getLogger(__name__)

MANIFEST = "run.json"
SCHEMA = 1
#: Outputs ``twinstar report`` may rewrite after the run (it re-renders them from the others).
RERENDERED = ("brief.html",)
_LEFTOVER = re.compile(r"\.(staging|old)-(\d+)-\d+$")
_CMD_STAGE = re.compile(r"^\.twinstar-staging-(\d+)-\d+$")
#: Files viewers make beside a run's outputs; disposable (rebuilt on the next open), never part of a run:
#: GDAL/QGIS statistics and overviews, Windows/macOS folder caches, Office and LibreOffice lock files.
VIEWER_FILES = ("*.aux.xml", "*.ovr", "Thumbs.db", "ehthumbs.db", "desktop.ini", ".DS_Store", "._*", "~$*",
                ".~lock.*#")
#: Folders whose whole content is a viewer's (Jupyter's checkpoints).
VIEWER_DIRS = (".ipynb_checkpoints",)
#: A planner's own QGIS project, auxiliary-storage, style and metadata files saved into a run: tolerated
#: like viewer files, and copied into the next run that replaces the folder (never deleted).
KEPT_FILES = ("*.qgs", "*.qgz", "*.qgd", "*.qml", "*.qmd")


def utc_now() -> str:
    """The current time, ISO 8601 UTC to the second.

    Returns
    -------
    str
    """
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def sha256_file(path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_record(path) -> dict:
    """``{"bytes": size, "sha256": digest}`` of a file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
    """
    return {"bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}


# --------------------------------------------------------------------------
# What a run folder holds: recorded outputs, viewer side files, everything else
# --------------------------------------------------------------------------

def side_file_kind(rel: str) -> str | None:
    """``"viewer"`` (disposable), ``"kept"`` (a planner's QGIS file) or None for a path relative to a run folder.

    Parameters
    ----------
    rel : str
        POSIX path relative to the run folder.

    Returns
    -------
    str or None

    Examples
    --------
    >>> side_file_kind("access/time_to_cores.tif.aux.xml"), side_file_kind("my.qgz"), side_file_kind("notes.docx")
    ('viewer', 'kept', None)
    >>> side_file_kind("maps/.ipynb_checkpoints/x.ipynb"), side_file_kind("analysis/~$conflicts.xlsx")
    ('viewer', 'viewer')
    """
    parts = rel.split("/")
    name = parts[-1]
    if any(p in VIEWER_DIRS for p in parts[:-1]) or any(fnmatch.fnmatchcase(name, pat) for pat in VIEWER_FILES):
        return "viewer"
    if any(fnmatch.fnmatchcase(name.lower(), pat) for pat in KEPT_FILES):
        return "kept"
    return None


def _files(root: Path) -> list[str]:
    """Every file under ``root`` except the manifest, as sorted POSIX paths (symbolic links count as files)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        for n in filenames:
            rel = (rel_dir / n).as_posix()
            if rel != MANIFEST:
                out.append(rel)
        for d in list(dirnames):  # a link to a folder is not followed, but it is something the run did not write
            if os.path.islink(Path(dirpath) / d):
                out.append((rel_dir / d).as_posix())
    return sorted(out)


def side_files(run_dir, recorded=()) -> dict:
    """Files in a run folder the run did not record, by kind.

    Parameters
    ----------
    run_dir : path-like
    recorded : iterable of str
        The manifest's outputs (relative paths).

    Returns
    -------
    dict
        ``{"viewer": [...], "kept": [...], "foreign": [...]}``: disposable viewer files, the
        planner's QGIS files, and everything else (which makes the folder no longer the run).
    """
    recorded = set(recorded)
    out = {"viewer": [], "kept": [], "foreign": []}
    for rel in _files(Path(run_dir)):
        if rel not in recorded:
            out[side_file_kind(rel) or "foreign"].append(rel)
    return out


def _load_manifest(root: Path) -> dict | None:
    """The folder's manifest if it is a twinstar run manifest, else None (no file, unreadable, someone else's)."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    ok = isinstance(manifest, dict) and manifest.get("schema") == SCHEMA and isinstance(manifest.get("outputs"), dict)
    return manifest if ok else None


def _recorded_problems(root: Path, recorded: dict, skip: set) -> list[str]:
    problems = []
    for rel, rec in recorded.items():
        if rel in skip:
            continue
        p = root / rel
        if not p.is_file() or p.is_symlink():
            problems.append(f"{rel} is missing")
        elif p.stat().st_size != (rec or {}).get("bytes"):
            problems.append(f"{rel} has {p.stat().st_size} bytes, the manifest says {(rec or {}).get('bytes')}")
        elif sha256_file(p) != rec.get("sha256"):
            problems.append(f"{rel} has changed (SHA-256 differs)")
    return problems


def _mismatches(root: Path, recorded: dict, skip: set) -> tuple[list[str], dict]:
    """(problems, side files): changed or missing recorded files and unrecorded files that are no viewer's."""
    problems = _recorded_problems(root, recorded, skip)
    side = side_files(root, set(recorded) | set(skip))
    foreign = side["foreign"]
    if foreign:
        problems.append(f"files not recorded in the manifest: {', '.join(foreign[:6])}{' …' if len(foreign) > 6 else ''}")
    return problems, side


def run_problems(run_dir) -> list[str] | None:
    """None when ``run_dir`` holds no twinstar manifest; else what differs from it (empty: a sound run).

    Parameters
    ----------
    run_dir : path-like

    Returns
    -------
    list of str or None
    """
    root = Path(run_dir)
    manifest = _load_manifest(root)
    if manifest is None:
        return None
    return _mismatches(root, manifest["outputs"], set())[0]


def read_run(run_dir, *, verify: bool = True, skip=()) -> dict:
    """Load a run folder's manifest and check the folder against it.

    Parameters
    ----------
    run_dir : path-like
        The output folder of ``twinstar run``.
    verify : bool, default True
        Check that every recorded output exists with its recorded size and SHA-256, and that
        the folder holds no unrecorded files other than viewer side files (:data:`VIEWER_FILES`,
        :data:`KEPT_FILES`), which are listed in the log and left alone.
    skip : iterable of str
        Relative paths not to check (``twinstar report`` re-renders ``brief.html``).

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    RunFolderError
        No manifest, an unreadable one, or recorded files that are missing or changed, or
        files of someone else mixed in.
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
        problems, side = _mismatches(root, manifest["outputs"], set(skip))
        if problems:
            raise RunFolderError(f"{root}: the folder does not match its {MANIFEST} (files changed since the run, "
                                 f"or outputs of two runs mixed): {'; '.join(problems[:8])}"
                                 f"{f'; … (+{len(problems) - 8} more)' if len(problems) > 8 else ''}. "
                                 f"Run `twinstar run --out {root}` again.")
        ignored = side["viewer"] + side["kept"]
        if ignored:
            log.warning("%s: %d file(s) the run did not write were left alone (viewer side files): %s%s", root,
                        len(ignored), ", ".join(ignored[:8]), " …" if len(ignored) > 8 else "")
    return manifest


# --------------------------------------------------------------------------
# --out: which folder a run may replace
# --------------------------------------------------------------------------

def _resolved(p) -> Path:
    try:
        return Path(p).resolve()
    except (OSError, RuntimeError):
        return Path(p).absolute()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _holds_files(folder: Path) -> list[str]:
    """Files (at any depth) a replacement would delete: everything except viewer side files."""
    return [rel for rel in _files(folder) if side_file_kind(rel) != "viewer"]


def _special_folder(out: Path, given) -> str | None:
    """Why ``out`` is a folder no run may replace, or None."""
    if str(given).strip() == "":
        return "an empty --out names no folder"
    if out.parent == out:
        return "it is the root of the file system"
    if os.path.islink(out):
        return "it is a symbolic link (give the folder it points to, or another name)"
    with contextlib.suppress(RuntimeError, KeyError, OSError):
        if _resolved(out) == _resolved(Path.home()):
            return "it is your home folder"
    if out.is_dir() and os.path.ismount(out):
        return "it is a mount point (a whole disk or share)"
    return None


def _input_problem(out: Path, inputs) -> str | None:
    real = _resolved(out)
    held = [str(p) for p in inputs if p and _inside(_resolved(p), real)]
    if held:
        return (f"it holds {'an input' if len(held) == 1 else f'{len(held)} inputs'} of this run "
                f"({', '.join(held[:3])}{' …' if len(held) > 3 else ''}), which replacing it would delete")
    return None


def _cwd() -> Path | None:
    try:
        return _resolved(Path.cwd())
    except OSError:
        return None


def _contents_problem(out: Path) -> str | None:
    """Why the existing folder ``out`` may not be replaced (its files would be lost), or None."""
    if _load_manifest(out) is None:
        cwd = _cwd()
        if cwd is not None and _inside(cwd, _resolved(out)):
            return ("it is the current folder and not an earlier run" if cwd == _resolved(out)
                    else f"it holds the current folder ({cwd}) and is not an earlier run")
        files = _holds_files(out)
        if not files:
            return None
        return (f"it is not empty ({len(files)} file(s), e.g. {', '.join(files[:3])}) and not an earlier run "
                f"(no {MANIFEST}); replacing it would delete them")
    problems = run_problems(out)
    if problems:
        return (f"it holds an earlier run whose files no longer match its {MANIFEST} ({'; '.join(problems[:4])}); "
                "replacing it would lose those changes. Move the files you want to keep out of it")
    return None


def check_output_dir(out_dir, *, inputs=(), check_lock: bool = True) -> Path:
    """Refuse an output folder a run must not replace or cannot write, before anything is written.

    A run replaces ``out_dir`` whole.  Allowed: a folder that does not exist yet, an empty one
    (viewer side files aside), or an earlier run whose files still match its ``run.json``
    (viewer side files and the planner's QGIS files aside).  Refused: ``""``, the file-system
    root, a symbolic link, the home folder, a mount point, the current folder unless it is a
    run, a folder holding any of ``inputs`` (at any depth), a non-empty folder that is not a
    run, a run whose files changed, a file, a folder whose parent cannot be written, and a
    folder another run is writing now (:func:`run_lock`).

    Parameters
    ----------
    out_dir : path-like
        The ``--out`` folder.
    inputs : iterable of path-like
        Every file the run reads (project file, layers, DEM).
    check_lock : bool, default True
        Also refuse a folder whose lock another run holds (:func:`staged` checks while holding it).

    Returns
    -------
    pathlib.Path
        The absolute folder.

    Raises
    ------
    RunFolderError
        The folder may not be replaced, or another run is writing it.
    DataSourceError
        It cannot be written.
    """
    out = Path(out_dir).absolute()
    why = _special_folder(out, out_dir) or _input_problem(out, inputs)
    if why is None and out.exists() and not out.is_dir():
        raise DataSourceError(f"{out_dir}: exists and is not a folder; choose another --out.")
    if why is None and out.is_dir():
        why = _contents_problem(out)
    if why:
        raise RunFolderError(f"--out {out_dir}: refused: {why}. A run replaces its --out folder whole; give a new "
                             "folder name (e.g. --out twinstar_run2) or an earlier run folder.")
    _probe_parent(out, out_dir)
    if check_lock:
        _refuse_if_locked(out)
    return out


def _probe_parent(out: Path, given) -> None:
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise DataSourceError(f"{given}: cannot write here ({parent} is a file, not a folder); choose another --out.")
    try:  # a real probe: permissions, read-only mounts and pseudo file systems all show here
        os.rmdir(tempfile.mkdtemp(prefix=".twinstar-probe-", dir=parent))
    except OSError as exc:
        raise DataSourceError(f"{given}: cannot write in {parent} ({exc.strerror or exc}); choose another --out.") from None


# --------------------------------------------------------------------------
# The lock: one run per folder at a time
# --------------------------------------------------------------------------

def lock_path(out_dir) -> Path:
    """The lock file of a run folder: ``OUT.lock`` beside it.

    Parameters
    ----------
    out_dir : path-like

    Returns
    -------
    pathlib.Path
    """
    out = Path(out_dir).absolute()
    return out.parent / f"{out.name}.lock"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
    except (OSError, ValueError, AttributeError):
        return "another process"


def _busy(out: Path, path: Path) -> RunFolderError:
    return RunFolderError(f"--out {out}: another twinstar run ({_holder(path)}) is writing this folder now (lock file "
                          f"{path}). Wait until it has finished, or choose another --out.")


def _refuse_if_locked(out: Path) -> None:
    """Refuse early (before the inputs are read) when a live run holds the folder's lock."""
    path = lock_path(out)
    if path.exists():
        with run_lock(out):
            pass


@contextlib.contextmanager
def run_lock(out_dir):
    """Hold ``OUT.lock`` while a run writes ``out_dir``; a second run refuses at once.

    The lock is an advisory ``flock`` on the lock file (POSIX), which the operating system
    releases when its process dies, so the lock of a killed run is stale and simply taken over
    (and said so in the log).  Where ``flock`` is missing (Windows) the file itself is the lock
    and a lock whose process is gone is taken over.

    Parameters
    ----------
    out_dir : path-like

    Yields
    ------
    pathlib.Path
        The lock file (removed again when the block ends).

    Raises
    ------
    RunFolderError
        Another live run holds the lock.
    """
    out = Path(out_dir).absolute()
    path = lock_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    fd = _acquire_flock(out, path, fcntl) if fcntl else _acquire_pidfile(out, path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _lock_text() -> bytes:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()}).encode()


def _acquire_flock(out: Path, path: Path, fcntl) -> int:
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise _busy(out, path) from None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder removed the file between our open and our lock: try again
            os.close(fd)
            continue
        if os.fstat(fd).st_size:
            log.warning("%s: took over the lock of a run that was killed (%s)", out, _holder(path))
        os.ftruncate(fd, 0)
        os.write(fd, _lock_text())
        return fd
    raise _busy(out, path)


def _acquire_pidfile(out: Path, path: Path) -> int:  # pragma: no cover - Windows
    for _ in range(3):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(json.loads(path.read_text(encoding="utf-8")).get("pid", -1))
            except (OSError, ValueError, AttributeError):
                pid = -1
            if pid > 0 and _alive(pid):
                raise _busy(out, path) from None
            log.warning("%s: took over the lock of a run that was killed (%s)", out, _holder(path))
            with contextlib.suppress(OSError):
                os.unlink(path)
            continue
        os.write(fd, _lock_text())
        return fd
    raise _busy(out, path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# --------------------------------------------------------------------------
# Staging and the swap
# --------------------------------------------------------------------------

def clean_leftovers(out_dir) -> list[Path]:
    """Remove staging / old folders that runs killed earlier left beside ``out_dir``.

    Folders of a process that is still running are left alone.  If ``out_dir``
    itself is missing and a complete old run is found (a run killed between the
    two renames of the swap), it is put back instead of removed.

    Parameters
    ----------
    out_dir : path-like

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
        if not m or p.name != f"{out.name}{m.group(0)}" or _alive(int(m.group(2))) or p.is_symlink():
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
    """A new, empty staging folder beside ``out_dir`` (same file system, so the swap is a rename).

    Parameters
    ----------
    out_dir : path-like

    Returns
    -------
    pathlib.Path
    """
    out = Path(out_dir).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f"{out.name}.staging-{os.getpid()}-{time.time_ns()}"
    stage.mkdir()
    return stage


def _carry_kept_files(out: Path, stage: Path) -> list[str]:
    """Copy the planner's QGIS files from the run being replaced into the new one (the originals stay until the swap)."""
    if not out.is_dir() or _load_manifest(out) is None:
        return []
    kept = side_files(out, _load_manifest(out)["outputs"])["kept"]
    carried = []
    for rel in kept:
        dst = stage / rel
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out / rel, dst)
        carried.append(rel)
    if carried:
        log.warning("%s: kept your own file(s) %s in the new run", out, ", ".join(carried))
    return carried


def swap_into_place(stage, out_dir) -> Path:
    """Replace ``out_dir`` by the complete folder ``stage``: two renames, then remove the old run.

    The planner's QGIS files in the old run (:data:`KEPT_FILES`) are copied into ``stage``
    first.  Refuses (and leaves everything as it was) when ``out_dir`` is no longer a folder a
    run may replace, or when the new run's manifest records an input inside ``out_dir``.

    Parameters
    ----------
    stage : path-like
        The complete new run.
    out_dir : path-like
        Where it goes.

    Returns
    -------
    pathlib.Path
        ``out_dir``, absolute.
    """
    out = Path(out_dir).absolute()
    _check_stage_inputs(Path(stage), out)
    if out.exists():
        why = _contents_problem(out) if out.is_dir() else "it is a file"
        if why:
            raise RunFolderError(f"--out {out}: refused at the swap: {why}. The new run was not kept.")
    _carry_kept_files(out, Path(stage))
    old = None
    if out.exists():
        old = out.parent / f"{out.name}.old-{os.getpid()}-{time.time_ns()}"
        os.replace(out, old)
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def _check_stage_inputs(stage: Path, out: Path) -> None:
    """Last line of defence: the inputs the new run recorded must not lie inside the folder it replaces."""
    manifest = _load_manifest(stage) or {}
    paths = [i.get("path") for i in manifest.get("inputs") or [] if isinstance(i, dict)]
    proj = manifest.get("project")
    if isinstance(proj, dict):
        paths.append(proj.get("file"))
    why = _input_problem(out, [p for p in paths if isinstance(p, str)]) if out.exists() else None
    if why:
        raise RunFolderError(f"--out {out}: refused: {why}. The new run was not kept; give another --out.")


@contextlib.contextmanager
def staged(out_dir, *, inputs=()):
    """Yield a staging folder; swap it into ``out_dir`` on success, remove it on failure.

    Holds the folder's lock (:func:`run_lock`) throughout and checks ``out_dir``
    (:func:`check_output_dir`) once the lock is held.  A failure to write (full disk, refused
    permission) becomes one :class:`~twinstar_gis.DataSourceError`; nothing is left behind but
    the previous run.

    Parameters
    ----------
    out_dir : path-like
        The run folder.
    inputs : iterable of path-like
        Every file the run reads; none may lie inside ``out_dir``.

    Yields
    ------
    pathlib.Path
        The staging folder to write the run into.
    """
    with run_lock(out_dir):
        out = check_output_dir(out_dir, inputs=inputs, check_lock=False)
        clean_leftovers(out)
        try:
            stage = staging_dir(out)
        except OSError as exc:
            raise (write_error(out, exc) or DataSourceError(f"{out}: cannot create the staging folder ({exc})")) from None
        try:
            yield stage
            swap_into_place(stage, out)
        except BaseException as exc:
            shutil.rmtree(stage, ignore_errors=True)
            err = write_error(out, exc) if isinstance(exc, Exception) else None
            if err is not None:
                raise err from None
            raise


# --------------------------------------------------------------------------
# Per-command outputs: into DIR itself, never into a recorded run
# --------------------------------------------------------------------------

def _recorded_run_around(out: Path) -> Path | None:
    """The run folder ``out`` is, or lies inside (a folder with a twinstar ``run.json``), or None."""
    for p in (out, *out.parents):
        if _load_manifest(p) is not None:
            return p
    return None


def check_command_out(out_dir) -> Path:
    """Refuse an output folder of a single command that is not a folder, or is (inside) a recorded run.

    A run folder is one consistent record; ``twinstar distances`` (and every other command
    writing files) never changes one.  Refused too: ``""``, the file-system root, a file.

    Parameters
    ----------
    out_dir : path-like

    Returns
    -------
    pathlib.Path
        The absolute folder.
    """
    out = Path(out_dir).absolute()
    if str(out_dir).strip() == "" or out.parent == out:
        why = "an empty --out names no folder" if str(out_dir).strip() == "" else "the root of the file system"
        raise DataSourceError(f"--out {out_dir!s}: refused: {why}; give a folder.")
    if out.exists() and not out.is_dir():
        raise DataSourceError(f"--out {out_dir}: exists and is not a folder; choose another --out.")
    run = _recorded_run_around(out)
    if run is not None:
        raise RunFolderError(f"--out {out_dir}: refused: {'it is' if run == out else 'it lies inside'} the recorded run "
                             f"folder {run} ({MANIFEST}); a command never changes a run. Give another --out (the "
                             "default writes to twinstar_results/), or re-run `twinstar run`.")
    _probe_parent(out, out_dir)
    return out


def check_write_targets(targets, inputs) -> None:
    """Refuse writing any of ``targets`` when it is one of ``inputs`` (the same file, through any path).

    Parameters
    ----------
    targets, inputs : iterable of path-like

    Raises
    ------
    DataSourceError
        A target is an input.
    """
    ins = {}
    for p in inputs:
        if p:
            ins[_resolved(p)] = p
    for t in targets:
        rt = _resolved(t)
        hit = ins.get(rt)
        if hit is None and Path(t).exists():
            hit = next((p for r, p in ins.items() if r.exists() and os.path.samefile(r, rt)), None)
        if hit is not None:
            raise DataSourceError(f"{t}: refused: this output would overwrite the input {hit}; inputs are never "
                                  "written. Choose another --out.")


def _clean_command_stages(out: Path) -> None:
    if out.is_dir():
        for p in out.iterdir():
            m = _CMD_STAGE.match(p.name)
            if m and not _alive(int(m.group(1))) and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def staged_outputs(out_dir, *, inputs=(), name: str = "files"):
    """Yield a private folder for one command's outputs; on success move them into ``out_dir``.

    ``out_dir`` is checked first (:func:`check_command_out`); the outputs are written into
    ``out_dir/.twinstar-staging-<pid>-<time>/<name>`` (``name = "planning"`` lets the planning
    writers write there directly), checked against ``inputs`` (:func:`check_write_targets`)
    and only then moved into ``out_dir`` itself, replacing earlier files of the same names.  On
    any failure nothing is moved and the private folder is removed, and so are the folders this
    command created if they stayed empty.

    Parameters
    ----------
    out_dir : path-like
    inputs : iterable of path-like
        Files the command reads.
    name : str
        Name of the yielded folder.

    Yields
    ------
    pathlib.Path
        Where to write; :func:`moved_path` says where each file lies afterwards.
    """
    out = check_command_out(out_dir)
    made = [p for p in (out, *out.parents) if not p.exists()]  # the folders this command creates
    try:
        out.mkdir(parents=True, exist_ok=True)
        _clean_command_stages(out)
        root = out / f".twinstar-staging-{os.getpid()}-{time.time_ns()}"
        stage = root / name
        stage.mkdir(parents=True)
    except OSError as exc:
        raise (write_error(out, exc) or DataSourceError(f"{out}: cannot write here ({exc}); choose another --out.")) from None
    try:
        yield stage
        files = [p for p in sorted(stage.rglob("*")) if p.is_file()]
        targets = [out / p.relative_to(stage) for p in files]
        check_write_targets(targets, inputs)
        for src, dst in zip(files, targets):
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    except BaseException as exc:
        err = write_error(out, exc) if isinstance(exc, Exception) else None
        if err is not None:
            raise err from None
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for p in made:  # innermost first; only empty ones: this command made them and wrote nothing there
            with contextlib.suppress(OSError):
                p.rmdir()


def moved_path(path, stage, out_dir) -> Path:
    """Where a file written under ``stage`` (by :func:`staged_outputs`) lies in ``out_dir`` afterwards.

    Parameters
    ----------
    path : path-like
        A file written under ``stage``.
    stage : path-like
        The folder :func:`staged_outputs` yielded.
    out_dir : path-like
        The command's ``--out``.

    Returns
    -------
    pathlib.Path
    """
    return Path(out_dir).absolute() / Path(path).relative_to(stage)


# --------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------

def outputs_of(run_dir) -> dict:
    """Every file under ``run_dir`` except the manifest: relative POSIX path -> :func:`file_record`.

    Parameters
    ----------
    run_dir : path-like

    Returns
    -------
    dict
    """
    root = Path(run_dir)
    return {rel: file_record(root / rel) for rel in _files(root)}


def write_manifest(run_dir, manifest: dict) -> Path:
    """Write ``run.json`` (with ``outputs`` filled from the folder), atomically.

    Parameters
    ----------
    run_dir : path-like
    manifest : dict
        Everything but ``outputs``.

    Returns
    -------
    pathlib.Path
        The manifest.
    """
    root = Path(run_dir)
    return _dump(root, {**manifest, "outputs": outputs_of(root)})


def _dump(root: Path, manifest: dict) -> Path:
    tmp = root / f".{MANIFEST}.tmp"
    try:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, root / MANIFEST)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise (write_error(root / MANIFEST, exc) or exc) from None
    return root / MANIFEST


def update_record(run_dir, rel: str) -> None:
    """Record the current size and SHA-256 of one re-rendered output (e.g. ``brief.html``) in the manifest.

    Parameters
    ----------
    run_dir : path-like
    rel : str
        The output, relative to ``run_dir``.
    """
    record_outputs(run_dir, [Path(run_dir) / rel])


def record_outputs(run_dir, paths) -> int:
    """Record re-rendered files (``twinstar map`` / ``figures`` into a run folder) in its manifest.

    Files outside ``run_dir`` are left out (a gallery written elsewhere is not part of the run).

    Parameters
    ----------
    run_dir : path-like
    paths : iterable of path-like

    Returns
    -------
    int
        How many were recorded.
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
