"""How fast is `dlsetup report` over a class or a cluster? Whole-process wall times, against `python -c pass`
measured in the same run (the anchor: interpreter start-up, the floor no command can beat).

Goals (issue 13, on the 2-core CI box):
  * `dlsetup report DIR` over 200 snapshots <= 2 s whole process (text, --json and --html each);
  * `dlsetup setup --dry-run --snapshot FILE` <= 1 s whole process (plan only: no solve, no download).

The 200 snapshots are generated from the project's fixtures by tests/report/snapgen.py (GPU, driver and
torch build mutated). Each figure is the median of N runs after warm-up runs.

Run:  .venv/bin/python benchmarks/bench_report.py [--runs N]
The script always exits 0; it prints PASS/MISS per goal. Figures are noisy on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import medians  # benchmarks/_timing.py (the script's own folder is on sys.path)

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_REPORT_S = 2.0
GOAL_SETUP_DRY_S = 1.0


CPU: list[float] = []  # median CPU seconds (user+sys) of the last measured command: steadier on a busy box


def wall(argv: list[str], runs: int, env: dict[str, str] | None = None, warmup: int = 1) -> float:
    median_wall, median_cpu, _ = medians(argv, runs, warmup, env=dict(os.environ, NO_COLOR="1", **(env or {})),
                                         cwd=ROOT, check=False)
    CPU.append(median_cpu)
    return median_wall


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    from tests.report.snapgen import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]} at {PY}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        snaps = Path(tmp) / "snaps"
        generate(200, snaps)
        home = Path(tmp) / "home"
        home.mkdir()
        env = {"HOME": str(home), "DLSETUP_STATE_DIR": str(home / "state"), "DLSETUP_CACHE_DIR": str(home / "cache"),
               "DLSETUP_CONFIG_DIR": str(home / "config"), "XDG_CONFIG_HOME": str(home / ".config")}
        anchor = wall([PY, "-c", "pass"], args.runs)
        print(f"  python -c pass                             {anchor * 1000:7.1f} ms   (anchor)   cpu {CPU[-1] * 1000:.0f} ms")
        rows = []
        for label, extra in (("report 200 (text)", []), ("report 200 --json", ["--json"]),
                             ("report 200 --html", ["--html", str(Path(tmp) / "r.html")])):
            s = wall([PY, "-m", "dlsetup", "report", str(snaps), *extra], args.runs, env)
            rows.append((label, s, GOAL_REPORT_S))
            print(f"  dlsetup {label:34s} {s * 1000:7.1f} ms   ({s / anchor:.1f}x the anchor)   cpu {CPU[-1] * 1000:.0f} ms")
        fixture = ROOT / "tests" / "fixtures" / "snapshots" / "rtx4090-torch-cpu.json"
        setup_cmd = [PY, "-m", "dlsetup", "setup", "--dry-run", "--snapshot", str(fixture), "--mirror", "none"]
        if subprocess.run([PY, "-m", "dlsetup", "setup", "--help"], capture_output=True, cwd=ROOT).returncode == 0:
            s = wall(setup_cmd, args.runs, env)
            rows.append(("setup --dry-run --snapshot", s, GOAL_SETUP_DRY_S))
            print(f"  dlsetup {'setup --dry-run --snapshot':34s} {s * 1000:7.1f} ms   ({s / anchor:.1f}x the anchor)   cpu {CPU[-1] * 1000:.0f} ms")
            live = [PY, "-m", "dlsetup", "setup", "--dry-run"]  # this machine: live probe, resolve, plan
            s = wall(live, args.runs, env)
            rows.append(("setup --dry-run (this machine)", s, GOAL_SETUP_DRY_S))
            print(f"  dlsetup {'setup --dry-run (this machine)':34s} {s * 1000:7.1f} ms   ({s / anchor:.1f}x the anchor)   cpu {CPU[-1] * 1000:.0f} ms")
    print()
    for label, s, goal in rows:
        print(f"{verdict(s <= goal)}  {label} <= {goal:.1f} s: {s:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
