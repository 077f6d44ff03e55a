"""Build the resolver's :class:`Machine` from a probe snapshot, the live machine, or command-line overrides."""

from __future__ import annotations

import platform
import sys
from typing import Any

from dlsetup.resolve.model import GpuSpec, Machine

OSES = ("linux", "windows", "macos")
ARCHES = ("x86_64", "aarch64")


def _mm(version: str | None) -> str | None:
    """``"3.11.7"`` -> ``"3.11"``."""
    if not version:
        return None
    parts = str(version).strip().split(".")
    if len(parts) >= 2 and (parts[0].isascii() and parts[0].isdigit()):
        minor = "".join(ch for ch in parts[1] if ch in "0123456789")
        if minor:
            return f"{int(parts[0])}.{int(minor)}"
    return None


def _norm_arch(arch: str | None) -> str:
    a = (arch or "").lower()
    if a in ("amd64", "x64", "x86-64", "x86_64"):
        return "x86_64"
    if a in ("arm64", "aarch64", "armv8", "arm64e"):
        return "aarch64"
    return a or "x86_64"


def _norm_os(os_name: str | None) -> str:
    o = (os_name or "").lower()
    if o.startswith("win"):
        return "windows"
    if o in ("darwin", "mac", "macos", "osx"):
        return "macos"
    return o or "linux"


def machine_from_snapshot(snapshot: Any, source: str = "live probe") -> Machine:
    """The resolver's view of a :class:`dlsetup.probe.model.Snapshot`."""
    from dlsetup.compat import cc_from_name, cuda_for_driver, parse_cc

    system = snapshot.system
    nv = snapshot.nvidia
    gpus: list[GpuSpec] = []
    for gpu in nv.gpus:
        name = gpu.name or None
        cc = gpu.compute_capability
        cc_source = "probe"
        if not cc and name:
            cc = cc_from_name(name)
            cc_source = "name"
        if cc and parse_cc(cc) is None:
            cc = None
        if not name and not cc:
            continue  # a GPU the probe could not query at all (e.g. GpuIsLost): nothing to plan for
        gpus.append(GpuSpec(index=gpu.index, name=name, cc=cc, cc_source=cc_source))
    nvidia_bus = [o for o in nv.other_gpus if str(o.get("vendor", "")).lower() == "nvidia"]
    if not gpus:
        # No driver answered, but NVIDIA devices are on the PCI bus: dlsetup's GPU database knows the card by its
        # PCI id (name and compute capability, no pci.ids needed); an id it does not know is named from pci.ids.
        from dlsetup.hw.db import lookup

        for i, dev in enumerate(nvidia_bus):
            model = lookup(dev.get("pci_id"))
            name = dev.get("name") or (model.name if model else None)
            cc, cc_source = (model.cc, "pci_id") if model and model.cc else (cc_from_name(name), "name")
            gpus.append(GpuSpec(index=i, name=name or f"NVIDIA device {dev.get('pci_id') or '?'}", cc=cc,
                                cc_source=cc_source if cc else "unknown"))
    driver = nv.driver_version or None
    # WSL2 has no PCI bus to scan: a GPU shows as /dev/dxg, and an NVIDIA user-space driver that cannot reach it
    # (a Linux driver installed inside WSL) is an NVIDIA GPU with a broken driver, not a machine without a GPU.
    wsl_nvidia = (bool(system.wsl) and "/dev/dxg" in (getattr(nv, "device_nodes", None) or [])
                  and bool(getattr(nv, "library_version", None) or nv.nvml_error == "DriverNotLoaded"))
    problem = None
    if (nvidia_bus or wsl_nvidia) and not driver:
        problem = nv.nvml_error or ("nouveau" if getattr(nv, "nouveau_loaded", False) else "no-driver")
        library = getattr(nv, "library_version", None)
        if library:
            problem += f" (user-space driver library {library}"
            problem += f", CUDA {nv.cuda_driver_version})" if nv.cuda_driver_version else ")"
    cuda_driver = None
    if driver:
        cuda_driver = nv.cuda_driver_version or cuda_for_driver(driver, system.os)
    python = _mm(snapshot.tooling.python.version) or f"{sys.version_info[0]}.{sys.version_info[1]}"
    return Machine(
        os=_norm_os(system.os),
        arch=_norm_arch(system.arch),
        python=python,
        driver=driver,
        cuda_driver=cuda_driver,
        gpus=gpus,
        wsl=bool(system.wsl),
        glibc=system.glibc,
        nvidia_present=bool(gpus) or bool(nvidia_bus) or wsl_nvidia,
        driver_problem=problem,
        driver_library=None if driver else (getattr(nv, "library_version", None) or None),
        other_gpus=_compute_gpus(nv.other_gpus),
        source=source,
    )


def _compute_gpus(other: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The non-NVIDIA GPUs PyTorch has builds for: AMD (ROCm) and Intel Arc / data-center parts (XPU). An Intel
    desktop iGPU is left out: the CPU build is the right answer there and a warning would only be noise.
    dlsetup's GPU database adds the gfx target and the compute stack (rocm, rocm-override:X.Y.Z, xpu, none)."""
    import re

    from dlsetup.hw.db import lookup

    out = []
    for o in other:
        vendor = str(o.get("vendor", "")).lower()
        if vendor not in ("amd", "intel"):
            continue
        model = lookup(o.get("pci_id"))
        name = str(o.get("name") or (model.name if model else None) or o.get("pci_id") or "?")
        if model is not None:
            if vendor == "intel" and model.compute != "xpu":
                continue
            out.append({"vendor": vendor, "name": name, "target": model.target, "compute": model.compute,
                        "pci_id": model.pci_id})
        elif vendor == "amd" or re.search(r"\barc\b|dg2|battlemage|data center gpu|ponte vecchio", name.lower()):
            out.append({"vendor": vendor, "name": name})
    return out


def gpus_by_name(values: list[str] | tuple[str, ...]) -> tuple[list[GpuSpec], list[dict[str, str]]]:
    """``--gpu`` values (names or PCI ids, see ``dlsetup.hw.db.find``) -> NVIDIA GpuSpecs and other-vendor GPUs.
    Raises UsageError for an unknown or ambiguous name."""
    from dlsetup.errors import UsageError
    from dlsetup.hw.db import find

    nvidia: list[GpuSpec] = []
    other: list[dict[str, str]] = []
    for raw in values:
        m = find(raw)
        if m.candidates:
            raise UsageError("hw.error.gpu_ambiguous", value=raw, candidates="; ".join(m.candidates))
        if m.model is None:
            raise UsageError("hw.error.gpu_unknown", value=raw)
        name = m.name or m.model.name
        if m.model.vendor == "nvidia":
            if not m.model.cc:
                raise UsageError("hw.error.gpu_not_cuda", value=raw, name=name)
            nvidia.append(GpuSpec(index=len(nvidia), name=name, cc=m.model.cc, cc_source="gpu"))
        else:
            other.append({"vendor": m.model.vendor, "name": name, "target": m.model.target,
                          "compute": m.model.compute, "pci_id": m.model.pci_id})
    return nvidia, other


def live_machine() -> Machine:
    """Probe this machine (system and NVIDIA parts only: fast) and build its Machine."""
    from dlsetup.probe import probe_machine

    snap = probe_machine(parts={"system", "nvidia"})
    return machine_from_snapshot(snap, source="live probe")


def bare_machine() -> Machine:
    """The machine this interpreter runs on, without any probing (used when everything is overridden)."""
    os_name = _norm_os(platform.system())
    glibc = None
    if os_name == "linux":
        lib, ver = platform.libc_ver()
        glibc = ver if lib == "glibc" and ver else None
    return Machine(os=os_name, arch=_norm_arch(platform.machine()),
                   python=f"{sys.version_info[0]}.{sys.version_info[1]}", glibc=glibc, source="overrides")


def apply_overrides(
    machine: Machine,
    *,
    os: str | None = None,
    arch: str | None = None,
    python: str | None = None,
    driver: str | None = None,
    gpu_cc: list[str] | tuple[str, ...] | None = None,
    no_gpu: bool = False,
    glibc: str | None = None,
    gpu: list[str] | tuple[str, ...] | None = None,
    chosen_by: str | None = None,
) -> Machine:
    """Replace facts with the user's (to plan for another machine). Raises UsageError on bad values.

    ``chosen_by``: the facts replaced here were not given on the command line but chosen by someone else
    ("recipe:NAME", "local"): they go into ``machine.chosen`` instead of ``machine.overrides``, so the machine's
    source line names who chose them."""
    from dlsetup.compat import cuda_for_driver, driver_branch, parse_cc, version_tuple
    from dlsetup.errors import UsageError

    done = list(machine.overrides)
    if os is not None:
        o = _norm_os(os)
        if o not in OSES:
            raise UsageError("resolve.error.bad_os", value=os, allowed=", ".join(OSES))
        if o != machine.os:
            machine.wsl = False
            if o != "linux":
                machine.glibc = None
        machine.os = o
        done.append("os")
    if arch is not None:
        a = _norm_arch(arch)
        if a not in ARCHES:
            raise UsageError("resolve.error.bad_arch", value=arch, allowed=", ".join(ARCHES))
        machine.arch = a
        done.append("arch")
    if python is not None:
        mm = _mm(python) if "." in str(python) else None
        if mm is None or not (2 <= int(mm.split(".")[0]) <= 3):
            raise UsageError("resolve.error.bad_python", value=python)
        machine.python = mm
        done.append("python")
    if glibc is not None:
        if len(version_tuple(glibc)) < 2:
            raise UsageError("resolve.error.bad_glibc", value=glibc)
        machine.glibc = glibc
        done.append("glibc")
    if driver is not None:
        v = version_tuple(driver)
        if not v or driver_branch(driver) is None:
            raise UsageError("resolve.error.bad_driver", value=driver)
        machine.driver = str(driver).strip()
        machine.cuda_driver = cuda_for_driver(machine.driver, machine.os)
        machine.driver_problem = None
        machine.driver_library = None
        machine.driver_assumed = False
        done.append("driver")
    if gpu_cc or gpu:
        gpus, other = gpus_by_name(list(gpu or []))
        for raw in gpu_cc or []:
            cc = parse_cc(raw)
            if cc is None or not 2 <= cc[0] <= 19:  # CUDA GPUs start at 2.0 (Fermi); 99.9 is a typo, not a GPU
                raise UsageError("resolve.error.bad_cc", value=raw)
            text = f"{cc[0]}.{cc[1]}"
            gpus.append(GpuSpec(index=len(gpus), name=None, cc=text, cc_source="override"))
        machine.gpus = gpus
        machine.other_gpus = other
        machine.nvidia_present = bool(gpus)
        if driver is None and machine.driver_problem:
            machine.driver_problem = None
        done += (["gpu"] if gpu else []) + (["gpu-cc"] if gpu_cc else [])
    if no_gpu:
        machine.no_gpu = True
        done.append("no-gpu")
    if machine.os == "macos":
        machine.gpus = []
        machine.nvidia_present = False
    if chosen_by:
        new = done[len(machine.overrides):]
        machine.chosen = {**machine.chosen, **dict.fromkeys(new, chosen_by)}
        done = [d for d in machine.overrides if d not in new]
    machine.overrides = done
    return machine
