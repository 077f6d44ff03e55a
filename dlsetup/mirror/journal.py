"""The mirror journal: every file dlsetup writes, with its old and new bytes, so restore is exact.

Layout under ``dlsetup.paths.state_dir()/mirror/``:

* ``lock``                 — a file lock (``dlsetup.util.lock``) serialising apply / reset / restore runs
* ``journal/NNNN.json``    — one entry per run: action, mirror, scope, files (path, tool, sha256 of the
  old and new bytes, whether the file existed, directories created), status, times
* ``blobs/<sha256>``       — file contents, stored once per distinct content

An entry is written *before* each file is replaced (status ``in-progress``), so a run killed between
files leaves a journal that ``restore`` can undo: each file is put back to its old bytes (or deleted
when it did not exist) if it still holds what dlsetup wrote, skipped if it never got written, and
reported as a conflict (unless ``--force``) if someone changed it since.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dlsetup.errors import OperationFailed, UsageError
from dlsetup.util.atomic import write_bytes_atomic

LOCK_TIMEOUT_S = 120.0


@dataclass
class FileChange:
    path: str
    tool: str
    existed: bool
    old_sha: str | None  # None when the file did not exist
    new_sha: str | None  # None when dlsetup deleted the file
    created_dirs: list[str] = field(default_factory=list)
    mode: int | None = None  # permission bits of the old file


@dataclass
class Entry:
    id: int
    action: str  # "apply" | "reset"
    time: str  # ISO 8601, local time with offset
    mirror: str | None = None
    scope: str | None = None
    tools: list[str] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    status: str = "in-progress"  # "in-progress" | "done" | "rolled-back" | "reverted"
    reverted_at: str | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entry:
        """Parse an entry; fields a newer dlsetup added are ignored; a wrong shape raises ValueError."""
        if not isinstance(d, dict) or not isinstance(d.get("files", []), list):
            raise ValueError("not a journal entry")
        files = []
        for f in d.get("files", []):
            if not isinstance(f, dict):
                raise ValueError("a file record is not an object")
            change = FileChange(**{k: v for k, v in f.items() if k in _FILE_FIELDS})
            _check_change(change)
            files.append(change)
        entry = cls(**{**{k: v for k, v in d.items() if k in _ENTRY_FIELDS}, "files": files})
        if not isinstance(entry.id, int) or isinstance(entry.id, bool) or entry.id < 1:
            raise ValueError(f"bad id {entry.id!r}")
        return entry


_FILE_FIELDS = {f.name for f in fields(FileChange)}
_ENTRY_FIELDS = {f.name for f in fields(Entry)}
_SHA = re.compile(r"[0-9a-f]{64}")
_ENTRY_NAME = re.compile(r"([0-9]{1,12})\.json")
# The file names dlsetup's mirror writers write (pip, torch, conda, uv, pixi, hf, a conda env's state file).
MANAGED_NAMES = {"pip.conf", "pip.ini", ".condarc", "uv.toml", "pyproject.toml", "config.toml", "state",
                 "hf-endpoint.sh"}


def _clean_abs(path: str) -> bool:
    """Absolute, and already normal: no ``..``, no ``.``, no doubled separators."""
    return isinstance(path, str) and os.path.isabs(path) and os.path.normpath(path) == path and \
        ".." not in Path(path).parts and "\0" not in path


def _check_change(change: FileChange) -> None:
    """Every path an entry names must be a config file dlsetup manages; backups are named by their hash."""
    if not _clean_abs(change.path):
        raise ValueError(f"path {change.path!r} is not a clean absolute path")
    if Path(change.path).name not in MANAGED_NAMES and not _is_managed_target(change.path):
        raise ValueError(f"path {change.path!r} is not a configuration file dlsetup manages")
    for digest in (change.old_sha, change.new_sha):
        if digest is not None and not (isinstance(digest, str) and _SHA.fullmatch(digest)):
            raise ValueError(f"backup name {str(digest)[:80]!r} is not a sha256")
    for d in change.created_dirs:
        if not _clean_abs(d) or not change.path.startswith(d.rstrip(os.sep) + os.sep):
            raise ValueError(f"created directory {str(d)[:200]!r} does not hold {change.path!r}")


def _is_managed_target(path: str) -> bool:
    """A symlinked config is journaled under its target's name (``~/.condarc`` -> ``~/dotfiles/condarc``)."""
    from dlsetup.paths import home
    from dlsetup.toolconfig import hf, pip, pixi, uv

    env = dict(os.environ)
    candidates = []
    for fn in (pip.user_file, uv.user_file, pixi.user_file, hf.snippet_file):
        try:
            candidates.append(fn(env))
        except Exception:  # noqa: BLE001 - a location that cannot be computed here is no candidate
            continue
    candidates.append(home(env) / ".condarc")
    return any(os.path.realpath(c) == path for c in candidates)


def root() -> Path:
    from dlsetup.paths import state_dir

    return state_dir() / "mirror"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def locked(timeout: float = LOCK_TIMEOUT_S):
    """Hold the mirror lock; tells the user on stderr when it has to wait for another run."""
    from dlsetup.i18n import t
    from dlsetup.output import warn
    from dlsetup.util.lock import FileLock, Timeout

    path = root() / "lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperationFailed("mirror.error.state_dir", path=str(path.parent), reason=exc.strerror or str(exc)) from None
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        warn(t("mirror.lock.waiting", path=str(path)))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise OperationFailed("mirror.error.lock_timeout", seconds=int(timeout), path=str(path)) from None
    try:
        yield
    finally:
        lock.release()


# ------------------------------------------------------------------------------------------ storage


def _entries_dir() -> Path:
    return root() / "journal"


def _blob(digest: str) -> Path:
    return root() / "blobs" / digest


def store_blob(data: bytes) -> str:
    digest = sha(data)
    p = _blob(digest)
    if not p.exists():
        write_bytes_atomic(p, data, mode=0o600)
    return digest


def load_blob(digest: str) -> bytes:
    """The backup named ``digest``, verified: a truncated or altered backup is never written back."""
    if not (isinstance(digest, str) and _SHA.fullmatch(digest)):
        raise OperationFailed("mirror.error.journal_damaged", path=str(root() / "blobs"),
                              reason=f"backup name {str(digest)[:80]!r} is not a sha256")
    from dlsetup.util.atomic import read_regular_bytes

    try:
        data = read_regular_bytes(_blob(digest))
    except OSError as exc:
        raise OperationFailed("mirror.error.journal_damaged", path=str(_blob(digest)),
                              reason=exc.strerror or str(exc)) from None
    if sha(data) != digest:
        raise OperationFailed("mirror.error.journal_damaged", path=str(_blob(digest)),
                              reason="the backup does not match its sha256 (truncated or changed)")
    return data


def _entry_path(entry_id: int) -> Path:
    return _entries_dir() / f"{entry_id:04d}.json"


def save(entry: Entry) -> None:
    write_bytes_atomic(_entry_path(entry.id),
                       json.dumps(asdict(entry), indent=1, ensure_ascii=False).encode("utf-8"), mode=0o600)


@dataclass
class Damaged:
    id: int
    path: str
    reason: str


def _entry_files() -> list[tuple[int, Path]]:
    """``(id, path)`` of every entry file, by number (``10000.json`` after ``9999.json``)."""
    try:
        names = [(int(m.group(1)), p) for p in _entries_dir().iterdir() if (m := _ENTRY_NAME.fullmatch(p.name))]
    except OSError:
        return []
    return sorted(names, key=lambda x: x[0])


def scan() -> tuple[list[Entry], list[Damaged]]:
    """The readable entries (oldest first) and the ones that could not be read."""
    from dlsetup.util.atomic import read_regular_bytes

    out, damaged = [], []
    for entry_id, p in _entry_files():
        try:
            entry = Entry.from_dict(json.loads(read_regular_bytes(p, 4 * 1024 * 1024).decode("utf-8")))
            if entry.id != entry_id:
                raise ValueError(f"it says it is entry #{entry.id}")
            out.append(entry)
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            damaged.append(Damaged(entry_id, str(p), str(exc)[:200] or type(exc).__name__))
    return out, damaged


_reported: set[str] = set()


def entries() -> list[Entry]:
    """All readable journal entries, oldest first; an unreadable one is reported on stderr (once) and kept."""
    found, damaged = scan()
    for d in damaged:
        if d.path not in _reported:
            from dlsetup.i18n import t
            from dlsetup.output import warn

            _reported.add(d.path)
            warn(t("safety.journal.damaged_entry", id=d.id, path=d.path, reason=d.reason))
    return found


def new_entry(action: str, mirror: str | None, scope: str | None, tools: list[str]) -> Entry:
    """A new entry under the next free number, taken with an exclusive create (never reuses or overwrites a
    number, not even one whose file is damaged)."""
    _entries_dir().mkdir(parents=True, exist_ok=True)
    entries()  # reports damaged entries (their numbers stay taken)
    files = _entry_files()
    next_id = (files[-1][0] + 1) if files else 1
    while True:
        try:
            fd = os.open(_entry_path(next_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            next_id += 1
            continue
        os.close(fd)
        break
    e = Entry(id=next_id, action=action, time=_now(), mirror=mirror, scope=scope, tools=list(tools))
    save(e)
    return e


# --------------------------------------------------------------------------------------------- write


def _missing_dirs(path: Path) -> list[str]:
    missing = []
    d = path.parent
    while not d.exists():
        missing.append(str(d))
        if d.parent == d:
            break
        d = d.parent
    return missing


def write_file(entry: Entry, path: Path, tool: str, old: bytes | None, new: bytes | None) -> None:
    """Journal the change, then make it (atomic replace, or delete when ``new`` is None)."""
    mode = None
    if old is not None:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = None
    change = FileChange(
        path=str(path), tool=tool, existed=old is not None,
        old_sha=store_blob(old) if old is not None else None,
        new_sha=store_blob(new) if new is not None else None,
        created_dirs=_missing_dirs(path) if new is not None else [], mode=mode,
    )
    entry.files.append(change)
    save(entry)
    if new is None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    else:
        write_bytes_atomic(path, new)


def finish(entry: Entry, status: str = "done") -> None:
    entry.status = status
    save(entry)


# ------------------------------------------------------------------------------------------- restore


@dataclass
class RestoredFile:
    path: str
    tool: str
    action: str  # "restored" | "deleted" | "unchanged" | "conflict"
    entry: int


def _current(path: Path) -> bytes | None:
    from dlsetup.util.atomic import read_regular_bytes

    try:
        return read_regular_bytes(path)
    except FileNotFoundError:
        return None


def undo_entry(entry: Entry, force: bool = False, dry_run: bool = False,
               virtual: dict[str, str | None] | None = None) -> list[RestoredFile]:
    """Put every file of ``entry`` back to its old bytes (newest change first); all or nothing.

    ``virtual`` maps paths to the sha256 they will have after earlier undos of the same restore, so
    a dry run over several entries sees the state each undo really starts from.
    """
    virtual = {} if virtual is None else virtual
    later_damaged = [d for d in scan()[1] if d.id > entry.id]
    if later_damaged:  # undoing past a change we cannot read would leave that change half in force
        raise OperationFailed("mirror.error.journal_damaged", path=later_damaged[0].path, reason=later_damaged[0].reason)
    for change in entry.files:
        try:
            _check_change(change)
        except ValueError as exc:
            raise OperationFailed("mirror.error.journal_damaged", path=str(_entry_path(entry.id)),
                                  reason=str(exc)[:200]) from None
    plan: list[tuple[FileChange, bytes | None, str]] = []
    conflicts = []
    for change in reversed(entry.files):
        path = Path(change.path)
        if change.path in virtual:
            cur_sha = virtual[change.path]
        else:
            cur = _current(path)
            cur_sha = sha(cur) if cur is not None else None
        if cur_sha == change.old_sha:
            plan.append((change, None, "unchanged"))
            continue
        if cur_sha != change.new_sha and not force:
            conflicts.append(change.path)
            continue
        old = load_blob(change.old_sha) if change.old_sha else None
        plan.append((change, old, "restored" if old is not None else "deleted"))
    if conflicts:
        raise UsageError("mirror.error.restore_conflict", id=entry.id, path=conflicts[0], count=len(conflicts))
    out: list[RestoredFile] = []
    for change, old, action in plan:
        virtual[change.path] = change.old_sha
        path = Path(change.path)
        if not dry_run and action != "unchanged":
            if old is None:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                for d in change.created_dirs:  # innermost first
                    try:
                        os.rmdir(d)
                    except OSError:
                        break
            else:
                write_bytes_atomic(path, old, mode=change.mode)
        out.append(RestoredFile(change.path, change.tool, action, entry.id))
    return out


def mark_reverted(entry: Entry) -> None:
    entry.status = "reverted"
    entry.reverted_at = _now()
    save(entry)


def active_entries() -> list[Entry]:
    """Entries whose changes are (possibly partly) in force: not reverted, not rolled back."""
    return [e for e in entries() if e.status in ("done", "in-progress")]


def current_mirror() -> Entry | None:
    """The newest ``apply`` still in force, unless a later ``reset`` is."""
    for e in reversed(active_entries()):
        if e.action == "reset":
            return None
        if e.action == "apply" and e.status == "done":
            return e
    return None
