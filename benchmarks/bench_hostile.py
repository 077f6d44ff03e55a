"""`dlsetup doctor` with every tool on PATH hostile: wall time and peak memory, against the same doctor with
well-behaved tools measured in the same run (the anchor).

Goals (issue 10): with every tool that doctor runs (nvidia-smi, nvcc, gcc, conda, mamba, micromamba, pip,
uv, pixi, ...) replaced by one that hangs (and leaves a background child holding the pipe), floods stdout,
prints invalid UTF-8 with an OSC 52 escape, or crashes, doctor
  * finishes in <= 10 s (wall, whole process);
  * peaks at <= 200 MB resident (dlsetup's own process: ru_maxrss of RUSAGE_SELF);
  * leaves no process of the hostile tools behind;
  * prints no control byte (text output).

Run:  .venv/bin/python benchmarks/bench_hostile.py [--runs N]
The fake tools are shell scripts in a temp dir; HOME points into it too. Prints figures and PASS/MISS; exits 0.
Measured before this change (same box, same fake tools): flood 35.9 s and 7.4 GB; hang 10.6 s.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
TOOLS = ["nvidia-smi", "nvcc", "gcc", "conda", "mamba", "micromamba", "pip", "pip3", "uv", "pixi", "ldconfig", "git"]
MODES = {
    "well-behaved (anchor)": 'echo "$(basename "$0") 1.0"',
    "hang": "/bin/sleep 3600 &\nexec /bin/sleep 3600",
    "flood": "exec /usr/bin/yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "invalid-utf8": 'printf "\\377\\376\\033]52;c;Y3VybCBldmlsfHNo\\007 1.0\\n"; printf "\\377\\n" >&2',
    "crash": "kill -SEGV $$",
}
GOAL_S = 10.0
GOAL_MB = 200.0
_WRAP = (
    "import resource, runpy, sys\n"
    "sys.argv = ['dlsetup', 'doctor']\n"
    "try:\n    runpy.run_module('dlsetup', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "sys.stdout.flush()\n"
    "print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def make_tools(d: Path, body: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name in TOOLS:
        p = d / name
        p.write_text(f"#!/bin/sh\n{body}\n")
        p.chmod(0o755)


def leftovers(d: Path) -> int:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if str(d) in line)


def one(bindir: Path, home: Path) -> tuple[float, float, bool]:
    env = {"PATH": str(bindir), "HOME": str(home), "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "LANG": "C.UTF-8"}
    start = time.perf_counter()
    proc = subprocess.run([PY, "-c", _WRAP], capture_output=True, env=env, cwd=ROOT, timeout=300)
    elapsed = time.perf_counter() - start
    err = proc.stderr.decode("utf-8", "replace")
    m = re.search(r"RSS_KB (\d+)", err)
    rss_mb = int(m.group(1)) / 1024 if m else float("nan")
    clean = not _CONTROL.search(proc.stdout.decode("utf-8", "replace"))
    return elapsed, rss_mb, clean


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"dlsetup doctor with hostile tools on PATH ({len(TOOLS)} tools), median of {args.runs} runs\n")
    print(f"{'tools':24} {'wall s':>8} {'x anchor':>9} {'peak MB':>8} {'left':>5} {'clean':>6}  verdict")
    anchor = None
    with tempfile.TemporaryDirectory(prefix="dlsetup-bench-hostile-") as tmp:
        for i, (mode, body) in enumerate(MODES.items()):
            bindir = Path(tmp) / f"bin{i}"
            home = Path(tmp) / f"home{i}"
            home.mkdir()
            make_tools(bindir, body)
            one(bindir, home)  # warm-up (bytecode, caches)
            runs = [one(bindir, home) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            clean = all(r[2] for r in runs)
            time.sleep(0.2)
            left = leftovers(bindir)
            if anchor is None:
                anchor = wall
            ok = wall <= GOAL_S and rss <= GOAL_MB and left == 0 and clean
            print(f"{mode:24} {wall:8.2f} {wall / anchor:9.1f} {rss:8.1f} {left:5d} {str(clean):>6}  "
                  f"{'PASS' if ok else 'MISS'}")
    print(f"\nGoals: <= {GOAL_S:g} s, <= {GOAL_MB:g} MB peak, no tool process left, no control byte in the output.")


if __name__ == "__main__":
    main()
