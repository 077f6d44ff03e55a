"""Benchmark the probe layer (issue 3): how long `probe_machine()` takes without --deep.

Prints, each as the median of several runs after a warm-up:
  * in-process: probe_machine() and probe_machine(parts={"system","nvidia"}) once dlsetup is imported;
  * whole process: `python -c "from dlsetup.probe import probe_machine; probe_machine()"` (what a CLI pays),
    and the same with parts={"system","nvidia"} (what `dlsetup resolve` pays for its probe);
  * the anchor, measured in the same run: `python -m torch.utils.collect_env` (PyTorch's environment
    report), and the ratio. The probe reports more (NVML ladder, toolkits, tooling, index settings).
Goals (brief P, item 12): whole-process probe well under 0.2 s warm; system+nvidia under 0.1 s.
Bytecode is compiled first and PYTHONDONTWRITEBYTECODE is dropped for the child runs, as on an installed copy.
Exit code 0 even when a goal is missed; each goal prints PASS or MISS.

    .venv/bin/python benchmarks/bench_probe.py [--runs N]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def median_time(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def child(code: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=str(REPO),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    compileall.compile_dir(str(REPO / "dlsetup"), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    from dlsetup.probe import probe_machine

    full_in = median_time(lambda: probe_machine(), args.runs)
    fast_in = median_time(lambda: probe_machine(parts={"system", "nvidia"}), args.runs)
    bare = median_time(lambda: child("pass", env), args.runs)
    full_proc = median_time(lambda: child("from dlsetup.probe import probe_machine; probe_machine()", env), args.runs)
    fast_proc = median_time(
        lambda: child("from dlsetup.probe import probe_machine; probe_machine(parts={'system','nvidia'})", env),
        args.runs)

    snap = probe_machine()
    print(f"machine: {snap.system.distro_name}, {snap.system.cpu_count} CPUs, NVIDIA rung={snap.nvidia.rung} "
          f"nvml_error={snap.nvidia.nvml_error}, frameworks={[f.name for f in snap.frameworks.items]}")
    print(f"per part (last run, ms): {snap.timings_ms}")
    print(f"python startup alone (python -c pass):             {bare * 1000:7.1f} ms")
    print(f"probe_machine() in-process, warm:                  {full_in * 1000:7.1f} ms")
    print(f"probe_machine(parts=system,nvidia) in-process:     {fast_in * 1000:7.1f} ms")
    print(f"whole process, full probe:                         {full_proc * 1000:7.1f} ms")
    print(f"whole process, system+nvidia:                      {fast_proc * 1000:7.1f} ms")

    anchor = None
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            anchor = median_time(lambda: child("import runpy; runpy.run_module('torch.utils.collect_env', "
                                               "run_name='__main__')", env), max(3, args.runs // 2))
    except subprocess.CalledProcessError:
        anchor = None
    if anchor:
        print(f"anchor: python -m torch.utils.collect_env:         {anchor * 1000:7.1f} ms")
        print(f"ratio collect_env / full probe (whole process):    {anchor / full_proc:7.1f}x")
    else:
        print("anchor: torch not installed here; collect_env not measured")

    goals = [("whole-process full probe < 200 ms", full_proc < 0.200),
             ("whole-process system+nvidia < 100 ms", fast_proc < 0.100),
             ("in-process full probe < 100 ms", full_in < 0.100)]
    for label, ok in goals:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
