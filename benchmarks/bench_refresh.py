"""Benchmark the compat refresh (goals: a full refresh <= 3 min with an empty answer cache, <= 5 s warm).

Runs ``python -m dlsetup.compat.refresh`` (all projects) live against the package index three ways, each into a
private temporary folder (the user's cache is not touched):

* cold:    empty answer cache (every page and every wheel's METADATA fetched);
* warm:    the cache from the cold run (pages revalidated with their ETags, METADATA from the cache);
* offline: the same cache without revalidation (no network at all);

and ``python -c pass`` as the anchor in the same run. Prints seconds, ratios and PASS/MISS. Needs network
access to pypi.org / files.pythonhosted.org. Always exits 0.
Run: .venv/bin/python benchmarks/bench_refresh.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, dict | None]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    try:
        return wall, json.loads(proc.stdout)
    except ValueError:
        sys.stderr.write(proc.stderr[-2000:])
        return wall, None


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    anchor, _ = timed([sys.executable, "-c", "pass"], env)
    base = [sys.executable, "-m", "dlsetup.compat.refresh", "--out", str(tmp / "out"), "--cache", str(tmp / "cache")]
    rows = []
    for name, extra, goal in (("cold (empty cache)", [], 180.0), ("warm (ETag revalidation)", [], 5.0),
                              ("warm, --offline", ["--offline"], 5.0)):
        wall, report = timed(base + extra, env)
        stats = (report or {}).get("stats", {})
        rows.append((name, wall, goal, stats))
    print(f"bench_refresh: anchor python -c pass {anchor * 1000:.1f} ms")
    for name, wall, goal, stats in rows:
        verdict = "PASS" if wall <= goal else "MISS"
        print(f"  {name:26} {wall:7.2f} s  = {wall / anchor:7.0f}x anchor  requests {stats.get('requests', '?'):>5}  "
              f"cached {stats.get('cached', '?'):>4}  [{verdict}: goal <= {goal:g} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
