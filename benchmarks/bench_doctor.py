"""How fast is `dlsetup doctor`? Whole-process wall times, against `python -m torch.utils.collect_env` measured
in the same run (the anchor: it prints raw facts and draws no conclusion).

Goals (issue 3, on the 2-core CI box):
  * `dlsetup doctor` (no --deep) <= 0.3 s warm, whole process;
  * >= 8x faster than `python -m torch.utils.collect_env`;
  * `dlsetup --help` <= 0.15 s;
  * `dlsetup doctor` imports neither torch nor tensorflow.

Run:  .venv/bin/python benchmarks/bench_doctor.py [--runs N] [--importtime]
Each figure is the median of N runs after warm-up runs (caches warm, bytecode compiled), wall time and
the child's CPU time (user+sys; steadier when other work competes for the cores; the probe runs parts
in threads, so CPU can exceed wall). The goals are judged on wall time. The script always exits 0; it
prints PASS/MISS per goal. Figures are noisy on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _timing import medians  # benchmarks/_timing.py (the script's own folder is on sys.path)

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(PY).parent / "dlsetup"

GOAL_DOCTOR_S = 0.3
GOAL_RATIO = 8.0
GOAL_HELP_S = 0.15


CPU: dict[str, float] = {}  # argv label -> median CPU seconds (user+sys) of the child: steadier on a busy box


def wall(argv: list[str], runs: int, warmup: int = 2) -> tuple[float, list[float]]:
    """Median wall time of ``argv`` (stdout/stderr discarded) over ``runs`` runs after ``warmup`` runs."""
    median_wall, median_cpu, times = medians(argv, runs, warmup, env=dict(os.environ, NO_COLOR="1"), cwd=ROOT,
                                             check=False)
    CPU[" ".join(argv)] = median_cpu
    return median_wall, times


def cpu_ms(argv: list[str]) -> str:
    return f"cpu {CPU.get(' '.join(argv), 0.0) * 1000:6.1f} ms"


def imported_frameworks() -> list[str]:
    code = (
        "import sys\nfrom dlsetup.cli import main\n"
        "try:\n    main(['doctor', '--json'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'tensorflow', 'jax', 'paddle'}),"
        " file=sys.stderr)\n"
    )
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return eval(out.stderr.strip().splitlines()[-1])  # a printed list of names


def importtime_top(n: int = 15) -> list[tuple[int, str]]:
    out = subprocess.run([PY, "-X", "importtime", "-m", "dlsetup", "doctor", "--json"], capture_output=True, text=True,
                         cwd=ROOT)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line.split("|")
            try:
                rows.append((int(parts[1].strip()), parts[2].rstrip()))
            except ValueError:
                continue
    return sorted(rows, reverse=True)[:n]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9, help="timed runs per command (default 9; collect_env uses 3)")
    ap.add_argument("--importtime", action="store_true", help="also print the slowest imports of `dlsetup doctor`")
    args = ap.parse_args()

    print(f"python {sys.version.split()[0]} at {PY}; {os.cpu_count()} CPUs")
    anchor_py, _ = wall([PY, "-c", "pass"], args.runs)
    print(f"  python -c pass                      {anchor_py * 1000:7.1f} ms   {cpu_ms([PY, '-c', 'pass'])}"
          "   (interpreter start, for scale)")

    doctor_m, times = wall([PY, "-m", "dlsetup", "doctor"], args.runs)
    print(f"  python -m dlsetup doctor            {doctor_m * 1000:7.1f} ms   {cpu_ms([PY, '-m', 'dlsetup', 'doctor'])}"
          f"   (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
    doctor_json, _ = wall([PY, "-m", "dlsetup", "doctor", "--json"], args.runs)
    print(f"  python -m dlsetup doctor --json     {doctor_json * 1000:7.1f} ms")
    doctor_script = None
    if SCRIPT.exists():
        doctor_script, _ = wall([str(SCRIPT), "doctor"], args.runs)
        print(f"  dlsetup doctor (console script)     {doctor_script * 1000:7.1f} ms   {cpu_ms([str(SCRIPT), 'doctor'])}")
    help_s, _ = wall([PY, "-m", "dlsetup", "--help"], args.runs)
    print(f"  python -m dlsetup --help            {help_s * 1000:7.1f} ms   {cpu_ms([PY, '-m', 'dlsetup', '--help'])}")

    collect = None
    try:
        import importlib.util

        have_torch = importlib.util.find_spec("torch") is not None
    except Exception:
        have_torch = False
    if have_torch:
        collect, ctimes = wall([PY, "-m", "torch.utils.collect_env"], max(3, args.runs // 3), warmup=1)
        print(f"  python -m torch.utils.collect_env   {collect * 1000:7.1f} ms   "
              f"{cpu_ms([PY, '-m', 'torch.utils.collect_env'])}   (anchor)")
    else:
        print("  python -m torch.utils.collect_env   (torch not installed: no anchor)")

    best = min(x for x in (doctor_m, doctor_script) if x is not None)
    print()
    print(f"{verdict(best <= GOAL_DOCTOR_S)}  doctor warm <= {GOAL_DOCTOR_S:.2f} s: {best:.3f} s")
    if collect is not None:
        ratio = collect / best
        print(f"{verdict(ratio >= GOAL_RATIO)}  doctor >= {GOAL_RATIO:g}x faster than collect_env: {ratio:.1f}x "
              f"({collect:.2f} s / {best:.3f} s)")
    else:
        print("MISS  doctor vs collect_env: no anchor (install torch)")
    print(f"{verdict(help_s <= GOAL_HELP_S)}  dlsetup --help <= {GOAL_HELP_S:.2f} s: {help_s:.3f} s")
    frameworks = imported_frameworks()
    print(f"{verdict(not frameworks)}  doctor without --deep imports no framework: {frameworks or 'none imported'}")

    if args.importtime:
        print("\nslowest imports of `python -m dlsetup doctor --json` (cumulative us, module):")
        for us, mod in importtime_top():
            print(f"  {us:9d}  {mod}")
    if shutil.which("nvidia-smi") is None:
        print("\n(no nvidia-smi on this machine: the NVIDIA ladder stops at the cheap rungs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
