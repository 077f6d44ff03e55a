"""dlsetup.util.lock: serialises processes, times out, and is freed when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlsetup.util.lock import FileLock, Timeout

HOLD = (
    "import sys, time\n"
    "from dlsetup.util.lock import FileLock\n"
    "lock = FileLock(sys.argv[1]); lock.acquire()\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def _holder(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_times_out_then_gets_the_lock(tmp_path: Path):
    path = tmp_path / "lock"
    proc = _holder(path, 1.0)
    try:
        with pytest.raises(Timeout):
            FileLock(path).acquire(timeout=0)
        lock = FileLock(path).acquire(timeout=30)  # waits for the holder to exit
        assert lock.is_locked
        lock.release()
        assert not lock.is_locked
    finally:
        proc.wait(timeout=30)


def test_lock_is_freed_when_the_holder_is_killed(tmp_path: Path):
    path = tmp_path / "lock"
    proc = _holder(path, 60)
    proc.kill()
    proc.wait(timeout=30)
    start = time.monotonic()
    with FileLock(path).acquire(timeout=5):
        assert time.monotonic() - start < 5


def test_reentrant_in_one_object_and_context_manager(tmp_path: Path):
    lock = FileLock(tmp_path / "lock")
    with lock:
        lock.acquire(timeout=0)
        lock.release()
        assert lock.is_locked
        with pytest.raises(Timeout):
            FileLock(tmp_path / "lock").acquire(timeout=0)
    assert not lock.is_locked
    FileLock(tmp_path / "lock").acquire(timeout=0).release()
