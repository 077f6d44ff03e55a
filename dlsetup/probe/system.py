"""Operating system, CPU, memory, free disk, WSL and container facts (file reads; no subprocess)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from dlsetup.probe._fs import Root
from dlsetup.probe.model import DiskSpace, SystemInfo


def os_name() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform in ("win32", "cygwin"):
        return "windows"
    return sys.platform


def arch_name() -> str:
    machine = (os.uname().machine if hasattr(os, "uname") else _platform().machine()).lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64" if os_name() == "linux" else "arm64"}.get(
        machine, machine
    )


def minimal_system() -> SystemInfo:
    """The cheapest useful answer (OS and architecture) for callers that skip the system part."""
    return SystemInfo(os=os_name(), arch=arch_name())


def parse_os_release(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def detect_container(root: Root, environ: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """Which container runtime this looks like, and the evidence (files, variables, cgroup lines)."""
    evidence: list[str] = []
    kind: str | None = None
    if root.exists("/.dockerenv"):
        evidence.append("/.dockerenv")
        kind = "docker"
    if root.exists("/run/.containerenv"):
        evidence.append("/run/.containerenv")
        kind = kind or "podman"
    if environ.get("KUBERNETES_SERVICE_HOST"):
        evidence.append("env:KUBERNETES_SERVICE_HOST")
        kind = "kubernetes"
    if environ.get("container"):
        evidence.append(f"env:container={environ['container']}")
        kind = kind or environ["container"]
    cgroup = root.read_text("/proc/1/cgroup") or ""
    for marker, name in (("kubepods", "kubernetes"), ("docker", "docker"), ("libpod", "podman"), ("lxc", "lxc")):
        line = next((ln for ln in cgroup.splitlines() if marker in ln), None)
        if line:
            evidence.append(f"/proc/1/cgroup: {line.strip()[:120]}")
            kind = kind or name
            break
    return kind, evidence


def _meminfo_total(root: Root) -> int | None:
    for line in (root.read_text("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            try:
                return int(parts[1]) * (1024 if len(parts) > 2 and parts[2].lower() == "kb" else 1)
            except (IndexError, ValueError):
                return None
    return None


def _cpu_model(root: Root) -> str | None:
    text = root.read_text("/proc/cpuinfo", limit=64 << 10) or ""
    for key in ("model name", "Hardware", "Model", "cpu model", "uarch"):
        for line in text.splitlines():
            k, sep, v = line.partition(":")
            if sep and k.strip() == key and v.strip():
                return v.strip()
    return _platform().processor() or None


def _user(env: Mapping[str, str]) -> str | None:
    """The login name as ``getpass.getuser`` finds it (variables, then the password database), cheaply."""
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if env.get(var):
            return env[var]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):  # Windows, or a uid without a passwd entry (containers)
        return None


def _platform():  # imported only off the Linux fast path
    import platform

    return platform


def _glibc() -> str | None:
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"; absent on musl/macOS/Windows
    except (AttributeError, ValueError, OSError):
        return None
    if value and value.startswith("glibc "):
        return value.split()[1]
    return None


def disk_locations(environ: Mapping[str, str], home: str) -> list[tuple[str, str]]:
    """(purpose, path) pairs where environments, packages and model caches will be written."""
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    out = [("home", home)]
    conda_exe = environ.get("CONDA_EXE") or environ.get("MAMBA_EXE")
    if environ.get("CONDA_ENVS_PATH"):
        out.append(("conda envs", environ["CONDA_ENVS_PATH"].split(os.pathsep)[0]))
    elif conda_exe:
        out.append(("conda envs", os.path.join(os.path.dirname(os.path.dirname(conda_exe)), "envs")))
    if environ.get("MAMBA_ROOT_PREFIX"):
        out.append(("conda envs", os.path.join(environ["MAMBA_ROOT_PREFIX"], "envs")))
    if environ.get("CONDA_PKGS_DIRS"):
        out.append(("conda pkgs", environ["CONDA_PKGS_DIRS"].split(",")[0]))
    from dlsetup.platform import Platform, live_os

    plat = Platform(os=live_os(), environ=environ, home=home)
    if plat.is_windows:  # %LOCALAPPDATA%\pip\Cache and %LOCALAPPDATA%\uv\cache (platformdirs' user_cache_dir)
        local = plat.user_dirs()["cache"] or cache
        out.append(("pip cache", plat.pip_cache_dir() or os.path.join(local, "pip", "Cache")))
        out.append(("uv cache", environ.get("UV_CACHE_DIR") or os.path.join(local, "uv", "cache")))
    else:
        out.append(("pip cache", environ.get("PIP_CACHE_DIR") or os.path.join(cache, "pip")))
        out.append(("uv cache", environ.get("UV_CACHE_DIR") or os.path.join(cache, "uv")))
    hf = environ.get("HF_HUB_CACHE") or environ.get("HF_HOME") or os.path.join(cache, "huggingface")
    out.append(("hf cache", hf))
    if environ.get("VIRTUAL_ENV"):
        out.append(("active env", environ["VIRTUAL_ENV"]))
    elif environ.get("CONDA_PREFIX"):
        out.append(("active env", environ["CONDA_PREFIX"]))
    seen: set[str] = set()
    unique = []
    for purpose, path in out:
        if path and path not in seen:
            seen.add(path)
            unique.append((purpose, path))
    return unique


def _disk(purpose: str, path: str) -> DiskSpace | None:
    probe = path
    while probe and not os.path.exists(probe):  # not created yet: measure where it would be created
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    try:
        if hasattr(os, "statvfs"):
            st = os.statvfs(probe or os.sep)
            free, total = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
        else:
            import shutil

            usage = shutil.disk_usage(probe or os.sep)
            free, total = usage.free, usage.total
    except OSError:
        return None
    return DiskSpace(path=path, purpose=purpose, free_bytes=free, total_bytes=total)


def probe_system(
    root: Root | None = None,
    environ: Mapping[str, str] | None = None,
    extra_locations: list[tuple[str, str]] | None = None,
) -> SystemInfo:
    """Everything in :class:`SystemInfo`; reads files under ``root`` and never raises.

    ``extra_locations`` adds (purpose, path) pairs to the free-disk list (e.g. the interpreter's site-packages).
    """
    root = root or Root()
    env = os.environ if environ is None else environ
    info = minimal_system()
    home = env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~")
    info.home = home
    if info.os == "linux":
        rel = parse_os_release(root.read_text("/etc/os-release") or root.read_text("/usr/lib/os-release"))
        info.distro = rel.get("ID")
        info.distro_version = rel.get("VERSION_ID")
        info.distro_name = rel.get("PRETTY_NAME") or rel.get("NAME")
        info.kernel = (root.read_text("/proc/sys/kernel/osrelease") or os.uname().release).strip() or None
        info.glibc = _glibc()
        info.memory_total_bytes = _meminfo_total(root)
        info.wsl = "microsoft" in (info.kernel or "").lower()
        info.wsl_lib_dir = root.is_dir("/usr/lib/wsl/lib")
        info.container, info.container_evidence = detect_container(root, env)
    elif info.os == "macos":
        info.distro = "macos"
        info.distro_version = _platform().mac_ver()[0] or None
        info.kernel = _platform().release() or None
    elif info.os == "windows":
        info.distro = "windows"
        info.distro_version = _platform().version() or None
        info.kernel = _platform().release() or None
    info.cpu_model = _cpu_model(root) if info.os == "linux" else (_platform().processor() or None)
    info.cpu_count = os.cpu_count()
    if info.memory_total_bytes is None:
        try:
            import psutil

            info.memory_total_bytes = int(psutil.virtual_memory().total)
        except Exception:  # psutil missing or unsupported platform: leave unknown
            pass
    try:
        if hasattr(os, "uname"):
            info.hostname = os.uname().nodename or None
        else:
            import socket

            info.hostname = socket.gethostname() or None
    except OSError:
        pass
    info.user = _user(env)
    locations = disk_locations(env, home)
    known = {path for _, path in locations}
    locations += [(purpose, path) for purpose, path in extra_locations or [] if path and path not in known]
    for purpose, path in locations:
        disk = _disk(purpose, path)
        if disk:
            info.disks.append(disk)
    return info
