"""All-or-nothing environments: build in a hidden sibling directory, move into place only when complete.

A new environment is linked into ``<envs_dir>/.dlsetup-staging-<name>-<token>`` with the *final* prefix
patched into its files (rattler's ``alternative_target_prefix``), then renamed to ``<envs_dir>/<name>``
in one ``rename`` on the same file system. A failed solve or download, an exception, Ctrl-C or SIGTERM
removes the staging directory; a SIGKILL cannot be caught, so each staging directory holds an OS file
lock while its process lives and the next dlsetup run that looks at that envs dir deletes any staging
directory whose lock nobody holds. Removal goes the other way: rename to ``.dlsetup-trash-…``, then
delete, so a killed ``remove`` never leaves a half-deleted environment under its real name.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import threading
import time
from pathlib import Path

STAGING = ".dlsetup-staging-"
TRASH = ".dlsetup-trash-"
LOCK_SUFFIX = ".lock"


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while an environment was being built: cleaned up and reported like Ctrl-C."""


def _lock(path: Path):
    from dlsetup.util.lock import FileLock

    return FileLock(str(path) + LOCK_SUFFIX)


def remove_tree(path: Path, attempts: int = 5) -> bool:
    """Delete a directory tree, retrying briefly (a cancelled linker thread may still be writing)."""
    for i in range(attempts):
        if not os.path.lexists(path):
            return True
        if path.is_symlink() or not path.is_dir():
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return True
        time.sleep(0.05 * (i + 1))
    return not os.path.lexists(path)


def clean_stale(parent: Path) -> list[str]:
    """Delete staging/trash directories in ``parent`` whose owning process is gone; return their names."""
    from dlsetup.util.lock import Timeout

    cleaned: list[str] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return cleaned
    for entry in entries:
        name = entry.name
        if not name.startswith((STAGING, TRASH)) or name.endswith(LOCK_SUFFIX):
            continue
        lock = _lock(entry)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # a live process owns it
        except OSError:
            continue
        try:
            if remove_tree(entry):
                cleaned.append(name)
        finally:
            lock.release()
            _unlink(Path(str(entry) + LOCK_SUFFIX))
    return cleaned


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass


class Stage:
    """``with Stage(final) as st: build into st.path; st.commit()`` — nothing is left unless committed."""

    def __init__(self, final: Path) -> None:
        self.final = Path(os.path.abspath(final))
        self.parent = self.final.parent
        token = secrets.token_hex(4)
        self.path = self.parent / f"{STAGING}{self.final.name}-{token}"
        self._lock = _lock(self.path)
        self.committed = False
        self.cleaned: list[str] = []
        self._old_term = None

    def __enter__(self) -> Stage:
        from dlsetup.errors import UsageError

        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self.cleaned = clean_stale(self.parent)
            self._lock.acquire(timeout=0)
        except OSError as exc:  # e.g. a read-only or foreign directory: bad input, nothing was made
            raise UsageError("core.error.not_writable", path=str(self.parent), reason=exc.strerror or str(exc)) from None
        try:
            self.path.mkdir()
        except BaseException:
            self._release()
            raise
        if threading.current_thread() is threading.main_thread():
            try:
                self._old_term = signal.signal(signal.SIGTERM, self._on_term)
            except (ValueError, OSError):
                self._old_term = None
        return self

    @staticmethod
    def _on_term(signum, frame):  # noqa: ANN001
        raise Terminated()

    def commit(self) -> None:
        """Move the finished environment into place (one rename on the same file system)."""
        from dlsetup.errors import UsageError

        if os.path.lexists(self.final):
            raise UsageError("envs.error.exists", prefix=str(self.final))
        os.rename(self.path, self.final)
        self.committed = True

    def _release(self) -> None:
        try:
            self._lock.release()
        finally:
            _unlink(Path(str(self.path) + LOCK_SUFFIX))

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if self._old_term is not None:
            try:
                signal.signal(signal.SIGTERM, self._old_term)
            except (ValueError, OSError):
                pass
        try:
            if not self.committed:
                remove_tree(self.path)
        finally:
            self._release()


def move_to_trash(prefix: Path) -> Path:
    """Rename an environment out of the way before deleting it (see the module docstring)."""
    trash = prefix.parent / f"{TRASH}{prefix.name}-{secrets.token_hex(4)}"
    lock = _lock(trash)
    lock.acquire(timeout=0)
    try:
        os.rename(prefix, trash)
        remove_tree(trash)
    finally:
        lock.release()
        _unlink(Path(str(trash) + LOCK_SUFFIX))
    return trash


def tracked_files(prefix: Path) -> set[str]:
    """Relative paths that conda packages own (``files`` of every ``conda-meta/*.json``)."""
    import json

    owned: set[str] = set()
    meta = prefix / "conda-meta"
    for rec in meta.glob("*.json"):
        try:
            data = json.loads(rec.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        owned.update(str(f) for f in data.get("files") or [])
    return owned


def untracked_files(prefix: Path) -> list[str]:
    """Files (and symlinks) in ``prefix`` no conda package owns — pip installs and user files."""
    owned = tracked_files(prefix)
    out: list[str] = []
    for root, dirs, files in os.walk(prefix):
        rel_root = os.path.relpath(root, prefix)
        if rel_root == "conda-meta" or rel_root.startswith("conda-meta" + os.sep):
            dirs[:] = []
            continue
        for d in list(dirs):
            if os.path.islink(os.path.join(root, d)):
                files.append(d)
                dirs.remove(d)
        for f in files:
            rel = os.path.normpath(os.path.join(rel_root, f))
            if rel not in owned and f != "CACHEDIR.TAG":
                out.append(rel)
    return sorted(out)


def copy_with_prefix(src_prefix: Path, dst_prefix: Path, rels: list[str], old: str, new: str) -> int:
    """conda's clone of untracked files (conda/misc.py ``clone_env``): text files get ``old`` → ``new``."""
    n = 0
    for rel in rels:
        src, dst = src_prefix / rel, dst_prefix / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(dst):
            continue
        if src.is_symlink():
            target = os.readlink(src)
            os.symlink(target.replace(old, new) if target.startswith(old) else target, dst)
        else:
            data = src.read_bytes()
            data = _replace_text(data, old, new)
            dst.write_bytes(data)
            shutil.copystat(src, dst)
        n += 1
    return n


def rewrite_prefix(prefix: Path, rels: list[str], old: str, new: str) -> int:
    """In-place ``old`` → ``new`` in the text files (and symlinks) among ``rels``; returns files changed."""
    n = 0
    for rel in rels:
        p = prefix / rel
        if p.is_symlink():
            target = os.readlink(p)
            if target.startswith(old):
                p.unlink()
                os.symlink(new + target[len(old):], p)
                n += 1
            continue
        try:
            data = p.read_bytes()
        except OSError:
            continue
        changed = _replace_text(data, old, new)
        if changed is not data:
            mode = p.stat().st_mode
            p.write_bytes(changed)
            os.chmod(p, mode & 0o7777)
            n += 1
    return n


def _replace_text(data: bytes, old: str, new: str) -> bytes:
    """Replace in UTF-8 text only; binary files are left alone, exactly as conda's clone does."""
    needle = old.encode()
    if needle not in data:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return text.replace(old, new).encode("utf-8")


UNFINISHED = ".dlsetup-creating"  # beside an environment built in place (a venv cannot be moved once made)


class InPlaceBuild:
    """Mark an environment that must be built at its final path (a venv: its scripts name their own path) as
    unfinished while it is built: an OS lock on ``<prefix>.dlsetup-creating`` held by the building process.
    A SIGKILL cannot be caught, so :func:`clean_unfinished` lets the next run remove a prefix whose marker
    lock nobody holds; a finished build removes the marker."""

    def __init__(self, prefix: Path) -> None:
        self.marker = Path(str(prefix) + UNFINISHED)
        self.lock = None

    def __enter__(self) -> InPlaceBuild:
        from dlsetup.util.lock import FileLock

        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(self.marker))
        self.lock.acquire(timeout=0)
        return self

    def __exit__(self, *exc) -> None:
        if self.lock is not None:
            self.lock.release()
        _unlink(self.marker)


def clean_unfinished(prefix: Path) -> bool:
    """Remove ``prefix`` when an in-place build of it was killed (its marker exists and no process holds it).
    True when something was removed; a prefix without the marker is never touched."""
    from dlsetup.util.lock import FileLock, Timeout

    marker = Path(str(prefix) + UNFINISHED)
    if not marker.exists():
        return False
    lock = FileLock(str(marker))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return False  # a live process is building it
    try:
        removed = remove_tree(prefix)
    finally:
        lock.release()
    if removed:
        _unlink(marker)
    return removed
