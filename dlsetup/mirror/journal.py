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
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
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
        files = [FileChange(**f) for f in d.get("files", [])]
        return cls(**{**d, "files": files})


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
    try:
        return _blob(digest).read_bytes()
    except OSError as exc:
        raise OperationFailed("mirror.error.journal_damaged", path=str(_blob(digest)),
                              reason=exc.strerror or str(exc)) from None


def save(entry: Entry) -> None:
    write_bytes_atomic(_entries_dir() / f"{entry.id:04d}.json",
                       json.dumps(asdict(entry), indent=1, ensure_ascii=False).encode("utf-8"), mode=0o600)


def entries() -> list[Entry]:
    """All journal entries, oldest first (unreadable ones are skipped)."""
    d = _entries_dir()
    out = []
    try:
        names = sorted(p for p in d.iterdir() if p.suffix == ".json")
    except OSError:
        return []
    for p in names:
        try:
            out.append(Entry.from_dict(json.loads(p.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return out


def new_entry(action: str, mirror: str | None, scope: str | None, tools: list[str]) -> Entry:
    existing = entries()
    next_id = (existing[-1].id + 1) if existing else 1
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
