"""The NVIDIA driver itself: NVML error classes, kernel/user-space mismatch, hung or garbled probes.

NVML error classes and what they mean come from nvidia-ml-py 13.615.71; the kernel/user-space version
mismatch and the driver that is installed but not loaded are the other two causes handled here.
"""

from __future__ import annotations

import re

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_DRIVER, INFO, WARNING, Finding, ev, finding
from dlsetup.platform.shell import Cmd, Note, which
from dlsetup.probe.model import Snapshot

# NVML error class -> (finding id, severity). LibraryNotFound is not here: gpu.py works out why the
# library is missing (no GPU, no driver, container, WSL). Every other class is a driver-side fault.
NVML_SPECIFIC: dict[str, tuple[str, str]] = {
    "DriverNotLoaded": ("driver.not_loaded", ERROR),
    "LibRmVersionMismatch": ("driver.version_mismatch", ERROR),
    "NoPermission": ("driver.no_permission", ERROR),
    "GpuIsLost": ("driver.gpu_lost", ERROR),
    "ResetRequired": ("driver.reset_required", ERROR),
    "InsufficientPower": ("driver.insufficient_power", ERROR),
    "CorruptedInforom": ("driver.corrupted_inforom", WARNING),
    "IrqIssue": ("driver.irq_issue", ERROR),
    "FunctionNotFound": ("driver.nvml_failed", WARNING),
    "Uninitialized": ("driver.nvml_failed", WARNING),
    "Timeout": ("driver.nvml_failed", WARNING),
    "OperatingSystem": ("driver.nvml_failed", WARNING),
    "Memory": ("driver.nvml_failed", WARNING),
    "Unknown": ("driver.nvml_failed", WARNING),
}
# Every other class (NotSupported, InUse, NotReady, GpuNotFound, ArgumentVersionMismatch, ..., an ImportError of
# the binding or a bare ``NVMLError(<code>)``) is still an NVML failure, never "no GPU".
_NVML_OTHER = ("driver.nvml_failed", WARNING)


def nvml_finding(error: str | None) -> tuple[str, str] | None:
    """(finding id, severity) for an NVML error class; None for no error and for LibraryNotFound (gpu.py)."""
    if not error or error == "LibraryNotFound":
        return None
    return NVML_SPECIFIC.get(error, _NVML_OTHER)


def _commands(snap: Snapshot, fid: str) -> list[str]:
    if fid == "driver.not_loaded":
        return ["sudo modprobe nvidia", "sudo dmesg | grep -i -E 'nvidia|nvrm' | tail -20", "mokutil --sb-state",
                "sudo dkms autoinstall"]
    if fid == "driver.version_mismatch":
        return remedies.reboot_or_reload()
    if fid == "driver.no_permission":
        return ["ls -l /dev/nvidia*", "sudo usermod -aG video $USER"]
    if fid == "driver.gpu_lost":
        return ["sudo dmesg | grep -i -E 'xid|fallen off the bus'", "sudo reboot"]
    if fid == "driver.reset_required":
        return ["sudo nvidia-smi --gpu-reset", "sudo reboot"]
    if fid == "driver.irq_issue":
        return ["sudo dmesg | grep -i -E 'nvrm|irq'"]
    return ["nvidia-smi", "sudo dmesg | grep -i nvrm | tail -20"]


def nvml_error(snap: Snapshot) -> list[Finding]:
    """Every NVML error class other than LibraryNotFound becomes its own finding with its fix — for the
    driver as a whole (``nvml_error``) or for one GPU that could not be queried (``Gpu.error``)."""
    nv = snap.nvidia
    where: dict[str, list[str]] = {}  # error class -> evidence lines
    if nvml_finding(nv.nvml_error):
        where.setdefault(nv.nvml_error, []).append(ev("nvml_error", error=nv.nvml_error))
    for g in nv.gpus:
        if nvml_finding(g.error) and g.error != nv.nvml_error:
            where.setdefault(g.error, []).append(
                ev("gpu_error", index=g.index, bus=g.pci_bus_id or "?", error=g.error))
    from dlsetup.doctor.checks import wsl

    out: list[Finding] = []
    for err, lines in where.items():
        fid, severity = nvml_finding(err)
        if fid in ("driver.not_loaded", "driver.version_mismatch") and wsl.linux_driver_inside(snap) \
                and not nv.gpus:
            continue  # a Linux driver installed inside WSL: gpu.presence reports wsl.linux_driver instead
        evidence = list(lines)
        if nv.kernel_module:
            evidence.append(ev("kernel_module", version=nv.kernel_module))
        if nv.library_version and nv.library_version != nv.kernel_module:
            evidence.append(ev("library_version", version=nv.library_version))
        if nv.driver_version and nv.rung and nv.rung != "nvml":
            evidence.append(ev("driver", version=nv.driver_version, rung=nv.rung))
        if fid == "driver.no_permission" and nv.device_nodes:
            evidence.append(ev("device_nodes", nodes=", ".join(nv.device_nodes)))
        commands = _commands(snap, fid)
        cause_key = fix_key = None
        params: dict[str, object] = {}
        data: dict[str, object] = {}
        if fid == "driver.not_loaded":
            pci = facts.nvidia_pci_devices(snap)
            evidence += [ev("pci_device", name=d.get("name") or d.get("pci_id") or "?", slot=d.get("slot") or "?",
                            driver=d.get("driver") or "-") for d in pci]
            legacy = None if snap.system.wsl else _dropped_architectures(nv.library_version or nv.driver_version)
            if legacy and not _pci_rules_out(pci, legacy[1]):
                last, archs = legacy
                cause_key, fix_key = "cause_legacy", "fix_legacy"
                from dlsetup.i18n import language

                # the text names the architectures in the reader's language; the data keeps the list
                params = {"last": str(last), "archs": ("、" if language() == "zh" else ", ").join(archs)}
                data = {"archs": list(archs)}
                commands = ["sudo dmesg | grep -i nvrm | tail -20",
                            Note("doctor.cmd.if_legacy", last=last),
                            *remedies.driver_install(snap, branch=str(last)),
                            Note("doctor.cmd.otherwise"), "sudo modprobe nvidia", "mokutil --sb-state",
                            "sudo dkms autoinstall"]
            elif snap.system.wsl:  # no kernel module to load in WSL: the driver is the Windows one
                cause_key, fix_key = "cause_wsl", "fix_wsl"
                commands = ["wsl.exe --update", "wsl.exe --shutdown"]
        out.append(finding(fid, severity, GROUP_DRIVER, evidence=evidence, commands=commands, cause_key=cause_key,
                           fix_key=fix_key,
                           error=err, version=nv.kernel_module or nv.library_version or nv.driver_version or "?",
                           data=data, **params))
    return out


# NVIDIA chip code at the start of a pci.ids name ("GP102 [GeForce GTX 1080 Ti]") -> architecture, as named in
# dlsetup/compat/data/gpu_archs.toml.
_CHIP_ARCH = {"GF": "Fermi", "GK": "Kepler", "GM": "Maxwell", "GP": "Pascal", "GV": "Volta", "TU": "Turing",
              "GA": "Ampere", "AD": "Ada Lovelace", "GH": "Hopper", "GB": "Blackwell"}


def _pci_rules_out(pci: list[dict], dropped: list[str]) -> bool:
    """True when the PCI names show every NVIDIA GPU here is of an architecture the driver still supports
    (an RTX 3090 "GA102" is not the Pascal-on-R590 case); False when a name is unknown or is a dropped one."""
    archs = []
    for d in pci:
        m = re.match(r"\s*(G[FKMPVAHB]|TU|AD)\d", d.get("name") or "")
        if not m:
            return False
        archs.append(_CHIP_ARCH.get(m.group(1)))
    return bool(archs) and not any(a is None or a in dropped for a in archs)


def _dropped_architectures(driver: str | None) -> tuple[int, list[str]] | None:
    """(branch, architecture names) of the newest architectures this driver branch no longer supports."""
    from dlsetup import compat

    if not driver:
        return None
    branch = compat.driver_branch(driver)
    if branch is None:
        return None
    by_last: dict[int, list[str]] = {}
    for cc in compat.known_ccs():
        arch = compat.gpu_architecture(cc) or {}
        last = arch.get("last_driver_branch")
        if last and last < branch and arch.get("name") and arch["name"] not in by_last.setdefault(last, []):
            by_last[last].append(arch["name"])
    if not by_last:
        return None
    newest = max(by_last)
    return newest, by_last[newest]


def kernel_user_mismatch(snap: Snapshot) -> list[Finding]:
    """The loaded kernel module and the user-space driver (NVML) report different versions (§4 #11)."""
    nv = snap.nvidia
    if nv.nvml_error == "LibRmVersionMismatch":
        return []  # nvml_error() already says it
    if not (nv.kernel_module and nv.driver_version and nv.rung == "nvml"):
        return []
    if nv.kernel_module.strip() == nv.driver_version.strip():
        return []
    return [finding(
        "driver.version_mismatch", ERROR, GROUP_DRIVER,
        evidence=[ev("kernel_module", version=nv.kernel_module), ev("driver", version=nv.driver_version, rung="nvml")],
        commands=remedies.reboot_or_reload(), error="", version=nv.kernel_module,
    )]


def fabric_manager(snap: Snapshot) -> list[Finding]:
    """NVSwitch systems: CUDA fails with Error 802 until the fabric manager has finished (§4 #10)."""
    waiting = [g for g in snap.nvidia.gpus if g.fabric_state and g.fabric_state != "completed"]
    code = facts.cuinit_code(snap)
    if not waiting and code != 802:
        return []
    branch = (snap.nvidia.driver_version or "").split(".")[0]
    evidence = [ev("fabric_state", index=g.index, name=g.name, state=g.fabric_state) for g in waiting]
    if code == 802:
        evidence.append(ev("cuinit", error=snap.nvidia.cuinit_error))
    commands = ["systemctl status nvidia-fabricmanager", "sudo systemctl enable --now nvidia-fabricmanager"]
    if branch and facts.distro_id(snap).startswith(("ubuntu", "debian")):
        commands.insert(1, f"sudo apt install nvidia-fabricmanager-{branch}")
    return [finding("driver.fabric_manager", ERROR, GROUP_DRIVER, evidence=evidence, commands=commands,
                    driver=snap.nvidia.driver_version or "?")]


def mig_mode(snap: Snapshot) -> list[Finding]:
    """MIG on: CUDA sees only the MIG instances (none until they are created)."""
    on = [g for g in snap.nvidia.gpus if (g.mig_mode or "").lower() == "enabled"]
    if not on:
        return []
    evidence = [ev("mig_enabled", index=g.index, name=g.name) for g in on]
    return [finding("gpu.mig_enabled", INFO, GROUP_DRIVER, evidence=evidence,
                    commands=["nvidia-smi -L", "sudo nvidia-smi mig -lgi",
                              Note("doctor.cmd.mig_off"), f"sudo nvidia-smi -i {on[0].index} -mig 0"])]


def probe_faults(snap: Snapshot) -> list[Finding]:
    """A rung that hung or printed something unreadable (e.g. nvidia-smi) is itself a symptom."""
    out: list[Finding] = []
    for a in snap.nvidia.attempts:
        err = (a.error or "").lower()
        if err in ("timeout", "timed out", "timed-out"):
            out.append(finding(
                "driver.probe_hung", WARNING, GROUP_DRIVER,
                evidence=[ev("rung_timeout", rung=a.rung, seconds=f"{a.duration_ms / 1000:.1f}")],
                commands=["sudo dmesg | grep -i -E 'nvrm|xid' | tail -20", "sudo nvidia-smi -pm 1"], rung=a.rung,
            ))
        elif err in ("crashed", "load-failed"):
            out.append(finding(
                "driver.probe_crashed", WARNING, GROUP_DRIVER,
                evidence=[ev("rung_crashed", rung=a.rung, detail=(a.detail or a.error or "")[:300])],
                commands=["sudo dmesg | grep -i -E 'nvrm|xid|segfault' | tail -20", "nvidia-smi"], rung=a.rung,
            ))
        elif "garbage" in err or "unparsable" in err or "unexpected output" in err:
            out.append(finding(
                "driver.probe_garbage", WARNING, GROUP_DRIVER,
                evidence=[ev("rung_garbage", rung=a.rung, detail=(a.detail or a.error or "")[:200])],
                commands=[which("nvidia-smi"),
                          Cmd(["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"])],
                rung=a.rung,
            ))
    return out


def cuinit_failure(snap: Snapshot) -> list[Finding]:
    """``cuInit`` failed in the libcuda rung: the CUDA driver API itself refuses to start.

    34 (stub library), 802 (fabric manager) and 803/804 with compat libraries on the loader path have
    their own checks; the rest are explained here by code (999 is the suspend/resume nvidia_uvm case).
    """
    from dlsetup.doctor.checks.env_vars import compat_dirs

    code = facts.cuinit_code(snap)
    if code is None or code in (34, 802) or (code in (803, 804) and compat_dirs(snap)):
        return []
    if nvml_finding(snap.nvidia.nvml_error):
        return []  # the NVML finding names the cause; cuInit failing is its consequence
    cause_key = {803: "cause_803", 804: "cause_804", 999: "cause_999", 100: "cause_100",
                 35: "cause_35"}.get(code, "cause")
    commands = {
        803: remedies.reboot_or_reload(),
        804: ["ldconfig -p | grep libcuda.so.1", "echo $LD_LIBRARY_PATH"],
        999: ["sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm", Note("doctor.cmd.if_fails", command="sudo reboot")],
        100: ["nvidia-smi -L", "echo $CUDA_VISIBLE_DEVICES"],
        35: remedies.driver_install(snap),
    }.get(code, ["nvidia-smi", "sudo dmesg | grep -i nvrm | tail -20"])
    evidence = [ev("cuinit", error=snap.nvidia.cuinit_error)]
    if snap.nvidia.libcuda_path:
        evidence.append(ev("libcuda_path", path=snap.nvidia.libcuda_path))
    if snap.nvidia.driver_version:
        evidence.append(ev("driver", version=snap.nvidia.driver_version, rung=snap.nvidia.rung or "?"))
    severity = WARNING if code == 100 else ERROR
    return [finding("driver.cuinit_failed", severity, GROUP_DRIVER, evidence=evidence, commands=commands,
                    cause_key=cause_key, error=snap.nvidia.cuinit_error or str(code), code=code)]


def unsupported_gpu(snap: Snapshot) -> list[Finding]:
    """The installed driver branch is newer than the last branch that supports a GPU's architecture
    (e.g. Pascal after R580): the GPU stops working with it."""
    driver = snap.nvidia.driver_version
    if not driver or not snap.nvidia.gpus:
        return []
    from dlsetup import compat

    branch = compat.driver_branch(driver)
    out: list[Finding] = []
    for g in snap.nvidia.gpus:
        arch = compat.gpu_architecture(g.compute_capability) if g.compute_capability else None
        last = arch.get("last_driver_branch") if arch else None
        if not last or branch is None or branch <= last:
            continue
        out.append(finding(
            "driver.gpu_unsupported", ERROR, GROUP_DRIVER,
            evidence=[ev("gpu", index=g.index, name=g.name, cc=g.compute_capability),
                      ev("driver", version=driver, rung=snap.nvidia.rung or "?"),
                      ev("arch_last_branch", arch=arch["name"], branch=last, source=arch.get("source") or "")],
            commands=remedies.driver_install(snap, branch=str(last)),
            gpu=g.name, arch=arch["name"], driver=driver, last=str(last),
        ))
    return out


CHECKS = [nvml_error, kernel_user_mismatch, unsupported_gpu, fabric_manager, cuinit_failure, mig_mode, probe_faults]
