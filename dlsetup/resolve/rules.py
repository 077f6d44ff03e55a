"""The rules a candidate build must pass, shared by every framework.

Each check returns a list of :class:`Failure` (empty = passes). A failure names its rule, carries the
catalogued message for a person, the source of the fact that decided it, and — for rules a user can
act on — what would make it pass (``fix``), which the resolver turns into a hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlsetup import compat
from dlsetup.compat.tables import source_text, version_tuple
from dlsetup.i18n import t
from dlsetup.resolve.model import GpuSpec, Machine

# Rules a user can act on without new hardware, in the order hints are shown.
FIXABLE = ("driver", "python", "os", "glibc", "cuda_pin", "platform", "companion")


@dataclass
class Failure:
    rule: str
    text: str
    source: str = ""
    fix: dict[str, Any] = field(default_factory=dict)  # e.g. {"driver": "525.60.13"} / {"python": "3.12"}


def gpus_with_cc(machine: Machine) -> list[GpuSpec]:
    return [g for g in machine.gpus if g.cc]


def check_python(machine: Machine, lo: str, hi: str, label: str, source: str) -> list[Failure]:
    v = version_tuple(machine.python)[:2]
    if version_tuple(lo) <= v <= version_tuple(hi):
        return []
    target = hi if v > version_tuple(hi) else lo
    return [Failure("python", t("resolve.rule.python", candidate=label, lo=lo, hi=hi, python=machine.python),
                    source, {"python": target})]


def check_glibc(machine: Machine, need: str | None, label: str, source: str) -> list[Failure]:
    if machine.os != "linux" or not need or not machine.glibc:
        return []
    if version_tuple(machine.glibc) >= version_tuple(need):
        return []
    return [Failure("glibc", t("resolve.rule.glibc", candidate=label, need=need, have=machine.glibc),
                    source, {"glibc": need})]


def check_cuda_pin(pin: str | None, cuda: str | None, label: str) -> list[Failure]:
    if not pin or cuda is None:
        return []
    if version_tuple(pin)[:2] == version_tuple(cuda)[:2]:
        return []
    return [Failure("cuda_pin", t("resolve.rule.cuda_pin", candidate=label, cuda=cuda, pin=pin), "", {"cuda": cuda})]


def check_driver(machine: Machine, cuda: str, label: str) -> list[Failure]:
    """The driver must run a CUDA ``cuda`` runtime (minor-version compatibility per major)."""
    row = compat.runtime_driver_floor_row(cuda, machine_os(machine))
    floor = compat.runtime_driver_floor(cuda, machine_os(machine))
    src = source_text(row) if row else ""
    if floor is None:
        return [Failure("driver", t("resolve.rule.driver_unknown", candidate=label, cuda=cuda), src)]
    if machine.driver is None:
        return []  # planning without a driver: the reasons say which driver to install
    if compat.driver_meets(machine.driver, floor):
        return []
    return [Failure("driver", t("resolve.rule.driver", candidate=label, cuda=cuda, floor=floor, driver=machine.driver),
                    src, {"driver": floor})]


def machine_os(machine: Machine) -> str:
    # WSL2 runs the Windows driver; NVIDIA documents the Linux floors for CUDA inside WSL2, and the
    # driver version WSL reports is the Windows one, so compare against the Windows column.
    return "windows" if machine.wsl or machine.os == "windows" else "linux"


def native_cuda(machine: Machine, cuda: str | None) -> bool:
    """True when the driver supports ``cuda`` itself (not only through minor-version compatibility)."""
    if cuda is None:
        return True
    if machine.driver is None:
        return True
    have = machine.cuda_driver or compat.cuda_for_driver(machine.driver, machine_os(machine))
    return bool(have) and version_tuple(have)[:2] >= version_tuple(cuda)[:2]


def check_arch(machine: Machine, archs: list[str] | None, label: str, source: str, cuda: str | None
               ) -> tuple[list[Failure], dict[int, str]]:
    """Every GPU with a known compute capability must have kernels: SASS of its major <= its CC, or PTX
    <= its CC that the driver can JIT (JIT needs a driver that supports the build's CUDA natively)."""
    failures: list[Failure] = []
    served: dict[int, str] = {}
    if archs is None:
        return [Failure("arch", t("resolve.rule.arch_unknown", candidate=label), source)], served
    for i, gpu in enumerate(gpus_with_cc(machine)):
        entry = compat.arch_coverage(archs, gpu.cc)
        if entry is None:
            failures.append(Failure("arch", t("resolve.rule.arch", candidate=label, gpu=gpu.label(), cc=gpu.cc,
                                              archs=" ".join(a for a in archs)), source))
            continue
        if entry.startswith("compute_") or entry.endswith("+PTX"):
            if not native_cuda(machine, cuda):
                failures.append(Failure("ptx_driver", t("resolve.rule.ptx_driver", candidate=label, gpu=gpu.label(),
                                                        cc=gpu.cc, entry=entry, cuda=cuda,
                                                        have=machine.cuda_driver or "?"),
                                        source, {"driver_cuda": cuda}))
                continue
        served[i] = entry
    return failures, served


def check_cudnn(machine: Machine, cudnn: str | None, label: str, package: str | None = None
                ) -> tuple[list[Failure], dict[str, Any] | None]:
    """The cuDNN a build brings must have kernels for every GPU (cuDNN 9 has none for Kepler, >= 9.11 none for
    Maxwell/Pascal/Volta). A requirement open upwards (pip installs the newest cuDNN) passes with a pin instead,
    ``{"package", "below", "row", "gpus"}``, when an older cuDNN in its range serves the GPUs; ``package`` is the
    pip name of the cuDNN wheel the build pulls (None: the user brings cuDNN, nothing to check)."""
    floor = compat.cudnn_cc_floor(cudnn)
    if floor is None or (floor["open_ended"] and not package):
        return [], None
    need = compat.parse_cc(floor["min_cc"])
    low = [g for g in gpus_with_cc(machine) if compat.parse_cc(g.cc) < need]
    if not low:
        return [], None
    row = floor["row"]
    below = row.get("pin_below")
    lower = version_tuple(str(cudnn).replace(" ", "").lstrip("><=~!").split(",", 1)[0])
    if floor["open_ended"] and below and lower < version_tuple(below):
        older = compat.cudnn_cc_floor(".".join(str(x) for x in lower) + (".0" if len(lower) == 1 else ""))
        older_need = compat.parse_cc(older["min_cc"]) if older else (0, 0)
        if all(compat.parse_cc(g.cc) >= older_need for g in low):
            return [], {"package": package, "below": below, "row": row, "gpus": low}
    g = low[0]
    return [Failure("cudnn_arch", t("resolve.rule.cudnn_arch", candidate=label, cudnn=floor["version"], gpu=g.label(),
                                    cc=g.cc, min_cc=floor["min_cc"]), source_text(row))], None


def other_accelerator(machine: Machine) -> str | None:
    """"rocm" (an AMD GPU ROCm builds run on, Linux) or "xpu" (an Intel GPU with XPU builds, Linux/Windows) when no
    NVIDIA GPU decides the build; None otherwise. The compute stack comes from dlsetup's GPU database."""
    if machine.gpu_machine or machine.no_gpu:
        return None
    stacks = [str(g.get("compute") or "") for g in machine.other_gpus]
    if machine.os == "linux" and any(s.startswith("rocm") for s in stacks):
        return "rocm"
    if machine.os in ("linux", "windows") and "xpu" in stacks:
        return "xpu"
    return None


def accelerator_reasons(plan: Any, machine: Machine, release: dict[str, Any], version: str, variant: str) -> None:
    """Why this ROCm / XPU build, what it needs, and the HSA_OVERRIDE_GFX_VERSION workaround where it applies."""
    from dlsetup.hw.db import sources

    src = "dlsetup/hw/data/gpus.json (" + "; ".join(f"{k}: {v}" for k, v in sources()["chips"].items()
                                                    if k in ("rocm-req", "torch-xpu", "a1111-webui")) + ")"
    vendor = "amd" if variant.startswith("rocm") else "intel"
    for g in machine.other_gpus:
        if g.get("vendor") != vendor:
            continue
        compute = str(g.get("compute") or "")
        if vendor == "amd" and compute == "rocm":
            plan.reason("hw.amd.rocm", source=src, name=g["name"], target=g.get("target") or "?")
        elif vendor == "amd" and compute.startswith("rocm-override:"):
            plan.reason("hw.amd.override", source=src, name=g["name"], target=g.get("target") or "?",
                        override=compute.split(":", 1)[1])
            plan.warnings.append(t("hw.warn.hsa_override", name=g["name"], override=compute.split(":", 1)[1]))
        elif vendor == "intel" and compute == "xpu":
            plan.reason("hw.intel.xpu", source=src, name=g["name"])
    plan.reason("hw.reason.accel_build", release, version=version, variant=variant)


def check_gpu_supported_by_driver(machine: Machine) -> list[Failure]:
    """A driver branch newer than a GPU's last branch does not drive it at all (Pascal on R590)."""
    installed = machine.driver or machine.driver_library  # a driver that is installed but not loaded counts too
    if installed is None:
        return []
    branch = compat.driver_branch(installed)
    out = []
    for gpu in gpus_with_cc(machine):
        info = compat.gpu_architecture(gpu.cc)
        if not info or not info["last_driver_branch"] or branch is None:
            continue
        if branch > info["last_driver_branch"]:
            out.append(Failure("gpu_driver", t("resolve.rule.gpu_driver", gpu=gpu.label(), arch=info["name"], cc=gpu.cc,
                                               branch=branch, last=info["last_driver_branch"]),
                               info["source"], {"driver_branch": info["last_driver_branch"]}))
    return out


def check_gpu_newer_than_driver(machine: Machine) -> list[Failure]:
    """A driver branch older than a GPU's first branch does not drive it (an RTX 5090 needs R570+): no CUDA build
    runs there, whatever minor-version compatibility says about the CUDA runtime."""
    installed = machine.driver or machine.driver_library
    if installed is None:
        return []
    branch = compat.driver_branch(installed)
    out = []
    for gpu in gpus_with_cc(machine):
        info = compat.gpu_architecture(gpu.cc)
        first = (info or {}).get("first_driver_branch")
        if not first or branch is None or branch >= first:
            continue
        out.append(Failure("gpu_driver_old", t("resolve.rule.gpu_driver_old", gpu=gpu.label(), arch=info["name"],
                                                 cc=gpu.cc, branch=branch, first=first),
                           info.get("first_driver_source") or info["source"], {"driver_branch": first}))
    return out


def check_jetson(machine: Machine, framework: str) -> list[Failure]:
    """Jetson integrated GPUs run NVIDIA's JetPack builds, not the official wheels — except boards whose JetPack
    uses the SBSA (server) CUDA stack (Thor), where the ordinary aarch64 rules decide."""
    out = []
    for gpu in gpus_with_cc(machine):
        info = compat.gpu_architecture(gpu.cc)
        if info and info.get("jetson") and not info.get("sbsa"):
            out.append(Failure("jetson", t("resolve.rule.jetson", gpu=gpu.label(), cc=gpu.cc, framework=framework),
                               info["source"]))
    return out
