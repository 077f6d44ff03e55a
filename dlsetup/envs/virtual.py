"""Virtual packages (``__cuda``, ``__cuda_arch`` (CEP 46), ``__glibc``, ``__linux``, ``__osx``, ``__archspec``, ...) for a solve.

* This machine: rattler's detection with conda's overrides honoured (``CONDA_OVERRIDE_CUDA`` and friends,
  rattler ``VirtualPackageOverrides.from_env``), or an explicit ``--cuda VER``.
* Another platform (``-p osx-arm64`` or a snapshot of another machine): never detect — detection there is
  wrong and can even fail. Use conda-lock's table ``default-virtual-packages.yaml`` (the
  same numbers conda-lock locks with), adjusted from a snapshot when one is given.
"""

from __future__ import annotations

import platform as _platform
import re
import sys
from functools import lru_cache

from dlsetup.errors import UsageError


def current_platform() -> str:
    """conda's subdir for this machine (``linux-64``, ``osx-arm64``, ``win-64``, ...)."""
    machine = _platform.machine().lower()
    arch = {"x86_64": "64", "amd64": "64", "aarch64": "aarch64", "arm64": "arm64", "ppc64le": "ppc64le"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        return f"linux-{arch}"
    if sys.platform == "darwin":
        return "osx-arm64" if arch in ("arm64", "aarch64") else "osx-64"
    if sys.platform.startswith("win"):
        return "win-arm64" if arch in ("arm64", "aarch64") else "win-64"
    return f"{sys.platform}-{arch}"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    """conda-lock's ``default-virtual-packages.yaml``: subdir → {name: "version[ build]"}."""
    import importlib.util
    from pathlib import Path

    import yaml  # pyyaml: a dlsetup dependency

    # read the file without importing conda_lock (its import has side effects: see locking.import_conda_lock);
    # without the optional conda-lock (dlsetup[lock]), the copy shipped with dlsetup
    try:
        spec = importlib.util.find_spec("conda_lock")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        text = (root / "default-virtual-packages.yaml").read_text(encoding="utf-8")
    else:
        from importlib import resources

        text = resources.files("dlsetup.envs").joinpath("data/default-virtual-packages.yaml").read_text("utf-8")
    data = yaml.safe_load(text) or {}
    return {sub: {str(k): str(v) for k, v in (body.get("packages") or {}).items()}
            for sub, body in (data.get("subdirs") or {}).items()}


def table_for(platform: str, cuda: str | None = None) -> dict[str, str]:
    """name → "version[ build]" for a platform, with ``__cuda`` set to ``cuda`` ("" removes it)."""
    table = dict(_table().get(platform, {}))
    if not table:
        if platform.startswith("linux-"):
            table = {"__unix": "0", "__linux": "5.10", "__glibc": "2.28"}
        elif platform.startswith("osx-"):
            table = {"__unix": "0", "__osx": "11.0"}
        elif platform.startswith("win-"):
            table = {"__win": "0"}
    if cuda is not None:
        table.pop("__cuda", None)
        if cuda:
            table["__cuda"] = cuda
    elif "__cuda" in table:
        table.pop("__cuda")  # never pretend a GPU exists unless asked (conda-lock's 11.4 default is for locks)
    return table


def _generic(name: str, spec: str):
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    version, _, build = spec.partition(" ")
    try:
        return GenericVirtualPackage(PackageName(name), Version(version), BuildString(build or "0"))
    except Exception as exc:  # noqa: BLE001 - a version from a stranger's snapshot rattler cannot parse
        raise UsageError("envs.error.virtual_packages", reason=str(exc).splitlines()[0][:200]) from None


def _version_part(value: str | None, default: str) -> str:
    """The leading dotted number of a kernel/glibc/CUDA string (``6.1.0+`` → ``6.1.0``), as conda reads it."""
    import re

    m = re.match(r"\d{1,9}(?:\.\d{1,9}){0,5}", value or "")
    return m.group(0) if m else default


def for_platform(platform: str | None = None, *, cuda: str | None = None, snapshot=None) -> list:
    """Virtual packages to solve with: detected for this machine, from the table for another one."""
    target = platform or current_platform()
    if snapshot is not None:
        return [_generic(n, v) for n, v in from_snapshot(snapshot, cuda=cuda).items()]
    if target != current_platform():
        return [_generic(n, v) for n, v in table_for(target, cuda).items()]
    from rattler import Override, VirtualPackage, VirtualPackageOverrides

    try:
        overrides = VirtualPackageOverrides.from_env()
        if cuda is not None:
            overrides.cuda = Override.string(cuda) if cuda else None
        found = VirtualPackage.detect(overrides)
    except Exception as exc:  # noqa: BLE001 - e.g. an override rattler cannot parse
        raise UsageError("envs.error.virtual_packages", reason=str(exc).splitlines()[0]) from None
    generic = [v.into_generic() for v in found]
    if cuda == "":
        generic = [g for g in generic if g.name.normalized != "__cuda"]
    elif any(g.name.normalized == "__cuda" for g in generic):  # a driver answered: ask it for the GPUs' CCs too
        arch = _live_cuda_arch()
        if arch:
            generic.append(_generic("__cuda_arch", arch))
    return generic


def cuda_arch(gpus) -> str | None:
    """CEP 46's ``__cuda_arch``: the lowest compute capability among the machine's NVIDIA GPUs ("8.6"), so that
    a package built for ``cuda-arch>=X`` installs only where every GPU has kernels from it. None: not known.
    (rattler 0.28 does not detect it; conda gets it from the nvidia-virtual-packages plugin.)"""
    ccs = []
    for gpu in gpus or []:
        m = re.fullmatch(r"\s*(\d{1,2})\.(\d{1,2})\s*", str(getattr(gpu, "compute_capability", None) or ""))
        if m:
            ccs.append((int(m.group(1)), int(m.group(2))))
    return "{}.{}".format(*min(ccs)) if ccs else None


def _live_cuda_arch() -> str | None:
    from dlsetup.probe.nvidia import probe_nvidia

    try:
        return cuda_arch(probe_nvidia(timeout=5.0).gpus)
    except Exception:  # noqa: BLE001 - an extra hint for the solver; the solve goes on without it
        return None


def platform_of(snapshot) -> str:
    """conda's subdir for the machine a dlsetup snapshot describes."""
    system = snapshot.system
    arm = system.arch in ("aarch64", "arm64")
    if system.os == "macos":
        return "osx-arm64" if arm else "osx-64"
    if system.os == "windows":
        return "win-arm64" if arm else "win-64"
    return "linux-aarch64" if arm else "linux-64"


def from_snapshot(snapshot, cuda: str | None = None) -> dict[str, str]:
    """The virtual packages a machine described by a dlsetup snapshot would have."""
    system = snapshot.system
    if system.os == "linux":
        table = {"__unix": "0", "__linux": _version_part(system.kernel, "5.10"),
                 "__glibc": _version_part(system.glibc, "2.28"),
                 "__archspec": f"1 {system.arch}"}
    elif system.os == "macos":
        table = {"__unix": "0", "__osx": "11.0", "__archspec": f"1 {system.arch}"}
    else:
        table = {"__win": "0", "__archspec": f"1 {system.arch}"}
    driver_cuda = getattr(snapshot.nvidia, "cuda_driver_version", None)
    if cuda is not None:
        if cuda:
            table["__cuda"] = cuda
    elif driver_cuda and _version_part(driver_cuda, ""):
        table["__cuda"] = _version_part(driver_cuda, "")
    arch = cuda_arch(getattr(snapshot.nvidia, "gpus", None))
    if arch and "__cuda" in table:
        table["__cuda_arch"] = arch
    return table


def describe(vps: list) -> list[str]:
    """``["__cuda=12.4=0", "__glibc=2.36=0", ...]`` for reports."""
    out = []
    for v in vps:
        g = v.into_generic() if hasattr(v, "into_generic") else v
        out.append(f"{g.name.normalized}={g.version}={g.build_string}")
    return sorted(out)
