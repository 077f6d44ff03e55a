"""Mirror benchmarks (issue 5). Run: .venv/bin/python benchmarks/bench_mirror.py

1. Probing 8 mirrors that each answer after 200 ms (fake mirrors on 127.0.0.1, every check of every
   mirror: pip page + wheel, conda repodata, PyTorch wheel page + wheel, HF API) in parallel, against
   the anchor measured in the same run: the same probes one mirror after another.
   Goal: parallel >= 5x faster than sequential.
2. Applying a mirror to all tools (pip, conda, uv, pixi, torch, hf; alternating tuna/aliyun so every
   run really rewrites every file, --offline) in a throw-away HOME.
   Goal: <= 0.3 s. Reported in-process (the apply itself, imports warm: the goal figure) and as a
   whole `python -m dlsetup mirror ...` process (interpreter start and imports included, for context).

Figures are medians of several runs after a warm-up. Exit code 0 even when a goal is missed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DELAY = 0.2
MIRRORS = 8
RUNS = 5
ALL_TOOLS = ["pip", "conda", "uv", "pixi", "torch", "hf"]


def median_time(fn, runs: int = RUNS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def isolated_env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_", "CONDA", "PIXI_", "HF_", "DLSETUP_", "XDG_", "VIRTUAL_ENV"))}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CONFIG_DIRS": str(root / "xdg"),
        "XDG_CACHE_HOME": str(home / ".cache"), "PIXI_HOME": str(home / ".pixi"),
        "DLSETUP_CONFIG_DIR": str(home / ".config/dlsetup"), "DLSETUP_STATE_DIR": str(root / "state"),
        "DLSETUP_CACHE_DIR": str(root / "cache"), "LANG": "C.UTF-8",
    })
    return env


def bench_probe(root: Path) -> tuple[float, float]:
    from dlsetup.mirror import probe
    from dlsetup.mirror.catalog import load_catalog
    from tests.mirror.fakemirror import Content, FakeMirror

    py_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    import platform

    content = Content.build(root / "wheels", py_tag, f"manylinux_2_28_{platform.machine().lower()}")
    servers = [FakeMirror(content, "slow", delay=DELAY).start() for _ in range(MIRRORS)]
    try:
        cfg = Path(os.environ["DLSETUP_CONFIG_DIR"])
        cfg.mkdir(parents=True, exist_ok=True)
        (cfg / "mirrors.toml").write_text("\n".join(s.toml(f"m{i}") for i, s in enumerate(servers)))
        mirrors = [load_catalog().get(f"m{i}") for i in range(MIRRORS)]
        opts = probe.ProbeOptions(package="dlsetup-probe-pkg", variant="cpu", timeout=10)

        def parallel():
            r = probe.probe_mirrors(mirrors, opts)
            assert sum(m.ok for m in r.mirrors) == MIRRORS, [m.reason for m in r.mirrors]

        def sequential():
            for m in mirrors:
                r = probe.probe_mirrors([m], opts)
                assert r.mirrors[0].ok, r.mirrors[0].reason

        return median_time(parallel), median_time(sequential, runs=3)
    finally:
        for s in servers:
            s.stop()


def bench_apply(root: Path) -> tuple[float, float]:
    from dlsetup.mirror import apply

    names = ["tuna", "aliyun"]
    counter = {"i": 0}

    def once():
        name = names[counter["i"] % 2]
        counter["i"] += 1
        r = apply.run(name, tools=list(ALL_TOOLS), offline=True, variant="cu126", hf="hf-mirror")
        assert sum(f.action != "unchanged" for f in r.files) >= 4, [(f.path, f.action) for f in r.files]

    in_process = median_time(once)

    def cli():
        name = names[counter["i"] % 2]
        counter["i"] += 1
        out = subprocess.run([sys.executable, "-m", "dlsetup", "mirror", name, "--offline", "--tools",
                              ",".join(ALL_TOOLS), "--variant", "cu126", "--hf", "hf-mirror", "--json"],
                             env=dict(os.environ), capture_output=True, text=True)
        assert out.returncode == 0, out.stderr

    whole = median_time(cli)
    return in_process, whole


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as tmp:
        root = Path(tmp)
        os.environ.clear()
        os.environ.update(isolated_env(root))
        par, seq = bench_probe(root)
        ratio = seq / par
        print(f"probe {MIRRORS} mirrors answering after {DELAY * 1000:.0f} ms, all checks:")
        print(f"  parallel   (dlsetup mirror probe)     median {par * 1000:8.1f} ms")
        print(f"  sequential (one mirror after another) median {seq * 1000:8.1f} ms   [anchor, same run]")
        print(f"  speed-up {ratio:.1f}x   goal >= 5x: {'PASS' if ratio >= 5 else 'MISS'}")
        in_proc, whole = bench_apply(root)
        print("apply a mirror to all tools (pip, conda, uv, pixi, torch, hf), --offline, every file rewritten:")
        print(f"  in-process apply                      median {in_proc * 1000:8.1f} ms   "
              f"goal <= 300 ms: {'PASS' if in_proc <= 0.3 else 'MISS'}")
        print(f"  whole CLI process (start + imports)   median {whole * 1000:8.1f} ms   "
              f"(<= 300 ms: {'PASS' if whole <= 0.3 else 'MISS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
