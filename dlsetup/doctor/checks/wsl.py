"""WSL2: the GPU comes from the Windows driver through /usr/lib/wsl/lib; a Linux driver inside WSL breaks it.

Root cause #7 (microsoft/WSL#9254, #9092; conda/conda#11615).
"""

from __future__ import annotations

from dlsetup.doctor import facts
from dlsetup.doctor.model import ERROR, GROUP_DRIVER, Finding, ev, finding
from dlsetup.probe.model import Snapshot

WSL_LIB = "/usr/lib/wsl/lib"

_REMOVE_LINUX_DRIVER = [
    "sudo apt-get remove --purge '^nvidia-driver-.*' '^libnvidia-.*' cuda-drivers",
    "sudo ldconfig",
    "ls -l /usr/lib/wsl/lib/libcuda.so.1",
]
_LOADER = [
    "echo /usr/lib/wsl/lib | sudo tee /etc/ld.so.conf.d/ld.wsl.conf",
    "sudo ldconfig",
    "ldconfig -p | grep libcuda",
]


def _linux_driver_evidence(snap: Snapshot) -> list[str]:
    nv = snap.nvidia
    out = []
    if nv.kernel_module:
        out.append(ev("kernel_module", version=nv.kernel_module))
    if nv.proc_version:
        out.append(ev("proc_version", text=nv.proc_version))
    if nv.library_version:
        # /usr/lib/wsl/lib/libnvidia-ml.so.1 is a plain file; a versioned libnvidia-ml.so.<ver> comes from a Linux
        # driver package (nvidia-utils-*, libnvidia-compute-*) installed inside WSL.
        out.append(ev("library_version", version=nv.library_version))
    if nv.libcuda_path and not nv.libcuda_path.startswith(WSL_LIB):
        out.append(ev("libcuda_path", path=nv.libcuda_path))
    return out


def linux_driver_inside(snap: Snapshot) -> bool:
    """On WSL: traces of a Linux NVIDIA driver (kernel module, versioned libnvidia-ml, libcuda outside
    /usr/lib/wsl/lib). NVML then answers DriverNotLoaded, and the fix is removing it, not loading a module."""
    return bool(snap.system.wsl and _linux_driver_evidence(snap))


def no_gpu_findings(snap: Snapshot) -> list[Finding]:
    """Called by gpu.presence when the driver lists no GPU on WSL."""
    base = [ev("wsl", kernel=snap.system.kernel or "?")]
    if snap.nvidia.nvml_error:
        base.append(ev("nvml_error", error=snap.nvidia.nvml_error))
    linux = _linux_driver_evidence(snap)
    if linux:
        return [finding("wsl.linux_driver", ERROR, GROUP_DRIVER, evidence=[*base, *linux],
                        commands=_REMOVE_LINUX_DRIVER)]
    if snap.system.wsl_lib_dir and facts.driver_found(snap):
        # Something (nvidia-smi in /usr/lib/wsl/lib) sees the Windows driver, but the loader cannot find its libraries.
        evidence = [*base, ev("driver", version=snap.nvidia.driver_version or "?", rung=snap.nvidia.rung or "?"),
                    ev("wsl_lib_dir", path=WSL_LIB)]
        return [finding("wsl.loader_path", ERROR, GROUP_DRIVER, evidence=evidence, commands=_LOADER)]
    if not snap.system.wsl_lib_dir and facts.cuda_frameworks(snap):
        evidence = [*base, ev("no_wsl_lib_dir", path=WSL_LIB)]
        return [finding("wsl.no_gpu_bridge", ERROR, GROUP_DRIVER, evidence=evidence,
                        commands=["wsl.exe --update", "wsl.exe --list --verbose", "wsl.exe --shutdown"])]
    return []


def linux_driver(snap: Snapshot) -> list[Finding]:
    """GPUs are listed, but CUDA programs load a Linux libcuda instead of the Windows driver's."""
    if not snap.system.wsl or not snap.nvidia.gpus:
        return []
    path = snap.nvidia.libcuda_path
    if not path or path.startswith(WSL_LIB):
        return []
    return [finding("wsl.linux_driver", ERROR, GROUP_DRIVER,
                    evidence=[ev("wsl", kernel=snap.system.kernel or "?"), ev("libcuda_path", path=path)],
                    commands=_REMOVE_LINUX_DRIVER)]


CHECKS = [linux_driver]
