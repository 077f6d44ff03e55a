"""Download engine on a bad network: bytes wasted through drops, and speed from parallel transfers.

Goals (issue 12), as ratios measured in one run against anchors on the same loopback server:

1. A 1 GiB wheel from a server that drops the connection every 64 MiB: dlsetup finishes with
   ≤ 1.05× the file's bytes transferred. Noted on the same server: ``pip download`` (with
   ``--resume-retries`` when this pip has it, pip ≥ 25.1) and ``uv pip install --target``.
2. Eight 64 MiB wheels from a server limited to 20 MB/s per connection: dlsetup ≥ 4× faster than a
   sequential ``pip download`` of the same eight files.

3. ``dlsetup create env --backend venv`` of the same big wheel through the same drops (the ordinary path:
   uv plans, the engine fetches, uv installs with ``--no-index``): ≤ 1.05× the wheel's bytes on the wire for
   the whole create. Anchor in the same run: the plain path (``DLSETUP_WHEEL_FETCH=plain``: uv downloads).

The server is ``tests/download/server.py`` (127.0.0.1, generated real wheels, no disk for the bodies).
Everything runs in a temporary HOME and cache. Run: ``.venv/bin/python benchmarks/bench_download.py``
(about a minute on 2 cores; ``--quick`` shrinks the files 4× for a smoke run). Exit status is 0 even
when a goal is missed; each goal prints PASS or MISS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.download.server import Faults, FlakyServer, WheelBlob  # noqa: E402

MiB = 1 << 20


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "DLSETUP_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               UV_NO_CONFIG="1", UV_CACHE_DIR=str(home / "uv-cache"), DLSETUP_CACHE_DIR=str(home / "dlsetup-cache"),
               PYTHONPATH=str(REPO))
    return env


def _pip_has_resume() -> bool:
    out = subprocess.run([sys.executable, "-m", "pip", "download", "--help"], capture_output=True, text=True).stdout
    return "--resume-retries" in out


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("ERROR", "error", "Caused by", "caused by"))]
    return " | ".join((errors or lines or [""])[-2:])[:200]


def drops(tmp: Path, size: int, every: int) -> dict:
    """Goal 1: bytes on the wire for one big wheel through a connection that drops every ``every`` bytes."""
    from dlsetup.download.engine import FileRequest, Options, fetch_all

    wheel = WheelBlob("bigpkg", "1.0", size, seed=7)
    out: dict = {"size": wheel.size}
    with FlakyServer(Faults(drop_every=every), max_seconds=600) as srv:
        path = f"files/{wheel.filename}"
        srv.add(path, wheel)
        # dlsetup (in-process engine; the CLI runs the same code)
        os.environ["DLSETUP_CACHE_DIR"] = str(tmp / "dl-cache")
        t0 = time.perf_counter()
        res = fetch_all([FileRequest(wheel.filename, [f"{srv.url}/{path}"], tmp / "dl" / wheel.filename,
                                     wheel.sha256, wheel.size)], Options(backoff_s=0.05))
        out["dlsetup"] = {"ok": res.ok, "sent": srv.bytes_sent, "seconds": time.perf_counter() - t0,
                          "requests": len(srv.requests)}
        # pip download
        srv.bytes_sent, srv.requests[:] = 0, []
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp / "pip"), "--index-url",
                f"{srv.url}/simple/", "--retries", "5", "bigpkg"]
        resume = _pip_has_resume()
        if resume:
            argv[4:4] = ["--resume-retries", "20"]
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True, env=_env(tmp / "pip-home"), timeout=300)
        out["pip"] = {"ok": p.returncode == 0, "sent": srv.bytes_sent, "seconds": time.perf_counter() - t0,
                      "resume_option": resume, "requests": len(srv.requests), "error": _last_line(p.stderr)}
        # uv
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        if Path(uv).exists():
            srv.bytes_sent, srv.requests[:] = 0, []
            t0 = time.perf_counter()
            p = subprocess.run([uv, "pip", "install", "--no-deps", "--target", str(tmp / "uv-target"), "--python",
                                sys.executable, "--index-url", f"{srv.url}/simple/", "bigpkg"],
                               capture_output=True, text=True, env=_env(tmp / "uv-home"), timeout=300)
            out["uv"] = {"ok": p.returncode == 0, "sent": srv.bytes_sent, "seconds": time.perf_counter() - t0,
                         "requests": len(srv.requests), "error": _last_line(p.stderr)}
    return out


def create(tmp: Path, size: int, every: int) -> dict:
    """Goal 3: bytes on the wire for a whole ``create env --backend venv`` (engine path vs the plain one)."""
    wheel = WheelBlob("bigpkg", "1.0", size, seed=8)
    out: dict = {"size": wheel.size}
    with FlakyServer(Faults(drop_every=every, drop_suffixes=(".whl",)), max_seconds=900) as srv:
        srv.add(f"files/{wheel.filename}", wheel)
        for label, extra in (("dlsetup", {}), ("plain", {"DLSETUP_WHEEL_FETCH": "plain"})):
            srv.bytes_sent, srv.requests[:] = 0, []
            env = dict(_env(tmp / f"create-{label}"), **extra)
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "dlsetup", "--quiet", "create", "env",
                                str(tmp / f"env-{label}"), "--backend", "venv", "--pip-index-url", f"{srv.url}/simple",
                                "bigpkg"], capture_output=True, text=True, env=env, timeout=600)
            out[label] = {"ok": p.returncode == 0, "sent": srv.bytes_sent, "seconds": time.perf_counter() - t0,
                          "requests": len(srv.requests), "error": _last_line(p.stderr)}
    return out


def parallel(tmp: Path, n: int, size: int, rate: float) -> dict:
    """Goal 2: n wheels from a server capped at ``rate`` bytes/s per connection."""
    from dlsetup.download.engine import FileRequest, Options, fetch_all

    wheels = [WheelBlob(f"part{i}", "1.0", size, seed=100 + i) for i in range(n)]
    out: dict = {}
    with FlakyServer(Faults(rate=rate), max_seconds=600) as srv:
        for w in wheels:
            srv.add(f"files/{w.filename}", w)
        os.environ["DLSETUP_CACHE_DIR"] = str(tmp / "par-cache")
        t0 = time.perf_counter()
        res = fetch_all([FileRequest(w.filename, [f"{srv.url}/files/{w.filename}"], tmp / "par" / w.filename,
                                     w.sha256, w.size) for w in wheels], Options(per_host=8, max_workers=8))
        out["dlsetup"] = {"ok": res.ok, "seconds": time.perf_counter() - t0}
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp / "pip-par"),
                            "--index-url", f"{srv.url}/simple/", *[f"part{i}" for i in range(n)]],
                           capture_output=True, text=True, env=_env(tmp / "pip-home2"), timeout=600)
        out["pip"] = {"ok": p.returncode == 0, "seconds": time.perf_counter() - t0, "error": _last_line(p.stderr)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4× smaller files (smoke run)")
    args = ap.parse_args()
    from dlsetup import output

    output.settings.quiet = True  # the engine's per-file lines would interleave with the figures
    scale = 4 if args.quick else 1
    tmp = Path(tempfile.mkdtemp(prefix="dlsetup-bench-dl-"))
    try:
        big, every = 1024 * MiB // scale, 64 * MiB // scale
        d = drops(tmp, big, every)
        size = d["size"]
        print(f"1. one {size / MiB:.0f} MiB wheel, connection dropped every {every / MiB:.0f} MiB")
        dl = d["dlsetup"]
        ratio = dl["sent"] / size
        print(f"   dlsetup      : {'ok' if dl['ok'] else 'FAILED'}, {dl['sent'] / MiB:7.1f} MiB sent "
              f"({ratio:.3f}× the file), {dl['requests']} requests, {dl['seconds']:.1f} s")
        for tool in ("pip", "uv"):
            if tool in d:
                r = d[tool]
                note = f"  [--resume-retries: {'yes' if r.get('resume_option') else 'not in this pip'}]" if tool == "pip" else ""
                print(f"   {tool + ' ' * (12 - len(tool))} : {'ok' if r['ok'] else 'FAILED'}, {r['sent'] / MiB:7.1f} MiB sent "
                      f"({r['sent'] / size:.3f}× the file), {r['requests']} requests, {r['seconds']:.1f} s{note}")
                if not r["ok"]:
                    print(f"                  last error: {r['error']}")
        print(f"   goal ≤ 1.05× bytes: {'PASS' if dl['ok'] and ratio <= 1.05 else 'MISS'} ({ratio:.3f}×)")

        n, each, rate = 8, 64 * MiB // scale, 20e6
        p = parallel(tmp, n, each, rate)
        speedup = p["pip"]["seconds"] / p["dlsetup"]["seconds"]
        print(f"2. {n} wheels of {each / MiB:.0f} MiB, server capped at {rate / 1e6:.0f} MB/s per connection")
        print(f"   dlsetup (parallel, 8 per host): {'ok' if p['dlsetup']['ok'] else 'FAILED'}, {p['dlsetup']['seconds']:.1f} s")
        print(f"   pip download (sequential)     : {'ok' if p['pip']['ok'] else 'FAILED'}, {p['pip']['seconds']:.1f} s")
        ok = p["dlsetup"]["ok"] and p["pip"]["ok"] and speedup >= 4
        print(f"   goal ≥ 4× faster: {'PASS' if ok else 'MISS'} ({speedup:.1f}×)")

        c = create(tmp, big, every)
        print(f"3. create env --backend venv of a {c['size'] / MiB:.0f} MiB wheel, dropped every {every / MiB:.0f} MiB")
        for label, name in (("dlsetup", "engine path"), ("plain", "plain uv   ")):
            r = c[label]
            print(f"   {name}  : {'ok' if r['ok'] else 'FAILED'}, {r['sent'] / MiB:7.1f} MiB sent "
                  f"({r['sent'] / c['size']:.3f}× the wheel), {r['requests']} requests, {r['seconds']:.1f} s")
            if not r["ok"]:
                print(f"                  last error: {r['error']}")
        cr = c["dlsetup"]["sent"] / c["size"]
        print(f"   goal ≤ 1.05× bytes: {'PASS' if c['dlsetup']['ok'] and cr <= 1.05 else 'MISS'} ({cr:.3f}×)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
