"""TensorFlow on a GPU machine: a CPU-only build, native Windows after 2.10 (no GPU there), or a CUDA build
installed without the CUDA libraries it loads at run time (`pip install tensorflow` instead of
`tensorflow[and-cuda]`). Release facts come from ``dlsetup/compat/data/tensorflow.toml``.
"""

from __future__ import annotations

from dlsetup.doctor import advice, facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_FRAMEWORKS, Finding, ev, finding
from dlsetup.platform.shell import Note, render
from dlsetup.probe.model import Framework, Snapshot


def _release_row(version: str | None) -> dict | None:
    from dlsetup.compat.tables import rows

    line = facts.major_minor(version)
    if not line:
        return None
    return next((r for r in rows("tensorflow", "release") if r.get("line") == line), None)


def _tf(snap: Snapshot) -> Framework | None:
    return facts.framework(snap, "tensorflow")


def _evidence(fw: Framework) -> str:
    return ev("framework_build", name=str(fw.extra.get("dist") or fw.name), version=fw.version or "?",
              variant=facts.variant_of(fw) or "?", cuda=facts.cuda_of(fw) or "-")


def _gpu_evidence(snap: Snapshot) -> list[str]:
    return [ev("gpu", index=g.index, name=g.name, cc=g.compute_capability or "?") for g in snap.nvidia.gpus]


def windows_native(snap: Snapshot) -> list[Finding]:
    """TF 2.11+ on native Windows has no GPU support at all (the GPU is simply never used)."""
    fw = _tf(snap)
    if fw is None or snap.system.os != "windows" or not facts.has_nvidia_hardware(snap):
        return []
    row = _release_row(fw.version)
    if row is None or row.get("windows_gpu", True):
        return []
    from dlsetup.compat.tables import rows, source_text

    last = max((r["line"] for r in rows("tensorflow", "release") if r.get("windows_gpu")),
               key=facts.version_tuple, default="?")
    return [finding("tensorflow.windows_no_gpu", ERROR, GROUP_FRAMEWORKS,
                    evidence=[_evidence(fw), *_gpu_evidence(snap), ev("row_source", source=source_text(row))],
                    commands=["wsl --install -d Ubuntu",
                              Note("doctor.cmd.then_in_wsl", command="python3 -m pip install 'tensorflow[and-cuda]'"),
                              Note("doctor.cmd.windows_last_gpu",
                                command=render(remedies.pip(snap, "install", "tensorflow<2.11"), "powershell"))],
                    version=fw.version or "?", last=last)]


def cpu_build(snap: Snapshot) -> list[Finding]:
    """A CPU-only TensorFlow (tensorflow-cpu, or a build without CUDA) on a machine with NVIDIA GPUs (Linux/WSL)."""
    fw = _tf(snap)
    if fw is None or snap.system.os != "linux" or not snap.nvidia.gpus or not facts.is_cpu_build(fw):
        return []
    return [finding("tensorflow.cpu_build", ERROR, GROUP_FRAMEWORKS,
                    evidence=[_evidence(fw), *_gpu_evidence(snap)],
                    commands=[remedies.pip(snap, "uninstall", "-y", str(fw.extra.get("dist") or fw.name)),
                              *advice.commands_for(snap, "tensorflow")],
                    version=fw.version or "?", build=advice.summary_for(snap, "tensorflow"),
                    data={"build": advice.build_facts(snap, "tensorflow")})]


def cuda_libraries_missing(snap: Snapshot) -> list[Finding]:
    """A CUDA build of TF ≥ 2.14 without the nvidia-* wheels its [and-cuda] extra brings, and no system cuDNN:
    TF prints "Cannot dlopen some GPU libraries" and runs on the CPU."""
    fw = _tf(snap)
    if fw is None or snap.system.os != "linux" or not snap.nvidia.gpus or not facts.is_cuda_build(fw):
        return []
    row = _release_row(fw.version)
    if row is None or not row.get("and_cuda"):
        return []
    pkgs = snap.frameworks.packages
    if any(name.startswith("nvidia-cudnn-cu") for name in pkgs) or snap.cuda.cudnn:
        return []
    evidence = [_evidence(fw), ev("no_cuda_wheels", packages="nvidia-cudnn-cu12, nvidia-cublas-cu12, ...")]
    evidence += [ev("torch_warning", text=w[:300]) for w in facts.deep_warnings(snap, r"dlopen|Could not find cuda")]
    version = facts.public_version(fw.version) or ""
    spec = f"tensorflow[and-cuda]=={version}" if version else "tensorflow[and-cuda]"
    return [finding("tensorflow.cuda_libs_missing", ERROR, GROUP_FRAMEWORKS, evidence=evidence,
                    commands=[remedies.pip(snap, "install", spec)], version=fw.version or "?")]


CHECKS = [windows_native, cpu_build, cuda_libraries_missing]
