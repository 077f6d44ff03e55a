"""Stage 1, environment: what torch was built with, what it sees, and the extension toolchain.

The facts go to dlsetup, which judges the ones that need its data tables (architecture coverage, the
nvcc and host-compiler rules). The checks made here need nothing but torch: is the device usable, is
this a CPU-only torch on a machine with an NVIDIA GPU, does CUDA and cuDNN initialise.
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import warnings
from typing import Any

from dlverify.proto import FAIL, INFO, PASS, WARN, check, error_text, note


def _run(argv: list[str], timeout: float = 15.0, env: dict[str, str] | None = None) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout or "") + (out.stderr or "") if out.returncode == 0 else None


WINDOWS = os.name == "nt"


def script_dirs() -> list[str]:
    """Where pip puts console scripts (ninja) for this interpreter: ``bin`` next to it, or on Windows
    ``Scripts\\`` (in a conda env python.exe is at the prefix root and ninja.exe in ``Scripts``)."""
    here = os.path.dirname(sys.executable)
    dirs = [here]
    if WINDOWS:
        for d in (os.path.join(here, "Scripts"), os.path.join(sys.prefix, "Scripts")):
            if d not in dirs:
                dirs.append(d)
    return dirs


def tool_path() -> str:
    """PATH with this interpreter's script folders first (where pip puts ninja), as torch's JIT build needs."""
    first = script_dirs()
    parts = first + [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in first]
    return os.pathsep.join(parts)


def find_nvcc() -> tuple[str | None, str | None]:
    """(nvcc path, how it was found), in the order torch.utils.cpp_extension looks for CUDA_HOME."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home:
            cand = os.path.join(home, "bin", "nvcc.exe" if WINDOWS else "nvcc")
            return (cand if os.path.exists(cand) else None), f"env:{var}"
    found = shutil.which("nvcc", path=tool_path())
    if found:
        return found, "PATH"
    cand = "/usr/local/cuda/bin/nvcc"
    return (cand if os.path.exists(cand) else None), "/usr/local/cuda"


def nvcc_facts() -> dict[str, Any]:
    path, source = find_nvcc()
    version = None
    if path:
        out = _run([path, "--version"])
        m = re.search(r"release (\d+\.\d+)", out or "")
        version = m.group(1) if m else None
    return {"path": path, "source": source, "version": version}


def msvc_facts() -> dict[str, Any]:
    """MSVC's ``cl.exe``, which torch's extension builder uses on Windows; it is on PATH only in a
    "Developer Command Prompt/PowerShell for VS" (vcvars). Its banner goes to stderr:
    "Microsoft (R) C/C++ Optimizing Compiler Version 19.38.33135 for x64"."""
    path = shutil.which("cl")
    if not path:
        return {"name": "cl", "path": None, "version": None, "kind": "msvc"}
    try:
        out = subprocess.run([path], capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
        banner = (out.stderr or out.stdout or "").strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        banner = []
    m = re.search(r"Version (\d+\.\d+(?:\.\d+)?)", banner[0] if banner else "")
    return {"name": "cl", "path": path, "version": m.group(1) if m else None, "kind": "msvc",
            "banner": banner[0] if banner else None}


def cxx_facts() -> dict[str, Any]:
    """The C++ compiler torch's JIT build uses: MSVC ``cl`` on Windows, else $CXX or ``c++``."""
    if WINDOWS and "CXX" not in os.environ:
        return msvc_facts()
    name = os.environ.get("CXX", "c++")
    path = shutil.which(name)
    if not path:
        return {"name": name, "path": None, "version": None, "kind": None}
    banner = (_run([path, "--version"]) or "").splitlines()
    kind = "clang" if banner and "clang" in banner[0].lower() else "gcc"
    version = (_run([path, "-dumpfullversion", "-dumpversion"]) or "").strip() or None
    return {"name": name, "path": path, "version": version, "kind": kind, "banner": banner[0] if banner else None}


def ninja_facts() -> dict[str, Any]:
    path = shutil.which("ninja", path=tool_path())
    version = (_run([path, "--version"]) or "").strip() or None if path else None
    return {"path": path, "version": version}


def _windows_nvidia_adapter(winreg: Any = None) -> bool:
    """An NVIDIA display adapter (PCI vendor 10DE) in the Windows registry, with or without its driver:
    ``HKLM\\SYSTEM\\CurrentControlSet\\Enum\\PCI\\VEN_10DE&...`` under the display class GUID (the same
    source dlsetup's probe reads, dlsetup/probe/windows_gpu.py; this suite stays stdlib + torch)."""
    if winreg is None:
        try:
            import winreg  # type: ignore[no-redef]
        except ImportError:
            return False
    display = "{4d36e968-e325-11ce-bfc1-08002be10318}"
    try:
        root = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, "SYSTEM\\CurrentControlSet\\Enum\\PCI")
    except OSError:
        return False
    i = 0
    while True:
        try:
            hw = winreg.EnumKey(root, i)
        except OSError:
            return False
        i += 1
        if not hw.upper().startswith("VEN_10DE&"):
            continue
        try:
            hw_key = winreg.OpenKey(root, hw)
            inst = winreg.OpenKey(hw_key, winreg.EnumKey(hw_key, 0))
            if str(winreg.QueryValueEx(inst, "ClassGUID")[0]).lower() == display:
                return True
        except OSError:
            continue


def nvidia_present() -> bool:
    """An NVIDIA driver and device are on this machine, whatever torch thinks."""
    if WINDOWS:
        system32 = os.path.join(os.environ.get("SystemRoot", "C:\\Windows"), "System32")
        return (_windows_nvidia_adapter() or os.path.exists(os.path.join(system32, "nvidia-smi.exe"))
                or os.path.exists(os.path.join(system32, "nvcuda.dll")))
    return os.path.exists("/proc/driver/nvidia/version") or bool(glob.glob("/dev/nvidia[0-9]*"))


def driver_version() -> str | None:
    """The NVIDIA kernel driver's version from /proc/driver/nvidia/version ("550.54.15"), if loaded."""
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8", errors="replace") as fh:
            m = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", fh.readline())
    except OSError:
        return None
    return m.group(1) if m else None


def cudnn_text(version: int | None) -> str | None:
    """torch's integer cuDNN version as text: 90100 -> 9.1.0 (cuDNN 9 encoding), 8907 -> 8.9.7."""
    if not version:
        return None
    if version >= 90000:
        return f"{version // 10000}.{version % 10000 // 100}.{version % 100}"
    return f"{version // 1000}.{version % 1000 // 100}.{version % 100}"


def precision_state(torch: Any) -> dict[str, Any]:
    """TF32 state: the fp32_precision knobs (torch >= 2.9) or the legacy allow_tf32 flags."""
    b = torch.backends
    out: dict[str, Any] = {}
    if hasattr(b.cuda.matmul, "fp32_precision"):
        out["matmul"] = b.cuda.matmul.fp32_precision
        out["cudnn_conv"] = b.cudnn.conv.fp32_precision
        out["cudnn_rnn"] = getattr(getattr(b.cudnn, "rnn", None), "fp32_precision", None)
    else:
        out["matmul"] = "tf32" if b.cuda.matmul.allow_tf32 else "ieee"
        out["cudnn_conv"] = "tf32" if b.cudnn.allow_tf32 else "ieee"
    out["float32_matmul_precision"] = _safe(torch.get_float32_matmul_precision)
    return out


def cpu_bf16_native() -> bool | None:
    """The CPU has bf16 instructions (AVX512-BF16, AMX-BF16 or Arm BF16); None when unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            flags = fh.read()
    except OSError:
        return None
    return bool(re.search(r"\b(avx512_bf16|amx_bf16|bf16)\b", flags))


def gpu_facts(torch: Any) -> list[dict[str, Any]]:
    gpus = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        gpus.append({"index": i, "name": p.name, "cc": f"{p.major}.{p.minor}",
                     "memory_gib": round(p.total_memory / 2**30, 1), "sms": p.multi_processor_count})
    return gpus


def run(ctx: Any) -> dict[str, Any]:
    torch = ctx.torch
    checks: list[dict[str, Any]] = []
    cuda_build = torch.version.cuda
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": f"{platform.system().lower()}-{platform.machine()}",
        "torch": torch.__version__,
        "torch_cuda": cuda_build,
        "torch_hip": getattr(torch.version, "hip", None),
        "cudnn": None,
        "cuda_available": ctx.cuda_available,
        "cuda_warnings": ctx.cuda_warnings,
        "nvidia_present": nvidia_present(),
        "driver": driver_version(),
        "gpus": [],
        "arch_list": [],
        "device": str(ctx.device) if ctx.device is not None else ctx.requested_device,
        "threads": torch.get_num_threads(),
        "cpu_capability": _safe(lambda: torch.backends.cpu.get_cpu_capability()),
        "nvcc": nvcc_facts(),
        "cxx": cxx_facts(),
        "ninja": ninja_facts(),
        "tf32": precision_state(torch),
        "import_s": ctx.import_s,
    }
    checks.append(check("torch", torch.__version__, status=INFO))

    if ctx.device is None:
        checks.append(check("device", ctx.requested_device, status=FAIL, note=ctx.device_error))
    else:
        checks.append(check("device", str(ctx.device), status=PASS))

    if facts["nvidia_present"] and not cuda_build and not facts["torch_hip"]:
        explicit_cpu = ctx.requested_device == "cpu"
        checks.append(check("cuda_build", "cpu", status=WARN if explicit_cpu else FAIL,
                            note=note("verify.note.cpu_torch_on_gpu", torch=torch.__version__)))
    elif cuda_build and facts["nvidia_present"] and not ctx.cuda_available:
        checks.append(check("cuda_init", cuda_build, status=FAIL,
                            note=note("verify.note.cuda_unavailable", torch=torch.__version__,
                                      reason="; ".join(ctx.cuda_warnings) or "-")))

    if cuda_build:
        facts["arch_list"] = list(torch.cuda.get_arch_list()) if ctx.cuda_available else []
        facts["cudnn"] = cudnn_text(_safe(torch.backends.cudnn.version))
    if ctx.cuda_available:
        facts["gpus"] = gpu_facts(torch)

    if ctx.device is not None and ctx.device.type == "cuda":
        i = ctx.device.index or 0
        facts["bf16_native"] = _safe(lambda: torch.cuda.is_bf16_supported(including_emulation=False))
        if facts["bf16_native"] is None:
            facts["bf16_native"] = torch.cuda.get_device_capability(i)[0] >= 8
        facts["tf32_capable"] = torch.cuda.get_device_capability(i)[0] >= 8
        if not torch.backends.cudnn.is_available():
            checks.append(check("cudnn", None, status=FAIL, note=note("verify.note.cudnn_missing")))
        else:
            try:
                torch.backends.cudnn.is_acceptable(torch.empty(1, device=ctx.device))
                checks.append(check("cudnn", facts["cudnn"], status=PASS))
            except Exception as exc:  # the cuDNN version / SM compatibility errors are raised here
                checks.append(check("cudnn", facts["cudnn"], error=error_text(exc)))
    else:
        facts["bf16_native"] = cpu_bf16_native()
        facts["tf32_capable"] = False
    return {"checks": checks, "details": facts}


def _safe(fn: Any) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    except Exception:
        return None
