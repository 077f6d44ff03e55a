"""The NVIDIA ladder: NVML → libcuda → /sys → /proc → nvidia-smi, each rung recorded in ``attempts``.

Also the facts around the driver that the doctor needs: ``/dev/nvidia*`` nodes (``nvidia-uvm``
included), the kernel module versus the user-space library version (driver/library mismatch),
nouveau, and a PCI scan for NVIDIA, AMD and Intel display devices with the kernel driver bound to
each (an NVIDIA card bound to nouveau or to nothing is "no driver", not "no GPU").
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from dlsetup.probe._fs import Root
from dlsetup.probe._libs import find_library, version_from_soname
from dlsetup.probe._run import parallel
from dlsetup.probe.model import Gpu, NvidiaInfo, ProbeAttempt
from dlsetup.probe.pci import PCI_VENDORS

_PROC_VERSION = re.compile(r"Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def with_timeout(fn: Callable[[], Any], timeout: float) -> tuple[bool, Any]:
    """Run ``fn`` in a daemon thread; (False, None) when it does not return in time (a hung driver call)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported to the caller as data
            box["error"] = exc

    t = threading.Thread(target=target, name="dlsetup-probe", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box.get("value")


def device_nodes(root: Root) -> list[str]:
    names = [n for n in root.listdir("/dev") if n.startswith("nvidia") or n == "dxg"]
    return [f"/dev/{n}" for n in names]


def proc_driver(root: Root) -> tuple[str | None, str | None, list[Gpu]]:
    """(first line of /proc/driver/nvidia/version, driver version in it, GPUs from .../gpus/*/information)."""
    text = root.read_text("/proc/driver/nvidia/version")
    first = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), None)
    m = _PROC_VERSION.search(first or "")
    gpus = []
    for i, bus in enumerate(root.listdir("/proc/driver/nvidia/gpus")):
        info = root.read_text(f"/proc/driver/nvidia/gpus/{bus}/information") or ""
        fields = {}
        for line in info.splitlines():
            k, sep, v = line.partition(":")
            if sep:
                fields[k.strip()] = v.strip()
        gpus.append(Gpu(index=i, name=fields.get("Model", ""), uuid=fields.get("GPU UUID") or None,
                        pci_bus_id=fields.get("Bus Location") or bus))
    return first, (m.group(1) if m else None), gpus


def _pci_name(root: Root, vendor: str, device: str) -> str | None:
    """Look a device up in the pci.ids database when the system has one (pciutils/hwdata)."""
    for db in ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"):
        text = root.read_text(db, limit=8 << 20)
        if not text:
            continue
        v, d = vendor.lower().removeprefix("0x"), device.lower().removeprefix("0x")
        start = text.find(f"\n{v}  ")
        if start < 0:
            return None
        m = re.search(rf"\n\t{d}  ([^\n]+)", text[start: start + 400_000])
        # Stop at the next vendor: device lines of the vendor all start with one tab.
        if m:
            section = text[start + 1: start + m.start() + 1]
            if re.search(r"\n[0-9a-f]{4}  ", section):
                return None
            return m.group(1).strip()
        return None
    return None


def device_name(root: Root, vendor: str, device: str) -> str | None:
    """The marketing name from dlsetup's own GPU database (NVIDIA, AMD, Intel; no system file needed), else the
    system's pci.ids (other vendors: ASPEED, Matrox ...)."""
    if vendor in ("0x10de", "0x1002", "0x8086"):
        from dlsetup.hw.db import name_for_pci_id

        name = name_for_pci_id(f"{vendor.removeprefix('0x')}:{device.removeprefix('0x')}")
        if name:
            return name
    return _pci_name(root, vendor, device)


def pci_display_devices(root: Root) -> list[dict[str, Any]]:
    """Display controllers (PCI class 0x03xxxx) with vendor, id, slot and bound kernel driver."""
    out = []
    for slot in root.listdir("/sys/bus/pci/devices"):
        base = f"/sys/bus/pci/devices/{slot}"
        cls = (root.read_text(f"{base}/class") or "").strip()
        if not cls.startswith("0x03"):
            continue
        vendor = (root.read_text(f"{base}/vendor") or "").strip().lower()
        device = (root.read_text(f"{base}/device") or "").strip().lower()
        pci_id = f"{vendor.removeprefix('0x')}:{device.removeprefix('0x')}" if vendor and device else None
        out.append({
            "vendor": PCI_VENDORS.get(vendor, vendor or None),
            "name": device_name(root, vendor, device) if pci_id else None,
            "pci_id": pci_id,
            "slot": slot,
            "driver": root.readlink_name(f"{base}/driver"),
            "class": cls,
        })
    return out


_RUNTIME_TOOLS = {"amd": ("rocminfo", "amd-smi", "rocm-smi"), "intel": ("xpu-smi", "sycl-ls")}


def _runtime_facts(root: Root, env: Mapping[str, str], devices: list[dict[str, Any]]) -> None:
    """AMD and Intel GPUs: is the compute side of the kernel driver there (AMD: /sys/class/kfd, the ROCm kernel
    interface), and which runtime tools are installed (rocminfo / amd-smi / rocm-smi, xpu-smi / sycl-ls)."""
    from dlsetup.probe._run import which

    for dev in devices:
        tools = _RUNTIME_TOOLS.get(str(dev.get("vendor")))
        if not tools:
            continue
        if dev["vendor"] == "amd":
            dev["kfd"] = root.exists("/sys/class/kfd")
        dev["tools"] = [t for t in tools if which(t, env.get("PATH", "")) or root.exists(f"/opt/rocm/bin/{t}")]


def _windows_adapters(winreg_module: Any | None) -> list[dict[str, Any]]:
    """Display adapters from the Windows registry (a GPU without a driver included); never raises."""
    from dlsetup.probe.windows_gpu import display_adapters

    try:
        return display_adapters(winreg_module)
    except Exception:  # noqa: BLE001 - the registry is a bonus rung: its failure must not stop the ladder
        return []


def probe_nvidia(
    root: Root | None = None,
    environ: Mapping[str, str] | None = None,
    nvml_module: Any | None = None,
    timeout: float = 10.0,
    deep: bool = False,
    os_name: str | None = None,
    python: str | None = None,
    winreg_module: Any | None = None,
) -> NvidiaInfo:
    """Run the ladder. ``nvml_module`` replaces ``pynvml`` (tests); ``deep`` also runs the libcuda rung
    when NVML answered (it shows cuInit errors such as 802/804 that NVML does not)."""
    from dlsetup.probe.system import os_name as current_os

    root = root or Root()
    env = os.environ if environ is None else environ
    system = os_name or current_os()
    info = NvidiaInfo()
    if system == "macos":
        info.attempts.append(ProbeAttempt(rung="nvml", ok=False, error="unsupported-os",
                                          detail="macOS has no NVIDIA CUDA driver"))
        if sys.platform == "darwin" and os.uname().machine == "arm64":
            info.other_gpus.append({"vendor": "apple", "name": "Apple Silicon GPU (Metal/MPS)", "pci_id": None,
                                    "slot": None, "driver": "metal"})
        return info

    if system == "linux":
        info.device_nodes = device_nodes(root)
        info.nouveau_loaded = root.exists("/sys/module/nouveau")
        info.other_gpus = pci_display_devices(root)
        _runtime_facts(root, env, info.other_gpus)
        from dlsetup.probe.container_host import probe_container_host

        info.container_host = probe_container_host(root, env)
        nvml_libs = find_library(root, "libnvidia-ml.so.1", env)
        if nvml_libs:
            info.library_version = version_from_soname(root.realpath(nvml_libs[0]), "libnvidia-ml")
    else:
        nvml_libs = ["nvml.dll"]
        info.other_gpus = _windows_adapters(winreg_module) if system == "windows" else []

    # Rung 1: NVML.
    start = time.perf_counter()
    if nvml_module is None and system == "linux" and not nvml_libs:
        nvml = None
        info.attempts.append(ProbeAttempt(rung="nvml", ok=False, duration_ms=_ms(start), error="LibraryNotFound",
                                          detail="libnvidia-ml.so.1 is not in the loader path"))
        info.nvml_error = "LibraryNotFound"
    else:
        from dlsetup.probe.nvml import probe_nvml

        try:
            finished, nvml = with_timeout(lambda: probe_nvml(nvml_module), timeout)
        except Exception as exc:  # the prober itself failed: record and go down the ladder
            finished, nvml = True, None
            info.attempts.append(ProbeAttempt(rung="nvml", ok=False, duration_ms=_ms(start),
                                              error=type(exc).__name__, detail=str(exc)[:200]))
        if not finished:
            info.attempts.append(ProbeAttempt(rung="nvml", ok=False, duration_ms=_ms(start), error="timeout",
                                              detail=f"NVML did not answer in {timeout:g} s"))
            info.nvml_error = "Timeout"
        elif nvml is not None:
            detail = nvml.detail
            if nvml.ok and nvml.field_errors:
                detail = "; ".join(nvml.field_errors)[:500]
            info.attempts.append(ProbeAttempt(rung="nvml", ok=nvml.ok and nvml.error is None,
                                              duration_ms=_ms(start), error=nvml.error, detail=detail))
            info.nvml_error = nvml.error
            if nvml.ok:
                info.driver_version = nvml.driver_version
                info.cuda_driver_version = nvml.cuda_driver_version
                info.nvml_version = nvml.nvml_version
                info.gpus = nvml.gpus
                if nvml.error is None:
                    info.rung = "nvml"
    nvml_answered = info.rung == "nvml"

    # Rungs 2 and 5 spawn processes: only when NVML did not answer (libcuda also with deep), in parallel,
    # and only when there is something to run (no thread, no process for a missing libcuda or nvidia-smi).
    from dlsetup.probe._run import which
    from dlsetup.probe.libcuda import LibcudaResult, candidates, probe_libcuda
    from dlsetup.probe.smi import SmiResult, probe_smi

    results: dict[str, Any] = {}
    jobs: dict[str, Any] = {}
    if system == "linux" and (not nvml_answered or deep):
        if candidates(root, env):
            jobs["libcuda"] = lambda: probe_libcuda(root, env, timeout, python)
        else:
            results["libcuda"] = (LibcudaResult(ok=False, error="not-found", detail="libcuda.so.1 not in the loader path"),
                                  0.0)
    smi_env = env
    if system == "windows":
        # nvidia-smi.exe is in System32 (DCH drivers) or, for older drivers, in ...\NVIDIA Corporation\NVSMI,
        # which is not on PATH.
        import ntpath

        from dlsetup.probe.windows_gpu import nvidia_smi_candidates

        extra = [ntpath.dirname(c) for c in nvidia_smi_candidates(dict(env))]
        smi_env = {**env, "PATH": os.pathsep.join([env.get("PATH", ""), *extra])}
    if not nvml_answered:
        if which("nvidia-smi", smi_env.get("PATH", "")):
            jobs["nvidia-smi"] = lambda: probe_smi(smi_env, timeout)
        else:
            results["nvidia-smi"] = (SmiResult(ok=False, error="not-found", detail="nvidia-smi not on PATH"), 0.0)
    for name, (status, value, ms) in (parallel(jobs, timeout + 10) if jobs else {}).items():
        if status == "ok":  # both probers return errors as data; "error"/"timeout" here would be a bug or a hang
            results[name] = (value, ms)
        else:
            info.attempts.append(ProbeAttempt(rung=name, ok=False, duration_ms=ms, error="timeout" if status ==
                                              "timeout" else type(value).__name__, detail=str(value)[:200] or None))

    if "libcuda" in results:
        lc, ms = results["libcuda"]
        detail = " ".join(x for x in (lc.path and f"loaded {lc.path}", lc.init_error and f"cuInit: {lc.init_error}",
                                      lc.detail) if x) or None
        info.attempts.append(ProbeAttempt(rung="libcuda", ok=lc.ok, duration_ms=ms,
                                          error=None if lc.ok else lc.error, detail=detail))
        info.libcuda_path = lc.path
        info.cuinit_error = lc.init_error
        if lc.ok:
            info.cuda_driver_version = info.cuda_driver_version or lc.cuda_driver_version
            info.rung = info.rung or "libcuda"

    # Rungs 3 and 4: file reads, always (the kernel module version is evidence for a mismatch).
    t = time.perf_counter()
    sysfs = (root.read_text("/sys/module/nvidia/version") or "").strip() or None
    info.kernel_module = sysfs
    info.attempts.append(ProbeAttempt(rung="sysfs", ok=sysfs is not None, duration_ms=_ms(t),
                                      error=None if sysfs else "not-found",
                                      detail=f"/sys/module/nvidia/version: {sysfs}" if sysfs else None))
    t = time.perf_counter()
    first, proc_version, proc_gpus = proc_driver(root)
    info.proc_version = first
    info.attempts.append(ProbeAttempt(rung="procfs", ok=proc_version is not None, duration_ms=_ms(t),
                                      error=None if proc_version else ("garbage-output" if first else "not-found"),
                                      detail=first))

    if "nvidia-smi" in results:
        smi, ms = results["nvidia-smi"]
        info.attempts.append(ProbeAttempt(rung="nvidia-smi", ok=smi.ok, duration_ms=ms, error=smi.error,
                                          detail=smi.detail or (smi.path and f"{smi.path}")))
    else:
        smi = None

    if info.rung is None:  # the winner is the first rung that answered, in ladder order
        info.rung = next((a.rung for a in info.attempts if a.ok), None)
    if not nvml_answered:
        # Combine the lower rungs: the driver from smi, /sys or /proc; GPUs from smi, libcuda or /proc.
        info.driver_version = info.driver_version or (smi.driver_version if smi and smi.ok else None) \
            or sysfs or proc_version
        if not info.gpus:
            if smi and smi.ok:
                info.gpus = smi.gpus
            elif "libcuda" in results and results["libcuda"][0].devices:
                info.gpus = [Gpu(index=i, name=d.get("name", ""),
                                 compute_capability="{}.{}".format(*d["cc"]) if d.get("cc") else None,
                                 memory_total_mib=int(d["memory"]) // (1024 * 1024) if d.get("memory") else None)
                             for i, d in enumerate(results["libcuda"][0].devices)]
            elif proc_gpus:
                info.gpus = proc_gpus
    return info
