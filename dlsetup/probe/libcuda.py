"""Rung 2 of the NVIDIA ladder: libcuda's ``cuDriverGetVersion`` through ctypes, in a subprocess.

Loading libcuda and calling ``cuInit`` can crash or hang on a broken driver, so it runs in a child
interpreter under a timeout (conda's approach), with ``CUDA_VISIBLE_DEVICES`` removed because an
empty or invalid value makes ``cuInit`` fail. The child also reports which file it loaded (a stub
``libcuda.so`` from ``.../lib64/stubs`` gives CUDA_ERROR_STUB_LIBRARY) and the cuInit error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dlsetup.probe._fs import Root
from dlsetup.probe._libs import find_library
from dlsetup.probe._run import run

# CUDA driver API error codes the doctor cares about (cuda.h CUresult).
CU_ERRORS = {
    3: "CUDA_ERROR_NOT_INITIALIZED",
    34: "CUDA_ERROR_STUB_LIBRARY",
    35: "CUDA_ERROR_INSUFFICIENT_DRIVER",
    46: "CUDA_ERROR_DEVICES_UNAVAILABLE",
    100: "CUDA_ERROR_NO_DEVICE",
    101: "CUDA_ERROR_INVALID_DEVICE",
    304: "CUDA_ERROR_OPERATING_SYSTEM",
    802: "CUDA_ERROR_SYSTEM_NOT_READY",
    803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
    804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
    999: "CUDA_ERROR_UNKNOWN",
}

# Runs in the child: python -I -S -c CHILD <candidate>...; prints one JSON line.
CHILD = r"""
import ctypes, json, os, sys
os.environ.pop("CUDA_VISIBLE_DEVICES", None)
out = {"loaded": None, "errors": []}
lib = None
for name in sys.argv[1:]:
    try:
        lib = ctypes.CDLL(name)
        out["loaded"] = name
        break
    except OSError as exc:
        out["errors"].append(str(exc)[:200])
if lib is None:
    print(json.dumps(out)); sys.exit(0)
try:
    with open("/proc/self/maps") as fh:
        for line in fh:
            if "libcuda" in line and "/" in line:
                out["path"] = line[line.index("/"):].strip(); break
except OSError:
    pass
def err_name(rc):
    s = ctypes.c_char_p()
    try:
        if lib.cuGetErrorName(rc, ctypes.byref(s)) == 0 and s.value:
            return s.value.decode()
    except Exception:
        pass
    return None
v = ctypes.c_int(0)
try:
    rc = lib.cuDriverGetVersion(ctypes.byref(v))
    out["version_rc"] = rc
    out["version"] = v.value
except Exception as exc:
    out["errors"].append("cuDriverGetVersion: " + str(exc)[:200])
try:
    rc = lib.cuInit(0)
except Exception as exc:
    out["errors"].append("cuInit: " + str(exc)[:200]); rc = -1
out["init_rc"] = rc
if rc > 0:
    out["init_error"] = err_name(rc)
devices = []
if rc == 0:
    n = ctypes.c_int(0)
    if lib.cuDeviceGetCount(ctypes.byref(n)) == 0:
        for i in range(n.value):
            d = ctypes.c_int(0)
            if lib.cuDeviceGet(ctypes.byref(d), i) != 0:
                continue
            name = ctypes.create_string_buffer(256)
            lib.cuDeviceGetName(name, 256, d)
            major, minor = ctypes.c_int(0), ctypes.c_int(0)
            lib.cuDeviceGetAttribute(ctypes.byref(major), 75, d)
            lib.cuDeviceGetAttribute(ctypes.byref(minor), 76, d)
            mem = ctypes.c_size_t(0)
            try:
                lib.cuDeviceTotalMem_v2(ctypes.byref(mem), d)
            except AttributeError:
                pass
            devices.append({"name": name.value.decode("utf-8", "replace"), "cc": [major.value, minor.value],
                            "memory": mem.value})
out["devices"] = devices
print(json.dumps(out))
"""


@dataclass
class LibcudaResult:
    ok: bool
    error: str | None = None
    detail: str | None = None
    cuda_driver_version: str | None = None
    path: str | None = None
    init_error: str | None = None  # "CUDA_ERROR_STUB_LIBRARY (34)"
    devices: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0


def candidates(root: Root, environ: Mapping[str, str]) -> list[str]:
    """libcuda files to try, as real paths (under ``root`` in tests), in the loader's order."""
    if sys.platform == "win32":
        return ["nvcuda.dll"]
    found = find_library(root, "libcuda.so.1", environ) + find_library(root, "libcuda.so", environ)
    return [str(root.path(p)) for p in dict.fromkeys(found)]


def probe_libcuda(
    root: Root | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    python: str | None = None,
) -> LibcudaResult:
    """Load libcuda in a child interpreter and ask it for the CUDA version the driver supports."""
    root = root or Root()
    env = dict(os.environ if environ is None else environ)
    files = candidates(root, env)
    if not files:
        return LibcudaResult(ok=False, error="not-found", detail="libcuda.so.1 not in the loader path")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    proc = run([python or sys.executable, "-I", "-S", "-c", CHILD, *files], timeout=timeout, env=env)
    if proc.timed_out:
        return LibcudaResult(ok=False, error="timeout", detail=f"no answer in {timeout:g} s", duration_s=proc.duration_s)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        why = f"exit {proc.returncode}" if proc.returncode is not None else (proc.error or "failed")
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        return LibcudaResult(ok=False, error="crashed", detail=f"{why}: {tail}".strip(": "), duration_s=proc.duration_s)
    return parse_child_output(json.loads(line), root, proc.duration_s)


def parse_child_output(data: dict[str, Any], root: Root, duration_s: float = 0.0) -> LibcudaResult:
    from dlsetup.probe.nvml import decode_cuda_version

    if not data.get("loaded"):
        return LibcudaResult(ok=False, error="load-failed", detail="; ".join(data.get("errors", []))[:300] or None,
                             duration_s=duration_s)
    path = data.get("path") or data.get("loaded")
    if path and not root.live:  # report machine paths, not the test tree's
        base = os.path.realpath(root.base)
        if path.startswith(base):
            path = "/" + os.path.relpath(path, base)
    res = LibcudaResult(ok=False, path=path, duration_s=duration_s)
    if data.get("version_rc") == 0:
        res.cuda_driver_version = decode_cuda_version(data.get("version"))
    rc = data.get("init_rc")
    if isinstance(rc, int) and rc != 0:
        name = data.get("init_error") or CU_ERRORS.get(rc, "CUDA_ERROR")
        res.init_error = f"{name} ({rc})"
        res.error = name
    res.devices = [d for d in data.get("devices", []) if isinstance(d, dict)]
    res.ok = res.cuda_driver_version is not None
    if not res.ok and res.error is None:
        res.error = "no-version"
    return res
