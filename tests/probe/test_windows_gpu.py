"""Display adapters on Windows from the registry, through a fake winreg answering from .reg exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlsetup.probe.nvidia import probe_nvidia
from dlsetup.probe.windows_gpu import (
    display_adapters,
    nvidia_driver_version,
    nvidia_smi_candidates,
    video_controllers_from_cim,
)
from tests.probe.winreg_fake import FakeWinreg

WIN = Path(__file__).resolve().parent.parent / "fixtures" / "windows"


@pytest.mark.parametrize(("windows", "nvidia"), [
    ("31.0.15.4633", "546.33"),
    ("32.0.15.6094", "560.94"),
    ("27.21.14.6089", "460.89"),
    ("30.0.14.7242", "472.42"),
    ("garbage", None),
    ("31.0.15", None),
    (None, None),
])
def test_windows_driver_version_to_nvidia(windows, nvidia):
    assert nvidia_driver_version(windows) == nvidia


def test_gpu_without_a_driver_is_listed_with_no_driver():
    adapters = display_adapters(FakeWinreg(WIN / "rtx3060-laptop-no-driver.reg"))
    assert [a["vendor"] for a in adapters] == ["intel", "nvidia"]  # the I2C controller is not a display device
    nv = adapters[1]
    assert nv["pci_id"] == "10de:2520" and nv["slot"] == "01:00.0" and nv["class"] == "0x030200"  # as sysfs writes it
    assert nv["driver"] == "BasicDisplay" and nv["driver_version"] is None
    assert nv["name"] is None  # "Microsoft Basic Display Adapter" does not name the card
    intel = adapters[0]
    assert intel["name"] == "Intel(R) UHD Graphics" and intel["driver_version"] == "31.0.101.4502"
    # the same keys as Linux's pci_display_devices
    assert {"vendor", "name", "pci_id", "slot", "driver", "class"} <= set(nv)


def test_gpu_with_the_nvidia_driver():
    nv = [a for a in display_adapters(FakeWinreg(WIN / "rtx3060-laptop-546.reg")) if a["vendor"] == "nvidia"][0]
    assert nv["driver"] == "nvlddmkm" and nv["driver_version"] == "546.33"
    assert nv["windows_driver_version"] == "31.0.15.4633" and nv["name"] == "NVIDIA GeForce RTX 3060 Laptop GPU"


def test_probe_nvidia_on_windows_reports_the_adapter_when_nvml_is_missing():
    from tests.probe.hwkit import NvmlReplay

    nvml = NvmlReplay({"init": {"error": "LibraryNotFound"}})
    info = probe_nvidia(environ={"PATH": ""}, nvml_module=nvml, os_name="windows", timeout=5,
                        winreg_module=FakeWinreg(WIN / "rtx3060-laptop-no-driver.reg"))
    assert info.nvml_error == "LibraryNotFound"
    assert [g["pci_id"] for g in info.other_gpus if g["vendor"] == "nvidia"] == ["10de:2520"]


def test_broken_registry_never_breaks_the_probe():
    class Broken:
        HKEY_LOCAL_MACHINE = "HKLM"

        def OpenKey(self, *a):  # noqa: N802
            raise PermissionError(5, "Access is denied")

    assert display_adapters(Broken()) == []


def test_cim_fallback_same_shape():
    # Get-CimInstance Win32_VideoController | Select Name,PNPDeviceID,DriverVersion,InstalledDisplayDrivers,
    # ConfigManagerErrorCode | ConvertTo-Json; property names from
    # learn.microsoft.com/windows/win32/cimwin32prov/win32-videocontroller. Values written in that form
    # for the no-driver laptop above (made up, not captured from one machine).
    rows = [
        {"Name": "Microsoft Basic Display Adapter", "DriverVersion": "10.0.22621.1",
         "PNPDeviceID": "PCI\\VEN_10DE&DEV_2520&SUBSYS_3A5817AA&REV_A1\\4&1F6C4F2C&0&0008",
         "InstalledDisplayDrivers": "BasicDisplay.sys", "ConfigManagerErrorCode": 0},
        {"Name": "NVIDIA GeForce RTX 3060 Laptop GPU", "DriverVersion": "31.0.15.4633",
         "PNPDeviceID": "PCI\\VEN_10DE&DEV_2520&SUBSYS_3A5817AA&REV_A1\\4&1F6C4F2C&0&0008",
         "InstalledDisplayDrivers": "C:\\Windows\\System32\\DriverStore\\FileRepository\\nvlt.inf_amd64\\nvldumdx.dll",
         "ConfigManagerErrorCode": 0},
    ]
    none, ok = video_controllers_from_cim(rows)
    assert none["vendor"] == "nvidia" and none["driver"] == "BasicDisplay" and none["name"] is None
    assert ok["driver"] == "nvlddmkm" and ok["driver_version"] == "546.33"


def test_nvidia_smi_locations():
    assert nvidia_smi_candidates({"SystemRoot": "C:\\WINDOWS", "ProgramFiles": "D:\\Programs"}) == [
        "C:\\WINDOWS\\System32\\nvidia-smi.exe", "D:\\Programs\\NVIDIA Corporation\\NVSMI\\nvidia-smi.exe"]


def test_windows_toolkits_are_found_by_install_folder_and_cuda_path_v(tmp_path):
    """The CUDA installer's layout (docs.nvidia.com/cuda/cuda-installation-guide-microsoft-windows):
    %ProgramFiles%\\NVIDIA GPU Computing Toolkit\\CUDA\\vX.Y with bin\\nvcc.exe and version.json, and one
    CUDA_PATH_VX_Y variable per toolkit. On Linux a Windows path is one file name under the fake root, so
    the folder listing and the toolkit folders are laid out separately."""
    from dlsetup.probe._fs import Root
    from dlsetup.probe.cuda import toolkit_dirs

    base = "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA"
    for v in ("v12.4", "v11.8"):
        d = tmp_path / f"{base}\\{v}"
        (d / "bin").mkdir(parents=True)
        (d / "bin" / "nvcc.exe").write_text("")
        (d / "include").mkdir()
        (d / "include" / "cuda.h").write_text("")
        (tmp_path / base / v).mkdir(parents=True)  # what listdir of the CUDA folder shows
    env = {"ProgramFiles": "C:\\Program Files", "CUDA_PATH": f"{base}\\v12.4\\",
           "CUDA_PATH_V12_4": f"{base}\\v12.4", "CUDA_PATH_V13_0": f"{base}\\v13.0"}
    found = toolkit_dirs(Root(tmp_path), env, None)
    assert found == [f"{base}\\v12.4", f"{base}\\v11.8"]  # v13.0 is only a stale variable
