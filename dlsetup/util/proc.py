"""Run a subprocess under a timeout and never raise: a hang or a missing program is data."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when the program could not start or timed out
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    error: str | None = None  # "not-found", "permission", or an OSError text

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None


def run(
    argv: list[str] | tuple[str, ...],
    timeout: float = 10.0,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    input_text: str | None = None,
) -> ProcResult:
    """Run ``argv``; on timeout the whole process group is killed and ``timed_out`` is set."""
    import subprocess  # lazily: the probe's fast path often runs no process at all

    start = time.perf_counter()
    argv = tuple(str(a) for a in argv)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError:
        return ProcResult(argv, None, "", "", time.perf_counter() - start, error="not-found")
    except PermissionError:
        return ProcResult(argv, None, "", "", time.perf_counter() - start, error="permission")
    except OSError as exc:
        return ProcResult(argv, None, "", "", time.perf_counter() - start, error=str(exc))
    try:
        out, err = proc.communicate(input=input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=2)
        except Exception:
            out, err = "", ""
        return ProcResult(argv, None, out or "", err or "", time.perf_counter() - start, timed_out=True)
    return ProcResult(argv, proc.returncode, out, err, time.perf_counter() - start)


def _kill_group(proc) -> None:  # a subprocess.Popen
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass
