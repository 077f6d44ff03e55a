"""Is the installed PyTorch build the right one for this GPU and driver? (root causes #1, #2, #3 in
a CPU-only wheel, a driver too old for the wheel's CUDA, no kernels for the GPU)

Compatibility facts come from ``dlsetup.compat``; the build to install instead comes from the resolver.
"""

from __future__ import annotations

from dlsetup.doctor import advice, facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_FRAMEWORKS, Finding, ev, finding
from dlsetup.i18n import t
from dlsetup.platform.shell import Note
from dlsetup.probe.model import Framework, Snapshot


def _compat_os(snap: Snapshot) -> str:
    return "windows" if snap.system.os == "windows" else "linux"


def torch_request(snap: Snapshot) -> str:
    """``torch`` plus the companions installed next to it, so the fix keeps them matching."""
    return " ".join(["torch", *(n for n in ("torchvision", "torchaudio") if facts.framework(snap, n) is not None)])


def _torch_evidence(fw: Framework) -> str:
    return ev("framework_build", name=fw.name, version=fw.version or "?", variant=facts.variant_of(fw) or "?",
              cuda=facts.cuda_of(fw) or "-")


def _gpu_evidence(snap: Snapshot) -> list[str]:
    return [ev("gpu", index=g.index, name=g.name, cc=g.compute_capability or "?") for g in snap.nvidia.gpus]


def cpu_build_on_gpu(snap: Snapshot) -> list[Finding]:
    """A CPU-only torch on a machine whose driver lists NVIDIA GPUs (§4 #1)."""
    fw = facts.framework(snap, facts.TORCH)
    if fw is None or not snap.nvidia.gpus or not facts.is_cpu_build(fw):
        return []
    return [finding("torch.cpu_build", ERROR, GROUP_FRAMEWORKS,
                    evidence=[_torch_evidence(fw), *_gpu_evidence(snap)],
                    commands=advice.commands_for(snap, torch_request(snap)),
                    version=fw.version or "?", build=advice.summary_for(snap, torch_request(snap)),
                    data={"build": advice.build_facts(snap, torch_request(snap))})]


def driver_too_old(snap: Snapshot) -> list[Finding]:
    """The wheel's CUDA runtime needs a newer driver than this one (§4 #2, minor-version compatibility)."""
    fw = facts.framework(snap, facts.TORCH)
    driver = snap.nvidia.driver_version
    cuda = facts.cuda_of(fw) if fw else None
    if fw is None or not cuda or not driver:
        return []
    from dlsetup import compat

    os_name = _compat_os(snap)
    floor = compat.runtime_driver_floor(cuda, os_name)
    if not floor or compat.driver_meets(driver, floor):
        return []
    row = compat.runtime_driver_floor_row(cuda, os_name) or {}
    evidence = [_torch_evidence(fw),
                ev("driver_cuda", version=driver, cuda=snap.nvidia.cuda_driver_version or compat.cuda_for_driver(driver) or "?"),
                ev("floor", cuda=cuda, floor=floor, source=compat.source_text(row) if row else "dlsetup.compat"),
                *(ev("torch_warning", text=w[:300]) for w in facts.deep_warnings(snap, r"driver .*too old"))]
    branch = floor.split(".")[0]
    commands = [*remedies.driver_install(snap, branch=branch), Note("doctor.cmd.keep_driver"),
                *advice.commands_for(snap, torch_request(snap))]
    return [finding("torch.driver_too_old", ERROR, GROUP_FRAMEWORKS, evidence=evidence, commands=commands,
                    version=fw.version or "?", cuda=cuda, driver=driver, floor=floor,
                    build=advice.summary_for(snap, torch_request(snap)),
                    data={"build": advice.build_facts(snap, torch_request(snap))})]


def _arch_list(snap: Snapshot, fw: Framework) -> tuple[list[str] | None, str]:
    """(arch list, where it came from): the imported module's ``get_arch_list()`` under --deep, else the data."""
    if fw.deep is not None and fw.deep.ok and fw.deep.arch_list:
        return list(fw.deep.arch_list), "import"
    from dlsetup import compat

    try:
        archs = compat.torch_arch_list(fw.version or "", facts.variant_of(fw), snap.system.arch or "x86_64")
    except Exception:  # the arch table is optional data: no list means no verdict, not a crash
        archs = None
    return archs, "data"


def arch_missing(snap: Snapshot) -> list[Finding]:
    """The wheel has no kernels (SASS of the GPU's major ≤ its CC, or PTX ≤ it) for a GPU here (§4 #3)."""
    fw = facts.framework(snap, facts.TORCH)
    if fw is None or not facts.is_cuda_build(fw) or not snap.nvidia.gpus:
        return []
    from dlsetup import compat

    archs, origin = _arch_list(snap, fw)
    if not archs:
        return []
    # A compute capability that cannot be read (a hand-edited snapshot) gives no verdict, not a false error.
    missing = [g for g in snap.nvidia.gpus if compat.parse_cc(g.compute_capability)
               and not compat.arch_covers(archs, g.compute_capability)]
    if not missing:
        return []
    newest = max((cc for cc in map(compat.parse_cc, archs) if cc), default=None)
    too_new = newest is not None and all(compat.parse_cc(g.compute_capability) > newest for g in missing)
    sm = ", ".join("sm_" + (g.compute_capability or "").replace(".", "") for g in missing)
    evidence = [_torch_evidence(fw), ev("arch_list", archs=" ".join(archs), origin=t(f"doctor.label.arch_origin_{origin}"))]
    evidence += [ev("gpu", index=g.index, name=g.name, cc=g.compute_capability or "?") for g in missing]
    if fw.deep is not None:
        evidence += [ev("torch_warning", text=w[:300]) for w in fw.deep.warnings if "capability" in w.lower()]
    return [finding("torch.arch_missing", ERROR, GROUP_FRAMEWORKS, evidence=evidence,
                    commands=advice.commands_for(snap, torch_request(snap)),
                    cause_key="cause_new_gpu" if too_new else None,
                    version=fw.version or "?", sm=sm, build=advice.summary_for(snap, torch_request(snap)),
                    data={"build": advice.build_facts(snap, torch_request(snap))})]


def _kind(fw: Framework) -> str | None:
    """"cpu", "cuda<major>", "rocm" or None (unknown) — what must agree between torch and its companions."""
    if facts.is_cpu_build(fw):
        return "cpu"
    cuda = facts.cuda_of(fw)
    if cuda:
        return "cuda" + cuda.split(".")[0]
    variant = (fw.variant or "").lower()
    if variant.startswith("rocm"):
        return "rocm"
    return None


def companions_mismatch(snap: Snapshot) -> list[Finding]:
    """torchvision/torchaudio built for another device kind or CUDA major than torch ("torchvision::nms" errors)."""
    torch = facts.framework(snap, facts.TORCH)
    if torch is None or _kind(torch) is None:
        return []
    out: list[Finding] = []
    for name in ("torchvision", "torchaudio"):
        other = facts.framework(snap, name)
        if other is None or _kind(other) is None or _kind(other) == _kind(torch):
            continue
        out.append(finding(
            "torch.companion_mismatch", ERROR, GROUP_FRAMEWORKS,
            evidence=[_torch_evidence(torch), _torch_evidence(other)],
            commands=advice.commands_for(snap, torch_request(snap)),
            name=name, version=other.version or "?", torch=torch.version or "?",
        ))
    return out


CHECKS = [cpu_build_on_gpu, driver_too_old, arch_missing, companions_mismatch]
