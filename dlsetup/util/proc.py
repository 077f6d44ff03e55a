"""Run a subprocess under a timeout and never raise: a hang, a flood or a missing program is data.

Tools on ``PATH`` are not dlsetup's: one may hang, print gigabytes, print bytes that are not UTF-8, or
crash. So every run here

* reads stdout and stderr in threads, keeping at most ``max_output`` bytes of each (1 MiB by default);
  a tool that prints more is stopped (``truncated`` is set) instead of filling memory;
* decodes as UTF-8 with replacement characters (invalid bytes never raise);
* on a timeout or a flood kills the whole process tree (:func:`kill_tree`: the process group on POSIX,
  psutil's child list or ``taskkill /T /F`` on Windows, where ``os.killpg`` does not exist);
* honours a whole-command time budget (:func:`budget`): inside ``with budget(10):`` no run lasts past
  the budget's end, however many tools are asked one after another or in threads.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

MAX_OUTPUT_BYTES = 1024 * 1024
_CHUNK = 64 * 1024

_budget_lock = threading.Lock()
_deadline: float | None = None  # time.monotonic() at which the current command's budget ends


@dataclass(frozen=True)
class ProcResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when the program could not start or timed out
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    error: str | None = None  # "not-found", "permission", or an OSError text
    truncated: bool = False  # it printed more than max_output bytes and was stopped

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None and not self.truncated


@contextmanager
def budget(seconds: float):
    """Every :func:`run` inside (in any thread) ends by ``seconds`` from now; nested budgets only shrink."""
    global _deadline
    with _budget_lock:
        previous = _deadline
        end = time.monotonic() + seconds
        _deadline = end if previous is None else min(previous, end)
    try:
        yield
    finally:
        with _budget_lock:
            _deadline = previous


def remaining_budget() -> float | None:
    """Seconds left in the current command's budget (None: no budget)."""
    d = _deadline
    return None if d is None else max(0.0, d - time.monotonic())


def _clamp(timeout: float) -> float:
    left = remaining_budget()
    return timeout if left is None else min(timeout, left)


def _reader(stream, buf: bytearray, limit: int, overflow: threading.Event) -> None:
    """Read ``stream`` to its end, keeping the first ``limit`` bytes; set ``overflow`` past the limit."""
    try:
        while True:
            chunk = stream.read1(_CHUNK) if hasattr(stream, "read1") else stream.read(_CHUNK)
            if not chunk:
                break
            room = limit - len(buf)
            if room > 0:
                buf += chunk[:room]
            if len(chunk) > room:
                overflow.set()
                break
    except (OSError, ValueError):
        pass


def run(
    argv: list[str] | tuple[str, ...],
    timeout: float = 10.0,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    input_text: str | None = None,
    max_output: int = MAX_OUTPUT_BYTES,
) -> ProcResult:
    """Run ``argv``; on timeout or a flood the whole process tree is killed (``timed_out``/``truncated``)."""
    import subprocess  # lazily: the probe's fast path often runs no process at all

    start = time.perf_counter()
    argv = tuple(str(a) for a in argv)
    timeout = _clamp(timeout)
    if timeout <= 0:
        return ProcResult(argv, None, "", "", 0.0, timed_out=True)
    kwargs: dict = {}
    if os.name == "nt":
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    else:
        kwargs["start_new_session"] = True
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            **kwargs,
        )
    except FileNotFoundError:
        return ProcResult(argv, None, "", "", time.perf_counter() - start, error="not-found")
    except PermissionError:
        return ProcResult(argv, None, "", "", time.perf_counter() - start, error="permission")
    except OSError as exc:
        return ProcResult(argv, None, "", "", time.perf_counter() - start, error=str(exc))

    out, err = bytearray(), bytearray()
    wake = threading.Event()  # set by the waiter (exit) or a reader (flood)
    overflow = threading.Event()

    def read(stream, buf):
        _reader(stream, buf, max_output, overflow)
        if overflow.is_set():
            wake.set()

    readers = [threading.Thread(target=read, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, err), daemon=True)]
    for t in readers:
        t.start()
    if input_text is not None:
        def feed() -> None:
            try:
                proc.stdin.write(input_text.encode("utf-8"))
            except (OSError, ValueError):
                pass
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        threading.Thread(target=feed, daemon=True).start()

    def waiter() -> None:
        try:
            proc.wait()
        finally:
            wake.set()

    threading.Thread(target=waiter, daemon=True).start()
    wake.wait(timeout)
    timed_out = proc.poll() is None and not overflow.is_set()
    if proc.poll() is None:
        kill_tree(proc)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    # A background grandchild may still hold a pipe open after the program exited: give the readers a
    # moment, then end the program's process group (only its own descendants) and never wait for long.
    for t in readers:
        t.join(timeout=0.5)
    if any(t.is_alive() for t in readers):
        kill_tree(proc)
        for t in readers:
            t.join(timeout=1.0)
    for stream in (proc.stdout, proc.stderr):
        try:
            stream.close()
        except OSError:
            pass
    stdout = bytes(out).decode("utf-8", errors="replace")
    stderr = bytes(err).decode("utf-8", errors="replace")
    duration = time.perf_counter() - start
    if timed_out:
        return ProcResult(argv, None, stdout, stderr, duration, timed_out=True, truncated=overflow.is_set())
    return ProcResult(argv, proc.returncode, stdout, stderr, duration, truncated=overflow.is_set())


def kill_tree(proc) -> None:
    """Kill ``proc`` (a ``subprocess.Popen``) and everything it started.

    POSIX: the process group (``run`` starts each program in a new session). Windows, which has no
    ``os.killpg``: psutil's recursive child list, else ``taskkill /T /F``.
    """
    if os.name == "nt":  # pragma: no cover - exercised on Windows CI
        try:
            import psutil

            try:
                parent = psutil.Process(proc.pid)
                family = parent.children(recursive=True) + [parent]
            except psutil.Error:
                family = []
            for p in family:
                try:
                    p.kill()
                except psutil.Error:
                    pass
        except ImportError:
            import subprocess

            try:
                subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True, timeout=10)
            except (OSError, subprocess.SubprocessError):
                pass
        try:
            proc.kill()
        except OSError:
            pass
        return
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass


_kill_group = kill_tree  # the former name
