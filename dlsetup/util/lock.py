"""An inter-process file lock with filelock's small API (``FileLock``, ``acquire``, ``release``, ``Timeout``).

On POSIX it is ``fcntl.flock`` on a lock file: the kernel drops the lock when the process dies, so a
killed run never leaves a stale lock. It exists because ``import filelock`` pulls in ``asyncio``
(~70-100 ms on a 2-core box), which alone would break ``dlsetup mirror``'s 0.3 s budget. Where
``fcntl`` is missing (Windows) it defers to the ``filelock`` library.
"""

from __future__ import annotations

import os
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Timeout(TimeoutError):
    """The lock is held by another process and ``timeout`` ran out."""

    def __init__(self, lock_file: str) -> None:
        self.lock_file = lock_file
        super().__init__(f"the file lock {lock_file!r} could not be acquired")


class _FlockLock:
    def __init__(self, lock_file: str) -> None:
        self.lock_file = str(lock_file)
        self._fd: int | None = None
        self._depth = 0

    @property
    def is_locked(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float = -1, poll_interval: float = 0.05) -> _FlockLock:
        """Block until locked; ``timeout`` < 0 waits forever, 0 tries once. Re-entrant in one process."""
        if self._fd is not None:
            self._depth += 1
            return self
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    raise Timeout(self.lock_file) from None
                time.sleep(poll_interval)
        self._fd = fd
        self._depth = 1
        return self

    def release(self, force: bool = False) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth > 0 and not force:
            return
        fd, self._fd, self._depth = self._fd, None, 0
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> _FlockLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class _FilelockAdapter:
    """filelock's lock (Windows, where fcntl is missing) with this module's API: its ``filelock.Timeout``
    becomes :class:`Timeout`, which callers turn into a dlsetup error (it is not a ``filelock`` type)."""

    def __init__(self, lock_file: str) -> None:
        import filelock

        self.lock_file = lock_file
        self._lock = filelock.FileLock(lock_file)

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    def acquire(self, timeout: float = -1, poll_interval: float = 0.05) -> _FilelockAdapter:
        import filelock

        try:
            self._lock.acquire(timeout=timeout, poll_interval=poll_interval)
        except filelock.Timeout:
            raise Timeout(self.lock_file) from None
        return self

    def release(self, force: bool = False) -> None:
        self._lock.release(force=force)

    def __enter__(self) -> _FilelockAdapter:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def FileLock(lock_file: str | os.PathLike[str]):  # noqa: N802 - mirrors filelock.FileLock
    """A lock on ``lock_file`` (created if missing; never deleted, as with filelock)."""
    if fcntl is None:  # Windows
        return _FilelockAdapter(str(lock_file))
    return _FlockLock(str(lock_file))
