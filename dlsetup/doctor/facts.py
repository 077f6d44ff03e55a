"""Small questions several checks ask about a snapshot (no compatibility data here)."""

from __future__ import annotations

import re

from dlsetup.probe.model import Framework, Snapshot

TORCH = "torch"


def framework(snap: Snapshot, name: str) -> Framework | None:
    """The first installed framework distribution called ``name`` (normalised), or None."""
    want = normalise(name)
    for fw in snap.frameworks.items:
        if normalise(fw.name) == want:
            return fw
    return None


def frameworks_named(snap: Snapshot, name: str) -> list[Framework]:
    want = normalise(name)
    return [fw for fw in snap.frameworks.items if normalise(fw.name) == want]


def normalise(name: str) -> str:
    """PEP 503 name normalisation: ``Torch_Vision`` → ``torch-vision``."""
    from dlsetup.util.names import canonical_name

    return canonical_name(name)


def nvidia_gpus_listed(snap: Snapshot) -> bool:
    """The driver answered and listed at least one GPU."""
    return bool(snap.nvidia.gpus)


def nvidia_pci_devices(snap: Snapshot) -> list[dict]:
    """NVIDIA display devices seen on the PCI bus, whatever driver is bound (or none)."""
    return [g for g in snap.nvidia.other_gpus if str(g.get("vendor", "")).lower() == "nvidia"]


_VENDORS = {"nvidia": "NVIDIA", "amd": "AMD", "intel": "Intel", "aspeed": "ASPEED", "apple": "Apple", "matrox": "Matrox",
            "vmware": "VMware", "qemu": "QEMU", "virtio": "virtio", "microsoft": "Microsoft"}


def vendor_label(vendor: object) -> str:
    """``"amd"`` → ``"AMD"`` for display; unknown PCI vendor ids stay as they are."""
    return _VENDORS.get(str(vendor or "").lower(), str(vendor or "?"))


def other_vendor_gpus(snap: Snapshot, vendor: str) -> list[dict]:
    return [g for g in snap.nvidia.other_gpus if str(g.get("vendor", "")).lower() == vendor]


def driver_found(snap: Snapshot) -> bool:
    """Some rung of the ladder found an NVIDIA driver (version known)."""
    return bool(snap.nvidia.driver_version or snap.nvidia.rung)


def has_nvidia_hardware(snap: Snapshot) -> bool:
    """There is an NVIDIA GPU here, usable or not (listed by the driver, seen on PCI, or device nodes)."""
    return bool(
        snap.nvidia.gpus
        or nvidia_pci_devices(snap)
        or driver_found(snap)
        or any(_is_gpu_node(p) for p in snap.nvidia.device_nodes)
    )


def _is_gpu_node(path: str) -> bool:
    return re.search(r"/nvidia\d+$", path) is not None


def gpu_nodes(snap: Snapshot) -> list[str]:
    return [p for p in snap.nvidia.device_nodes if _is_gpu_node(p)]


def is_cuda_build(fw: Framework) -> bool:
    """The framework was built against CUDA (``+cu126``, a plain package-index wheel with CUDA, ``-gpu``)."""
    variant = (fw.variant or "").lower()
    return bool(fw.cuda) or variant.startswith("cu") or variant == "gpu"


def is_cpu_build(fw: Framework) -> bool:
    """Known to be a CPU-only build (``+cpu``, or version.py says no CUDA and it is not ROCm/XPU)."""
    variant = (fw.variant or "").lower()
    if variant == "cpu":
        return True
    if variant.startswith(("cu", "rocm", "xpu")):
        return False
    if fw.version and "+cpu" in fw.version:
        return True
    return False


def cuda_of(fw: Framework) -> str | None:
    """``"12.6"`` from ``fw.cuda`` or from a ``cu126`` variant."""
    if fw.cuda:
        return fw.cuda
    m = re.fullmatch(r"cu(\d+)(\d)", fw.variant or "")
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    return None


def variant_of(fw: Framework) -> str | None:
    if fw.variant:
        return fw.variant
    if fw.version and "+" in fw.version:
        return fw.version.split("+", 1)[1]
    cuda = fw.cuda
    if cuda:
        return "cu" + cuda.replace(".", "")
    return None


def public_version(version: str | None) -> str | None:
    """``2.6.0+cu124`` → ``2.6.0``."""
    if not version:
        return None
    return version.split("+", 1)[0]


def cuda_frameworks(snap: Snapshot) -> list[Framework]:
    return [fw for fw in snap.frameworks.items if is_cuda_build(fw)]


def version_tuple(version: str | None) -> tuple[int, ...]:
    """``"12.6.85"`` → ``(12, 6, 85)``; non-numeric parts stop the tuple; None → ()."""
    out: list[int] = []
    for part in re.split(r"[.\-+]", version or ""):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


def major_minor(version: str | None) -> str | None:
    parts = version_tuple(version)
    if len(parts) >= 2:
        return f"{parts[0]}.{parts[1]}"
    if len(parts) == 1:
        return f"{parts[0]}.0"
    return None


def version_lt(a: str | None, b: str | None) -> bool:
    """Numeric comparison of dotted versions; False when either is unknown."""
    if not a or not b:
        return False
    return version_tuple(a) < version_tuple(b)


def gib(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "?"
    return f"{n_bytes / 1024**3:.1f} GiB"


def python_cmd(snap: Snapshot) -> str:
    """How to call this machine's interpreter in a fix command."""
    exe = snap.tooling.python.executable or "python"
    return exe if " " not in exe else f'"{exe}"'


def env_set(snap: Snapshot, name: str) -> bool:
    return name in snap.env


def distro_id(snap: Snapshot) -> str:
    return (snap.system.distro or "").lower()


def cuinit_code(snap: Snapshot) -> int | None:
    """The CUresult number the libcuda rung's ``cuInit`` returned (``"... (802)"`` → 802), or None."""
    err = snap.nvidia.cuinit_error
    if not err:
        return None
    m = re.search(r"\((\d+)\)", err) or re.search(r"\b(\d{1,4})\b", err)
    return int(m.group(1)) if m else None


def in_env(snap: Snapshot) -> bool:
    """The diagnosed interpreter is a venv or a conda environment (packages are expected inside it)."""
    py = snap.tooling.python
    return bool(py.is_venv or py.is_conda)


def deep_warnings(snap: Snapshot, pattern: str, limit: int = 2) -> list[str]:
    """Warnings the frameworks printed under ``--deep`` that match ``pattern`` (regex, case-insensitive)."""
    rx = re.compile(pattern, re.I)
    out: list[str] = []
    for fw in snap.frameworks.items:
        if fw.deep is None:
            continue
        for w in fw.deep.warnings:
            if rx.search(w) and w not in out:
                out.append(w)
    return out[:limit]
