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
        plan = driver_plan(snap, pci)
        f = finding("gpu.no_driver", ERROR, GROUP_DRIVER, evidence=[*_pci_evidence(pci), *plan.evidence,
                                                                    _nvml_evidence(snap)],
                    commands=plan.commands or remedies.driver_install(snap), data=plan.data)
        return [plan.apply(f)]
    return [no_nvidia_gpu(snap)]


class _DriverPlan:
    """What dlsetup's GPU database says about the NVIDIA cards on the bus: evidence lines (model, driver), the
    install commands for this OS and release, and the notes that go with them (hw.*)."""

    def __init__(self) -> None:
        self.evidence: list[str] = []
        self.commands: list[str] = []
        self.notes: list[str] = []
        self.fix: str = ""
        self.data: dict = {}

    def apply(self, f: Finding) -> Finding:
        if self.fix:
            f.fix = _sentences([self.fix, *self.notes])
        return f


def _sentences(parts: list[str]) -> str:
    """Join sentences: with a space in English, without one in Chinese (full-width stops end the sentences)."""
    from dlsetup.i18n import language

    return ("" if language() == "zh" else " ").join(p for p in parts if p)


def driver_plan(snap: Snapshot, pci: list[dict]) -> _DriverPlan:
    """The driver branch and package for the card(s) on the bus (hw.drivers), before any driver is installed."""
    from dlsetup.hw.db import lookup
    from dlsetup.hw.drivers import advise
    from dlsetup.i18n import t

    plan = _DriverPlan()
    models = [m for m in (lookup(d.get("pci_id")) for d in pci) if m is not None and m.vendor == "nvidia"]
    for m in {m.pci_id: m for m in models}.values():
        plan.evidence.append(t("hw.ev.card", name=m.name, arch=m.arch or "?", cc=m.cc or "?", pci_id=m.pci_id))
    if not models:
        return plan
    system = snap.system
    advices = [advise(m, system.os, system.distro, system.distro_version) for m in models]
    # Mixed cards: the one with the oldest last branch decides (a newer branch would drop it).
    a = min(advices, key=lambda x: x.branch or 10**6)
    where = " ".join(x for x in (system.distro_name or system.distro or system.os, ) if x)
    if a.branch:
        branch = t("hw.branch.legacy", branch=a.branch)
    elif a.first_branch:
        branch = t("hw.branch.current_min", first=a.first_branch)
    else:
        branch = t("hw.branch.current")
    plan.data = {"driver_advice": a.to_dict()}
    if a.available:
        if system.os == "windows":  # one driver package there: the kernel-module flavour is not a choice
            plan.evidence.append(t("hw.ev.driver_plan_windows", system=where, packages=", ".join(a.packages),
                                   branch=branch))
        else:
            plan.evidence.append(t("hw.ev.driver_plan", system=where, packages=", ".join(a.packages), branch=branch,
                                   open=t(f"hw.open.{a.open_module}")))
        plan.commands = [*a.commands, "sudo reboot"] if system.os == "linux" else list(a.commands)
        plan.fix = t("hw.fix.install", package=a.package, name=a.model.name)
        plan.notes = [t(f"hw.note.{n}", branch=a.branch, release=a.release or "", package=a.package) for n in a.notes]
        if a.needs_nonfree:
            plan.notes.append(t("hw.note.debian_nonfree"))
    else:
        plan.evidence.append(t("hw.ev.no_package", system=where, branch=a.branch or "?"))
        plan.fix = t("hw.fix.no_package", name=a.model.name, branch=a.branch or "?")
        key = "no_package_debian" if a.family == "debian" and a.branch == 470 else "no_package_generic"
        plan.notes.append(t(f"hw.note.{key}", branch=a.branch or "?", release=a.release or ""))
    if a.open_module == "required":
        plan.notes.append(t("hw.note.open_required", first=a.first_branch or 570))
    if a.branch and a.max_cuda:
        from dlsetup.doctor import advice

        plan.notes.append(t("hw.note.legacy_caps", branch=a.branch, cuda=a.max_cuda, torch=advice.summary_for(snap)))
    if system.os == "linux" and a.available:
        plan.notes.append(t("hw.note.secure_boot"))
    return plan


def _other_gpu_evidence(g: dict) -> list[str]:
    """An AMD / Intel GPU: its name, and from the GPU database its architecture and what PyTorch runs on it."""
    from dlsetup.hw.db import lookup
    from dlsetup.i18n import t

    label, name = facts.vendor_label(g.get("vendor")), g.get("name") or g.get("pci_id") or "?"
    # a database name carries its vendor ("Intel Arc A770"): no "Intel Intel"
    out = [" ".join(ev("other_gpu", vendor="" if name.lower().startswith(label.lower()) else label, name=name).split())]
    m = lookup(g.get("pci_id"))
    if m is None:
        return out
    out.append(" ".join(t("hw.ev.card_other", name=m.name, arch=m.arch or "?", target=m.target, pci_id=m.pci_id).split()))
    if m.vendor == "amd":
        key = "hw.amd.rocm" if m.compute == "rocm" else ("hw.amd.override" if m.hsa_override else "hw.amd.none")
        out.append(t(key, name=m.name, target=m.target or "?", override=m.hsa_override or ""))
        if m.compute != "none" and "kfd" in g:
            out.append(t("hw.ev.rocm_runtime", kfd=t("hw.word.present" if g["kfd"] else "hw.word.missing"),
                         tools=", ".join(g.get("tools") or []) or "-"))
            if not g["kfd"]:
                out.append(t("hw.amd.no_kfd"))
    elif m.compute == "xpu":
        out.append(t("hw.intel.xpu", name=m.name))
        if "tools" in g:
            out.append(t("hw.ev.xpu_runtime", tools=", ".join(g.get("tools") or []) or "-"))
    return out


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
    # the card and its driver branch from dlsetup's GPU database (the registry gives the PCI id)
    plan = driver_plan(snap, pci)
    return finding("gpu.no_driver", ERROR, GROUP_DRIVER, evidence=[*_pci_evidence(pci), *plan.evidence,
                                                                _nvml_evidence(snap)],
                   commands=advice.commands_for(snap, request), cause_key="cause_windows", fix_key="fix_windows",
                   min_driver=floor or "528.33", build=build,
                   data={**plan.data, "build": advice.build_facts(snap, request)})


def _nvml_evidence(snap: Snapshot) -> str:
    err = snap.nvidia.nvml_error
    return ev("nvml_error", error=err) if err else ""


def _pci_evidence(devices: list[dict]) -> list[str]:
    out = []
    for d in devices:
        out.append(ev("pci_device", name=_device_label(d), slot=d.get("slot") or "?",
                      driver=d.get("driver") or "-"))
    return out


def _device_label(d: dict) -> str:
    """The probe's name, else dlsetup's GPU database by PCI id (a Windows adapter without its driver has no name)."""
    if d.get("name"):
        return d["name"]
    from dlsetup.hw.db import name_for_pci_id

    return name_for_pci_id(d.get("pci_id")) or d.get("pci_id") or "?"


def _nouveau(snap: Snapshot, pci: list[dict]) -> Finding:
    plan = driver_plan(snap, pci)
    initramfs = "sudo dracut --force" if facts.distro_id(snap).startswith(("fedora", "rhel", "centos", "rocky",
                                                                           "almalinux")) else "sudo update-initramfs -u"
    f = finding(
        "gpu.nouveau", ERROR, GROUP_DRIVER, evidence=[*_pci_evidence(pci), *plan.evidence, _nvml_evidence(snap)],
        commands=[
            "printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf",
            initramfs,
            *(plan.commands or remedies.driver_install(snap)),
        ],
        data=plan.data,
    )
    if plan.fix:  # keep the nouveau sentence, then what to install
        f.fix = _sentences([f.fix, plan.fix, *plan.notes])
    return f


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
            evidence += _other_gpu_evidence(g)
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
