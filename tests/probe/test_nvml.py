"""NVML rung: the real prober against recorded NVML answers (tests/fixtures/hw), every NVML error class."""

from __future__ import annotations

import warnings

import pynvml
import pytest

from dlsetup.probe._fs import Root
from dlsetup.probe.nvidia import probe_nvidia
from dlsetup.probe.nvml import decode_cuda_version, error_name, load_pynvml, probe_nvml
from tests.probe.hwkit import NvmlReplay, load_hw

NVML_ERROR_CLASSES = sorted(n[len("NVMLError_"):] for n in dir(pynvml) if n.startswith("NVMLError_"))


def test_the_error_list_covers_the_classes_the_doctor_maps():
    for name in ("LibraryNotFound", "DriverNotLoaded", "LibRmVersionMismatch", "NoPermission", "GpuIsLost",
                 "FunctionNotFound", "NotSupported", "Unknown", "ResetRequired", "InsufficientPower"):
        assert name in NVML_ERROR_CLASSES


@pytest.mark.parametrize("name", NVML_ERROR_CLASSES)
def test_every_nvml_error_class_at_init_is_reported_by_name(name):
    replay = NvmlReplay({"init": {"error": name}})
    result = probe_nvml(replay)
    assert result.ok is False
    assert result.error == name
    assert replay.calls == ["nvmlInit"]  # nothing else was asked of a library that failed to start


@pytest.mark.parametrize("name", ["LibraryNotFound", "DriverNotLoaded", "LibRmVersionMismatch", "NoPermission",
                                  "GpuIsLost", "Unknown"])
def test_nvml_errors_reach_the_snapshot_and_the_ladder_goes_on(name, tmp_path):
    info = probe_nvidia(Root(tmp_path), {"PATH": str(tmp_path)}, nvml_module=NvmlReplay({"init": {"error": name}}),
                        timeout=5, os_name="linux")
    assert info.nvml_error == name
    assert [a.rung for a in info.attempts] == ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]
    assert info.attempts[0].error == name and not info.attempts[0].ok
    assert info.rung is None and info.driver_version is None


def test_h100_recording_gives_driver_cuda_and_every_gpu():
    rec = load_hw("h100-r580")["nvml"]
    result = probe_nvml(NvmlReplay(rec))
    assert result.ok and result.error is None
    assert result.driver_version == "580.65.06"
    assert result.cuda_driver_version == "13.0"
    assert result.nvml_version == "13.580.65.06"
    assert len(result.gpus) == 8
    g = result.gpus[0]
    assert (g.name, g.compute_capability, g.architecture) == ("NVIDIA H100 80GB HBM3", "9.0", "hopper")
    assert g.memory_total_mib == 81559 and g.memory_used_mib == 74210
    assert g.mig_mode == "disabled" and g.persistence_mode is True and g.fabric_state == "completed"
    assert g.pci_bus_id == "00000000:18:00.0" and g.uuid.startswith("GPU-")
    assert [(p.pid, p.name, p.used_memory_mib) for p in g.processes] == [
        (48211, "/home/alice/miniconda3/envs/llm/bin/python", 74210)]
    assert all(not gpu.processes for gpu in result.gpus[1:])
    assert result.field_errors == []


def test_consumer_gpu_fields_without_support_are_none_not_errors():
    rec = load_hw("rtx4090-torch-cpu")["nvml"]
    result = probe_nvml(NvmlReplay(rec))
    g = result.gpus[0]
    assert result.ok and g.mig_mode is None and g.fabric_state is None
    assert "gpu0.mig_mode: NotSupported" in result.field_errors
    assert "gpu0.fabric_state: NotSupported" in result.field_errors


def test_fabric_state_not_started_and_mig_pending():
    rec = load_hw("nvswitch-fabric-not-started")["nvml"]
    rec["devices"][0]["mig_mode"] = [0, 1]
    result = probe_nvml(NvmlReplay(rec))
    assert {g.fabric_state for g in result.gpus} == {"not-started"}
    assert result.gpus[0].mig_mode == "disabled (pending enabled)"


def test_one_lost_gpu_is_marked_on_that_gpu():
    result = probe_nvml(NvmlReplay(load_hw("a100-gpu-lost")["nvml"]))
    assert result.ok and result.error is None
    assert [g.error for g in result.gpus] == [None, "GpuIsLost"]
    assert result.gpus[0].name == "NVIDIA A100 80GB PCIe"


def test_every_gpu_lost_sets_the_nvml_error():
    rec = {"driver_version": "570.133.20", "cuda_driver_version": 12080,
           "devices": [{"handle_error": "GpuIsLost"}, {"handle_error": "GpuIsLost"}]}
    result = probe_nvml(NvmlReplay(rec))
    assert result.error == "GpuIsLost"


def test_old_driver_without_v2_cuda_call_falls_back():
    rec = dict(load_hw("rtx3090-r470-cu126")["nvml"])

    class OldDriver(NvmlReplay):
        def nvmlSystemGetCudaDriverVersion_v2(self):
            raise pynvml.NVMLError_FunctionNotFound()

    result = probe_nvml(OldDriver(rec))
    assert result.cuda_driver_version == "11.4"
    assert "cuda_driver_version: FunctionNotFound" in result.field_errors


def test_device_count_failure_stops_with_that_error():
    result = probe_nvml(NvmlReplay({"driver_version": "550.1", "cuda_driver_version": 12040,
                                    "device_count": {"error": "NoPermission"}}))
    assert result.ok is False and result.error == "NoPermission"
    assert result.driver_version == "550.1"


def test_a_binding_bug_in_one_field_does_not_end_the_probe():
    rec = load_hw("rtx4090-torch-cpu")["nvml"]

    class Buggy(NvmlReplay):
        def nvmlDeviceGetMemoryInfo(self, h, version=None):
            raise AttributeError("c_nvmlMemory_t has no attribute total")

    result = probe_nvml(Buggy(rec))
    assert result.ok and result.gpus[0].name == "NVIDIA GeForce RTX 4090"
    assert result.gpus[0].memory_total_mib is None
    assert "gpu0.memory: AttributeError" in result.field_errors


def test_shutdown_is_called_after_a_successful_init():
    replay = NvmlReplay(load_hw("wsl2-rtx4070")["nvml"])
    probe_nvml(replay)
    assert replay.calls == ["nvmlInit", "nvmlShutdown"]


def test_a_hanging_nvml_is_a_timeout_attempt(tmp_path):
    replay = NvmlReplay({"init": {"hang": 30}})
    try:
        info = probe_nvidia(Root(tmp_path), {"PATH": str(tmp_path)}, nvml_module=replay, timeout=0.5, os_name="linux")
    finally:
        replay.released.set()
    assert info.attempts[0].rung == "nvml" and info.attempts[0].error == "timeout"
    assert info.nvml_error == "Timeout"


def test_real_pynvml_on_this_box_has_no_library():
    result = probe_nvml(None)
    assert result.ok is False and result.error == "LibraryNotFound"


@pytest.mark.parametrize("value,expected", [(13000, "13.0"), (12040, "12.4"), (11040, "11.4"), (12090, "12.9"),
                                            (13010, "13.1"), (0, None), (None, None), (-1, None)])
def test_cuda_version_decoding(value, expected):
    assert decode_cuda_version(value) == expected


def test_error_name_forms():
    assert error_name(pynvml.NVMLError_LibRmVersionMismatch()) == "LibRmVersionMismatch"
    assert error_name(pynvml.NVMLLibraryMismatchError("x")) == "LibraryMismatch"
    assert error_name(ValueError("x")) == "ValueError"


def test_deprecated_pynvml_warning_is_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        load_pynvml()
        warnings.warn("The pynvml package is deprecated. Please install nvidia-ml-py instead.", FutureWarning, stacklevel=1)
    assert not [w for w in caught if "deprecated" in str(w.message)]
