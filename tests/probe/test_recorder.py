"""The fixture recorder (tests/fixtures/hw/record.py) round-trips: record a replayed machine, replay the
recording, and the real probe sees the same NVIDIA facts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dlsetup.probe._fs import Root
from dlsetup.probe.nvidia import probe_nvidia
from tests.probe.hwkit import NvmlReplay, load_hw, materialize

HW = Path(__file__).resolve().parent.parent / "fixtures" / "hw"


@pytest.fixture(scope="module")
def record():
    from tests.probe.test_fixtures import load_script

    return load_script(HW / "record.py")


def _facts(info):
    d = dataclasses.asdict(info)
    for a in d["attempts"]:
        a["duration_ms"] = 0.0
    return d


@pytest.mark.parametrize("name", ["h100-r580", "a100-gpu-lost", "driver-library-mismatch", "wsl2-rtx4070"])
def test_record_then_replay_gives_the_same_probe(name, tmp_path, record):
    spec = load_hw(name)
    spec.pop("libcuda", None)  # the recorder does not copy compiled libraries
    original = materialize(spec, tmp_path / "a")
    recorded = record.record_tree(str(original.root))
    recorded["nvml"] = record.record_nvml(NvmlReplay(spec.get("nvml", {})))
    if "nvidia_smi" in spec:
        recorded["nvidia_smi"] = spec["nvidia_smi"]
    replayed = materialize(recorded, tmp_path / "b")
    a = probe_nvidia(Root(original.root), original.environ, nvml_module=original.nvml, timeout=10, os_name="linux")
    b = probe_nvidia(Root(replayed.root), replayed.environ, nvml_module=replayed.nvml, timeout=10, os_name="linux")
    assert _facts(a) == _facts(b)
    assert recorded["nvml"].get("init", {}).get("error") == spec["nvml"].get("init", {}).get("error")
