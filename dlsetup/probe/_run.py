"""Small, import-cheap helpers for the probers: parallel threads with a deadline, ``which``, lazy ``run``.

``concurrent.futures`` (which pulls in ``logging``) and ``subprocess`` cost more to import than most probes
take, so the fast path uses plain threads and imports ``subprocess`` only when a process is really spawned.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any


def parallel(jobs: dict[str, Callable[[], Any]], timeout: float | None = None) -> dict[str, tuple[str, Any, float]]:
    """Run each job in a daemon thread; wait for all until ``timeout`` seconds in total.

    Returns ``name -> (status, value, ms)``: status ``"ok"`` (value = result), ``"error"`` (value = the
    exception) or ``"timeout"`` (value = None; the thread is left to finish on its own).
    """
    out: dict[str, tuple[str, Any, float]] = {}
    if len(jobs) == 1:  # no thread needed
        (name, fn), = jobs.items()
        t = time.perf_counter()
        try:
            out[name] = ("ok", fn(), _ms(t))
        except Exception as exc:
            out[name] = ("error", exc, _ms(t))
        return out
    lock = threading.Lock()
    threads = []
    start = time.perf_counter()

    def runner(name: str, fn: Callable[[], Any]) -> None:
        t = time.perf_counter()
        try:
            result = ("ok", fn(), _ms(t))
        except Exception as exc:
            result = ("error", exc, _ms(t))
        with lock:
            out[name] = result

    for name, fn in jobs.items():
        th = threading.Thread(target=runner, args=(name, fn), name=f"dlsetup-probe-{name}", daemon=True)
        th.start()
        threads.append((name, th))
    deadline = None if timeout is None else start + timeout
    for _name, th in threads:
        th.join(None if deadline is None else max(0.0, deadline - time.perf_counter()))
    with lock:
        result = dict(out)
    for name, _ in threads:
        if name not in result:
            result[name] = ("timeout", None, _ms(start))
    return result


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def which(name: str, path: str | None = None) -> str | None:
    """``shutil.which`` for executables by bare name, without importing shutil (POSIX and Windows)."""
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    search = os.environ.get("PATH", os.defpath) if path is None else path
    exts = [""]
    if os.name == "nt":
        exts += os.environ.get("PATHEXT", ".EXE;.BAT;.CMD").lower().split(";")
    for d in search.split(os.pathsep):
        if not d:
            continue
        for ext in exts:
            cand = os.path.join(d, name + ext)
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand
    return None


def run(argv: Any, timeout: float = 10.0, env: Any = None, cwd: str | None = None) -> Any:
    """:func:`dlsetup.util.proc.run`, imported on first use."""
    from dlsetup.util.proc import run as _run

    return _run(argv, timeout=timeout, env=env, cwd=cwd)
