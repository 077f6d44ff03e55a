"""CUDA toolkits, cuDNN headers, LD_LIBRARY_PATH contents, cuda-compat libraries and gcc.

Versions come from ``version.json`` / ``version.txt`` files where they exist; ``nvcc --version`` and
``gcc -dumpfullversion`` are the only subprocesses, run in parallel threads under a timeout.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from dlsetup.probe._fs import Root
from dlsetup.probe._libs import ld_library_path
from dlsetup.probe._run import parallel, run, which
from dlsetup.probe.model import CudaInfo, LibDir, Toolkit

_NVCC_RELEASE = re.compile(r"release (\d+\.\d+), V(\d+\.\d+\.\d+)")
_VERSION_TXT = re.compile(r"CUDA Version (\d+\.\d+(?:\.\d+)?)")


def toolkit_version_from_files(root: Root, path: str) -> tuple[str | None, str | None]:
    """(version, source) from ``<toolkit>/version.json`` (11.1+) or ``version.txt`` (older)."""
    text = root.read_text(f"{path}/version.json")
    if text:
        try:
            data = json.loads(text)
            version = data.get("cuda", {}).get("version") or data.get("cuda_cudart", {}).get("version")
            if version:
                return str(version), "version.json"
        except (ValueError, AttributeError):
            pass
    m = _VERSION_TXT.search(root.read_text(f"{path}/version.txt") or "")
    if m:
        return m.group(1), "version.txt"
    for name in root.listdir(f"{path}/dist-info"):  # toolkits assembled from NVIDIA's nvcc wheels
        m = re.fullmatch(r"nvidia_cuda_nvcc(?:_cu\d+)?-(\d+\.\d+(?:\.\d+)?)\.dist-info", name)
        if m:
            return m.group(1), "dist-info"
    return None, None


def follow_wrapper(root: Root, machine_path: str) -> str:
    """``/usr/local/bin/nvcc`` that only does ``exec /usr/local/cuda-13.0/bin/nvcc "$@"`` → the real nvcc."""
    real = root.realpath(machine_path) or machine_path
    head = root.read_bytes(real, limit=4096) or b""
    if head.startswith(b"#!"):
        m = re.search(rb"exec\s+\"?(/[^\s\"]+/nvcc)\"?", head)
        if m:
            target = m.group(1).decode("utf-8", "replace")
            if root.exists(target):
                return root.realpath(target) or target
    return real


def parse_nvcc_version(text: str) -> str | None:
    """``Cuda compilation tools, release 12.4, V12.4.131`` → ``12.4.131``."""
    m = _NVCC_RELEASE.search(text or "")
    return m.group(2) if m else None


def parse_cudnn_header(text: str | None) -> str | None:
    """``#define CUDNN_MAJOR 9`` / ``MINOR`` / ``PATCHLEVEL`` → ``9.1.0``."""
    if not text:
        return None
    parts = []
    for key in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"):
        m = re.search(rf"#define\s+{key}\s+(\d+)", text)
        if not m:
            return None
        parts.append(m.group(1))
    return ".".join(parts)


def toolkit_dirs(root: Root, environ: Mapping[str, str], nvcc_path: str | None) -> list[str]:
    """Candidate toolkit roots: CUDA_HOME/CUDA_PATH, nvcc's parent, /usr/local/cuda*, /opt/cuda."""
    dirs: list[str] = []
    for var in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"):
        if environ.get(var):
            dirs.append(environ[var].rstrip("/\\") or "/")
    # Windows: the installer sets CUDA_PATH_V12_4 (one per toolkit) and installs under
    # %ProgramFiles%\NVIDIA GPU Computing Toolkit\CUDA\v12.4
    # (https://docs.nvidia.com/cuda/cuda-installation-guide-microsoft-windows/).
    dirs += [v.rstrip("/\\") for k, v in sorted(environ.items()) if k.upper().startswith("CUDA_PATH_V") and v]
    program_files = environ.get("ProgramFiles") or environ.get("PROGRAMFILES")
    if program_files:
        base = program_files.rstrip("/\\") + "\\NVIDIA GPU Computing Toolkit\\CUDA"
        dirs += [f"{base}\\{n}" for n in sorted(root.listdir(base)) if re.fullmatch(r"v\d+\.\d+", n)]
    if nvcc_path:
        dirs.append(os.path.dirname(os.path.dirname(nvcc_path)))
    for name in root.listdir("/usr/local"):
        if name == "cuda" or name.startswith("cuda-"):
            dirs.append(f"/usr/local/{name}")
    dirs.append("/opt/cuda")
    out = []
    for d in dict.fromkeys(dirs):
        has_version = any(root.exists(f"{d}/{f}") for f in ("version.json", "version.txt"))
        has_nvcc = root.exists(f"{d}/bin/nvcc") or root.exists(f"{d}/bin/nvcc.exe")
        if has_version or (has_nvcc and root.exists(f"{d}/include/cuda.h")):
            out.append(d)
    return out


def _lib_dir(root: Root, path: str) -> LibDir:
    names = root.listdir(path)
    exists = root.is_dir(path)
    has = lambda prefix: any(n.startswith(prefix) and ".so" in n for n in names)  # noqa: E731
    libcuda = has("libcuda.so")
    parts = path.rstrip("/").split("/")
    return LibDir(
        path=path, exists=exists, cudart=has("libcudart.so"), cudnn=has("libcudnn"), libcuda=libcuda,
        stubs="stubs" in parts, compat=libcuda and "compat" in parts,
    )


def _compat_libs(root: Root, dirs: list[str]) -> list[str]:
    out = []
    for d in dirs:
        for n in root.listdir(d):
            if re.fullmatch(r"libcuda\.so\.\d+\.\d+(?:\.\d+)?", n):
                out.append(f"{d}/{n}")
    return out


def probe_cuda(root: Root | None = None, environ: Mapping[str, str] | None = None, timeout: float = 10.0) -> CudaInfo:
    root = root or Root()
    env = os.environ if environ is None else environ
    info = CudaInfo()
    search_path = env.get("PATH")
    nvcc_real = which("nvcc", search_path or "")
    nvcc = root.to_machine(nvcc_real) if nvcc_real else None
    info.nvcc_path = nvcc
    if nvcc:  # where the nvcc on PATH really lives (symlinks and exec wrappers followed)
        nvcc = follow_wrapper(root, nvcc)
    info.cuda_home = env.get("CUDA_HOME") or env.get("CUDA_PATH") or None
    gcc = which("gcc", search_path or "")

    # Toolkits from files; nvcc runs only when no version file answers for the nvcc on PATH.
    dirs = toolkit_dirs(root, env, nvcc)
    nvcc_dir = os.path.dirname(os.path.dirname(nvcc)) if nvcc else None
    need_nvcc_run = False
    by_real: dict[str, Toolkit] = {}
    for d in dirs:
        real = root.realpath(d) or d
        if real in by_real:  # /usr/local/cuda -> /usr/local/cuda-12.4: one toolkit, two names
            tk = by_real[real]
            if d != tk.path and d not in tk.aliases:
                tk.aliases.append(d)
            continue
        version, source = toolkit_version_from_files(root, real)
        tk_nvcc = f"{real}/bin/nvcc" if root.exists(f"{real}/bin/nvcc") else None
        tk = Toolkit(path=real, version=version, source=source, nvcc=tk_nvcc)
        if d != real:
            tk.aliases.append(d)
        by_real[real] = tk
        info.toolkits.append(tk)
        if nvcc_dir == real:
            info.nvcc_version = version
    if nvcc and info.nvcc_version is None:
        need_nvcc_run = True

    jobs = {}
    if need_nvcc_run:
        jobs["nvcc"] = lambda: run([nvcc_real, "--version"], timeout)
    if gcc and (info.toolkits or nvcc):  # gcc only matters for building against a toolkit: no process otherwise
        jobs["gcc"] = lambda: run([gcc, "-dumpfullversion", "-dumpversion"], timeout)
    done = parallel(jobs, timeout + 5) if jobs else {}
    if done.get("nvcc", ("",))[0] == "ok":
        info.nvcc_version = parse_nvcc_version(done["nvcc"][1].stdout)
        for tk in info.toolkits:
            if tk.path == nvcc_dir and tk.version is None:
                tk.version, tk.source = info.nvcc_version, "nvcc"
        if nvcc_dir not in {tk.path for tk in info.toolkits} and info.nvcc_version:
            info.toolkits.append(Toolkit(path=nvcc_dir or nvcc, version=info.nvcc_version, source="nvcc", nvcc=nvcc))
    if done.get("gcc", ("",))[0] == "ok":
        proc = done["gcc"][1]
        line = proc.stdout.strip().splitlines()[0] if proc.ok and proc.stdout.strip() else ""
        info.gcc_version = line if re.fullmatch(r"\d+(\.\d+)*", line) else None

    # cuDNN headers: in each toolkit, and where distribution packages put them.
    include_dirs = [f"{tk.path}/include" for tk in info.toolkits] + [
        "/usr/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/local/include",
    ]
    seen: set[str] = set()
    for inc in dict.fromkeys(include_dirs):
        for name in root.listdir(inc):
            if re.fullmatch(r"cudnn_version(_v\d+)?\.h", name) or name == "cudnn.h":
                path = f"{inc}/{name}"
                real = root.realpath(path) or path
                if real in seen:
                    continue
                version = parse_cudnn_header(root.read_text(path))
                if version is None:
                    continue
                seen.add(real)
                info.cudnn.append({"path": path, "version": version})

    # LD_LIBRARY_PATH entries and forward-compatibility libraries.
    info.ld_library_path = [_lib_dir(root, p) for p in ld_library_path(env)]
    compat_dirs = [f"{tk.path}/compat" for tk in info.toolkits] + [
        "/usr/local/cuda/compat", *(ld.path for ld in info.ld_library_path if ld.compat),
    ]
    for name in root.listdir("/usr/local"):
        if name.startswith("cuda"):
            compat_dirs.append(f"/usr/local/{name}/compat")
    info.compat_libs = list(dict.fromkeys(_compat_libs(root, list(dict.fromkeys(compat_dirs)))))
    return info
