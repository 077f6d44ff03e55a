"""Queries over ``pytorch.toml``: releases, wheel variants, arch lists, companions, conda-forge builds."""

from __future__ import annotations

import functools
from typing import Any

from dlsetup.compat.tables import load, rows, version_tuple

PLATFORMS = ("linux-x86_64", "linux-aarch64", "windows-x86_64", "macos-arm64", "macos-x86_64")


def platform_key(os: str, arch: str) -> str:
    """``("linux", "arm64")`` -> ``"linux-aarch64"``; ``("macos", "aarch64")`` -> ``"macos-arm64"``."""
    os = (os or "linux").lower()
    arch = (arch or "x86_64").lower()
    if arch in ("amd64", "x64", "x86-64"):
        arch = "x86_64"
    if os.startswith("win"):
        os = "windows"
    elif os in ("darwin", "osx", "mac"):
        os = "macos"
    if os == "macos":
        arch = "arm64" if arch in ("arm64", "aarch64") else "x86_64"
    elif arch in ("arm64", "aarch64"):
        arch = "aarch64"
    return f"{os}-{arch}"


def index_base() -> str:
    return load("pytorch")["index"]["base"]


@functools.cache
def releases() -> list[dict[str, Any]]:
    """Release rows, newest first."""
    return sorted(rows("pytorch", "release"), key=lambda r: version_tuple(r["versions"][-1]), reverse=True)


def release_for_version(version: str) -> dict[str, Any] | None:
    """The release row that lists ``version`` (a local tag such as ``+cu126`` is ignored)."""
    public = str(version).split("+", 1)[0]
    for row in releases():
        if public in row["versions"]:
            return row
    # An unknown patch of a known line (e.g. 2.14.2): use the line's row.
    v = version_tuple(public)
    for row in releases():
        if row["line"].split("-")[0] == ".".join(map(str, v[:2])) and not row.get("index_form") == "lts":
            return row
    return None


@functools.cache
def _variants_by_line() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows("pytorch", "variant"):
        out.setdefault(row["line"], []).append(row)
    return out


def variants(release: dict[str, Any]) -> list[dict[str, Any]]:
    """Variant rows of a release line (several rows may share a name, for different platforms)."""
    return list(_variants_by_line().get(release["line"], []))


def variant_available(variant: dict[str, Any], version: str, platform: str) -> bool:
    """True when ``variant`` was published for torch ``version`` on ``platform``."""
    if platform not in variant["platforms"]:
        return False
    only = variant.get("versions")
    return not only or version.split("+", 1)[0] in only


def variant_row(version: str, variant: str, platform: str | None = None) -> dict[str, Any] | None:
    """The variant row for torch ``version`` and ``variant`` (optionally for one platform)."""
    release = release_for_version(version)
    if release is None:
        return None
    for row in variants(release):
        if row["name"] != variant:
            continue
        if platform is None or variant_available(row, version, platform):
            return row
    return None


def arch_list_named(name: str | None) -> list[str] | None:
    if not name:
        return None
    row = load("pytorch").get("arch_list", {}).get(name)
    return list(row["archs"]) if row else None


def arch_list_row(name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    return load("pytorch").get("arch_list", {}).get(name)


def arch_list(torch_version: str, variant: str | None = None, arch: str = "x86_64") -> list[str] | None:
    """``torch.cuda.get_arch_list()`` of an official wheel (see :func:`dlsetup.compat.torch_arch_list`)."""
    if variant is None and "+" in str(torch_version):
        variant = str(torch_version).split("+", 1)[1]
    if variant is None:
        # A wheel from the package index without a local tag: the platform's default build.
        release = release_for_version(torch_version)
        if release is None:
            return None
        plat = "linux-aarch64" if arch in ("aarch64", "arm64") else "linux-x86_64"
        variant = release.get("pypi_default", {}).get(plat)
        if variant is None:
            return None
    a64 = arch in ("aarch64", "arm64")
    row = variant_row(torch_version, variant, "linux-aarch64" if a64 else None)
    if row is None and a64:
        return None
    if row is None:
        return None
    return arch_list_named(row.get("archs_aarch64") if a64 else row.get("archs"))


def pypi_default(release: dict[str, Any], platform: str) -> str | None:
    """The variant ``pip install torch`` gets from the package index on ``platform`` (None: no wheel there)."""
    return release.get("pypi_default", {}).get(platform)


def companion(release: dict[str, Any], package: str, torch_version: str, variant: str | None = None) -> str | None:
    """The torchvision / torchaudio version that pairs with ``torch_version`` (None when there is none). A
    companion build that names its torch releases (torchaudio 2.11.1 for the cu132 builds) wins for its variants."""
    public = torch_version.split("+", 1)[0]
    if variant is not None:
        for row in rows("pytorch", "companion_build"):
            if row["package"] == package and public in row.get("torch", ()) and variant in row["variants"]:
                return row["version"]
    table = release.get(package) or {}
    return table.get(public)


def companion_builds(package: str, version: str) -> list[dict[str, Any]]:
    """Rows saying which torch variants and Pythons a companion build serves when it pairs with several torch
    releases (torchaudio 2.11.0). Empty: the companion was built for one torch release and every variant."""
    return [r for r in rows("pytorch", "companion_build") if r["package"] == package and r["version"] == version]


def companion_build_for(package: str, version: str, variant: str) -> tuple[dict[str, Any] | None, bool]:
    """``(row, restricted)``: the companion-build row that covers ``variant`` (None when none does), and whether
    the companion is restricted to listed variants at all."""
    builds = companion_builds(package, version)
    for row in builds:
        if variant in row["variants"]:
            return row, True
    return None, bool(builds)


def python_range(release: dict[str, Any], version: str | None = None) -> tuple[str, str]:
    """The release's Python range; a patch release that differs says so in ``python_by_version``."""
    lo, hi = (release.get("python_by_version") or {}).get(str(version or "").split("+", 1)[0]) or release["python"]
    return lo, hi


def python_supported(release: dict[str, Any], python: str) -> bool:
    lo, hi = python_range(release)
    v = version_tuple(python)[:2]
    return version_tuple(lo) <= v <= version_tuple(hi)


def manylinux_glibc(release: dict[str, Any], row: dict[str, Any] | None = None, platform: str | None = None) -> str:
    """The glibc the release's Linux wheels need: manylinux_2_28 from 2.7, manylinux2014 (2.17) before.

    A variant row may say otherwise with ``glibc`` (a version, or one per platform): in 2.6 the cu126 and the
    Linux aarch64 builds were the first on manylinux_2_28 while the rest stayed on manylinux2014.
    """
    own = (row or {}).get("glibc")
    if isinstance(own, dict):
        own = own.get(platform or "")
    if own:
        return str(own)
    return "2.28" if version_tuple(release["versions"][-1]) >= (2, 7) else "2.17"


def index_url(release: dict[str, Any], variant: str, base: str | None = None) -> str:
    """The URL pip is pointed at for ``variant`` of ``release`` (a simple index or a find-links page)."""
    base = (base or index_base()).rstrip("/")
    form = release.get("index_form", "index-url")
    if form == "find-links":
        return f"{base}/torch_stable.html"
    if form == "lts":
        return f"{base}/lts/1.8/{variant}"
    return f"{base}/{variant}"


def conda_forge_builds(version: str) -> dict[str, Any] | None:
    """The conda-forge row that lists torch ``version`` (CUDA builds per platform, arch lists)."""
    public = version.split("+", 1)[0]
    for row in rows("pytorch", "conda_forge"):
        if public in row["versions"]:
            return row
    return None


def conda_forge_rows() -> list[dict[str, Any]]:
    return rows("pytorch", "conda_forge")
