"""Checks fixed in the review pass: CUDA_VISIBLE_DEVICES parsing as CUDA does it, and the cause of a
missing-kernel error when the GPU is newer than the build. Machines are hand-built (tests/doctor/helpers.py).
"""

from __future__ import annotations

import pytest

from dlsetup import i18n
from dlsetup.doctor.model import ERROR, WARNING
from tests.doctor.helpers import DeepImport, FrameworksInfo, by_id, gpu_box, ids, torch

# --------------------------------------------------------------------------- CUDA_VISIBLE_DEVICES
# The rules are the ones torch/cuda/__init__.py ``_parse_visible_devices`` documents for the CUDA driver:
# a repeated device empties the set; entries are read like strtoul; a negative, non-numeric or
# out-of-range entry ends the list.


@pytest.mark.parametrize("value", ["0,0", "1,0,1", "0, 0", "1,01"])
def test_a_repeated_device_hides_every_gpu(value):
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": value})
    found = ids(snap)
    assert "env.cuda_visible_devices_truncated" not in found
    f = by_id(snap, "env.cuda_visible_devices_hides_all")
    assert f.severity == ERROR
    assert "twice" in f.cause and value in f.cause
    assert f.commands == ["unset CUDA_VISIBLE_DEVICES", "export CUDA_VISIBLE_DEVICES=0,1"]


def test_a_repeated_uuid_hides_every_gpu():
    snap = gpu_box(count=2)
    uuid = snap.nvidia.gpus[1].uuid
    snap.env = {"CUDA_VISIBLE_DEVICES": f"{uuid},{uuid.lower()}"}
    assert by_id(snap, "env.cuda_visible_devices_hides_all").severity == ERROR


@pytest.mark.parametrize("value,visible", [("1,-1,0", "1"), ("0,gpu1", "0"), ("0,5", "0")])
def test_the_list_stops_at_the_first_invalid_entry(value, visible):
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": value})
    f = by_id(snap, "env.cuda_visible_devices_truncated")
    assert f.severity == WARNING and f.commands == [f"export CUDA_VISIBLE_DEVICES={visible}"]


@pytest.mark.parametrize("value", ["1gpu", "+1", " 0 , 1 "])
def test_entries_read_like_strtoul_are_valid(value):
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": value})
    assert not [i for i in ids(snap) if i.startswith("env.")]


def test_repeated_cause_in_chinese():
    i18n.set_language("zh")
    f = by_id(gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": "0,0"}), "env.cuda_visible_devices_hides_all")
    assert "两次" in f.cause


# --------------------------------------------------------------------------- torch.arch_missing


def test_gpu_newer_than_the_build_says_so():
    # RTX 5090 (sm_120) with torch 2.6.0+cu124, whose kernels stop at sm_90 (pytorch/pytorch#145949)
    deep = DeepImport(ok=True, cuda_available=True, arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86",
                                                                "sm_90"])
    snap = gpu_box(name="NVIDIA GeForce RTX 5090", cc="12.0", driver="575.64.03", cuda="12.9",
                   frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", cuda="12.4", deep=deep)], deep=True))
    f = by_id(snap, "torch.arch_missing")
    assert "newer than every architecture" in f.cause and "dropped" not in f.cause
    assert "sm_120" in f.cause


def test_gpu_older_than_the_build_keeps_the_dropped_cause():
    # GTX 1080 Ti (sm_61) with 2.8.0+cu128, which starts at sm_70
    deep = DeepImport(ok=True, cuda_available=True, arch_list=["sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100",
                                                                "sm_120"])
    snap = gpu_box(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1", driver="580.95.05", cuda="13.0",
                   frameworks=FrameworksInfo(items=[torch("2.8.0+cu128", cuda="12.8", deep=deep)], deep=True))
    f = by_id(snap, "torch.arch_missing")
    assert "dropped" in f.cause and "newer than every" not in f.cause


def test_unreadable_compute_capability_is_no_verdict():
    # a hand-edited snapshot: no arch verdict rather than a false "no kernels" error
    snap = gpu_box(cc="garbage", frameworks=FrameworksInfo(items=[torch("2.6.0+cu124")]))
    assert "torch.arch_missing" not in ids(snap)


# --------------------------------------------------------------------------- symptoms and their causes


def _torch_sees_no_gpu(version="2.6.0+cu124", cuda="12.4"):
    return torch(version, cuda=cuda, deep=DeepImport(ok=True, cuda_available=False, device_count=0, cuda_version=cuda))


def test_torch_seeing_no_gpu_without_a_known_cause_is_reported():
    snap = gpu_box(frameworks=FrameworksInfo(items=[_torch_sees_no_gpu()], deep=True))
    f = by_id(snap, "framework.cuda_unavailable")
    assert f.severity == ERROR and "torch" in f.title


def test_an_unrelated_framework_error_does_not_hide_the_symptom():
    # TensorFlow fails to import; that says nothing about why torch sees no GPU
    tf = torch("2.17.0", cuda=None, variant="", name="tensorflow",
               deep=DeepImport(ok=False, error="ImportError: libcudnn.so.9: cannot open shared object file"))
    snap = gpu_box(frameworks=FrameworksInfo(items=[_torch_sees_no_gpu(), tf], deep=True))
    found = ids(snap)
    assert "framework.import_failed" in found and "framework.cuda_unavailable" in found


def test_a_cause_for_the_same_framework_hides_the_symptom():
    # torch 2.7.1+cu126 on the R470 driver: torch.driver_too_old explains it, one problem gives one error
    snap = gpu_box(driver="470.182.03", cuda="11.4",
                   frameworks=FrameworksInfo(items=[_torch_sees_no_gpu("2.7.1+cu126", "12.6")], deep=True))
    found = ids(snap)
    assert "torch.driver_too_old" in found and "framework.cuda_unavailable" not in found


def test_a_machine_level_cause_hides_the_symptom():
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": "0,0"},
                   frameworks=FrameworksInfo(items=[_torch_sees_no_gpu()], deep=True))
    found = ids(snap)
    assert "env.cuda_visible_devices_hides_all" in found and "framework.cuda_unavailable" not in found


# --------------------------------------------------------------------------- disk.low in Chinese


def test_low_disk_places_are_translated():
    from tests.doctor.helpers import DiskSpace, SystemInfo, machine

    disks = [DiskSpace(path="/home/stu", purpose="home", free_bytes=5 * 1024**3, total_bytes=100 * 1024**3),
             DiskSpace(path="/home/stu/.cache/pip", purpose="pip cache", free_bytes=5 * 1024**3,
                       total_bytes=100 * 1024**3),
             DiskSpace(path="/mnt/x", purpose="some new place", free_bytes=1024**3, total_bytes=100 * 1024**3)]
    snap = machine(system=SystemInfo(os="linux", arch="x86_64", distro="ubuntu", disks=disks))
    i18n.set_language("zh")
    f = by_id(snap, "disk.low")
    assert f.evidence[0].startswith("主目录（/home/stu）、pip 缓存（/home/stu/.cache/pip）：剩余 5.0 GiB")
    assert f.evidence[1].startswith("some new place（/mnt/x）")  # a label from a newer probe stays readable
