"""Timing a child process for the benchmarks: wall-clock seconds and the child's own CPU seconds (user + system,
from the OS's accounting of reaped children), which a busy machine disturbs far less than the wall clock."""

from __future__ import annotations

import resource
import statistics
import subprocess
import time


def child_cpu() -> float:
    """CPU seconds (user + system) of every child this process has reaped so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_timed(argv: list[str], **run_kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``argv`` once (``subprocess.run`` keyword arguments pass through): wall s, CPU s, the process."""
    cpu0, start = child_cpu(), time.perf_counter()
    proc = subprocess.run(argv, **run_kwargs)
    return time.perf_counter() - start, child_cpu() - cpu0, proc


def medians(argv: list[str], runs: int, warmup: int, **run_kwargs) -> tuple[float, float, list[float]]:
    """Median wall and median CPU seconds of ``runs`` runs after ``warmup`` untimed ones (output discarded),
    and the wall times themselves."""
    run_kwargs.setdefault("stdout", subprocess.DEVNULL)
    run_kwargs.setdefault("stderr", subprocess.DEVNULL)
    walls, cpus = [], []
    for i in range(warmup + runs):
        wall, cpu, _ = run_timed(argv, **run_kwargs)
        if i >= warmup:
            walls.append(wall)
            cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus), walls
