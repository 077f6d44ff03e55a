"""Never an uninstallable answer: check a requirement against the wheels the package index has (generated data).

``check(machine, "jax[cuda12]==0.4.38", label)`` fails when the index has no such release, no wheel of it for
the machine's OS, arch and Python (and glibc), or when a dependency it pins for the requested extras (jaxlib, the
CUDA plugin and its PJRT wheel; torch for torchvision) has none. Distributions the generated data does not cover
(vendor indexes) are not judged here; ``proxy=True`` judges a vendor-index build of a release by its index
builds' Python x platform matrix where the index has wheels for that platform at all.
"""

from __future__ import annotations

import re

from dlsetup.compat import generated as gen
from dlsetup.compat.pytorch import platform_key
from dlsetup.compat.tables import version_tuple
from dlsetup.i18n import t
from dlsetup.resolve.model import Machine
from dlsetup.resolve.rules import Failure

_REQ = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]*)\])?\s*==\s*([^\s;,]+)\s*$")


def parse(requirement: str) -> tuple[str, tuple[str, ...], str] | None:
    """``"jax[cuda12]==0.4.38"`` -> ``("jax", ("cuda12",), "0.4.38")``; None for anything but a ``==`` pin."""
    m = _REQ.match(requirement)
    if not m:
        return None
    extras = tuple(e.strip().replace("_", "-").lower() for e in (m.group(2) or "").split(",") if e.strip())
    return m.group(1).lower().replace("_", "-"), extras, m.group(3).split("+", 1)[0]


def _source(name: str, version: str | None = None) -> str:
    proj = gen.project(name) or {}
    info = gen.data_info(name) or {}
    where = f"dlsetup/compat/data/generated/{info.get('file', name + '.json')}"
    page = proj.get("index", "")
    return f"{page} ({where}" + (f", {name} {version}" if version else "") + ")"


def _fits(machine: Machine, row: dict, plat: str) -> bool:
    floor = gen.wheel_floor(row, plat, machine.python)
    if floor is None:
        return False
    if floor and plat.startswith("linux") and machine.glibc:
        return version_tuple(machine.glibc) >= version_tuple(floor)
    return True


def _nearest_python(row: dict, plat: str, python: str) -> str | None:
    tags = sorted({tg.rstrip("t") for tg in gen.python_tags(row, plat) if re.fullmatch(r"\d+\.\d+t?", tg)},
                  key=version_tuple)
    if not tags:
        return None
    have = version_tuple(python)[:2]
    below = [tg for tg in tags if version_tuple(tg) <= have]
    return below[-1] if below else tags[0]


def check(machine: Machine, requirement: str, label: str, proxy: bool = False, _depth: int = 0) -> list[Failure]:
    parsed = parse(requirement)
    if parsed is None:
        return []
    name, extras, version = parsed
    if gen.project(name) is None:
        return []
    plat = platform_key(machine.os, machine.arch)
    row = gen.release(name, version)
    if row is None:
        if proxy:
            return []
        return [Failure("wheel", t("resolve.rule.no_release", candidate=label, package=name, version=version),
                        _source(name))]
    if proxy and not gen.has_platform(row, plat):
        return []
    floor = gen.wheel_floor(row, plat, machine.python)
    if floor is None:
        if not gen.has_platform(row, plat):
            return [Failure("platform", t("resolve.rule.no_wheel", candidate=label, package=name, version=version,
                                          platform=plat, python=machine.python), _source(name, version))]
        near = _nearest_python(row, plat, machine.python)
        return [Failure("python", t("resolve.rule.no_wheel", candidate=label, package=name, version=version,
                                    platform=plat, python=machine.python), _source(name, version),
                        {"python": near} if near else {})]
    if (not proxy and floor and plat.startswith("linux") and machine.glibc
            and version_tuple(machine.glibc) < version_tuple(floor)):
        return [Failure("glibc", t("resolve.rule.glibc", candidate=f"{label}: {name} {version}", need=floor,
                                   have=machine.glibc), _source(name, version), {"glibc": floor})]
    if _depth >= 2:
        return []
    meta = gen.meta_for(row, plat)
    if not meta:
        return []
    out: list[Failure] = []
    for key, spec in (meta.get("requires") or {}).items():
        extra, _, dep = key.rpartition(":")
        if extra and extra.replace("_", "-") not in extras:
            continue
        if gen.project(dep) is None or dep == name:
            continue
        out += _check_dep(machine, dep, spec, label, plat, _depth)
    return out


def _check_dep(machine: Machine, dep: str, spec: str, label: str, plat: str, depth: int) -> list[Failure]:
    pinned = spec[2:] if spec.startswith("==") and "," not in spec and "*" not in spec else None
    rels = gen.releases(dep)
    candidates = [pinned] if pinned is not None and pinned in rels else rels
    versions = [v for v in candidates if not rels[v].get("yanked") and gen.spec_contains(spec, v)]
    fitting = [v for v in versions if _fits(machine, gen.releases(dep)[v], plat)]
    if not fitting:
        return [Failure("platform" if not any(gen.has_platform(gen.releases(dep)[v], plat) for v in versions)
                        else "python",
                        t("resolve.rule.no_dep_wheel", candidate=label, package=dep, spec=spec or "*", platform=plat,
                          python=machine.python), _source(dep))]
    best = max(fitting, key=version_tuple)
    return check(machine, f"{dep}=={best}", label, _depth=depth + 1)


def merge(failures: list[Failure], found: list[Failure]) -> None:
    """Add the wheel check's ``found`` failures to a candidate's ``failures``: a rule already failed is not said
    twice (a platform the hand-kept row already refuses, "os" included), and a missing Python comes first."""
    have = {x.rule for x in failures}
    if have & {"os", "platform"}:
        have |= {"os", "platform"}
    new = [w for w in found if w.rule not in have]
    failures[:0] = [w for w in new if w.rule == "python"]
    failures += [w for w in new if w.rule != "python"]


def covers(machine: Machine, name: str, version: str) -> bool:
    """True when the index's own wheels of ``name`` ``version`` for the machine's platform are in the generated
    data: then they, not a hand-kept per-release Python range, say which Pythons it installs on."""
    row = gen.release(name, version)
    return row is not None and gen.has_platform(row, platform_key(machine.os, machine.arch))


def installs(machine: Machine, requirement: str) -> bool:
    """True when ``requirement`` names a release with a wheel for ``machine`` (or one the data does not cover)."""
    return not check(machine, requirement, requirement)
