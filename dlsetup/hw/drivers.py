"""The NVIDIA driver a card needs, as a branch and as the package to install on this OS and release.

Inputs: the card's record in the GPU database (``db.GpuModel``: NVIDIA's legacy branch, open-module support,
Debian's per-release lists) and ``gpu_archs.toml``'s ``last_driver_branch`` for architectures the current branches
dropped after the recorded ``supported-gpus.json`` (Maxwell, Pascal and Volta stop at R580). The packages and
commands per distribution come from ``data/driver_packages.toml``; every answer carries the sources it used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from dlsetup.hw.db import GpuModel

UBUNTU_LIKE = ("ubuntu", "pop", "linuxmint", "elementary", "zorin", "neon", "kubuntu", "xubuntu")
DEBIAN_LIKE = ("debian", "raspbian", "devuan")
FEDORA_LIKE = ("fedora", "nobara", "rhel", "centos", "rocky", "almalinux", "ol")
ARCH_LIKE = ("arch", "manjaro", "endeavouros", "garuda", "cachyos")


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    from pathlib import Path

    from dlsetup.util import toml

    text = (Path(__file__).resolve().parent / "data" / "driver_packages.toml").read_text(encoding="utf-8")
    return toml.loads(text)


def family(os: str, distro: str | None) -> str | None:
    """"ubuntu" | "debian" | "fedora" | "arch" | "windows" | None (no packaged route known)."""
    if os == "windows":
        return "windows"
    if os != "linux":
        return None
    d = (distro or "").lower()
    for name, ids in (("ubuntu", UBUNTU_LIKE), ("debian", DEBIAN_LIKE), ("fedora", FEDORA_LIKE),
                      ("arch", ARCH_LIKE)):
        if d.startswith(ids):
            return name
    return None


def branch_for(model: GpuModel) -> int:
    """The newest driver branch that drives the card: NVIDIA's legacy branch, else the architecture's last branch
    (gpu_archs.toml), else 0 (every current branch)."""
    if model.legacy_branch:
        return model.legacy_branch
    if model.cc:
        from dlsetup.compat import gpu_architecture

        arch = gpu_architecture(model.cc) or {}
        last = arch.get("last_driver_branch") or 0
        if last > 0:
            return int(last)
    return 0


def first_branch(model: GpuModel) -> int | None:
    """The oldest branch that drives the card at all, where gpu_archs.toml says (Blackwell: R570)."""
    if not model.cc:
        return None
    from dlsetup.compat import gpu_architecture

    return (gpu_architecture(model.cc) or {}).get("first_driver_branch")


def open_module(model: GpuModel) -> str:
    """"required" (Blackwell onwards: the proprietary module does not drive it), "recommended" (Turing onwards,
    NVIDIA's default since R560), "no" (the open module does not drive it) or "unknown"."""
    from dlsetup.compat import parse_cc

    cc = parse_cc(model.cc) if model.cc else None
    if cc and cc >= (10, 0):
        return "required"
    if model.open_module == "yes" or (cc and cc >= (7, 5)):
        return "recommended"
    if model.open_module == "no" or cc:
        return "no"
    return "unknown"


def branch_cuda(branch: int, os: str = "linux") -> str | None:
    """The newest CUDA a driver of ``branch`` runs (driver_branches.toml)."""
    if not branch:
        return None
    from dlsetup.compat import cuda_for_driver

    return cuda_for_driver(f"{branch}.0", os)


@dataclass
class DriverAdvice:
    model: GpuModel
    branch: int  # 0 = any current branch
    open_module: str
    family: str | None
    release: str | None
    packages: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # hw.note.* keys
    sources: list[str] = field(default_factory=list)
    needs_nonfree: bool = False
    available: bool = False  # a rule names a package for this OS and release
    first_branch: int | None = None
    max_cuda: str | None = None  # the newest CUDA the branch runs (None while current)
    secure_boot: list[str] = field(default_factory=list)

    @property
    def package(self) -> str:
        return self.packages[0] if self.packages else ""

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": self.model.to_dict(), "branch": self.branch or None, "open_module": self.open_module,
                "family": self.family, "release": self.release, "packages": self.packages,
                "commands": self.commands, "notes": self.notes, "sources": self.sources,
                "needs_nonfree": self.needs_nonfree, "available": self.available,
                "first_branch": self.first_branch, "max_cuda": self.max_cuda}


def _version(text: str | None) -> tuple[int, ...]:
    out = []
    for part in str(text or "").split("."):
        if not (part.isascii() and part.isdigit()):
            break
        out.append(int(part))
    return tuple(out)


def _branch_class(branch: int) -> set[str]:
    if branch == 0:
        return {"current"}
    return {str(branch), "legacy"}


def _matches(rule: dict[str, Any], fam: str, distro: str, release: str | None, model: GpuModel, branch: int,
             open_: str) -> bool:
    if rule.get("os") and rule["os"] != ("windows" if fam == "windows" else "linux"):
        return False
    if rule.get("distro") and rule["distro"] != fam:
        return False
    if "branch" in rule and rule["branch"] not in _branch_class(branch):
        return False
    if rule.get("open") == "required" and open_ != "required":
        return False
    if rule.get("open") == "yes" and open_ not in ("required", "recommended"):
        return False
    rel = _version(release) if release else None
    if rule.get("min_release") and rel is not None and rel < _version(rule["min_release"]):
        return False
    if rule.get("max_release") and (rel is None or rel > _version(rule["max_release"])):
        return False
    if rule.get("debian_list"):
        lists = _debian_lists(model, release)
        if rule["debian_list"] not in lists:
            return False
    return True


def _debian_lists(model: GpuModel, release: str | None) -> list[str]:
    """Debian's nvidia-detect lists for this release; a release newer than the recorded ones uses the newest."""
    if not model.debian:
        return []
    known = sorted(model.debian, key=_version)
    major = _version(release)[:1]
    if major and str(major[0]) in model.debian:
        return model.debian[str(major[0])]
    if major and known and major > _version(known[-1]):
        return model.debian[known[-1]]
    return [] if major else model.debian[known[-1]]


def advise(model: GpuModel, os: str, distro: str | None = None, release: str | None = None) -> DriverAdvice:
    """What to install for ``model`` on ``os``/``distro`` ``release`` (os-release ID and VERSION_ID)."""
    fam = family(os, distro)
    d = (distro or "").lower()
    # A derivative numbers its releases its own way (Mint 22 is Ubuntu 24.04): ignore the number there.
    rel = release if d in ("ubuntu", "debian", "fedora") or fam in (None, "arch", "windows") else None
    branch = branch_for(model)
    open_ = open_module(model)
    data = rules()
    advice = DriverAdvice(model=model, branch=branch, open_module=open_, family=fam, release=release,
                          first_branch=first_branch(model), max_cuda=branch_cuda(branch, os))
    srcs = data.get("sources", {})
    if fam is not None and model.vendor == "nvidia":
        for rule in data.get("rule", []):
            if _matches(rule, fam, d, rel, model, branch, open_):
                sub = {"branch": str(branch), "release": release or ""}
                advice.packages = [p.format(**sub) for p in rule.get("packages", [])]
                advice.commands = [c.format(**sub) for c in rule.get("commands", [])]
                advice.needs_nonfree = bool(rule.get("needs_nonfree"))
                advice.available = True
                if rule.get("note"):
                    advice.notes.append(rule["note"])
                advice.sources = [srcs.get(s, s) for s in rule.get("source", [])]
                break
        sb = data.get("secure_boot", {})
        if fam in sb and advice.available:
            advice.secure_boot = list(sb[fam])
            advice.sources += [srcs.get(s, s) for s in sb.get("source", []) if f"mok-{fam}" == s]
    if branch:
        advice.sources.append(srcs.get("nvidia-legacy", ""))
    advice.sources = list(dict.fromkeys(s for s in advice.sources if s))
    return advice
