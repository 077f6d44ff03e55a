"""Build machine snapshots by hand for doctor's check tests.

Each test states the machine it stands for; the values (driver versions, GPU names, compute
capabilities, error strings) are the ones real tools print — NVML class names from nvidia-ml-py
13.615.71, cuInit codes from CUDA's ``cuda.h``, nvidia-smi/`/proc` formats as NVIDIA documents them.
"""

from __future__ import annotations

from dlsetup.doctor.model import Finding
from dlsetup.doctor.runner import diagnose
from dlsetup.probe.model import ConfigSetting as ConfigSettingRow
from dlsetup.probe.model import (
    CudaInfo,
    DeepImport,
    DiskSpace,
    Framework,
    FrameworksInfo,
    Gpu,
    LibDir,
    NvidiaInfo,
    ProbeAttempt,
    PythonInfo,
    Snapshot,
    SystemInfo,
    Tool,
    ToolingInfo,
    Toolkit,
)

__all__ = [
    "ConfigSettingRow", "CudaInfo", "DeepImport", "DiskSpace", "Framework", "FrameworksInfo", "Gpu", "LibDir", "NvidiaInfo",
    "ProbeAttempt", "PythonInfo", "Snapshot", "SystemInfo", "Tool", "ToolingInfo", "Toolkit",
    "machine", "gpu_box", "torch", "ids", "by_id", "run",
]

PY = "/home/stu/venv/bin/python"


def machine(**kw) -> Snapshot:
    """A Linux x86_64 Ubuntu box with a venv and nothing else; keyword arguments replace parts."""
    system = kw.pop("system", None) or SystemInfo(
        os="linux", arch="x86_64", distro="ubuntu", distro_version="22.04", kernel="6.5.0-35-generic",
        glibc="2.35", disks=[DiskSpace(path="/home/stu", purpose="home", free_bytes=200 * 1024**3,
                                       total_bytes=500 * 1024**3)])
    tooling = kw.pop("tooling", None) or ToolingInfo(
        python=PythonInfo(executable=PY, version="3.11.9", prefix="/home/stu/venv", base_prefix="/usr",
                          is_venv=True),
        tools=[Tool(name="pip", found=True, path="/home/stu/venv/bin/pip", version="24.0")],
        pip_matches_python=True, virtual_env="/home/stu/venv")
    snap = Snapshot(system=system, tooling=tooling, origin="tests/doctor/helpers.py (hand-built)")
    for key, value in kw.items():
        setattr(snap, key, value)
    return snap


def gpu_box(name: str = "NVIDIA GeForce RTX 3090", cc: str = "8.6", driver: str = "550.54.14",
            cuda: str = "12.4", count: int = 1, **kw) -> Snapshot:
    """A machine whose driver answered through NVML and lists ``count`` GPUs."""
    nvidia = NvidiaInfo(
        driver_version=driver, cuda_driver_version=cuda, rung="nvml", kernel_module=driver,
        attempts=[ProbeAttempt(rung="nvml", ok=True, duration_ms=35.0)],
        device_nodes=["/dev/nvidiactl", *(f"/dev/nvidia{i}" for i in range(count)), "/dev/nvidia-uvm"],
        gpus=[Gpu(index=i, name=name, uuid=f"GPU-0000000{i}-1111-2222-3333-444444444444",
                  memory_total_mib=24576, compute_capability=cc) for i in range(count)],
    )
    return machine(nvidia=nvidia, **kw)


def torch(version: str = "2.6.0+cu124", cuda: str | None = "12.4", variant: str | None = None,
          installer: str = "pip", location: str = "/home/stu/venv/lib/python3.11/site-packages",
          deep: DeepImport | None = None, name: str = "torch") -> Framework:
    if variant is None:
        variant = version.split("+", 1)[1] if "+" in version else ("cu" + cuda.replace(".", "") if cuda else "cpu")
    return Framework(name=name, version=version, location=location, installer=installer, cuda=cuda,
                     variant=variant, deep=deep)


def run(snap: Snapshot, strict: bool = False):
    return diagnose(snap, strict=strict, source="test")


def ids(snap: Snapshot) -> list[str]:
    return [f.id for f in run(snap).findings]


def by_id(snap: Snapshot, fid: str) -> Finding:
    found = [f for f in run(snap).findings if f.id == fid]
    assert found, f"{fid} not among {[f.id for f in run(snap).findings]}"
    return found[0]
