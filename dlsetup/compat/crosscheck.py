"""Compare the hand-kept tables with what the package index says (the generated data).

Each fact the index can decide is one :class:`Fact`: a hand-kept value, the index's value, and whether they agree.
Kinds: ``release`` (the version exists), ``python`` (the release's Python range = the CPython wheels on any
platform), ``glibc`` (the index build's manylinux floor), ``companion`` (torchvision / torchaudio pairs = their
``torch`` pin), ``cudnn`` / ``cuda`` (the index build's pins), ``newest`` (the table knows the newest release).
A test fails on any disagreement; ``python -m dlsetup.compat.refresh --compare`` prints the counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlsetup.compat import generated as gen
from dlsetup.compat.tables import rows, version_tuple

# Hand-kept facts the index cannot decide, and why (reported, never compared).
HAND_KEPT = {
    "cuda_drivers": "driver floors per CUDA release: NVIDIA's release notes, not a package index",
    "driver_branches": "driver branches and the GPUs they drive: NVIDIA's documents",
    "gpu_archs": "compute capability per GPU and its CUDA support window: NVIDIA's documents",
    "cudnn": "cuDNN's GPU-architecture floors: NVIDIA's cuDNN support matrix",
    "compilers": "host compiler ranges per CUDA release: NVIDIA's installation guides",
    "pytorch.arch_list": "the GPU arch lists of the PyTorch wheels: build scripts and get_arch_list() reports",
    "pytorch.variant": "the builds on download.pytorch.org (CUDA/ROCm variants), not reachable as an index here",
    "pytorch.conda_forge": "conda-forge builds: the conda-forge channel, not the package index",
    "tensorflow.arch_list": "TensorFlow's compiled GPU archs: its build configuration",
    "jax.arch_list": "JAX's compiled GPU archs: its .bazelrc",
    "paddle.variant": "Paddle's GPU builds: Paddle's own index (paddlepaddle.org.cn)",
    "pytorch.glibc (manylinux1-tagged wheels, torch <= 2.6 on Linux x86_64)": "the tag says glibc 2.5, the "
    "binaries were built on CentOS 7 (pytorch/builder manywheel images) and need 2.17: kept stricter than the tag",
    "mindspore.variant (CUDA / cuDNN)": "the system CUDA and cuDNN a MindSpore build runs with: its install guide "
    "(the wheel pins no nvidia-* packages), and the per-CUDA wheels it serves outside the index",
    "mindspore.arch_list": "MindSpore's compiled GPU archs: its CMake release flags",
    "onnxruntime.arch_list": "ONNX Runtime's compiled GPU archs: its build files",
}


@dataclass
class Fact:
    kind: str
    table: str
    subject: str  # "torch 2.5.0"
    hand: Any
    index: Any
    source: str  # the generated row's file / page

    @property
    def agrees(self) -> bool:
        if self.kind in ("cudnn", "cuda") and isinstance(self.index, str):
            return _spec_agrees(str(self.hand), self.index)
        return self.hand == self.index


def _spec_agrees(hand: str, index: str) -> bool:
    """``"9.1.0.70"`` vs ``"nvidia-cudnn-cu12==9.1.0.70"``; ``">=9.3.0.75,<10"`` vs ``"...<10,>=9.3.0.75"``;
    ``"12.4"`` vs ``"nvidia-cuda-runtime-cu12==12.4.127"`` (a hand-kept major.minor matches any patch)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    spec = re.sub(r"^[a-z0-9-]+", "", index)
    try:
        index_set = SpecifierSet(spec)
    except InvalidSpecifier:
        return False
    if re.fullmatch(r"[\d.]+", hand):
        pins = [s.version for s in index_set if s.operator == "=="]
        if pins:
            return pins[0] == hand or pins[0].startswith(hand + ".")
        return False
    try:
        return SpecifierSet(hand) == index_set
    except InvalidSpecifier:
        return False


def _cpython_range(row: dict[str, Any]) -> list[str] | None:
    tags = {t for plat in row.get("wheels", {}).values() for t in plat if re.fullmatch(r"\d+\.\d+", t)}
    if not tags:
        return None
    ordered = sorted(tags, key=version_tuple)
    return [ordered[0], ordered[-1]]


def _glibc(row: dict[str, Any], plat: str) -> str | None:
    floors = [f for f in row.get("wheels", {}).get(plat, {}).values() if f]
    return min(floors, key=version_tuple) if floors else None


def _src(name: str, version: str, row: dict[str, Any] | None = None, plat: str | None = None) -> str:
    meta = ((row or {}).get("meta") or {}).get(plat or "", {}) if plat else {}
    base = f"generated/{gen.group_of(name)}.json {name} {version}"
    return f"{base} ({meta['file']})" if meta.get("file") else base


def _release_facts(facts: list[Fact], table: str, name: str, version: str) -> dict[str, Any] | None:
    row = gen.release(name, version)
    facts.append(Fact("release", table, f"{name} {version}", True, row is not None, _src(name, version)))
    return row


def _newest(facts: list[Fact], table: str, name: str, known: list[str]) -> None:
    newest = gen.newest(name)
    if newest is None:
        return
    top = max(known, key=version_tuple) if known else None
    stale = top is not None and version_tuple(newest) > version_tuple(top)
    facts.append(Fact("newest", table, name, top, newest if stale else top, f"generated/{gen.group_of(name)}.json"))


def compare(generated_dir: Path | None = None) -> list[Fact]:
    """Every fact the index decides, hand-kept vs index. ``generated_dir`` reads another generated folder."""
    if generated_dir is not None and Path(generated_dir).resolve() != gen.SHIPPED_DIR:
        old = gen.SHIPPED_DIR
        gen.SHIPPED_DIR = Path(generated_dir)
        gen.load_group.cache_clear()
        try:
            return compare(None)
        finally:
            gen.SHIPPED_DIR = old
            gen.load_group.cache_clear()
    facts: list[Fact] = []
    _torch(facts)
    _tensorflow(facts)
    for table in ("jax", "onnxruntime", "paddle", "mindspore"):
        _tier2(facts, table)
    return facts


def _torch(facts: list[Fact]) -> None:
    from dlsetup.compat import pytorch as pt

    known: list[str] = []
    for release in rows("pytorch", "release"):
        if release.get("index_form") == "lts":
            continue  # 1.8.2 LTS was never on the package index
        for v in release["versions"]:
            known.append(v)
            row = _release_facts(facts, "pytorch", "torch", v)
            if row is None:
                continue
            rng = _cpython_range(row)
            hand = (release.get("python_by_version") or {}).get(v) or release["python"]
            if rng:
                facts.append(Fact("python", "pytorch", f"torch {v}", list(hand), rng, _src("torch", v)))
            for plat in ("linux-x86_64", "linux-aarch64"):
                variant = pt.pypi_default(release, plat)
                if not variant or plat not in row.get("wheels", {}):
                    continue
                vrow = pt.variant_row(v, variant, plat)
                g = _glibc(row, plat)
                if vrow is not None and g and not (g == "2.5" and pt.manylinux_glibc(release, vrow, plat) == "2.17"):
                    facts.append(Fact("glibc", "pytorch", f"torch {v} {plat}",
                                      pt.manylinux_glibc(release, vrow, plat), g, _src("torch", v)))
                pins = (((row.get("meta") or {}).get(plat) or {}).get("pins") or {})
                if vrow is not None and vrow.get("cudnn") and "cudnn" in pins:
                    facts.append(Fact("cudnn", "pytorch", f"torch {v}+{variant} {plat}", vrow["cudnn"], pins["cudnn"],
                                      _src("torch", v, row, plat)))
                if vrow is not None and vrow.get("cuda") and "cuda" in pins:
                    facts.append(Fact("cuda", "pytorch", f"torch {v}+{variant} {plat}", vrow["cuda"], pins["cuda"],
                                      _src("torch", v, row, plat)))
            for comp in ("torchvision", "torchaudio"):
                cver = (release.get(comp) or {}).get(v)
                if not cver:
                    continue
                crow = _release_facts(facts, "pytorch", comp, cver)
                meta = ((crow or {}).get("meta") or {}).get("linux-x86_64") or {}
                pin = (meta.get("requires") or {}).get("torch")
                if pin is not None:
                    from packaging.specifiers import SpecifierSet

                    facts.append(Fact("companion", "pytorch", f"{comp} {cver} with torch {v}", True,
                                      SpecifierSet(pin).contains(v, prereleases=True), _src(comp, cver, crow,
                                                                                            "linux-x86_64")))
    for build in rows("pytorch", "companion_build"):
        _release_facts(facts, "pytorch", build["package"], build["version"])
    _newest(facts, "pytorch", "torch", known)
    for comp in ("torchvision", "torchaudio"):
        _newest(facts, "pytorch", comp, [c for r in rows("pytorch", "release") for c in (r.get(comp) or {}).values()]
                + [b["version"] for b in rows("pytorch", "companion_build") if b["package"] == comp])


def _tensorflow(facts: list[Fact]) -> None:
    known = []
    for release in rows("tensorflow", "release"):
        for v in release["versions"]:
            known.append(v)
            row = _release_facts(facts, "tensorflow", "tensorflow", v)
            if row is None:
                continue
            rng = _cpython_range(row)
            hand = (release.get("python_by_version") or {}).get(v) or release["python"]
            if rng:
                facts.append(Fact("python", "tensorflow", f"tensorflow {v}", list(hand), rng, _src("tensorflow", v)))
            g = _glibc(row, "linux-x86_64")
            if g and release.get("glibc"):
                facts.append(Fact("glibc", "tensorflow", f"tensorflow {v} linux-x86_64", release["glibc"], g,
                                  _src("tensorflow", v)))
            pins = (((row.get("meta") or {}).get("linux-x86_64") or {}).get("pins") or {})
            if release.get("and_cuda") and release.get("and_cuda_cudnn") and "cudnn" in pins:
                facts.append(Fact("cudnn", "tensorflow", f"tensorflow[and-cuda] {v}", release["and_cuda_cudnn"],
                                  pins["cudnn"], _src("tensorflow", v, row, "linux-x86_64")))
    _newest(facts, "tensorflow", "tensorflow", known)


def _tier2(facts: list[Fact], table: str) -> None:
    releases = {r["line"]: r for r in rows(table, "release")}
    known: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for variant in rows(table, "variant"):
        if variant.get("index_url"):
            continue  # a vendor index (Paddle's GPU builds): hand-kept
        release = releases.get(variant["line"])
        if release is None:
            continue
        for v in release["versions"]:
            if variant.get("versions") and v not in variant["versions"]:
                continue
            name = re.split(r"[\[=]", variant["requirement"].format(version=v), maxsplit=1)[0]
            if gen.project(name) is None:
                continue
            known.setdefault(name, []).append(v)
            if name == "jax" and variant.get("cuda") and variant.get("cudnn"):
                extra = re.search(r"\[([^\]]+)\]", variant["requirement"])
                plugin = f"jax-{extra.group(1)}-plugin" if extra else ""
                prow = gen.release(plugin, v) if plugin and gen.project(plugin) else None
                if plugin and gen.project(plugin):
                    facts.append(Fact("release", table, f"{plugin} {v}", True, prow is not None, _src(plugin, v)))
                pins = (((prow or {}).get("meta") or {}).get("linux-x86_64") or {}).get("pins") or {}
                if "cudnn" in pins:
                    facts.append(Fact("cudnn", table, f"jax[{extra.group(1)}] {v}", variant["cudnn"], pins["cudnn"],
                                      _src(plugin, v, prow, "linux-x86_64")))
            if (name, v) in seen:
                continue
            seen.add((name, v))
            row = _release_facts(facts, table, name, v)
            if row is None:
                continue
            rng = _cpython_range(row)
            hand = (release.get("python_by_version") or {}).get(v) or release["python"]
            if rng and name in ("jaxlib", "onnxruntime", "onnxruntime-gpu", "paddlepaddle", "mindspore",
                                "mindspore-gpu"):
                facts.append(Fact("python", table, f"{name} {v}", list(hand), rng, _src(name, v)))
            if name == "jax":
                lib = gen.release("jaxlib", v)
                if lib is not None and _cpython_range(lib):
                    facts.append(Fact("python", table, f"jax {v} (jaxlib wheels)", list(hand),
                                      _cpython_range(lib), _src("jaxlib", v)))
    for name, versions in known.items():
        _newest(facts, table, name, versions)


def summary(facts: list[Fact]) -> dict[str, Any]:
    by_kind: dict[str, list[int]] = {}
    for f in facts:
        agree, total = by_kind.setdefault(f.kind, [0, 0])
        by_kind[f.kind] = [agree + f.agrees, total + 1]
    return {"facts": len(facts), "agree": sum(f.agrees for f in facts), "by_kind": by_kind,
            "disagree": [f for f in facts if not f.agrees], "hand_kept": HAND_KEPT}


def render(facts: list[Fact]) -> str:
    s = summary(facts)
    lines = [f"{s['agree']} of {s['facts']} facts the index decides agree with the hand-kept tables"]
    for kind, (agree, total) in sorted(s["by_kind"].items()):
        lines.append(f"  {kind:10} {agree}/{total}")
    for f in s["disagree"]:
        lines.append(f"  DIFFERS {f.kind}: {f.table}: {f.subject}: hand-kept {f.hand!r}, index {f.index!r} [{f.source}]")
    lines.append("Hand-kept (the index cannot tell):")
    for key, why in HAND_KEPT.items():
        lines.append(f"  {key}: {why}")
    return "\n".join(lines)


