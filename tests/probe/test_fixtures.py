"""The snapshot fixtures: each loads, says where it came from, is redacted, and is what the probe builds now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from dlsetup.probe.model import Snapshot
from tests.probe.conftest import needs_cc
from tests.probe.hwkit import hw_names

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
ALL = sorted(p.stem for p in SNAPSHOTS.glob("*.json"))
REQUIRED = {"ci-box", "h100-r580", "rtx3090-r470-cu126", "gtx1080ti-r590", "wsl2-rtx4070", "container-no-gpus",
            "rtx4090-torch-cpu"}


def load_script(path: Path):
    """Import a script by path under a private name (``build`` would clash with the PyPA package)."""
    spec = importlib.util.spec_from_file_location(f"dlsetup_fixture_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_issue_s_fixtures_exist():
    assert REQUIRED <= set(ALL)
    assert set(hw_names()) | {"ci-box"} == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_fixture_loads_and_states_its_origin(name):
    snap = Snapshot.load(SNAPSHOTS / f"{name}.json")
    assert snap.origin and snap.origin != "live probe" and len(snap.origin) > 60
    assert snap.redacted is True and snap.system.hostname == "<hostname>"
    assert snap.to_dict() == json.loads((SNAPSHOTS / f"{name}.json").read_text())  # nothing lost or renamed
    if snap.nvidia.rung:
        assert any(a.rung == snap.nvidia.rung and a.ok for a in snap.nvidia.attempts)


@needs_cc
@pytest.mark.parametrize("name", hw_names())
def test_fixture_is_what_the_probe_builds(name, tmp_path):
    rebuilt = load_script(SNAPSHOTS / "build.py").build(name, tmp_path)
    committed = json.loads((SNAPSHOTS / f"{name}.json").read_text())
    assert rebuilt == committed, f"rebuild with: .venv/bin/python tests/fixtures/snapshots/build.py {name}"
