"""Installed deep-learning frameworks, read from metadata and version files — nothing is imported.

A directory listing of each site dir finds the ``*.dist-info`` / ``*.egg-info`` entries; torch's
``version.py``, TensorFlow's ``build_info.py`` and paddle's ``version/__init__.py`` give the CUDA the
build was made with; ``INSTALLER`` and ``conda-meta/*.json`` say who installed it.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dlsetup.probe.model import Framework, FrameworksInfo


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    """The framework list shipped in ``dlsetup/probe/data/frameworks.toml`` (loaded once)."""
    from dlsetup.util import toml
    path = os.path.join(os.path.dirname(__file__), "data", "frameworks.toml")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:  # installed as a zip: go through importlib.resources
        from importlib import resources

        text = resources.files("dlsetup.probe").joinpath("data/frameworks.toml").read_text(encoding="utf-8")
    return toml.loads(text)


def normalize(name: str) -> str:
    from dlsetup.util.names import canonical_name

    return canonical_name(name)


@dataclass
class Dist:
    name: str  # normalised
    version: str | None
    site: str
    meta: str  # the .dist-info / .egg-info path
    installer: str | None = None


def _read(path: str, limit: int = 1 << 20) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return None


def scan_site(site: str) -> list[Dist]:
    """Every distribution in one site dir, from directory names (no metadata parse)."""
    try:
        entries = os.listdir(site)
    except OSError:
        return []
    out = []
    for e in entries:
        if e.endswith(".dist-info"):
            stem = e[: -len(".dist-info")]
            name, _, version = stem.partition("-")
        elif e.endswith(".egg-info"):
            stem = e[: -len(".egg-info")]
            parts = stem.split("-")
            name, version = parts[0], (parts[1] if len(parts) > 1 else "")
        else:
            continue
        meta = os.path.join(site, e)
        if not version and os.path.isdir(meta):  # develop installs: "foo.egg-info" — read PKG-INFO
            m = re.search(r"^Version:\s*(\S+)", _read(os.path.join(meta, "PKG-INFO"), 4096) or "", re.M)
            version = m.group(1) if m else ""
        out.append(Dist(name=normalize(name), version=version or None, site=site, meta=meta))
    return out


def _installer(d: Dist) -> str | None:
    text = _read(os.path.join(d.meta, "INSTALLER"), 256) if os.path.isdir(d.meta) else None
    return text.strip() or None if text else None


def _py_assign(text: str | None, name: str) -> str | None:
    """Value of ``name = '...'`` (or ``name: Optional[str] = '...'``) in a generated version file."""
    if not text:
        return None
    m = re.search(rf"^{re.escape(name)}\s*(?::[^=\n]+)?=\s*(.+)$", text, re.M)
    if not m:
        return None
    raw = m.group(1).strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None
    if value is None or value is False or value in ("False", "None", ""):
        return None
    return str(value)


def local_tag(version: str | None) -> str | None:
    return version.split("+", 1)[1] if version and "+" in version else None


def cuda_variant(cuda: str | None) -> str | None:
    """``"12.6"`` → ``"cu126"``."""
    if not cuda:
        return None
    parts = cuda.split(".")
    return "cu" + parts[0] + (parts[1] if len(parts) > 1 else "0")


def _major_minor(version: str | None) -> str | None:
    if not version:
        return None
    m = re.match(r"(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def _torch_like(fw: Framework, pkg_dir: str) -> None:
    """torch / torchvision / torchaudio: ``version.py`` has ``cuda`` and ``hip``; the tag says cpu/cuXXX/rocmX."""
    text = _read(os.path.join(pkg_dir, "version.py"), 64 << 10)
    fw.cuda = _py_assign(text, "cuda")
    hip = _py_assign(text, "hip")
    if hip:
        fw.extra["hip"] = hip
    debug = _py_assign(text, "debug")
    if debug:
        fw.extra["debug"] = debug
    tag = local_tag(fw.version)
    if tag and re.fullmatch(r"(cu\d+|cpu|rocm[\d.]+|xpu)", tag):
        fw.variant = tag
    elif fw.cuda:
        fw.variant = cuda_variant(fw.cuda)
    elif hip:
        fw.variant = "rocm" + (_major_minor(hip) or hip)
    elif text is not None:
        fw.variant = "cpu"


def _tensorflow(fw: Framework, site: str) -> None:
    text = _read(os.path.join(site, "tensorflow", "python", "platform", "build_info.py"), 64 << 10)
    if not text:
        return
    build: dict[str, Any] = {}
    m = re.search(r"build_info\s*=\s*(\{.*?\})\s*$", text, re.S | re.M)
    if m:
        try:
            build = ast.literal_eval(m.group(1))
        except (ValueError, SyntaxError):
            build = {}
    if not build:  # older files: OrderedDict([...]) or loose assignments
        for key in ("cuda_version", "cudnn_version", "is_cuda_build", "is_rocm_build"):
            km = re.search(rf"['\"]{key}['\"]\s*[:,]\s*([^,)\]}}\n]+)", text)
            if km:
                try:
                    build[key] = ast.literal_eval(km.group(1).strip())
                except (ValueError, SyntaxError):
                    build[key] = km.group(1).strip().strip("'\"")
    build = {k: v for k, v in build.items() if isinstance(v, (str, int, float, bool, list))}
    fw.extra["build_info"] = build
    if build.get("is_cuda_build") and build.get("cuda_version"):
        fw.cuda = _major_minor(str(build["cuda_version"]))
        fw.variant = cuda_variant(fw.cuda)
    elif build.get("is_rocm_build"):
        fw.variant = "rocm"
    elif build:
        fw.variant = "cpu"


def _paddle(fw: Framework, site: str) -> None:
    text = _read(os.path.join(site, "paddle", "version", "__init__.py"), 64 << 10)
    if not text:
        return
    fw.cuda = _major_minor(_py_assign(text, "cuda_version"))
    cudnn = _py_assign(text, "cudnn_version")
    if cudnn:
        fw.extra["cudnn"] = cudnn
    fw.variant = cuda_variant(fw.cuda) if fw.cuda else "cpu"


def _by_name(fw: Framework) -> None:
    """Variants spelled in the distribution name or local tag (onnxruntime-gpu, mxnet-cu112, jaxlib+cuda12)."""
    dist = fw.extra.get("dist", fw.name)
    m = re.search(r"-(cu\d+)", dist)
    if m:
        fw.variant = m.group(1)
    elif dist.endswith("-gpu"):
        fw.variant = "gpu"
    elif dist.endswith(("-cpu", "-macos", "-intel")):
        fw.variant = "cpu"
    tag = local_tag(fw.version)
    if tag:
        tm = re.match(r"cuda(\d+)", tag)
        fw.variant = f"cuda{tm.group(1)}" if tm else fw.variant


def conda_meta(prefix: str | None) -> dict[str, tuple[str, str]]:
    """conda-meta records of an environment: name -> (version, build), from file names only."""
    if not prefix:
        return {}
    try:
        names = os.listdir(os.path.join(prefix, "conda-meta"))
    except OSError:
        return {}
    out = {}
    for n in names:
        if n.endswith(".json") and n.count("-") >= 2:
            name, version, build = n[: -len(".json")].rsplit("-", 2)
            out[name] = (version, build)
    return out


def probe_frameworks(site_dirs: list[str], prefix: str | None = None, python: str | None = None) -> FrameworksInfo:
    """Frameworks and notable packages installed for the interpreter whose import path is ``site_dirs``."""
    cat = catalog()
    info = FrameworksInfo(python=python, site_dirs=list(site_dirs))
    by_name: dict[str, list[Dist]] = {}
    for site in site_dirs:
        for d in scan_site(site):
            by_name.setdefault(d.name, []).append(d)

    records = conda_meta(prefix)
    wanted_conda = set(cat.get("conda", {}).get("names", []))
    for fw_def in cat["framework"]:
        wanted_conda.update(fw_def.get("conda", []))
    for name in sorted(records):
        if name in wanted_conda:
            info.conda_packages.append(name)
            info.conda_records[name] = " ".join(records[name])

    for fw_def in cat["framework"]:
        dists = [n for n in fw_def.get("dist", []) if n in by_name]
        prefix_match = fw_def.get("dist_prefix")
        if prefix_match:
            dists += sorted(n for n in by_name if n.startswith(prefix_match) and n not in dists)
        for dist in dists:
            found = by_name[dist]
            first = found[0]
            fw = Framework(name=fw_def["name"], version=first.version, location=first.site,
                           installer=_installer(first), retired=bool(fw_def.get("retired")))
            if dist != fw_def["name"]:
                fw.extra["dist"] = dist
            if len(found) > 1:
                fw.extra["also_found"] = [{"version": d.version, "location": d.site, "meta": os.path.basename(d.meta)}
                                          for d in found[1:]]
            conda_names = [c for c in fw_def.get("conda", []) if c in records]
            if conda_names:
                fw.extra["conda"] = {c: " ".join(records[c]) for c in conda_names}
                if fw.installer is None:
                    fw.installer = "conda"
            _fill_build(fw, fw_def, first.site)
            info.items.append(fw)
        if not dists:
            conda_names = [c for c in fw_def.get("conda", []) if c in records]
            module_dir = fw_def.get("module_dir")
            location = next((s for s in site_dirs if module_dir and os.path.isdir(os.path.join(s, module_dir))), None)
            if conda_names or location:
                fw = Framework(name=fw_def["name"], version=records[conda_names[0]][0] if conda_names else None,
                               location=location, installer="conda" if conda_names else None,
                               retired=bool(fw_def.get("retired")))
                if conda_names:
                    fw.extra["conda"] = {c: " ".join(records[c]) for c in conda_names}
                info.items.append(fw)

    pkg = cat.get("packages", {})
    names = set(pkg.get("names", []))
    prefixes = tuple(pkg.get("prefixes", []))
    for name in sorted(by_name):
        if name in names or name.startswith(prefixes):
            info.packages[name] = by_name[name][0].version or ""
    jax_plugins = sorted(n for n in info.packages if re.fullmatch(r"jax-cuda\d+-(plugin|pjrt)", n))
    for fw in info.items:
        if fw.name == "jaxlib":
            if jax_plugins:
                fw.extra["plugins"] = jax_plugins
                fw.variant = "cuda" + re.search(r"cuda(\d+)", jax_plugins[0]).group(1)  # type: ignore[union-attr]
            elif fw.variant is None:
                fw.variant = "cpu"
    return info


def _fill_build(fw: Framework, fw_def: dict[str, Any], site: str) -> None:
    name = fw_def["name"]
    if name in ("torch", "torchvision", "torchaudio"):
        _torch_like(fw, os.path.join(site, fw_def["import"]))
    elif name == "tensorflow":
        _tensorflow(fw, site)
        if fw.variant is None:
            _by_name(fw)
    elif name == "paddlepaddle":
        _paddle(fw, site)
        if fw.variant is None:
            _by_name(fw)
    elif name == "onnxruntime":
        _by_name(fw)
        fw.variant = fw.variant or "cpu"
    else:
        _by_name(fw)
