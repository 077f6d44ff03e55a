"""Benchmark `dlsetup verify` on this machine: wall time of the whole command, as a user runs it.

Goals (issue 7, 2-core CPU box): `--quick` <= 4 s; the default suite <= 8 s with a warm extension cache
and <= 40 s with a cold one (`--rebuild`). The anchor is `import torch` in a fresh interpreter, measured
in the same run: the suite cannot be faster than starting Python and importing torch once.

Method: each figure is the median of --runs runs after one warm-up run (the cold build: --cold-runs
runs, each with --rebuild). Times are wall-clock seconds of `python -m dlsetup verify ...` in a
subprocess, with dlsetup's cache in a temporary directory (this machine's own cache is untouched).
The per-stage times of the median run are printed too. Exit status is 0 even when a goal is missed.

    .venv/bin/python benchmarks/bench_verify.py [--runs 3] [--cold-runs 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(REPO))
    return time.perf_counter() - start, proc


def verify(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    seconds, proc = timed([sys.executable, "-m", "dlsetup", "verify", "--json", *args], env)
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        sys.exit(f"dlsetup verify {' '.join(args)} printed no JSON (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    if doc.get("status") != "pass":
        failed = [s["name"] for s in doc.get("stages", []) if s["status"] == "fail"]
        print(f"  warning: verify {' '.join(args)} did not pass (failed: {', '.join(failed)})")
    return seconds, doc


def median_run(args: list[str], env: dict[str, str], runs: int, warmup: bool = True) -> tuple[float, list[float], dict]:
    if warmup:
        verify(args, env)
    results = [verify(args, env) for _ in range(runs)]
    times = [t for t, _ in results]
    med = statistics.median(times)
    doc = min(results, key=lambda r: abs(r[0] - med))[1]
    return med, times, doc


def stage_line(doc: dict) -> str:
    return ", ".join(f"{s['name']} {s['duration_s']:.2f}" for s in doc["stages"] if s.get("duration_s") is not None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per figure (median), after one warm-up")
    ap.add_argument("--cold-runs", type=int, default=1, help="cold-build runs (each rebuilds the extension)")
    ap.add_argument("--device", default="auto", help="passed to verify --device")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        env = dict(os.environ, DLSETUP_CACHE_DIR=str(Path(tmp) / "cache"), NO_COLOR="1")
        dev = ["--device", opts.device]

        print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average "
              f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        timed([sys.executable, "-c", "import torch"], env)  # warm the page cache
        anchor_runs = [timed([sys.executable, "-c", "import torch"], env)[0] for _ in range(max(3, opts.runs))]
        anchor = statistics.median(anchor_runs)
        print(f"anchor: python -c 'import torch'  median {anchor:.2f} s  runs {[round(x, 2) for x in anchor_runs]}")

        rows = []
        quick, quick_runs, quick_doc = median_run(["--quick", *dev], env, opts.runs)
        rows.append(("verify --quick", quick, 4.0, quick_runs, quick_doc))

        cold_runs = []
        cold_doc: dict = {}
        for _ in range(opts.cold_runs):
            seconds, cold_doc = verify(["--rebuild", *dev], env)
            cold_runs.append(seconds)
        cold = statistics.median(cold_runs)
        rows.append(("verify (cold extension build, --rebuild)", cold, 40.0, cold_runs, cold_doc))

        warm, warm_runs, warm_doc = median_run(dev, env, opts.runs, warmup=False)  # the cold run warmed the cache
        rows.append(("verify (warm extension cache)", warm, 8.0, warm_runs, warm_doc))

        print()
        for name, value, goal, runs, doc in rows:
            verdict = "PASS" if value <= goal else "MISS"
            print(f"{name:<42} median {value:6.2f} s  goal <= {goal:4.1f} s  {verdict}  "
                  f"({value / anchor:4.1f}x import torch)  runs {[round(x, 2) for x in runs]}")
            print(f"{'':<42} stages: {stage_line(doc)}")
        ext = next((s for s in cold_doc.get("stages", []) if s["name"] == "extension"), None)
        if ext:
            print(f"\ncold extension build: {ext['details'].get('build_s')} s (cached={ext['details'].get('cached')})")
        train = next((s for s in warm_doc.get("stages", []) if s["name"] == "train"), None)
        if train:
            d = train["details"]
            print(f"training: data {d.get('data_s')} s, train {d.get('train_s')} s, {d.get('epochs')} epochs, "
                  f"{d.get('steps')} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
