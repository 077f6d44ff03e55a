"""Rung 1 of the NVIDIA ladder: NVML through nvidia-ml-py (module ``pynvml``).

The prober takes the module as a parameter: live it is the real ``pynvml``; tests pass a replay object
built from a recorded JSON that raises the real ``pynvml.NVMLError_*`` classes, so this code runs
unchanged against machines the CI does not have.
"""

from __future__ import annotations

import ctypes
import warnings
from dataclasses import dataclass, field
from typing import Any

from dlsetup.probe.model import Gpu, GpuProcess

# nvmlDeviceGetArchitecture ids (pynvml NVML_DEVICE_ARCH_*).
ARCHITECTURES = {
    2: "kepler", 3: "maxwell", 4: "pascal", 5: "volta", 6: "turing", 7: "ampere", 8: "ada", 9: "hopper",
    10: "blackwell", 13: "rubin",
}
# NVML_GPU_FABRIC_STATE_*; 0 (not supported) reads as None.
FABRIC_STATES = {1: "not-started", 2: "in-progress", 3: "completed"}
MIB = 1024 * 1024


def load_pynvml() -> Any:
    """Import nvidia-ml-py's ``pynvml`` with the deprecated ``pynvml`` distribution's FutureWarning silenced."""
    warnings.filterwarnings("ignore", message=r".*pynvml package is deprecated.*", category=FutureWarning)
    import pynvml

    return pynvml


def error_name(exc: BaseException) -> str:
    """``NVMLError_LibRmVersionMismatch`` → ``LibRmVersionMismatch``; other exceptions keep their class name."""
    name = type(exc).__name__
    if name.startswith("NVMLError_"):
        return name[len("NVMLError_"):]
    if name == "NVMLError":
        value = getattr(exc, "value", None)
        return f"NVMLError({value})" if value is not None else "Unknown"
    if name == "NVMLLibraryMismatchError":
        return "LibraryMismatch"
    return name


def decode_cuda_version(value: int | None) -> str | None:
    """NVML/CUDA integer version (``13000``, ``12040``) → ``"13.0"``, ``"12.4"``."""
    if not isinstance(value, int) or value <= 0:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


@dataclass
class NvmlResult:
    ok: bool
    error: str | None = None  # NVML error class name of the failure that stopped the probe
    detail: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    nvml_version: str | None = None
    gpus: list[Gpu] = field(default_factory=list)
    field_errors: list[str] = field(default_factory=list)  # "gpu0.mig_mode: NotSupported"


def _text(value: Any) -> str:
    if isinstance(value, bytes):  # very old bindings returned bytes
        return value.decode("utf-8", "replace")
    return str(value)


def probe_nvml(nv: Any | None = None) -> NvmlResult:
    """Ask NVML for the driver and every GPU. Never raises: a failing call is an error name in the result."""
    try:
        nv = nv if nv is not None else load_pynvml()
    except Exception as exc:  # nvidia-ml-py missing or broken: the rung failed, not the probe
        return NvmlResult(ok=False, error="ImportError", detail=f"{type(exc).__name__}: {exc}")
    nvml_error: type[BaseException] = getattr(nv, "NVMLError", Exception)
    try:
        nv.nvmlInit()
    except Exception as exc:
        return NvmlResult(ok=False, error=error_name(exc), detail=str(exc) or None)
    result = NvmlResult(ok=True)
    errors = result.field_errors

    def call(label: str, fn_name: str, *args: Any) -> Any:
        fn = getattr(nv, fn_name, None)
        if fn is None:
            errors.append(f"{label}: FunctionNotFound")
            return None
        try:
            return fn(*args)
        except nvml_error as exc:
            errors.append(f"{label}: {error_name(exc)}")
        except Exception as exc:  # a binding bug must not end the probe
            errors.append(f"{label}: {type(exc).__name__}")
        return None

    try:
        driver = call("driver_version", "nvmlSystemGetDriverVersion")
        result.driver_version = _text(driver) if driver is not None else None
        cuda = call("cuda_driver_version", "nvmlSystemGetCudaDriverVersion_v2")
        if cuda is None:
            cuda = call("cuda_driver_version", "nvmlSystemGetCudaDriverVersion")
        result.cuda_driver_version = decode_cuda_version(cuda)
        version = call("nvml_version", "nvmlSystemGetNVMLVersion")
        result.nvml_version = _text(version) if version is not None else None
        try:
            count = int(nv.nvmlDeviceGetCount())
        except nvml_error as exc:
            result.ok = False
            result.error = error_name(exc)
            result.detail = "nvmlDeviceGetCount failed"
            return result
        for index in range(count):
            result.gpus.append(_probe_device(nv, nvml_error, index, call))
        failed = [g for g in result.gpus if g.error]
        if failed and len(failed) == len(result.gpus):
            result.error = failed[0].error
            result.detail = "every GPU failed to answer"
    finally:
        try:
            nv.nvmlShutdown()
        except Exception:
            pass
    return result


def _probe_device(nv: Any, nvml_error: type[BaseException], index: int, call: Any) -> Gpu:
    try:
        handle = nv.nvmlDeviceGetHandleByIndex(index)
    except nvml_error as exc:
        return Gpu(index=index, name="", error=error_name(exc))
    p = f"gpu{index}"
    gpu = Gpu(index=index, name=_text(call(f"{p}.name", "nvmlDeviceGetName", handle) or ""))
    uuid = call(f"{p}.uuid", "nvmlDeviceGetUUID", handle)
    gpu.uuid = _text(uuid) if uuid is not None else None
    pci = call(f"{p}.pci", "nvmlDeviceGetPciInfo", handle)
    bus = getattr(pci, "busId", None)
    gpu.pci_bus_id = _text(bus) if bus else None
    mem = call(f"{p}.memory", "nvmlDeviceGetMemoryInfo", handle)
    if mem is not None:
        gpu.memory_total_mib = int(mem.total) // MIB
        gpu.memory_used_mib = int(mem.used) // MIB
    cc = call(f"{p}.compute_capability", "nvmlDeviceGetCudaComputeCapability", handle)
    if cc is not None:
        gpu.compute_capability = f"{int(cc[0])}.{int(cc[1])}"
    arch = call(f"{p}.architecture", "nvmlDeviceGetArchitecture", handle)
    if arch is not None:
        gpu.architecture = ARCHITECTURES.get(int(arch))
    mig = call(f"{p}.mig_mode", "nvmlDeviceGetMigMode", handle)
    if mig is not None:
        gpu.mig_mode = "enabled" if int(mig[0]) == 1 else "disabled"
        if int(mig[1]) != int(mig[0]):
            gpu.mig_mode += " (pending " + ("enabled" if int(mig[1]) == 1 else "disabled") + ")"
    persistence = call(f"{p}.persistence_mode", "nvmlDeviceGetPersistenceMode", handle)
    if persistence is not None:
        gpu.persistence_mode = int(persistence) == 1
    gpu.fabric_state = _fabric_state(nv, handle, call, p)
    procs: dict[int, GpuProcess] = {}
    for fn_name in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        for proc in call(f"{p}.processes", fn_name, handle) or []:
            pid = int(proc.pid)
            used = getattr(proc, "usedGpuMemory", None)
            if pid not in procs:
                name = call(f"{p}.process_name", "nvmlSystemGetProcessName", pid)
                procs[pid] = GpuProcess(pid=pid, name=_text(name) if name is not None else None,
                                        used_memory_mib=int(used) // MIB if used is not None else None)
    gpu.processes = list(procs.values())
    return gpu


def _fabric_state(nv: Any, handle: Any, call: Any, p: str) -> str | None:
    """NVSwitch fabric registration (Error 802 when not completed). None where the GPU has no fabric."""
    struct_cls = getattr(nv, "c_nvmlGpuFabricInfo_t", None)
    if struct_cls is None or getattr(nv, "nvmlDeviceGetGpuFabricInfo", None) is None:
        return None
    info = struct_cls()
    if call(f"{p}.fabric_state", "nvmlDeviceGetGpuFabricInfo", handle, ctypes.byref(info)) is None:
        return None
    return FABRIC_STATES.get(int(info.state))
