"""The probe on this very machine (no GPU, no conda): correct facts, no torch import, never a crash."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from dlsetup import i18n
from dlsetup.probe import PARTS, describe_attempt, probe_machine
from dlsetup.probe.model import ProbeAttempt, Snapshot


@pytest.fixture(scope="module")
def live() -> Snapshot:
    return probe_machine()


def test_no_gpu_means_library_not_found_and_no_driver(live):
    nv = live.nvidia
    if os.path.exists("/dev/nvidiactl"):
        pytest.skip("this machine has an NVIDIA driver")
    assert nv.nvml_error == "LibraryNotFound" and nv.rung is None and nv.driver_version is None
    assert nv.gpus == [] and nv.device_nodes == []
    assert [a.rung for a in nv.attempts][0] == "nvml"


def test_os_arch_and_python_are_right(live):
    assert live.system.os == "linux" if sys.platform.startswith("linux") else True
    assert live.system.arch == {"amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())
    assert live.tooling.python.executable == sys.executable
    assert live.tooling.python.version == platform.python_version()
    assert live.frameworks.python == sys.executable


def test_every_part_has_a_timing_and_no_part_failed(live):
    assert set(PARTS) <= set(live.timings_ms) and "total" in live.timings_ms
    assert live.probe_errors == []
    assert live.kind == "dlsetup.snapshot" and live.dlsetup_version


def test_snapshot_round_trips_through_json(live):
    back = Snapshot.from_dict(json.loads(live.to_json()))
    assert back.to_dict() == live.to_dict()


def test_fast_probe_imports_neither_torch_nor_tensorflow():
    code = ("import sys; from dlsetup.probe import probe_machine; s = probe_machine(); "
            "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_parts_limit_the_work():
    snap = probe_machine(parts={"system", "nvidia"})
    assert set(snap.timings_ms) == {"interpreter", "system", "nvidia", "total"}
    assert snap.frameworks.items == [] and snap.tooling.tools == [] and snap.env == {}
    assert snap.system.kernel  # the system part ran
    assert snap.tooling.python.executable  # the basics are always there


def test_unknown_part_is_a_programming_error():
    with pytest.raises(ValueError):
        probe_machine(parts={"gpu"})


def test_a_crashing_prober_becomes_a_probe_error(monkeypatch):
    import dlsetup.probe.cuda as cuda

    def boom(*a, **k):
        raise RuntimeError("prober bug")

    monkeypatch.setattr(cuda, "probe_cuda", boom)
    snap = probe_machine(parts={"system", "cuda"})
    assert [(e.rung, e.error) for e in snap.probe_errors] == [("cuda", "RuntimeError")]
    assert snap.cuda.toolkits == [] and snap.system.kernel


def test_environment_variables_are_captured_and_redacted(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("PIP_INDEX_URL", "https://u:secret@example.org/simple")
    monkeypatch.setenv("HF_TOKEN", "hf_abc")
    snap = probe_machine(parts={"env"})
    assert snap.env["CUDA_VISIBLE_DEVICES"] == ""
    assert snap.env["PIP_INDEX_URL"] == "https://u:***@example.org/simple"
    assert "HF_TOKEN" not in snap.env


@pytest.mark.torch
def test_deep_on_this_box_imports_the_real_torch_in_a_child():
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    snap = probe_machine(deep=True, parts={"frameworks"}, deep_timeout=240)
    torch = next(f for f in snap.frameworks.items if f.name == "torch")
    d = torch.deep
    assert snap.frameworks.deep is True and d is not None and d.ok, d
    assert d.cuda_available is False and d.device_count == 0 and d.details["version"] == torch.version
    assert d.details["file"].startswith(torch.location)
    if torch.variant == "cpu":
        assert d.cuda_version is None and d.arch_list == [] and d.cudnn_version is None


def test_describe_attempt_in_both_languages():
    a = ProbeAttempt(rung="nvml", ok=False, error="LibraryNotFound")
    assert describe_attempt(a).startswith("NVML (nvidia-ml-py): the NVML library")
    i18n.set_language("zh")
    assert "找不到 NVML 库" in describe_attempt(a)
    assert describe_attempt(ProbeAttempt(rung="nvidia-smi", ok=False, error="weird")) == "nvidia-smi --query-gpu：错误 weird"
    assert describe_attempt(ProbeAttempt(rung="sysfs", ok=True)).endswith("已应答")
