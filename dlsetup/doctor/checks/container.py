"""Containers: started without the GPU runtime, devices passed without driver libraries, no nvidia-uvm.

Root cause #8 (NVIDIA/nvidia-docker#1234, pytorch/pytorch#18690).
"""

from __future__ import annotations

from dlsetup.doctor import facts
from dlsetup.doctor.model import ERROR, GROUP_DRIVER, Finding, ev, finding
from dlsetup.platform.shell import Note
from dlsetup.probe.model import Snapshot

_NO_DEVICES = ("void", "none", "")


def _runtime_commands(kind: str | None) -> tuple[str, list[str]]:
    """(fix variant, commands on the host) for the container engine."""
    if kind == "podman":
        return "fix_podman", [
            "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml",
            "podman run --rm --device nvidia.com/gpu=all IMAGE nvidia-smi",
        ]
    if kind == "kubernetes":
        return "fix_kubernetes", ["kubectl describe node NODE | grep nvidia.com/gpu"]
    return "fix", [
        "sudo apt-get install -y nvidia-container-toolkit",
        "sudo nvidia-ctk runtime configure --runtime=docker",
        "sudo systemctl restart docker",
        "docker run --rm --gpus all IMAGE nvidia-smi",
    ]


def _expects_gpu(snap: Snapshot) -> list[str]:
    """Evidence that this container was meant to have a GPU (empty when nothing says so)."""
    out = []
    for fw in facts.cuda_frameworks(snap):
        out.append(ev("cuda_framework", name=fw.name, version=fw.version or "?", variant=facts.variant_of(fw) or "?"))
    nvd = snap.env.get("NVIDIA_VISIBLE_DEVICES")
    if nvd is not None and nvd.strip().lower() not in _NO_DEVICES:
        out.append(ev("env_var", name="NVIDIA_VISIBLE_DEVICES", value=nvd))
    return out


def no_gpu_findings(snap: Snapshot) -> list[Finding]:
    """Called by gpu.presence when the driver lists no GPU inside a container."""
    kind = snap.system.container
    base = [ev("container", kind=kind)]
    if snap.nvidia.nvml_error:
        base.append(ev("nvml_error", error=snap.nvidia.nvml_error))
    nodes = facts.gpu_nodes(snap)
    if nodes:
        # The engine passed /dev/nvidia* but not the driver's user-space libraries (no --gpus / wrong runtime).
        fix_key, commands = _runtime_commands(kind)
        caps = snap.env.get("NVIDIA_DRIVER_CAPABILITIES")
        evidence = [*base, ev("device_nodes", nodes=", ".join(snap.nvidia.device_nodes))]
        if caps is not None:
            evidence.append(ev("env_var", name="NVIDIA_DRIVER_CAPABILITIES", value=caps))
        return [finding("container.no_driver_libs", ERROR, GROUP_DRIVER, evidence=evidence, commands=commands,
                        fix_key=fix_key, kind=kind)]
    expects = _expects_gpu(snap)
    if not expects:
        return []  # a CPU container: gpu.none says so
    nvd = snap.env.get("NVIDIA_VISIBLE_DEVICES")
    if nvd is not None and nvd.strip().lower() in _NO_DEVICES:
        expects.append(ev("env_var", name="NVIDIA_VISIBLE_DEVICES", value=nvd))
    fix_key, commands = _runtime_commands(kind)
    printed = [ev("torch_warning", text=w[:300]) for w in facts.deep_warnings(snap, r"no NVIDIA driver")]
    return [finding("container.no_gpu_runtime", ERROR, GROUP_DRIVER,
                    evidence=[*base, ev("no_device_nodes"), *expects, *printed], commands=commands,
                    fix_key=fix_key, kind=kind)]


def uvm_missing(snap: Snapshot) -> list[Finding]:
    """GPU nodes were passed into the container but /dev/nvidia-uvm was not: CUDA cannot start (§4 #12)."""
    if not snap.system.container:
        return []
    nodes = snap.nvidia.device_nodes
    if not facts.gpu_nodes(snap) or any(n.endswith("/nvidia-uvm") for n in nodes):
        return []
    return [finding("container.uvm_missing", ERROR, GROUP_DRIVER,
                    evidence=[ev("container", kind=snap.system.container), ev("device_nodes", nodes=", ".join(nodes))],
                    commands=[Note("doctor.cmd.on_host"), "sudo nvidia-modprobe -u -c=0",
                              "docker run --rm --gpus all IMAGE nvidia-smi"])]


CHECKS = [uvm_missing]
