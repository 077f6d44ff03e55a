"""What importing each framework showed (``doctor --deep``): imports that crash or hang, and a CUDA build
that cannot see the GPU the driver lists.
"""

from __future__ import annotations

import re

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_FRAMEWORKS, Finding, ev, finding
from dlsetup.platform.shell import Cmd, Note, unset_env
from dlsetup.probe.model import Framework, Snapshot

# distribution/framework name -> module to import in the fix command
_MODULE = {"torch": "torch", "torchvision": "torchvision", "torchaudio": "torchaudio", "tensorflow": "tensorflow",
           "jax": "jax", "jaxlib": "jaxlib", "paddlepaddle": "paddle", "onnxruntime": "onnxruntime",
           "mindspore": "mindspore", "keras": "keras"}
_LIB_ERROR = re.compile(r"undefined symbol|libcudnn|libcublas|libcudart|libnccl|libcusparse|cannot open shared object",
                        re.I)
_UVM = re.compile(r"CUDA unknown error|Setting the available devices to be zero|error 999", re.I)


def _dist(fw: Framework) -> str:
    return str(fw.extra.get("dist") or fw.name)


def import_failed(snap: Snapshot) -> list[Finding]:
    """A framework whose import raises or kills the interpreter."""
    out: list[Finding] = []
    for fw in snap.frameworks.items:
        deep = fw.deep
        if deep is None or deep.ok or deep.timed_out or deep.details.get("skipped_because"):
            continue  # (a companion never tried because torch failed: torch's finding covers it)
        module = _MODULE.get(fw.name, fw.name)
        error = (deep.error or "?").strip()
        lib = bool(_LIB_ERROR.search(error))
        ld = snap.env.get("LD_LIBRARY_PATH")
        evidence = [ev("import_error", name=module, error=error[:400])]
        if lib and ld:
            evidence.append(ev("env_var", name="LD_LIBRARY_PATH", value=ld))
        commands: list = [remedies.python(snap, "-c", f"import {module}")]
        if lib and ld:
            commands.insert(0, unset_env("LD_LIBRARY_PATH"))
        version = facts.public_version(fw.version)
        spec = f"{_dist(fw)}=={version}" if version else _dist(fw)
        commands.append(remedies.pip(snap, "install", "--force-reinstall", "--no-deps", spec))
        out.append(finding("framework.import_failed", ERROR, GROUP_FRAMEWORKS, evidence=evidence, commands=commands,
                           cause_key="cause_libs" if lib else "cause", name=module, version=fw.version or "?"))
    return out


def _with_timeout(snap: Snapshot, cmd: Cmd) -> Cmd:
    """coreutils ``timeout`` on Linux; Windows' own ``timeout`` only waits, so the command runs as it is."""
    return cmd if remedies.is_windows(snap) else Cmd(["timeout", "300", *cmd.argv])


def import_hangs(snap: Snapshot) -> list[Finding]:
    """A framework whose import does not finish (a wedged GPU, a slow network home directory, a deadlock)."""
    out: list[Finding] = []
    for fw in snap.frameworks.items:
        deep = fw.deep
        if deep is None or not deep.timed_out:
            continue
        module = _MODULE.get(fw.name, fw.name)
        out.append(finding(
            "framework.import_hangs", ERROR, GROUP_FRAMEWORKS,
            evidence=[ev("import_timeout", name=module, seconds=f"{deep.duration_s:.0f}")],
            commands=[_with_timeout(snap, remedies.python(snap, "-X", "importtime", "-X", "faulthandler", "-c",
                                                          f"import {module}")), Cmd(["nvidia-smi"])],
            name=module, seconds=f"{deep.duration_s:.0f}",
        ))
    return out


def cuda_not_available(snap: Snapshot) -> list[Finding]:
    """A CUDA build imported fine but sees no GPU although the driver lists one (the symptom behind §4)."""
    if not snap.nvidia.gpus:
        return []
    out: list[Finding] = []
    for fw in snap.frameworks.items:
        deep = fw.deep
        if deep is None or not deep.ok or deep.cuda_available is not False or not facts.is_cuda_build(fw):
            continue
        module = _MODULE.get(fw.name, fw.name)
        warnings = [w for w in deep.warnings if w.strip()]
        uvm = any(_UVM.search(w) for w in warnings)
        evidence = [ev("deep_cuda", name=module, version=fw.version or "?", count=len(snap.nvidia.gpus))]
        evidence += [ev("torch_warning", text=w[:300]) for w in warnings[:5]]
        if uvm:
            commands = ["sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm",
                        Note("doctor.cmd.if_fails", command="sudo reboot")]
        else:
            commands = [remedies.python(snap, "-c", f"import {module}; print({_probe_expr(module)})")]
        # A symptom: when another error explains it (cuInit's 999 for the uvm case), the runner drops this one
        # (one problem, one error).
        out.append(finding("framework.cuda_unavailable", ERROR, GROUP_FRAMEWORKS, evidence=evidence,
                           commands=commands, cause_key="cause_uvm" if uvm else "cause",
                           fix_key="fix_uvm" if uvm else None, name=module,
                           version=fw.version or "?", data={"symptom": True}))
    return out


def _probe_expr(module: str) -> str:
    return {
        "torch": "torch.cuda.is_available(), torch.version.cuda, torch.cuda.device_count()",
        "tensorflow": "tensorflow.config.list_physical_devices(\"GPU\")",
        "jax": "jax.devices()",
        "paddle": "paddle.device.cuda.device_count()",
        "onnxruntime": "onnxruntime.get_available_providers()",
    }.get(module, f"{module}.__version__")


CHECKS = [import_failed, import_hangs, cuda_not_available]
