"""The one way dlsetup writes a user's file: a temp file next to the target, fsync, then rename over it.

What it guards against (each was seen: a ``~/.condarc`` linked to a device node became a 973-byte
file; ``--save-snapshot`` through a link to a FIFO left a world-writable file; a config owned by
another user became ``root:root 600``; a kill mid-write left hidden temp copies in ``$HOME``):

* the target must be a regular file (or not exist): a device node, FIFO, socket or directory is
  refused with :class:`NotRegularFile` before anything is written;
* a symlink is written *through*: the link stays, its regular target gets the new bytes;
* the old file's mode, owner and group are kept (``mode=`` overrides the mode only);
* the data is fsynced before the rename, and the directory after it;
* temp files carry a recognisable name (``.<name>.dlsetup-tmp-<pid>-<random>``): an error removes
  its own, and :func:`clean_stale_temps` removes those a killed run left (their pid is gone);
* a full disk (ENOSPC/EDQUOT) leaves the target untouched and raises :class:`DiskFull`, whose
  message is one line.

Both error classes are ``OSError`` (callers that already report an OSError keep working) and
``DlsetupError`` (one line and an exit code when nothing catches them).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from dlsetup.errors import DlsetupError

TEMP_MARK = ".dlsetup-tmp-"


class NotRegularFile(OSError, DlsetupError):
    """The target exists but is not a regular file (device, FIFO, socket, directory)."""

    def __init__(self, path: str, kind: str) -> None:
        OSError.__init__(self, errno.EINVAL, f"not a regular file ({kind})", path)
        DlsetupError.__init__(self, "safety.error.not_regular", 2, path=path, kind=kind)
        self.kind = kind
        self.strerror = f"not a regular file ({kind})"
        self.filename = path

    def __str__(self) -> str:
        return DlsetupError.__str__(self)


class FileTooLarge(OSError):
    """A file over the size a reader accepts (``errno.EFBIG``); ``size`` is its size, or what was read of it."""

    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {limit} bytes", path)
        self.size = size
        self.limit = limit


class DiskFull(OSError, DlsetupError):
    """No space left: nothing was changed."""

    def __init__(self, path: str, err: int = errno.ENOSPC) -> None:
        OSError.__init__(self, err, os.strerror(err), path)
        DlsetupError.__init__(self, "safety.error.disk_full", 1, path=path)
        self.strerror = os.strerror(err)
        self.filename = path

    def __str__(self) -> str:
        return DlsetupError.__str__(self)


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISREG, "regular file")):
        if test(mode):
            return name
    return "special file"


def resolve_target(path: Path | str) -> Path:
    """The file a write to ``path`` must change: ``path`` itself, or the end of its symlink chain.

    Raises NotRegularFile when that exists and is not a regular file.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if os.path.islink(path) else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError:
        return target  # let the write itself report permission problems
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(str(path), file_kind(st.st_mode))
    return target


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale_temps(directory: Path | str, name: str | None = None) -> list[Path]:
    """Remove temp files a killed dlsetup left in ``directory`` (for ``name``, or any); returns them.

    Only files with dlsetup's mark whose writer process is gone are removed.
    """
    out: list[Path] = []
    prefix = f".{name}{TEMP_MARK}" if name else "."
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return out
    for entry in entries:
        if not entry.name.startswith(prefix) or TEMP_MARK not in entry.name:
            continue
        pid_part = entry.name.rsplit(TEMP_MARK, 1)[1].split("-", 1)[0]
        if not (pid_part.isascii() and pid_part.isdigit()) or _alive(int(pid_part)):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                out.append(Path(entry.path))
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        try:
            import psutil

            return psutil.pid_exists(pid)
        except ImportError:  # pragma: no cover
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def write_bytes_atomic(path: Path | str, data: bytes, mode: int | None = None) -> None:
    """Replace the file at ``path`` (or its symlink's target) with ``data`` atomically.

    Keeps the old file's mode, owner and group (``mode`` overrides the mode; a new file gets 0o644
    or ``mode``). Raises NotRegularFile, DiskFull, or another OSError; the target is then unchanged.
    """
    import secrets

    target = resolve_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target.parent, target.name)
    old_st = None
    try:
        old_st = os.stat(target)
    except OSError:
        pass
    if mode is None:
        mode = (old_st.st_mode & 0o7777) if old_st is not None else 0o644
    tmp = target.parent / f".{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if old_st is not None and hasattr(os, "chown"):
            try:
                os.chown(tmp, old_st.st_uid, old_st.st_gid)
            except OSError:
                pass  # not permitted (another user's file and we are not root): the rename still works
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) \
                and not isinstance(exc, DiskFull):
            raise DiskFull(str(path), exc.errno) from None
        raise
    _fsync_dir(target.parent)


MAX_CONFIG_BYTES = 16 * 1024 * 1024


def read_regular_bytes(path: Path | str, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a regular file (through symlinks), at most ``limit`` of them.

    A FIFO would block the read forever and ``/dev/zero`` never ends, so anything but a regular file
    raises NotRegularFile without being opened for reading (it is opened non-blocking and checked again on
    the descriptor, in case it was swapped in between); a file over ``limit`` raises FileTooLarge, without
    being read when its size says so; FileNotFoundError and other OSErrors pass.
    """
    path = Path(path)
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        raise NotRegularFile(str(path), file_kind(st.st_mode))
    if st.st_size > limit:
        raise FileTooLarge(str(path), st.st_size, limit)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise NotRegularFile(str(path), file_kind(fst.st_mode))
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:  # it grew after the stat
        raise FileTooLarge(str(path), total, limit)
    return b"".join(chunks)


def write_text_atomic(path: Path | str, text: str, mode: int | None = None) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), mode)
