"""The machine snapshot: everything the probes found, serialisable to JSON and back.

A snapshot is what ``dlsetup doctor --save-snapshot`` writes and ``--snapshot FILE`` replays; the
resolver, doctor and verify all read this model. Fields may be added; renaming or removing one is a
schema change (bump ``SCHEMA_VERSION`` and keep reading the old form).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.toolconfig.model import ConfigSetting  # re-exported: part of the snapshot schema
from dlsetup.util.dc import SchemaError, from_dict, to_dict

SNAPSHOT_KIND = "dlsetup.snapshot"
SCHEMA_VERSION = 1


@dataclass
class ProbeAttempt:
    """One rung of a detection ladder: what was tried and what happened."""

    rung: str  # "nvml" | "libcuda" | "sysfs" | "procfs" | "nvidia-smi" | ...
    ok: bool
    duration_ms: float = 0.0
    error: str | None = None  # e.g. "LibraryNotFound", "timeout", "not-found", "garbage output"
    detail: str | None = None


@dataclass
class GpuProcess:
    pid: int
    name: str | None = None
    used_memory_mib: int | None = None


@dataclass
class Gpu:
    index: int
    name: str
    uuid: str | None = None
    pci_bus_id: str | None = None
    memory_total_mib: int | None = None
    memory_used_mib: int | None = None
    compute_capability: str | None = None  # "8.6"
    architecture: str | None = None  # "ampere", from NVML's architecture id where known
    mig_mode: str | None = None  # "enabled" | "disabled" | None when not supported
    persistence_mode: bool | None = None
    fabric_state: str | None = None  # "completed" | "in-progress" | "not-started" | None when not supported
    processes: list[GpuProcess] = field(default_factory=list)
    error: str | None = None  # (probe) NVML error name when this GPU could not be queried ("GpuIsLost")


@dataclass
class NvidiaInfo:
    """The NVIDIA driver and GPUs. ``rung`` is None when no driver was found by any rung."""

    driver_version: str | None = None  # "580.65.06"
    cuda_driver_version: str | None = None  # newest CUDA the driver supports, "13.0"
    rung: str | None = None
    attempts: list[ProbeAttempt] = field(default_factory=list)
    nvml_error: str | None = None  # NVML error class name without prefix, e.g. "LibraryNotFound"
    kernel_module: str | None = None  # /sys/module/nvidia/version
    proc_version: str | None = None  # first line of /proc/driver/nvidia/version
    device_nodes: list[str] = field(default_factory=list)  # /dev/nvidia* present
    gpus: list[Gpu] = field(default_factory=list)
    other_gpus: list[dict[str, Any]] = field(default_factory=list)  # AMD / Intel / Apple display devices
    # (doctor) where the libcuda rung loaded libcuda from, resolved ("/usr/lib/wsl/lib/libcuda.so.1")
    libcuda_path: str | None = None
    nvml_version: str | None = None  # nvmlSystemGetNVMLVersion, "13.580.65.06"
    library_version: str | None = None  # version in the libnvidia-ml.so.1 file name: the user-space driver
    cuinit_error: str | None = None  # libcuda rung: "CUDA_ERROR_STUB_LIBRARY (34)", "... (802)", None when cuInit ok
    nouveau_loaded: bool = False  # /sys/module/nouveau exists
    # (hw) a Docker/Podman host: the NVIDIA Container Toolkit's state (None when no container engine is installed)
    container_host: ContainerHostInfo | None = None


@dataclass
class ContainerHostInfo:
    """What ``docker run --gpus all`` needs on the host (probe/container_host.py)."""

    engines: list[str] = field(default_factory=list)  # "docker", "docker (snap)", "podman"
    toolkit: str | None = None  # nvidia-ctk or nvidia-container-runtime-hook found (its path)
    daemon_json: str | None = None  # /etc/docker/daemon.json when it exists
    docker_nvidia_runtime: bool = False  # daemon.json registers the "nvidia" runtime
    cdi_specs: list[str] = field(default_factory=list)  # CDI specs naming nvidia.com/gpu (/etc/cdi, /var/run/cdi)
    cdi_driver_versions: list[str] = field(default_factory=list)  # driver versions the specs were generated for
    cgroup_v2: bool = False  # /sys/fs/cgroup/cgroup.controllers exists
    dev_char_nvidia: int = 0  # /dev/char/* symlinks to /dev/nvidia* nodes


@dataclass
class DiskSpace:
    path: str
    purpose: str  # "home", "conda envs", "pip cache", ...
    free_bytes: int
    total_bytes: int


@dataclass
class SystemInfo:
    os: str  # "linux" | "windows" | "macos"
    arch: str  # "x86_64" | "aarch64" | "arm64"
    distro: str | None = None
    distro_version: str | None = None
    kernel: str | None = None
    glibc: str | None = None  # "2.36"
    cpu_model: str | None = None
    cpu_count: int | None = None
    memory_total_bytes: int | None = None
    disks: list[DiskSpace] = field(default_factory=list)
    wsl: bool = False
    wsl_lib_dir: bool = False  # /usr/lib/wsl/lib exists
    container: str | None = None  # "docker" | "podman" | "kubernetes" | "lxc" | None
    hostname: str | None = None
    user: str | None = None
    home: str | None = None
    distro_name: str | None = None  # PRETTY_NAME from os-release, "Ubuntu 22.04.4 LTS"
    container_evidence: list[str] = field(default_factory=list)  # "/.dockerenv", "/proc/1/cgroup: ...", ...


@dataclass
class Toolkit:
    path: str
    version: str | None = None  # "12.6" or "12.6.85"
    source: str | None = None  # "nvcc" | "version.json" | "version.txt"
    nvcc: str | None = None
    aliases: list[str] = field(default_factory=list)  # (probe) symlinks to it: "/usr/local/cuda"


@dataclass
class LibDir:
    """One LD_LIBRARY_PATH entry and what it holds."""

    path: str
    exists: bool = True
    cudart: bool = False
    cudnn: bool = False
    libcuda: bool = False
    stubs: bool = False
    compat: bool = False


@dataclass
class CudaInfo:
    toolkits: list[Toolkit] = field(default_factory=list)
    nvcc_path: str | None = None  # nvcc found on PATH
    nvcc_version: str | None = None
    cuda_home: str | None = None  # CUDA_HOME / CUDA_PATH
    cudnn: list[dict[str, Any]] = field(default_factory=list)  # {"path": ..., "version": "9.1.0"}
    ld_library_path: list[LibDir] = field(default_factory=list)
    compat_libs: list[str] = field(default_factory=list)
    gcc_version: str | None = None


@dataclass
class Tool:
    name: str
    found: bool = False
    path: str | None = None
    version: str | None = None
    detail: str | None = None


@dataclass
class PythonInfo:
    executable: str
    version: str  # "3.11.7"
    implementation: str = "cpython"
    prefix: str | None = None
    base_prefix: str | None = None
    is_venv: bool = False
    is_conda: bool = False


@dataclass
class ToolingInfo:
    python: PythonInfo
    tools: list[Tool] = field(default_factory=list)  # pip, uv, conda, mamba, micromamba, pixi
    pip_matches_python: bool | None = None  # `pip` on PATH is this interpreter's `python -m pip`
    virtual_env: str | None = None
    conda_prefix: str | None = None
    conda_default_env: str | None = None
    settings: list[ConfigSetting] = field(default_factory=list)
    pip_python: str | None = None  # the interpreter the `pip` on PATH runs (from its shebang)
    python_on_path: str | None = None  # (probe) `python` (else `python3`) on PATH, pyenv shims resolved


@dataclass
class DeepImport:
    """What importing a framework in a subprocess showed (``doctor --deep``)."""

    ok: bool
    timed_out: bool = False
    error: str | None = None
    duration_s: float = 0.0
    cuda_available: bool | None = None
    device_count: int | None = None
    cuda_version: str | None = None
    arch_list: list[str] = field(default_factory=list)
    cudnn_version: int | None = None
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Framework:
    name: str  # distribution name: "torch", "tensorflow", "jaxlib", ...
    version: str | None = None
    location: str | None = None
    installer: str | None = None  # "pip" | "conda" | "uv" | ...
    cuda: str | None = None  # CUDA the build was made with ("12.6"); None for CPU builds
    variant: str | None = None  # "cu126" | "cpu" | "rocm6.2" | ...
    retired: bool = False
    successor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    deep: DeepImport | None = None


@dataclass
class FrameworksInfo:
    python: str | None = None  # interpreter whose site-packages were read
    items: list[Framework] = field(default_factory=list)
    conda_packages: list[str] = field(default_factory=list)  # relevant conda-meta names: cpuonly, pytorch, ...
    # (doctor) other relevant installed distributions, name -> version: pynvml, nvidia-ml-py, nvidia-cudnn-cu12, ...
    packages: dict[str, str] = field(default_factory=dict)
    site_dirs: list[str] = field(default_factory=list)  # (probe) directories whose metadata was read
    conda_records: dict[str, str] = field(default_factory=dict)  # (probe) conda name -> "version build"
    deep: bool = False


@dataclass
class WindowsInfo:
    """Facts only a Windows machine has (``Snapshot.windows``; absent from other machines' snapshots)."""

    # HKLM\SYSTEM\CurrentControlSet\Control\FileSystem LongPathsEnabled (paths over 260 characters)
    # https://learn.microsoft.com/windows/win32/fileio/maximum-file-path-limitation
    long_paths_enabled: bool | None = None
    # The Visual C++ 2015-2022 x64 runtime: HKLM\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64 "Version"
    # https://learn.microsoft.com/cpp/windows/redistributing-visual-cpp-files
    vc_runtime: str | None = None
    vc_runtime_checked: bool = False
    python_bits: int | None = None  # 32 or 64: the diagnosed interpreter's pointer size
    home_ascii: bool | None = None  # %USERPROFILE% is plain ASCII (recorded before redaction hides the name)
    powershell_conda_init: bool | None = None  # a PowerShell profile runs conda's hook ("conda initialize")


@dataclass
class Snapshot:
    system: SystemInfo
    tooling: ToolingInfo
    nvidia: NvidiaInfo = field(default_factory=NvidiaInfo)
    cuda: CudaInfo = field(default_factory=CudaInfo)
    frameworks: FrameworksInfo = field(default_factory=FrameworksInfo)
    env: dict[str, str] = field(default_factory=dict)  # relevant variables: CUDA_VISIBLE_DEVICES, ...
    kind: str = SNAPSHOT_KIND
    schema_version: int = SCHEMA_VERSION
    dlsetup_version: str | None = None
    created: str | None = None  # ISO 8601
    origin: str = "live probe"  # fixtures say which machine and command they come from
    redacted: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)  # (doctor) per probe part: "system", "nvidia", ...
    probe_errors: list[ProbeAttempt] = field(default_factory=list)  # (probe) a part that crashed or timed out
    windows: WindowsInfo | None = field(default=None, metadata={"omit_none": True})  # Windows machines only

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        """Parse a snapshot document; raises SchemaError naming the bad field."""
        if not isinstance(data, dict):
            raise SchemaError("", "not a JSON object")
        if data.get("kind") != SNAPSHOT_KIND:
            raise SchemaError("kind", f"not a dlsetup snapshot (kind={data.get('kind')!r})")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
            raise SchemaError("schema_version", f"unsupported schema version {version!r}")
        return from_dict(cls, data)

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        """Read a snapshot file; every failure is a UsageError with a one-line reason."""
        from dlsetup.errors import UsageError
        from dlsetup.probe.document import read_document

        p = Path(path)
        data = read_document(p)  # regular files only, bounded size, depth, numbers and strings
        try:
            return cls.from_dict(data)
        except SchemaError as exc:
            raise UsageError("core.error.snapshot_invalid", path=str(p), reason=str(exc)) from None
