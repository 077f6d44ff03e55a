"""Which machine a bundle is for: snapshots and overrides → conda subdir, Python, __cuda, wheel tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlsetup.offline import bundle
from dlsetup.offline.plan import DownloadRequest, _machine

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"


def test_snapshot_of_a_gpu_box_gives_linux_64_with_its_driver_cuda():
    m, snap = _machine(DownloadRequest(snapshot=str(SNAPSHOTS / "h100-r580.json")))
    t = bundle.target_from_machine(m)
    assert snap is not None and t.platform == "linux-64"
    assert t.cuda == m.cuda_driver and t.cuda.startswith("13.")  # R580 drivers support CUDA 13.0


@pytest.mark.parametrize("os_name,arch,platform", [
    ("windows", "x86_64", "win-64"), ("macos", "arm64", "osx-arm64"), ("linux", "aarch64", "linux-aarch64"),
])
def test_overrides_name_the_conda_subdir(os_name, arch, platform):
    m, _ = _machine(DownloadRequest(os=os_name, arch=arch, python="3.12", no_gpu=True))
    t = bundle.target_from_machine(m)
    assert (t.platform, t.python, t.cuda) == (platform, "3.12", None)


def test_no_target_means_this_machine():
    assert _machine(DownloadRequest(specs=["x"])) == (None, None)


def test_wheel_tags_for_each_platform():
    linux = bundle.pip_platform_tags(bundle.Target("linux-64", "3.11", glibc="2.31"))
    assert linux[0] == "manylinux_2_31_x86_64" and "manylinux2014_x86_64" in linux and "manylinux_2_17_x86_64" in linux
    assert bundle.pip_platform_tags(bundle.Target("win-64", "3.11")) == ["win_amd64"]
    assert bundle.pip_platform_tags(bundle.Target("osx-arm64", "3.11"))[0] == "macosx_15_0_arm64"


def test_pylock_picks_the_best_wheel_for_the_target(tmp_path):
    lock = tmp_path / "pylock.toml"
    # reduced from the shape uv writes (`uv pip compile --format pylock.toml`), made for this test
    lock.write_text('lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "markupsafe"\nversion = "3.0.4"\n'
                    'wheels = [\n'
                    '  { url = "https://h/markupsafe-3.0.4-cp312-cp312-win_amd64.whl", hashes = { sha256 = "aa" } },\n'
                    '  { url = "https://h/markupsafe-3.0.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",'
                    ' hashes = { sha256 = "bb" } },\n'
                    '  { url = "https://h/markupsafe-3.0.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",'
                    ' hashes = { sha256 = "cc" } },\n]\n')
    (w,) = bundle.pylock_wheels(lock, bundle.Target("linux-64", "3.12"))
    assert w["sha256"] == "bb"
    (w,) = bundle.pylock_wheels(lock, bundle.Target("win-64", "3.12"))
    assert w["sha256"] == "aa"
    from dlsetup.errors import UsageError

    with pytest.raises(UsageError) as e:
        bundle.pylock_wheels(lock, bundle.Target("osx-arm64", "3.12"))
    assert e.value.key == "download.error.no_wheel"
