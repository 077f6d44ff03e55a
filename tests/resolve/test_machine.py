"""Machine: built from probe snapshots (fixtures) and from command-line overrides."""

from __future__ import annotations

import pytest

from dlsetup.errors import UsageError
from dlsetup.probe.model import Snapshot
from dlsetup.resolve import Machine, apply_overrides, machine_from_snapshot
from tests.conftest import FIXTURES

SNAP = FIXTURES / "snapshots"


def load(name: str) -> Machine:
    return machine_from_snapshot(Snapshot.load(SNAP / name), source=name)


def test_h100_box():
    m = load("h100-r580.json")
    assert (m.os, m.arch, m.python, m.driver, m.cuda_driver) == ("linux", "x86_64", "3.11", "580.65.06", "13.0")
    assert len(m.gpus) == 8 and {g.cc for g in m.gpus} == {"9.0"} and m.gpu_machine


def test_gpu_without_cc_gets_it_from_its_name():
    m = load("container-no-gpus.json")
    assert [(g.name, g.cc, g.cc_source) for g in m.gpus] == [("NVIDIA GeForce RTX 4090", "8.9", "name")]


def test_lost_gpu_without_name_or_cc_is_left_out():
    m = load("a100-gpu-lost.json")
    assert [g.cc for g in m.gpus] == ["8.0"]


def test_no_driver_uses_the_pci_name_and_remembers_the_library():
    m = load("gtx1080ti-r590.json")
    assert m.driver is None and m.cuda_driver is None
    assert m.driver_problem.startswith("DriverNotLoaded") and m.driver_library == "590.44.01"
    assert [g.cc for g in m.gpus] == ["6.1"] and m.gpu_machine


def test_nouveau_box_is_a_gpu_machine_without_a_driver():
    m = load("nouveau-no-driver.json")
    assert m.driver is None and m.gpus[0].cc == "7.5" and m.gpu_machine


def test_amd_only_box_is_not_a_gpu_machine():
    m = load("amd-rocm-no-nvidia.json")
    assert m.gpus == [] and not m.gpu_machine


def test_wsl_flag():
    assert load("wsl2-rtx4070.json").wsl is True


def test_overrides_replace_facts():
    m = apply_overrides(load("h100-r580.json"), gpu_cc=["6.1", "12.0"], driver="575.57.08", python="3.12")
    assert [g.cc for g in m.gpus] == ["6.1", "12.0"] and all(g.cc_source == "override" for g in m.gpus)
    assert m.driver == "575.57.08" and m.cuda_driver == "12.9" and m.python == "3.12"
    assert set(m.overrides) == {"gpu-cc", "driver", "python"}


def test_macos_never_has_nvidia_gpus():
    m = apply_overrides(load("h100-r580.json"), os="macos", arch="arm64")
    assert m.os == "macos" and m.arch == "aarch64" and m.gpus == [] and not m.gpu_machine


def test_no_gpu_flag():
    m = apply_overrides(load("h100-r580.json"), no_gpu=True)
    assert m.gpus and not m.gpu_machine


@pytest.mark.parametrize("kw", [dict(os="beos"), dict(arch="mips"), dict(python="3"), dict(python="x.y"),
                                dict(driver="abc"), dict(driver="12"), dict(gpu_cc=["nine"]), dict(glibc="2")])
def test_bad_overrides_raise_usage_errors(kw):
    with pytest.raises(UsageError):
        apply_overrides(Machine(os="linux", arch="x86_64", python="3.11"), **kw)
