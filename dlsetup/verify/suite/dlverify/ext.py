"""Stage 6, compiled extension: build a C++ op (and on a GPU a CUDA kernel) with torch.utils.cpp_extension.

The build lives in dlsetup's cache, one directory per (torch, CUDA, Python, compiler, nvcc, target GPU
architectures, C++ ABI), so a different torch, compiler or GPU never reuses a stale binary. A warm cache
loads in milliseconds; the output says whether the build was cached. ``--rebuild`` deletes the directory
first (a cold build). torch's JIT path does not check nvcc against ``torch.version.cuda`` itself, so the CUDA kernel is only
attempted when their major versions agree (dlsetup's environment stage explains a mismatch).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import re
import shutil
import sys
import time
from typing import Any

from dlverify.env import cxx_facts, nvcc_facts, tool_path
from dlverify.proto import FAIL, WARN, check, error_text, note

CSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc")
SOURCES = ("dlverify_ext.cpp", "dlverify_kernel.cu")


def cuda_archs(torch: Any) -> str:
    """The GPU architectures the CUDA kernel is compiled for, as torch.utils.cpp_extension picks them:
    TORCH_CUDA_ARCH_LIST when set, else the compute capabilities of the visible GPUs."""
    wanted = os.environ.get("TORCH_CUDA_ARCH_LIST", "").strip()
    if wanted:
        return "+".join(a for a in re.split(r"[\s;]+", wanted) if a)
    caps = sorted({torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})
    return "+".join(f"{major}.{minor}" for major, minor in caps)


def cache_key(torch: Any, cxx: dict[str, Any], nvcc: dict[str, Any] | None, archs: str | None = None) -> str:
    """One cache directory per toolchain and target: a shared home seen from nodes with other GPUs, another
    torch, CUDA or compiler never loads (or rebuilds over) another configuration's binary."""
    abi = int(bool(getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", True)))
    parts = [
        f"torch{torch.__version__}",
        f"cuda{torch.version.cuda}" if torch.version.cuda else "cpu",
        f"py{sys.version_info[0]}{sys.version_info[1]}",
        platform.machine(),
        f"{cxx.get('kind') or 'cxx'}{cxx.get('version') or 'unknown'}",
        f"nvcc{nvcc['version']}" if nvcc and nvcc.get("version") else "",
        f"sm{archs}" if archs else "",
        f"abi{abi}",
    ]
    return re.sub(r"[^A-Za-z0-9._+-]", "_", "-".join(p for p in parts if p))


def source_hash(with_cuda: bool, flags: list[str]) -> str:
    h = hashlib.sha256()
    for name in SOURCES if with_cuda else SOURCES[:1]:
        with open(os.path.join(CSRC, name), "rb") as fh:
            h.update(fh.read())
    h.update(" ".join(flags).encode())
    return h.hexdigest()[:12]


@contextlib.contextmanager
def build_lock(directory: str):
    """An exclusive lock the OS drops when this process dies; a torch ``lock`` file left behind by a killed
    build (torch would wait for it forever) is stale once we hold this, so it is removed."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, ".dlverify.lock")
    fh = open(path, "a+")
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # Windows: no flock; concurrent builds rely on torch's own baton
            pass
        for root, _dirs, files in os.walk(directory):
            if "lock" in files:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(root, "lock"))
        yield
    finally:
        fh.close()


def _library(build_dir: str, name: str) -> str | None:
    for suffix in (".so", ".pyd", ".dylib"):
        path = os.path.join(build_dir, name + suffix)
        if os.path.exists(path):
            return path
    return None


def run(ctx: Any) -> dict[str, Any]:
    torch = ctx.torch
    from torch.utils import cpp_extension

    os.environ["PATH"] = tool_path()  # pip's ninja sits next to the interpreter; the venv may not be active
    cxx = cxx_facts()
    on_gpu = ctx.device.type == "cuda"
    nvcc = nvcc_facts() if on_gpu else None
    checks: list[dict[str, Any]] = []
    with_cuda = False
    if on_gpu:
        torch_cuda = torch.version.cuda or ""
        if not nvcc or not nvcc.get("version"):
            checks.append(check("cuda_kernel", None, status=WARN, note=note("verify.note.no_nvcc", cuda=torch_cuda)))
        elif nvcc["version"].split(".")[0] != torch_cuda.split(".")[0]:
            checks.append(check("cuda_kernel", nvcc["version"], status=FAIL,
                                note=note("verify.note.nvcc_mismatch", nvcc=nvcc["version"], torch_cuda=torch_cuda)))
        else:
            with_cuda = True

    root = ctx.cfg.get("ext_root") or os.path.join(os.path.expanduser("~"), ".cache", "dlsetup", "torch_extensions")
    archs = cuda_archs(torch) if with_cuda else None
    key = cache_key(torch, cxx, nvcc if with_cuda else None, archs)
    key_dir = os.path.join(root, key)
    flags = ["-DDLVERIFY_WITH_CUDA"] if with_cuda else []
    name = f"dlverify_ext_{source_hash(with_cuda, flags)}"
    build_dir = os.path.join(key_dir, name)
    sources = [os.path.join(CSRC, SOURCES[0])] + ([os.path.join(CSRC, SOURCES[1])] if with_cuda else [])
    details: dict[str, Any] = {"build_dir": build_dir, "key": key, "cuda_kernel": with_cuda, "compiler": cxx,
                               "cuda_archs": archs}

    start = time.perf_counter()
    with build_lock(key_dir):
        if ctx.cfg.get("rebuild") and os.path.isdir(build_dir):
            shutil.rmtree(build_dir, ignore_errors=True)
        os.makedirs(build_dir, exist_ok=True)
        lib = _library(build_dir, name)
        before = os.stat(lib).st_mtime_ns if lib else None
        try:
            module = cpp_extension.load(name=name, sources=sources, extra_cflags=flags,
                                        extra_cuda_cflags=None,
                                        build_directory=build_dir, verbose=False, with_cuda=with_cuda)
        except Exception as exc:
            details["build_s"] = round(time.perf_counter() - start, 3)
            details["log_tail"] = _tail(str(exc))
            checks.append(check("build", key, error=error_text(exc, 300)))
            return {"checks": checks, "details": details}
        lib = _library(build_dir, name)
        after = os.stat(lib).st_mtime_ns if lib else None
    cached = before is not None and before == after
    details.update({"cached": cached, "build_s": round(time.perf_counter() - start, 3)})
    checks.append(check("build", key, status="pass", note=note("verify.note.ext_cached" if cached else "verify.note.ext_built",
                                                                seconds=details["build_s"])))
    checks.append(_exact(ctx, module.axpy_cpu, torch.device("cpu"), "cpp"))
    if with_cuda:
        checks.append(_exact(ctx, module.axpy_cuda, ctx.device, "cuda_kernel"))
    return {"checks": checks, "details": details}


def _exact(ctx: Any, fn: Any, device: Any, name: str) -> dict[str, Any]:
    """The op's result must equal torch's bit for bit (integer-valued inputs make x*3+y exact)."""
    torch = ctx.torch
    gen = torch.Generator(device=device)
    gen.manual_seed(ctx.seed + 67)
    n = 100_003  # not a multiple of any block size: the tail is checked too
    x = torch.randint(-1000, 1000, (n,), generator=gen, device=device).float()
    y = torch.randint(-1000, 1000, (n,), generator=gen, device=device).float()
    try:
        out = fn(x, y, 3.0)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    except Exception as exc:
        return check(name, str(device), error=error_text(exc))
    expected = x * 3.0 + y
    wrong = int((out != expected).sum().item()) if out.shape == expected.shape else n
    if wrong:
        return check(name, str(device), status=FAIL, value=wrong, limit=0, metric="wrong_elements",
                     note=note("verify.note.ext_wrong", wrong=wrong, total=n))
    return check(name, str(device), value=0, limit=0, metric="wrong_elements")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
