"""Is there an NVIDIA GPU the driver can use? (no GPU, no driver, nouveau, user-space libraries missing)

One decision tree for "the driver lists no GPU", so that exactly one finding explains it. Containers
and WSL have their own causes (``container.py``, ``wsl.py``); when those find nothing specific the
answer is the plain "no NVIDIA GPU" note.
"""

from __future__ import annotations

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.checks import container, wsl
from dlsetup.doctor.checks.driver import nvml_finding
from dlsetup.doctor.model import ERROR, GROUP_DRIVER, INFO, Finding, ev, finding
from dlsetup.probe.model import Snapshot


def presence(snap: Snapshot) -> list[Finding]:
    """No usable GPU from the driver: say why (or that this is a CPU machine, which is fine).

    "Usable" means NVML answered: GPUs that only sysfs/procfs list (a container without the runtime, a
    kernel module without its libraries) do not count.
    """
    nv = snap.nvidia
    if nv.gpus and not nv.nvml_error:
        return []
    if wsl.linux_driver_inside(snap):
        return wsl.no_gpu_findings(snap)  # NVML's DriverNotLoaded there comes from the Linux driver inside WSL
    if nvml_finding(nv.nvml_error):
        return []  # driver.py explains the NVML failure (every class but LibraryNotFound)
    if snap.system.wsl:
        return wsl.no_gpu_findings(snap) or [no_nvidia_gpu(snap)]
    if snap.system.container:
        return container.no_gpu_findings(snap) or [no_nvidia_gpu(snap)]
    pci = facts.nvidia_pci_devices(snap)
    if any((d.get("driver") or "").lower() == "nouveau" for d in pci) or (nv.nouveau_loaded and pci):
        return [_nouveau(snap, pci)]
    module_loaded = bool(nv.kernel_module or nv.proc_version or facts.gpu_nodes(snap))
    if module_loaded and nv.nvml_error == "LibraryNotFound":
        return [_driver_without_libraries(snap)]
    if module_loaded or (pci and facts.driver_found(snap) and not nv.nvml_error):
        return [_not_driven(snap, pci)]
    undriven = [d for d in pci if (d.get("driver") or "").lower() != "nvlddmkm"]  # nvlddmkm: NVIDIA's service
    if undriven and remedies.is_windows(snap):
        return [_no_driver_windows(snap, undriven)]
    if pci:
        return [finding("gpu.no_driver", ERROR, GROUP_DRIVER, evidence=[*_pci_evidence(pci), _nvml_evidence(snap)],
                        commands=remedies.driver_install(snap))]
    return [no_nvidia_gpu(snap)]


def _no_driver_windows(snap: Snapshot, pci: list[dict]) -> Finding:
    """An NVIDIA GPU on a Windows machine without NVIDIA's driver (a fresh laptop): never "no GPU".

    The fix names the driver the build dlsetup would install needs (CUDA minor-version compatibility
    floor for Windows from the compat data), and then the install command for that build.
    """
    from dlsetup import compat
    from dlsetup.doctor import advice
    from dlsetup.doctor.checks.torch_build import torch_request

    request = torch_request(snap)
    built = advice.build_advice(snap, request)
    main = (built.packages[0] if built and built.packages else {}) or {}
    variant = str(main.get("variant") or "")
    cuda = f"{variant[2:-1]}.{variant[-1]}" if variant.startswith("cu") and len(variant) >= 4 else None
    floor = compat.runtime_driver_floor(cuda, "windows") if cuda else None
    from dlsetup.i18n import t

    build = f"{main.get('name')}=={main.get('version')} ({variant})" if main else t("doctor.label.cuda_builds")
    return finding("gpu.no_driver", ERROR, GROUP_DRIVER, evidence=[*_pci_evidence(pci), _nvml_evidence(snap)],
                   commands=advice.commands_for(snap, request), cause_key="cause_windows", fix_key="fix_windows",
                   min_driver=floor or "528.33", build=build)


def _nvml_evidence(snap: Snapshot) -> str:
    err = snap.nvidia.nvml_error
    return ev("nvml_error", error=err) if err else ""


def _pci_evidence(devices: list[dict]) -> list[str]:
    out = []
    for d in devices:
        out.append(ev("pci_device", name=d.get("name") or d.get("pci_id") or "?", slot=d.get("slot") or "?",
                      driver=d.get("driver") or "-"))
    return out


def _nouveau(snap: Snapshot, pci: list[dict]) -> Finding:
    return finding(
        "gpu.nouveau", ERROR, GROUP_DRIVER, evidence=[*_pci_evidence(pci), _nvml_evidence(snap)],
        commands=[
            "printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf",
            "sudo update-initramfs -u",
            *remedies.driver_install(snap),
        ],
    )


def _not_driven(snap: Snapshot, pci: list[dict]) -> Finding:
    """The driver is loaded but lists no GPU: a branch that no longer (or not yet) supports the GPU."""
    nv = snap.nvidia
    evidence = [*_pci_evidence(pci), _nvml_evidence(snap)]
    if nv.driver_version:
        evidence.insert(0, ev("driver", version=nv.driver_version, rung=nv.rung or "?"))
    return finding("gpu.not_driven", ERROR, GROUP_DRIVER, evidence=evidence,
                   commands=["sudo dmesg | grep -i nvrm"], driver=nv.driver_version or nv.kernel_module or "?")


def _driver_without_libraries(snap: Snapshot) -> Finding:
    nv = snap.nvidia
    evidence = [
        ev("kernel_module", version=nv.kernel_module) if nv.kernel_module else "",
        ev("proc_version", text=nv.proc_version) if nv.proc_version else "",
        ev("device_nodes", nodes=", ".join(nv.device_nodes)) if nv.device_nodes else "",
        _nvml_evidence(snap),
    ]
    return finding("driver.libraries_missing", ERROR, GROUP_DRIVER, evidence=evidence,
                   commands=[*remedies.driver_install(snap), "sudo ldconfig"],
                   version=nv.kernel_module or nv.driver_version or "?")


def no_nvidia_gpu(snap: Snapshot) -> Finding:
    """The info note for a machine without an NVIDIA GPU: the CPU path, or what to use instead."""
    from dlsetup.doctor import advice

    torch = facts.framework(snap, facts.TORCH)
    evidence = [_nvml_evidence(snap), ev("no_device_nodes") if not snap.nvidia.device_nodes else ""]
    if snap.system.container:
        evidence.append(ev("container", kind=snap.system.container))
    for g in snap.nvidia.other_gpus:
        if str(g.get("vendor", "")).lower() != "nvidia":
            evidence.append(ev("other_gpu", vendor=facts.vendor_label(g.get("vendor")), name=g.get("name") or "?"))
    commands: list[str] = []
    if snap.system.os == "macos":
        fix_key = "fix_macos"
        commands = [remedies.pip(snap, "install", "torch")]
    elif facts.other_vendor_gpus(snap, "amd"):
        rocm = torch is not None and (torch.variant or "").startswith("rocm")
        fix_key = "fix_amd_installed" if rocm else "fix_amd"
        commands = [] if rocm else ["dlsetup resolve torch"]
    elif facts.other_vendor_gpus(snap, "intel") and snap.system.os in ("linux", "windows"):
        fix_key = "fix_intel"
        commands = ["dlsetup resolve torch"]
    elif torch is not None and facts.is_cpu_build(torch):
        fix_key = "fix_cpu_installed"
    elif snap.system.wsl:
        fix_key = "fix_wsl"
    else:
        fix_key = "fix"
        commands = advice.commands_for(snap, "torch", no_gpu=True)
    if snap.system.container and fix_key in ("fix", "fix_cpu_installed"):
        fix_key += "_container"
    return finding("gpu.none", INFO, GROUP_DRIVER, evidence=evidence, commands=commands, fix_key=fix_key,
                   torch=torch.version if torch else "")


CHECKS = [presence]
