"""What this machine needs from a mirror: conda subdir, wheel tags, the PyTorch variant.

The variant comes from ``--variant``, else from dlsetup's resolver (``dlsetup.resolve``) when it is
installed and answers, else ``cpu`` when the machine has no NVIDIA driver. With a driver but no
answer from the resolver it is unknown (the caller says so and asks for ``--variant``).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path


def platform_name() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def _machine() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64" if platform_name() == "linux" else "arm64"}.get(m, m)


def conda_subdir() -> str:
    """conda's subdir for this machine: linux-64, linux-aarch64, osx-arm64, win-64, ..."""
    os_name, arch = platform_name(), _machine()
    if os_name == "linux":
        return {"x86_64": "linux-64", "aarch64": "linux-aarch64", "ppc64le": "linux-ppc64le"}.get(arch, f"linux-{arch}")
    if os_name == "macos":
        return "osx-arm64" if arch in ("arm64", "aarch64") else "osx-64"
    return "win-64" if arch in ("x86_64", "amd64") else f"win-{arch}"


def python_tag(version: str | None = None) -> str:
    """``cp311`` for Python 3.11 (``version`` like "3.11"; default: this interpreter)."""
    if version:
        parts = version.split(".")
        return f"cp{parts[0]}{parts[1]}" if len(parts) >= 2 else f"cp{version}"
    return f"cp{sys.version_info.major}{sys.version_info.minor}"


def platform_matches(wheel_platform: str) -> bool:
    """Does a wheel's platform tag fit this machine (any manylinux/musllinux for our arch)?"""
    os_name, arch = platform_name(), _machine()
    tags = wheel_platform.split(".")
    for tag in tags:
        if tag == "any":
            return True
        if os_name == "linux" and tag.startswith(("manylinux", "linux", "musllinux")) and tag.endswith("_" + arch):
            return True
        if os_name == "windows" and tag == {"x86_64": "win_amd64"}.get(arch, f"win_{arch}"):
            return True
        if os_name == "macos" and tag.startswith("macosx") and tag.endswith(("_" + arch, "_universal2")):
            return True
    return False


def has_nvidia_driver(root: str = "/") -> bool:
    r = Path(root)
    return (r / "proc/driver/nvidia/version").exists() or (r / "dev/nvidia0").exists()


def default_variant() -> tuple[str | None, str]:
    """(variant, how it was chosen): "resolver", "no-gpu", or "unknown" (variant None)."""
    variant = _from_resolver()
    if variant:
        return variant, "resolver"
    if not has_nvidia_driver():
        return "cpu", "no-gpu"
    return None, "unknown"


def _from_resolver() -> str | None:
    """Ask dlsetup's resolver which PyTorch build fits; None when it cannot tell (a usage error such as an
    unreadable snapshot means "unknown" here: the caller then asks for ``--variant``)."""
    from dlsetup.errors import DlsetupError
    from dlsetup.mirror.api import resolver_torch_variant

    try:
        return resolver_torch_variant()
    except DlsetupError:
        return None
