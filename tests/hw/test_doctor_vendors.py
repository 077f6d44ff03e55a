"""doctor on AMD and Intel GPU machines: the card from the GPU database, what PyTorch runs on it, and whether the
ROCm kernel interface is there (hand-built snapshots with the facts probe/nvidia.py records for AMD/Intel devices)."""

from __future__ import annotations

from dlsetup.probe.model import NvidiaInfo
from tests.doctor.helpers import by_id, machine


def _amd(pci_id: str, kfd: bool, tools: list[str]):
    return machine(nvidia=NvidiaInfo(nvml_error="LibraryNotFound", other_gpus=[
        {"vendor": "amd", "name": None, "pci_id": pci_id, "slot": "0000:03:00.0", "driver": "amdgpu",
         "kfd": kfd, "tools": tools}]))


def test_rocm_card_without_kfd_says_how_to_get_the_kernel_interface():
    f = by_id(_amd("1002:744c", kfd=False, tools=[]), "gpu.none")
    text = "\n".join(f.evidence)
    assert "gfx1100" in text and "ROCm support list" in text
    assert "/sys/class/kfd: missing" in text and "render and video groups" in text


def test_consumer_card_gets_the_hsa_override_as_a_workaround():
    f = by_id(_amd("1002:7480", kfd=True, tools=["rocminfo"]), "gpu.none")
    text = "\n".join(f.evidence)
    assert "HSA_OVERRIDE_GFX_VERSION=11.0.0" in text and "workaround" in text and "tools on PATH" in text
    assert "rocminfo" in text and "missing" not in text


def test_a_card_rocm_does_not_run_on_says_cpu():
    f = by_id(_amd("1002:731f", kfd=True, tools=[]), "gpu.none")  # Navi 10 (RX 5700 XT), gfx1010
    assert "not supported by ROCm builds" in "\n".join(f.evidence)
