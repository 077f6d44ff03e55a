"""Regenerate ``dlsetup/compat/data/generated/*.json`` from the Python package index (a maintainers' tool).

    python -m dlsetup.compat.refresh                 # all projects, into the package's data folder
    python -m dlsetup.compat.refresh --out DIR --compare
    python -m dlsetup.compat.refresh --only torch torchaudio --record tests/compat/index_recordings

What the index can tell is generated here: per release x platform x Python tag the wheels that exist (with the
oldest glibc / macOS they need), Requires-Python, yanked releases, upload dates, and from each index build's core
metadata the CUDA runtime / cuDNN / NCCL pins and the companion pins (torchvision -> torch, jax -> jaxlib and
plugins). What it cannot tell (driver floors, GPU arch lists, vendor indexes, conda-forge) stays in the
hand-kept ``*.toml`` tables; :mod:`dlsetup.compat.crosscheck` compares the two.

Each release row names its source: the project page it was read from (``index``) and, for pins, the wheel
whose METADATA was read (``meta.<platform>.file``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
GENERATED_DIR = Path(__file__).resolve().parent / "data" / "generated"


@dataclass(frozen=True)
class Project:
    name: str
    since: str = "0"  # oldest release kept
    meta: tuple[str, ...] = ()  # platforms whose index build's METADATA is read
    pin_extras: tuple[str, ...] = ()  # extras whose Requires-Dist pins count as the build's pins
    group: str = ""  # which generated file (default: the project name)


# Which distributions, from which release on, and whose metadata to read.
PROJECTS: tuple[Project, ...] = (
    Project("torch", "1.8.0", ("linux-x86_64", "linux-aarch64")),
    Project("torchvision", "0.9.0", ("linux-x86_64",)),
    Project("torchaudio", "0.8.0", ("linux-x86_64",)),
    Project("tensorflow", "2.4.0", ("linux-x86_64",), ("and-cuda",)),
    Project("tensorflow-cpu", "2.4.0"),
    Project("tensorflow-intel", "2.11.0"),
    Project("jax", "0.4.30", ("any",)),
    Project("jaxlib", "0.4.30"),
    Project("jax-cuda12-plugin", "0.4.30", ("linux-x86_64", "linux-aarch64"), ("with-cuda",)),
    Project("jax-cuda13-plugin", "0.7.0", ("linux-x86_64", "linux-aarch64"), ("with-cuda",)),
    Project("jax-cuda12-pjrt", "0.4.30"),
    Project("jax-cuda13-pjrt", "0.7.0"),
    Project("onnxruntime", "1.14.0"),
    Project("onnxruntime-gpu", "1.14.0", ("linux-x86_64",), ("cuda", "cudnn")),
    Project("paddlepaddle", "2.4.0"),
    Project("paddlepaddle-gpu", "2.4.0", ("linux-x86_64",)),
    Project("mindspore", "2.0.0"),
    Project("mindspore-gpu", "1.0.0"),
    # The NVIDIA runtime wheels the builds above pin: which releases exist, and when.
    Project("nvidia-cuda-runtime-cu11", "11.7", group="nvidia"),
    Project("nvidia-cuda-runtime-cu12", "12.0", group="nvidia"),
    Project("nvidia-cuda-runtime", "13.0", group="nvidia"),
    Project("nvidia-cudnn-cu11", "8.5", group="nvidia"),
    Project("nvidia-cudnn-cu12", "8.9", group="nvidia"),
    Project("nvidia-cudnn-cu13", "9.0", group="nvidia"),
    Project("nvidia-nccl-cu11", "2.14", group="nvidia"),
    Project("nvidia-nccl-cu12", "2.18", group="nvidia"),
    Project("nvidia-nccl-cu13", "2.27", group="nvidia"),
    Project("cuda-toolkit", "12.0", group="nvidia"),
)

# Requirement names kept from a wheel's Requires-Dist (the rest are ordinary Python dependencies).
KEEP_DEP = re.compile(r"^(torch|jax|jaxlib|jax-cuda\d+-(plugin|pjrt)|nvidia-[a-z0-9-]+|cuda-toolkit|tensorflow[a-z-]*|"
                      r"onnxruntime[a-z-]*|paddlepaddle[a-z-]*|mindspore[a-z-]*|triton)$")
PIN_KEYS = (("cudnn", re.compile(r"^nvidia-cudnn(-cu\d+)?$")),
            ("nccl", re.compile(r"^nvidia-nccl(-cu\d+)?$")),
            ("cuda", re.compile(r"^(nvidia-cuda-runtime(-cu\d+)?|cuda-toolkit)$")))


# ------------------------------------------------------------------ wheel names -> platform / Python


def platform_of(tag_platform: str) -> tuple[str, str] | None:
    """``manylinux2010_x86_64`` -> ``("linux-x86_64", "2.12")``; ``macosx_11_0_arm64`` -> ``("macos-arm64", "11.0")``;
    ``win_amd64`` -> ``("windows-x86_64", "")``; None for platforms dlsetup does not plan (32-bit, musl, ...)."""
    p = tag_platform
    if p == "any":
        return "any", ""
    m = re.fullmatch(r"manylinux(1|2010|2014|_(\d+)_(\d+))_(x86_64|aarch64)", p)
    if m:
        glibc = {"1": "2.5", "2010": "2.12", "2014": "2.17"}.get(m.group(1)) or f"{m.group(2)}.{m.group(3)}"
        return f"linux-{m.group(4)}", glibc
    if p == "win_amd64":
        return "windows-x86_64", ""
    if p == "win_arm64":
        return "windows-arm64", ""
    m = re.fullmatch(r"macosx_(\d+)_(\d+)_(arm64|x86_64|universal2|intel)", p)
    if m:
        floor = f"{m.group(1)}.{m.group(2)}"
        arch = {"intel": "x86_64"}.get(m.group(3), m.group(3))
        return f"macos-{arch}", floor
    return None


def python_of(interpreter: str, abi: str) -> str | None:
    """``cp39/cp39`` -> ``3.9``; ``cp313/cp313t`` -> ``3.13t``; ``cp37/abi3`` -> ``abi3:3.7``; ``py3/none`` -> ``py3``."""
    if interpreter.startswith("cp") and interpreter[2:].isdigit():
        digits = interpreter[2:]
        ver = f"{digits[0]}.{digits[1:]}"
        if abi == "abi3":
            return f"abi3:{ver}"
        return ver + ("t" if abi.endswith("t") else "")
    if interpreter in ("py3", "py30") or (interpreter.startswith("py3") and abi == "none"):
        return "py3"
    return None


def _better_floor(a: str, b: str) -> str:
    """The less demanding of two glibc / macOS floors ("" = none)."""
    if not a or not b:
        return ""
    ta = tuple(int(x) for x in a.split("."))
    tb = tuple(int(x) for x in b.split("."))
    return a if ta <= tb else b


def _vkey(v: str) -> tuple:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(v))
    except InvalidVersion:
        return (-1, v)


# ------------------------------------------------------------------ one project


@dataclass
class ProjectData:
    project: Project
    page_url: str
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (version, platform) -> file entry whose metadata is read
    meta_files: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def parse_page(project: Project, page: dict[str, Any], versions: set[str] | None = None) -> ProjectData:
    """Releases of ``project`` from its PEP 691 page: wheels per platform and Python, dates, Requires-Python."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    since = Version(project.since)
    out = ProjectData(project, page.get("_url", ""))
    files_by_version: dict[str, list[dict[str, Any]]] = {}
    for f in page.get("files", []):
        fn = f.get("filename", "")
        if not fn.endswith(".whl"):
            continue
        try:
            _name, ver, _build, tags = parse_wheel_filename(fn)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if ver.is_devrelease or ver.is_prerelease or ver < since:
            continue
        files_by_version.setdefault(str(ver), []).append({**f, "_tags": tags})
    for version, files in files_by_version.items():
        if versions is not None and version not in versions:
            continue
        wheels: dict[str, dict[str, str]] = {}
        yanked_all = all(f.get("yanked") for f in files)
        rps = Counter(f.get("requires-python") for f in files if f.get("requires-python"))
        dates = sorted(f["upload-time"][:10] for f in files if f.get("upload-time"))
        best_meta: dict[str, tuple[tuple, dict[str, Any]]] = {}
        for f in files:
            if f.get("yanked") and not yanked_all:
                continue  # a yanked file beside live ones: pip skips it
            for tag in f["_tags"]:
                plat = platform_of(tag.platform)
                py = python_of(tag.interpreter, tag.abi)
                if plat is None or py is None:
                    continue
                pname, floor = plat
                targets = ["macos-arm64", "macos-x86_64"] if pname == "macos-universal2" else [pname]
                for target in targets:
                    slot = wheels.setdefault(target, {})
                    slot[py] = _better_floor(slot[py], floor) if py in slot else floor
                    if target in project.meta:
                        rank = (not py.endswith("t"), py != "py3", _pyrank(py))
                        if target not in best_meta or rank > best_meta[target][0]:
                            best_meta[target] = (rank, f)
        if not wheels:
            continue
        row: dict[str, Any] = {"date": dates[0] if dates else None,
                               "requires_python": rps.most_common(1)[0][0] if rps else None,
                               "wheels": {p: dict(sorted(v.items(), key=lambda kv: _pyrank(kv[0])))
                                          for p, v in sorted(wheels.items())}}
        if yanked_all:
            row["yanked"] = True
        out.releases[version] = row
        for target, (_rank, f) in best_meta.items():
            out.meta_files[(version, target)] = f
    return out


def _pyrank(py: str) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)", py)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


_MARKER_ENV = {
    "linux-x86_64": {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64",
                     "os_name": "posix"},
    "linux-aarch64": {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "aarch64",
                      "os_name": "posix"},
    "windows-x86_64": {"platform_system": "Windows", "sys_platform": "win32", "platform_machine": "AMD64",
                       "os_name": "nt"},
    "any": {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64", "os_name": "posix"},
}


def _applies(req, platform: str, extra: str) -> bool:
    if req.marker is None:
        return extra == ""
    env = {**_MARKER_ENV.get(platform, _MARKER_ENV["any"]), "python_version": "3.12", "python_full_version": "3.12.0",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": extra}
    try:
        return bool(req.marker.evaluate(env))
    except Exception:  # an odd marker: keep the line in deps, count no pin from it
        return False


def parse_metadata(text: str, pin_extras: tuple[str, ...], platform: str = "linux-x86_64") -> dict[str, Any]:
    """Requires-Python, the kept Requires-Dist lines, the CUDA / cuDNN / NCCL pins of the build on ``platform``
    (plain requirements and those of ``pin_extras``), and companion pins (``requires``: ``name`` or
    ``extra:name`` -> specifier)."""
    from email.parser import HeaderParser

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    msg = HeaderParser().parsestr(text)
    pins: dict[str, str] = {}
    requires: dict[str, str] = {}
    for line in msg.get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if not KEEP_DEP.match(name):
            continue
        extras = re.findall(r'extra == "([^"]+)"', str(req.marker or ""))
        nvidia = name.startswith(("nvidia-", "cuda-toolkit"))
        if any(_applies(req, platform, e) for e in ("",) + pin_extras):
            for key, rx in PIN_KEYS:
                if rx.match(name) and key not in pins:
                    pins[key] = f"{name}{req.specifier}"
        if nvidia or name == "triton":
            continue
        if not extras and _applies(req, platform, ""):
            requires.setdefault(name, str(req.specifier))
        for e in extras:
            if _applies(req, platform, e):
                requires.setdefault(f"{e}:{name}", str(req.specifier))
    out: dict[str, Any] = {"requires_python": msg.get("Requires-Python")}
    if pins:
        out["pins"] = pins
    if requires:
        out["requires"] = requires
    return out


# ------------------------------------------------------------------ the run


def collect(client, projects: tuple[Project, ...], versions: dict[str, set[str]] | None = None,
            progress=None) -> dict[str, dict[str, Any]]:
    """Read every project's page and the chosen wheels' metadata; the generated documents, by group name."""
    pages: dict[str, ProjectData] = {}

    def load_page(p: Project) -> tuple[Project, dict[str, Any] | None]:
        return p, client.project_page(p.name)

    pool = ThreadPoolExecutor(max_workers=client.concurrency)
    try:
        _collect(client, projects, versions, progress, pages, pool, load_page)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a failure stops the queued requests
    return _documents(projects, pages)


def _collect(client, projects, versions, progress, pages, pool, load_page) -> None:
    """Pages first (bounded by the pool), then the chosen wheels' metadata."""
    for p, page in pool.map(load_page, projects):
        if page is None:
            continue
        pages[p.name] = parse_page(p, page, (versions or {}).get(p.name))
    jobs = [(pd, key, f) for pd in pages.values() for key, f in sorted(pd.meta_files.items())]
    if progress:
        progress(f"{len(pages)} project pages, {len(jobs)} wheel metadata files")

    def load_meta(job):
        pd, key, f = job
        return pd, key, f, client.wheel_metadata(f)

    for pd, (version, plat), f, got in pool.map(load_meta, jobs):
        if got is None:
            continue
        text, how = got
        meta = parse_metadata(text, pd.project.pin_extras, plat)
        meta["file"] = f["filename"]
        client.stats[f"metadata_{how}"] = client.stats.get(f"metadata_{how}", 0) + 1
        pd.releases[version].setdefault("meta", {})[plat] = meta


def _documents(projects, pages) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for p in projects:
        pd = pages.get(p.name)
        if pd is None:
            continue
        group = p.group or p.name
        doc = docs.setdefault(group, {"schema": SCHEMA, "projects": {}})
        doc["projects"][p.name] = {
            "index": pd.page_url,
            "releases": {v: pd.releases[v] for v in sorted(pd.releases, key=_vkey)},
        }
    return docs


def dumps(doc: dict[str, Any]) -> str:
    """Compact JSON, one release per line (small files that diff well)."""
    lines = ["{", f'"schema": {doc["schema"]},']
    if "generated" in doc:
        lines.append(f'"generated": {json.dumps(doc["generated"])},')
    lines.append('"projects": {')
    names = list(doc["projects"])
    for i, name in enumerate(names):
        proj = doc["projects"][name]
        lines.append(f'{json.dumps(name)}: {{"index": {json.dumps(proj["index"])}, "releases": {{')
        rels = list(proj["releases"].items())
        for j, (ver, row) in enumerate(rels):
            body = json.dumps(row, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
            lines.append(f"{json.dumps(ver)}:{body}" + ("," if j < len(rels) - 1 else ""))
        lines.append("}}" + ("," if i < len(names) - 1 else ""))
    lines.append("}", )
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(docs: dict[str, dict[str, Any]], out: Path, stamp: str | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for group, doc in sorted(docs.items()):
        if stamp:
            doc = {**doc, "generated": stamp}
        path = out / f"{group}.json"
        path.write_text(dumps(doc), encoding="utf-8")
        written.append(path)
    return written


def default_cache() -> Path:
    from dlsetup.compat.tables import _cache_dir

    return _cache_dir() / "index"


def run(out: Path, *, only: list[str] | None = None, cache: Path | None = None, record: Path | None = None,
        transport=None, concurrency: int = 8, revalidate: bool = True, stamp: str | None = None,
        progress=None) -> dict[str, Any]:
    """One refresh: returns ``{"files": [...], "stats": {...}, "seconds": s}``."""
    from dlsetup.compat.index import IndexClient

    projects = tuple(p for p in PROJECTS if not only or p.name in only or (p.group or p.name) in only)
    t0 = time.monotonic()
    with IndexClient(cache, transport=transport, record=record, concurrency=concurrency,
                     revalidate=revalidate) as client:
        docs = collect(client, projects, progress=progress)
        stats = dict(client.stats)
    files = write(docs, out, stamp)
    return {"files": [str(p) for p in files], "stats": stats, "seconds": round(time.monotonic() - t0, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dlsetup.compat.refresh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=GENERATED_DIR, help="folder for the generated *.json files")
    ap.add_argument("--only", nargs="*", help="project (or group) names; default: all")
    ap.add_argument("--cache", type=Path, default=None, help="answer cache (default: dlsetup's cache dir/index)")
    ap.add_argument("--no-cache", action="store_true", help="do not read or write the answer cache")
    ap.add_argument("--offline", action="store_true", help="use cached answers without revalidating them")
    ap.add_argument("--record", type=Path, help="also write each answer used into this folder (test recordings)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--compare", action="store_true", help="compare the hand-kept tables with the generated data")
    args = ap.parse_args(argv)
    cache = None if args.no_cache else (args.cache or default_cache())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        result = run(args.out, only=args.only, cache=cache, record=args.record, concurrency=args.concurrency,
                     revalidate=not args.offline, stamp=stamp, progress=lambda m: print(m, file=sys.stderr))
    except Exception as exc:  # network and index errors: one line, exit 1
        from dlsetup.compat.index import IndexFetchError

        if isinstance(exc, (IndexFetchError, OSError)) or type(exc).__module__.startswith("httpx"):
            print(f"refresh failed: {exc}", file=sys.stderr)
            return 1
        raise
    print(json.dumps(result, indent=1))
    if args.compare:
        from dlsetup.compat.crosscheck import compare, render

        print(render(compare(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
