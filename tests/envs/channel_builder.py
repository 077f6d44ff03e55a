"""Build a real local conda channel and a real PyPI-style index, offline, for the environment tests.

Where this comes from: the package layout (``info/index.json``, ``info/paths.json``, ``info/link.json``,
``has_prefix``) follows the conda package spec (https://docs.conda.io/projects/conda-build/en/latest/
resources/package-spec.html); archives are made with conda-package-handling and indexed with ``rattler.index.index_fs``.

The ``python`` package is "venv-style": ``bin/python3.X`` is a symlink to the host
interpreter and ``pyvenv.cfg`` makes the env its own ``sys.prefix``, so noarch:python packages, entry
points and ``python -m pip`` work inside environments the tests create. The ``pip`` package is the real
pip copied from the interpreter running the tests, packaged as noarch:python.

Used by ``tests/envs/conftest.py`` and ``benchmarks/bench_envs.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.server
import importlib.metadata
import io
import json
import os
import shutil
import socketserver
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

TEXT_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"  # conda's classic text placeholder
# conda-build pads binary placeholders to 255 characters so any real prefix fits with NUL padding.
BINARY_PLACEHOLDER = ("/opt/dlsetup_build_env_placehold" + "_placehold" * 23)[:255]
PY_VER = f"{sys.version_info.major}.{sys.version_info.minor}"
PY_FULL = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
HOST_PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))


@dataclass
class Pkg:
    name: str
    version: str
    subdir: str = "noarch"
    depends: list[str] = field(default_factory=list)
    files: dict[str, tuple[bytes | str, int]] = field(default_factory=dict)  # rel path -> (content, mode)
    softlinks: dict[str, str] = field(default_factory=dict)  # rel path -> link target
    text_prefix: list[str] = field(default_factory=list)
    binary_prefix: list[str] = field(default_factory=list)
    noarch: str | None = None  # None (arch-specific), "generic", "python"
    entry_points: list[str] = field(default_factory=list)
    ext: str = ".conda"
    build: str = "h0_0"
    build_number: int = 0


def build_package(chan: Path, pkg: Pkg) -> Path:
    """Write one real conda package (``.conda`` or ``.tar.bz2``) into ``chan/<subdir>/``."""
    from conda_package_handling import api as cph

    work = Path(tempfile.mkdtemp(prefix="dlsetup-pkg-"))
    try:
        paths = []
        for rel, (content, mode) in sorted(pkg.files.items()):
            p = work / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            p.write_bytes(data)
            os.chmod(p, mode)
            entry = {"_path": rel, "path_type": "hardlink", "sha256": hashlib.sha256(data).hexdigest(),
                     "size_in_bytes": len(data)}
            if rel in pkg.text_prefix:
                entry.update(file_mode="text", prefix_placeholder=TEXT_PLACEHOLDER)
            if rel in pkg.binary_prefix:
                entry.update(file_mode="binary", prefix_placeholder=BINARY_PLACEHOLDER)
            paths.append(entry)
        for rel, target in sorted(pkg.softlinks.items()):
            p = work / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, p)
            paths.append({"_path": rel, "path_type": "softlink", "size_in_bytes": 0,
                          "sha256": hashlib.sha256(target.encode()).hexdigest()})
        info = work / "info"
        info.mkdir()
        index = {"name": pkg.name, "version": pkg.version, "build": pkg.build, "build_number": pkg.build_number,
                 "depends": list(pkg.depends), "license": "MIT", "subdir": pkg.subdir,
                 "timestamp": 1700000000000}
        if pkg.noarch:
            index["noarch"] = pkg.noarch
        else:
            index.update(platform="linux", arch="x86_64")
        (info / "index.json").write_text(json.dumps(index))
        (info / "paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
        (info / "files").write_text("".join(f + "\n" for f in [*pkg.files, *pkg.softlinks]))
        if pkg.noarch == "python":
            link = {"noarch": {"type": "python", "entry_points": list(pkg.entry_points)}, "package_metadata_version": 1}
            (info / "link.json").write_text(json.dumps(link))
        lines = [f"{TEXT_PLACEHOLDER} text {f}\n" for f in pkg.text_prefix]
        lines += [f"{BINARY_PLACEHOLDER} binary {f}\n" for f in pkg.binary_prefix]
        if lines:
            (info / "has_prefix").write_text("".join(lines))
        out = chan / pkg.subdir
        out.mkdir(parents=True, exist_ok=True)
        file_list = [*pkg.files, *pkg.softlinks, *(str(p.relative_to(work)) for p in info.iterdir())]
        fn = f"{pkg.name}-{pkg.version}-{pkg.build}{pkg.ext}"
        kw = {"compression_level": 3} if pkg.ext == ".conda" else {}  # zstd 19 (the default) is slow
        cph.create(str(work), file_list, fn, out_folder=str(out), **kw)
        return out / fn
    finally:
        shutil.rmtree(work, ignore_errors=True)


def venv_python_pkg() -> Pkg:
    """A ``python`` package whose interpreter is the host's, isolated like a venv."""
    home = os.path.dirname(HOST_PYTHON)
    cfg = f"home = {home}\ninclude-system-site-packages = false\nversion = {PY_FULL}\n"
    return Pkg(
        "python", PY_FULL, subdir="linux-64", depends=["__glibc >=2.17"],
        files={"pyvenv.cfg": (cfg, 0o644), f"lib/python{PY_VER}/site-packages/README.txt": ("site-packages\n", 0o644)},
        softlinks={f"bin/python{PY_VER}": HOST_PYTHON, "bin/python3": f"python{PY_VER}", "bin/python": f"python{PY_VER}"},
        build="h0_dlsetup_test",
    )


def pip_pkg() -> Pkg:
    """The pip of the interpreter running the tests, repackaged as a noarch:python conda package."""
    dist = importlib.metadata.distribution("pip")
    base = Path(dist.locate_file(""))
    files: dict[str, tuple[bytes | str, int]] = {}
    for f in dist.files or []:
        src = base / f
        parts = Path(f).parts
        if not src.is_file() or "__pycache__" in parts or parts[0].startswith(".."):
            continue
        if f.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            continue
        files[f"site-packages/{f}"] = (src.read_bytes(), 0o644)
    return Pkg("pip", dist.version, noarch="python", depends=["python >=3.8"], files=files,
               entry_points=["pip = pip._internal.cli.main:main", "pip3 = pip._internal.cli.main:main"],
               build="pyh0_0")


def demo_packages() -> list[Pkg]:
    """The small real packages the issue asks for (see the module docstring)."""
    pkgs = [venv_python_pkg(), pip_pkg()]
    for v in ("1.0.0", "2.0.0"):
        pkgs.append(Pkg("dlsetup-demo-b", v, noarch="generic",
                        files={"bin/demo-b": (f'#!/bin/sh\necho "demo-b {v}"\n', 0o755)}))
    pkgs.append(Pkg(
        "dlsetup-demo-a", "0.1.0", noarch="generic", depends=["dlsetup-demo-b >=1,<2"],
        files={"etc/dlsetup-demo-a/prefix.txt": (f"installed in {TEXT_PLACEHOLDER}\n", 0o644),
               "bin/demo-a": ('#!/bin/sh\nexec demo-b "$@"\n', 0o755)},
        text_prefix=["etc/dlsetup-demo-a/prefix.txt"],
    ))
    binary = BINARY_PLACEHOLDER.encode() + b"/lib/libdemo.so\x00\x7fELF-ish tail\x00"
    pkgs.append(Pkg("dlsetup-demo-bin", "1.0", subdir="linux-64", depends=["__glibc >=2.17"],
                    files={"lib/dlsetup-demo-bin.dat": (binary, 0o644)}, binary_prefix=["lib/dlsetup-demo-bin.dat"]))
    # conflicting pair: demo-x needs demo-b >=2, demo-a needs demo-b <2
    pkgs.append(Pkg("dlsetup-demo-x", "1.0", noarch="generic", depends=["dlsetup-demo-b >=2"],
                    files={"share/dlsetup-demo-x/x": ("x\n", 0o644)}))
    pkgs.append(Pkg("dlsetup-demo-cuda", "12.0", subdir="linux-64", depends=["__cuda >=12", "__glibc >=2.17"],
                    files={"share/dlsetup-demo-cuda/ok": ("cuda\n", 0o644)}))
    pkgs.append(Pkg("dlsetup-demo-c", "3.1", noarch="generic", ext=".tar.bz2",
                    files={"share/dlsetup-demo-c/x": ("c\n", 0o644)}))
    pkgs.append(Pkg(
        "dlsetup-demo-py", "1.0", noarch="python", depends=["python"], build="pyh0_0",
        files={"site-packages/dlsetup_demo_py/__init__.py": (
            "import sys\n\ndef main():\n    print('demo-py ok', sys.prefix)\n    return 0\n", 0o644)},
        entry_points=["demo-py = dlsetup_demo_py:main"],
    ))
    return pkgs


def filler_packages(n: int, prefix: str = "dlsetup-fill") -> list[Pkg]:
    """``n`` small noarch packages in a dependency chain (for the benchmark's 10-package env)."""
    out = []
    for i in range(n):
        deps = [f"{prefix}-{i + 1:02d}"] if i + 1 < n else []
        files = {f"share/{prefix}-{i:02d}/data-{j}.txt": (f"{i} {j}\n" * 50, 0o644) for j in range(5)}
        files[f"bin/{prefix}-{i:02d}"] = (f"#!/bin/sh\necho {i}\n", 0o755)
        out.append(Pkg(f"{prefix}-{i:02d}", "1.0", noarch="generic", depends=deps, files=files))
    return out


def index_channel(chan: Path) -> None:
    """Write ``repodata.json`` per subdir with rattler's indexer (no conda needed)."""
    from rattler.index import index_fs

    (chan / "noarch").mkdir(parents=True, exist_ok=True)
    asyncio.run(index_fs(chan, write_zst=False, write_shards=False, force=True))


def build_channel(chan: Path, pkgs: list[Pkg]) -> Path:
    chan.mkdir(parents=True, exist_ok=True)
    for pkg in pkgs:
        build_package(chan, pkg)
    index_channel(chan)
    return chan


# --------------------------------------------------------------------------- wheels and a PyPI index


def make_wheel(dest_dir: Path, name: str, version: str, modules: dict[str, str] | None = None,
               requires: list[str] | None = None, scripts: dict[str, str] | None = None) -> Path:
    """A real, minimal pure-Python wheel (PEP 427) built with zipfile."""
    dist = name.replace("-", "_")
    tag = "py3-none-any"
    fn = f"{dist}-{version}-{tag}.whl"
    distinfo = f"{dist}-{version}.dist-info"
    entries: dict[str, bytes] = {}
    for mod, src in (modules or {f"{dist}/__init__.py": f"__version__ = {version!r}\n"}).items():
        entries[mod] = src.encode()
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires or []]
    entries[f"{distinfo}/METADATA"] = ("\n".join(meta) + "\n").encode()
    entries[f"{distinfo}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: dlsetup-tests\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    if scripts:
        eps = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
        entries[f"{distinfo}/entry_points.txt"] = eps.encode()
    record = []
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{distinfo}/RECORD,,")
    entries[f"{distinfo}/RECORD"] = ("\n".join(record) + "\n").encode()
    dest_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in entries.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    (dest_dir / fn).write_bytes(buf.getvalue())
    return dest_dir / fn


def wheel_from_installed(dest_dir: Path, dist_name: str) -> Path:
    """Re-pack an installed distribution of the running interpreter as a wheel (its RECORD files and its own
    WHEEL tag), so tests can serve real dependencies — torch's sympy, networkx, jinja2, … — offline."""
    import importlib.metadata as md

    dist = md.distribution(dist_name)
    files = [f for f in dist.files or [] if not str(f).endswith(".pyc") and "__pycache__" not in str(f)
             and not str(f).startswith("..") and not str(f).endswith("INSTALLER")
             and not str(f).endswith("direct_url.json") and not str(f).endswith("REQUESTED")]
    distinfo = next(str(f).split("/")[0] for f in files if str(f).endswith(".dist-info/METADATA"))
    wheel_meta = dist.read_text("WHEEL") or ""
    tag = next((ln.split(":", 1)[1].strip() for ln in wheel_meta.splitlines() if ln.startswith("Tag:")), "py3-none-any")
    name = distinfo[: -len(".dist-info")]
    fn = f"{name}-{tag}.whl"
    dest_dir.mkdir(parents=True, exist_ok=True)
    record = []
    with zipfile.ZipFile(dest_dir / fn, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            rel = str(f)
            if rel.endswith("/RECORD"):
                continue
            data = Path(f.locate()).read_bytes()
            zf.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{rel},sha256={digest},{len(data)}")
        record.append(f"{distinfo}/RECORD,,")
        zf.writestr(f"{distinfo}/RECORD", "\n".join(record) + "\n")
    return dest_dir / fn


def write_simple_index(root: Path, wheels: list[Path]) -> Path:
    """Lay out ``root/simple/<project>/index.html`` (PEP 503) with sha256 fragments, files in ``root/files``."""
    import re

    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for whl in wheels:
        target = files / whl.name
        if whl.resolve() != target.resolve():
            shutil.copy2(whl, target)
        project = re.sub(r"[-_.]+", "-", whl.name.split("-")[0]).lower()
        projects.setdefault(project, []).append(target)
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    links = []
    for project, paths in sorted(projects.items()):
        d = simple / project
        d.mkdir(exist_ok=True)
        anchors = "".join(
            f'<a href="../../files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">{p.name}</a><br/>\n'
            for p in paths
        )
        (d / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{anchors}</body></html>\n")
        links.append(f'<a href="{project}/">{project}</a><br/>\n')
    (simple / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "".join(links) + "</body></html>\n")
    return simple


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LocalIndex:
    """A PEP 503 index served by ``http.server`` on 127.0.0.1 (a random free port)."""

    def __init__(self, root: Path) -> None:
        handler = lambda *a, **kw: _QuietHandler(*a, directory=str(root), **kw)  # noqa: E731
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/simple/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # build a channel by hand: python tests/envs/channel_builder.py DIR
    t0 = time.perf_counter()
    out = build_channel(Path(sys.argv[1]), demo_packages())
    print(out, f"{time.perf_counter() - t0:.2f}s")


def demo_wheels(d: Path) -> list[Path]:
    """The small pure wheels the envs and download tests install: a depends on b>=2, and two b versions."""
    return [
        make_wheel(d, "dlsetup-wheel-a", "1.0", requires=["dlsetup-wheel-b>=2"],
                   modules={"dlsetup_wheel_a/__init__.py": "import sys\n\ndef main():\n    print('wheel-a ok', sys.prefix)\n"},
                   scripts={"wheel-a": "dlsetup_wheel_a:main"}),
        make_wheel(d, "dlsetup-wheel-b", "1.0"),
        make_wheel(d, "dlsetup-wheel-b", "2.1"),
    ]
