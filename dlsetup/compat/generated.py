"""The generated part of the compatibility data: what the package index itself says.

``dlsetup/compat/data/generated/<group>.json`` is written by ``python -m dlsetup.compat.refresh``; a user's
``dlsetup compat refresh`` writes a newer copy into the cache (``<cache>/compat/generated/``), which wins when it
is valid and newer than the shipped one. Files load lazily, one group at a time, once per process.

A release row: ``{"date", "requires_python", "yanked"?, "wheels": {platform: {python tag: floor}}, "meta"?}``
where the python tag is ``3.12`` / ``3.13t`` / ``abi3:3.9`` / ``py3`` and the floor is the oldest glibc
(Linux) or macOS the wheel needs ("" for none); ``meta.<platform>`` holds what the index build's METADATA pins.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from dlsetup.compat.tables import version_tuple

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "generated"
SCHEMA = 1

# Which generated file holds which distribution.
GROUPS = {
    "nvidia-cuda-runtime-cu11": "nvidia", "nvidia-cuda-runtime-cu12": "nvidia", "nvidia-cuda-runtime": "nvidia",
    "nvidia-cudnn-cu11": "nvidia", "nvidia-cudnn-cu12": "nvidia", "nvidia-cudnn-cu13": "nvidia",
    "nvidia-nccl-cu11": "nvidia", "nvidia-nccl-cu12": "nvidia", "nvidia-nccl-cu13": "nvidia",
    "cuda-toolkit": "nvidia",
}


def user_dir() -> Path:
    from dlsetup.compat.tables import _cache_dir

    return _cache_dir() / "compat" / "generated"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("projects"), dict):
        return None
    for proj in doc["projects"].values():  # a damaged copy falls back to the shipped data, never a traceback
        if not isinstance(proj, dict) or not isinstance(proj.get("releases"), dict):
            return None
        if not all(isinstance(r, dict) and isinstance(r.get("wheels", {}), dict) for r in proj["releases"].values()):
            return None
    return doc


@functools.cache
def load_group(group: str) -> dict[str, Any] | None:
    """The generated document ``group`` (None when there is none): the user's refreshed copy when it is valid and
    newer than the shipped file, else the shipped file. ``_origin`` says which (``shipped`` / the path)."""
    shipped = _read(SHIPPED_DIR / f"{group}.json")
    if os.environ.get("DLSETUP_COMPAT_SHIPPED") != "1":
        user_path = user_dir() / f"{group}.json"
        if user_path.is_file() and (user_dir() / "manifest.json").is_file():  # a complete, verified refresh
            user = _read(user_path)
            if user is not None and (shipped is None or str(user.get("generated", "")) > str(shipped.get("generated", ""))):
                user["_origin"] = str(user_path)
                return user
    if shipped is not None:
        shipped["_origin"] = "shipped"
    return shipped


def group_of(project: str) -> str:
    return GROUPS.get(project, project)


def project(name: str) -> dict[str, Any] | None:
    """``{"index": page URL, "releases": {version: row}}`` for distribution ``name``, or None when not generated."""
    doc = load_group(group_of(name))
    if doc is None:
        return None
    return doc["projects"].get(name)


def releases(name: str) -> dict[str, dict[str, Any]]:
    proj = project(name)
    return proj["releases"] if proj else {}


def release(name: str, version: str) -> dict[str, Any] | None:
    return releases(name).get(str(version).split("+", 1)[0])


def newest(name: str) -> str | None:
    """The newest non-yanked release the data knows."""
    rels = [v for v, r in releases(name).items() if not r.get("yanked")]
    return max(rels, key=version_tuple) if rels else None


def data_info(name: str) -> dict[str, Any] | None:
    """Which generated data answers for ``name``: ``{"origin", "generated", "file"}``."""
    group = group_of(name)
    doc = load_group(group)
    if doc is None:
        return None
    return {"origin": doc.get("_origin", "shipped"), "generated": doc.get("generated"), "file": f"{group}.json"}


def _py_match(tag: str, python: str) -> bool:
    """Does a wheel with Python tag ``tag`` install on CPython ``python`` (``3.12`` / ``3.13t``)?"""
    free = python.endswith("t")
    base = python.rstrip("t")
    if tag == "py3":
        return True
    if tag.startswith("abi3:"):
        return not free and version_tuple(base) >= version_tuple(tag[5:])
    return tag == python or (not free and tag == base)


_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}


@functools.lru_cache(maxsize=1024)
def _clauses(spec: str) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """``">=2.14.0,<3"`` -> ``((">=", (2, 14, 0)), ("<", (3,)))``; None when a clause is more than a plain
    comparison of release numbers (``~=``, ``.*``, pre-releases): then packaging decides."""
    out = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        op = part[:2] if part[:2] in _OPS else part[:1]
        ver = part[len(op):]
        if op not in _OPS or not ver.replace(".", "").isdigit():
            return None
        out.append((op, tuple(int(x) for x in ver.split("."))))
    return tuple(out)


def spec_contains(spec: str | None, version: str) -> bool:
    """PEP 440 ``version in spec`` for the plain specifiers the index uses, without importing packaging (which a
    resolve would otherwise pay ~10 ms for); anything else goes to packaging."""
    if not spec:
        return True
    clauses = _clauses(spec)
    if clauses is None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            return SpecifierSet(spec).contains(version, prereleases=True)
        except InvalidSpecifier:
            return True
    v = version_tuple(version)
    for op, want in clauses:
        n = max(len(v), len(want))
        a, b = v + (0,) * (n - len(v)), want + (0,) * (n - len(want))
        if not _OPS[op](a, b):
            return False
    return True


def _requires_python_ok(spec: str | None, python: str) -> bool:
    return spec_contains(spec, f"{python.rstrip('t')}.0")


def wheel_floor(row: dict[str, Any], platform: str, python: str) -> str | None:
    """The least demanding floor (glibc / macOS; "" = none) among the release's wheels that install on
    ``platform`` with CPython ``python``; None when no wheel does."""
    best: str | None = None
    for plat in (platform, "any"):
        tags = row.get("wheels", {}).get(plat, {})
        for tag, floor in tags.items():
            if not _py_match(tag, python):
                continue
            if tag in ("py3",) or tag.startswith("abi3:"):
                if not _requires_python_ok(row.get("requires_python"), python):
                    continue
            if best is None or (floor == "" or (best and version_tuple(floor) < version_tuple(best))):
                best = floor
    return best


def has_platform(row: dict[str, Any], platform: str) -> bool:
    return bool(row.get("wheels", {}).get(platform) or row.get("wheels", {}).get("any"))


def python_tags(row: dict[str, Any], platform: str) -> list[str]:
    return list(row.get("wheels", {}).get(platform, {})) + list(row.get("wheels", {}).get("any", {}))


def meta_for(row: dict[str, Any], platform: str) -> dict[str, Any] | None:
    meta = row.get("meta") or {}
    return meta.get(platform) or meta.get("any")
