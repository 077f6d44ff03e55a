"""The NVIDIA ladder end to end on recorded machines: /proc, /sys, /dev trees, nvidia-smi executables,
compiled stand-ins for libcuda, and NVML replays — the real probe code, faked only at the hardware boundary."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dlsetup.probe._fs import Root
from dlsetup.probe.nvidia import probe_nvidia, proc_driver
from dlsetup.probe.smi import parse_query_csv, probe_smi
from tests.probe.conftest import needs_cc
from tests.probe.hwkit import NvmlReplay, compile_libcuda, hw_names, write_smi

# name -> (winning rung, driver, newest CUDA, nvml_error, GPUs listed, rungs tried)
EXPECTED = {
    "h100-r580": ("nvml", "580.65.06", "13.0", None, 8, ["nvml", "sysfs", "procfs"]),
    "nvswitch-fabric-not-started": ("nvml", "580.65.06", "13.0", None, 8, ["nvml", "libcuda", "sysfs", "procfs"]),
    "rtx3090-r470-cu126": ("nvml", "470.182.03", "11.4", None, 1, ["nvml", "sysfs", "procfs"]),
    "gtx1080ti-r590": ("libcuda", None, "13.1", "DriverNotLoaded", 0,
                       ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "wsl2-rtx4070": ("nvml", "576.88", "12.9", None, 1, ["nvml", "sysfs", "procfs"]),
    "container-no-gpus": ("sysfs", "550.127.05", None, "LibraryNotFound", 1,
                          ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "rtx4090-torch-cpu": ("nvml", "550.127.05", "12.4", None, 1, ["nvml", "sysfs", "procfs"]),
    "driver-library-mismatch": ("libcuda", "550.120", "12.4", "LibRmVersionMismatch", 1,
                                ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "cuda-visible-devices-minus1": ("nvml", "550.127.05", "12.4", None, 2, ["nvml", "sysfs", "procfs"]),
    "stub-libcuda-ld-path": ("nvml", "550.127.05", "12.4", None, 1, ["nvml", "libcuda", "sysfs", "procfs"]),
    "rtx5090-cu124": ("nvml", "575.64.03", "12.9", None, 1, ["nvml", "sysfs", "procfs"]),
    "v100-torch211-cu128": ("nvml", "580.95.05", "13.0", None, 1, ["nvml", "sysfs", "procfs"]),
    "a100-gpu-lost": ("nvml", "570.133.20", "12.8", None, 2, ["nvml", "sysfs", "procfs"]),
    "amd-rocm-no-nvidia": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "nouveau-no-driver": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    # added in the review pass (root causes #7, #9, #12, #14)
    "wsl2-linux-driver-inside": ("libcuda", None, "12.4", "DriverNotLoaded", 0,
                                 ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "rtx4090-cuda-compat-804": ("nvml", "550.127.05", "12.4", None, 1, ["nvml", "libcuda", "sysfs", "procfs"]),
    "rtx3080-uvm-after-suspend": ("nvml", "535.183.01", "12.2", None, 1, ["nvml", "libcuda", "sysfs", "procfs"]),
    "conda-torch-over-cpuonly": ("nvml", "550.127.05", "12.4", None, 1, ["nvml", "sysfs", "procfs"]),
    # issue 14: no-driver boxes (the card only on the PCI bus), an Arc A770 box, Docker hosts
    "nodriver-rtx3090-debian12": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "nodriver-gtx1080ti-ubuntu2404": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "nodriver-k80-debian12": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "nodriver-k80-ubuntu2204": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "nodriver-rtx5090-debian12": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "nodriver-laptop-intel-rtx4070": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "arc-a770-ubuntu2404": (None, None, None, "LibraryNotFound", 0, ["nvml", "libcuda", "sysfs", "procfs", "nvidia-smi"]),
    "docker-host-no-toolkit": ("nvml", "550.127.05", "12.4", None, 1, ["nvml", "sysfs", "procfs"]),
    "docker-host-toolkit": ("nvml", "550.127.05", "12.4", None, 1, ["nvml", "sysfs", "procfs"]),
}


def test_every_hardware_fixture_has_an_expectation():
    assert sorted(EXPECTED) == hw_names()


@needs_cc
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ladder_on_recorded_machine(name, machine):
    m = machine(name)
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, deep=bool(m.spec.get("deep")),
                        os_name="linux")
    rung, driver, cuda, nvml_error, ngpus, tried = EXPECTED[name]
    assert info.rung == rung
    assert info.driver_version == driver
    assert info.cuda_driver_version == cuda
    assert info.nvml_error == nvml_error
    assert len(info.gpus) == ngpus
    assert [a.rung for a in info.attempts] == tried
    assert all(a.error is None for a in info.attempts if a.ok)
    assert all(a.error for a in info.attempts if not a.ok)


def test_kernel_module_and_library_versions_show_a_mismatch(machine):
    m = machine("driver-library-mismatch")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert info.kernel_module == "550.120"
    assert info.library_version == "550.127.05"
    assert "550.120" in info.proc_version
    smi = next(a for a in info.attempts if a.rung == "nvidia-smi")
    assert smi.error == "failed" and "Driver/library version mismatch" in smi.detail and "exit 18" in smi.detail


@needs_cc
def test_unsupported_gpu_on_r590_leaves_an_unbound_pci_device(machine):
    m = machine("gtx1080ti-r590")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert info.device_nodes == [] and info.kernel_module is None and info.proc_version is None
    assert info.library_version == "590.44.01"
    assert info.other_gpus == [{"vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080 Ti", "pci_id": "10de:1b06", "slot": "0000:01:00.0",
                                "driver": None, "class": "0x030000"}]
    assert info.cuinit_error == "CUDA_ERROR_NO_DEVICE (100)"
    assert info.libcuda_path == "/usr/lib/x86_64-linux-gnu/libcuda.so.1"


def test_container_sees_the_host_driver_but_has_no_device_nodes(machine):
    m = machine("container-no-gpus")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert info.device_nodes == []
    assert info.gpus[0].name == "NVIDIA GeForce RTX 4090" and info.gpus[0].pci_bus_id == "0000:41:00.0"
    assert info.other_gpus[0]["driver"] == "nvidia"


def test_wsl_uses_dxg_and_has_no_proc_driver(machine):
    m = machine("wsl2-rtx4070")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert info.device_nodes == ["/dev/dxg"]
    assert info.library_version is None  # /usr/lib/wsl/lib holds plain files, not versioned symlinks
    assert info.kernel_module is None and info.proc_version is None


def test_device_nodes_include_uvm_and_nvswitch(machine):
    m = machine("h100-r580")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert "/dev/nvidia-uvm" in info.device_nodes and "/dev/nvidiactl" in info.device_nodes
    assert "/dev/nvidia-nvswitch0" in info.device_nodes
    assert [o["vendor"] for o in info.other_gpus].count("nvidia") == 8
    assert {"vendor": "aspeed", "driver": "ast"}.items() <= info.other_gpus[0].items()


def test_nouveau_and_pci_names(machine):
    m = machine("nouveau-no-driver")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert info.nouveau_loaded is True
    assert info.other_gpus[0]["driver"] == "nouveau"
    # named from dlsetup's GPU database (NVIDIA's name for 10de:1f08), not the system pci.ids line
    assert info.other_gpus[0]["name"] == "NVIDIA GeForce RTX 2060"
    assert info.other_gpus[0]["pci_id"] == "10de:1f08"


def test_amd_gpu_is_listed_with_its_name(machine):
    m = machine("amd-rocm-no-nvidia")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert info.other_gpus[0]["vendor"] == "amd" and "7900 XTX" in info.other_gpus[0]["name"]
    assert info.gpus == []


def test_macos_reports_no_cuda_driver(tmp_path):
    info = probe_nvidia(Root(tmp_path), {"PATH": ""}, nvml_module=NvmlReplay({}), os_name="macos")
    assert [(a.rung, a.error) for a in info.attempts] == [("nvml", "unsupported-os")]
    assert info.rung is None


def test_live_box_without_driver_does_not_import_pynvml():
    code = ("import sys; from dlsetup.probe.nvidia import probe_nvidia; i = probe_nvidia(); "
            "print(i.nvml_error, i.rung, 'pynvml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert out.stdout.split() == ["LibraryNotFound", "None", "False"], out.stderr


# ------------------------------------------------------------------ /proc parsing

@pytest.mark.parametrize("text,version", [
    ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.182.03  Fri Feb 24 03:29:56 UTC 2023\n", "470.182.03"),
    ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs-builder@U16)  Sun\n",
     "580.65.06"),
    ("NVRM version: NVIDIA UNIX aarch64 Kernel Module  550.120  Fri Sep 13 10:10:01 UTC 2024\n", "550.120"),
    ("something else entirely\n", None),
])
def test_proc_version_formats(tmp_path, text, version):
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text(text)
    first, parsed, gpus = proc_driver(Root(tmp_path))
    assert parsed == version and first == text.strip() and gpus == []


def test_procfs_garbage_is_an_error_attempt(tmp_path):
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text("\x00\x01garbage\n")
    info = probe_nvidia(Root(tmp_path), {"PATH": str(tmp_path)}, nvml_module=NvmlReplay({"init": {"error": "Unknown"}}),
                        timeout=5, os_name="linux")
    procfs = next(a for a in info.attempts if a.rung == "procfs")
    assert procfs.ok is False and procfs.error == "garbage-output"


# ------------------------------------------------------------------ nvidia-smi rung

SMI_TWO = "580.65.06, NVIDIA H100 80GB HBM3, 81559, 9.0\n580.65.06, NVIDIA H100 80GB HBM3, 81559, 9.0\n"


def _smi_env(tmp_path, **smi):
    write_smi(tmp_path / "bin", smi)
    return {"PATH": str(tmp_path / "bin")}


def test_smi_multi_gpu(tmp_path):
    r = probe_smi(_smi_env(tmp_path, stdout=SMI_TWO), timeout=10)
    assert r.ok and r.driver_version == "580.65.06"
    assert [(g.index, g.name, g.memory_total_mib, g.compute_capability) for g in r.gpus] == [
        (0, "NVIDIA H100 80GB HBM3", 81559, "9.0"), (1, "NVIDIA H100 80GB HBM3", 81559, "9.0")]


def test_smi_that_hangs_is_a_timeout(tmp_path):
    r = probe_smi(_smi_env(tmp_path, hang=True), timeout=1)
    assert not r.ok and r.error == "timeout"


@pytest.mark.parametrize("garbage", ["", "hello world\n", "580.65.06\n", "Driver Version: 580.65.06 | CUDA UMD Version: 13.0\n",
                                     "abc, NVIDIA H100, 81559, 9.0\n", "580.65.06, NVIDIA H100, lots, 9.0\n",
                                     "580.65.06, NVIDIA H100, 81559, nine\n"])
def test_smi_garbage_is_an_error(tmp_path, garbage):
    r = probe_smi(_smi_env(tmp_path, stdout=garbage), timeout=10)
    assert not r.ok and r.error == "garbage-output"


def test_smi_failure_carries_its_message(tmp_path):
    r = probe_smi(_smi_env(tmp_path, stdout="NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA "
                                            "driver.\n", exit=9), timeout=10)
    assert not r.ok and r.error == "failed" and r.detail.startswith("exit 9: NVIDIA-SMI has failed")


def test_smi_on_an_old_driver_without_compute_cap_asks_again(tmp_path):
    r = probe_smi(_smi_env(tmp_path, stdout="470.182.03, NVIDIA GeForce RTX 3090, 24576\n", no_compute_cap=True),
                  timeout=10)
    assert r.ok and r.gpus[0].compute_capability is None and r.gpus[0].memory_total_mib == 24576


def test_smi_not_on_path(tmp_path):
    r = probe_smi({"PATH": str(tmp_path)}, timeout=10)
    assert r.error == "not-found"


def test_smi_parse_variants():
    assert parse_query_csv("550.54.15, NVIDIA A100-SXM4-40GB, 40960 MiB, [N/A]\n")[1][0].compute_capability is None
    driver, gpus = parse_query_csv("550.54.15, Quadro RTX 6000, Max-Q, 24576, 7.5\n")
    assert gpus[0].name == "Quadro RTX 6000, Max-Q" and driver == "550.54.15"


def test_smi_rung_feeds_gpus_when_nvml_fails(tmp_path):
    env = _smi_env(tmp_path, stdout=SMI_TWO)
    info = probe_nvidia(Root(tmp_path / "root"), env, nvml_module=NvmlReplay({"init": {"error": "NoPermission"}}),
                        timeout=10, os_name="linux")
    assert info.rung == "nvidia-smi" and info.driver_version == "580.65.06"
    assert len(info.gpus) == 2 and info.nvml_error == "NoPermission"


# ------------------------------------------------------------------ libcuda rung

def _lib_root(tmp_path, **params):
    root = tmp_path / "root"
    compile_libcuda(root / "usr/lib/x86_64-linux-gnu/libcuda.so.1", params)
    return root


@needs_cc
def test_libcuda_answers_version_and_devices(tmp_path):
    root = _lib_root(tmp_path, version=12040, devices=[{"name": "NVIDIA GeForce RTX 3090", "cc": [8, 6],
                                                        "memory": 25769803776}])
    info = probe_nvidia(Root(root), {"PATH": str(tmp_path)}, nvml_module=NvmlReplay({"init": {"error": "Unknown"}}),
                        timeout=20, os_name="linux")
    assert info.rung == "libcuda" and info.cuda_driver_version == "12.4" and info.cuinit_error is None
    assert [(g.name, g.compute_capability, g.memory_total_mib) for g in info.gpus] == [
        ("NVIDIA GeForce RTX 3090", "8.6", 24576)]
    assert info.libcuda_path == "/usr/lib/x86_64-linux-gnu/libcuda.so.1"


@needs_cc
def test_libcuda_child_runs_without_cuda_visible_devices(tmp_path):
    root = _lib_root(tmp_path, version=12040, check_cvd=True, devices=[{"name": "X", "cc": [8, 0], "memory": 1}])
    env = {"PATH": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
    info = probe_nvidia(Root(root), env, nvml_module=NvmlReplay({"init": {"error": "Unknown"}}), timeout=20,
                        os_name="linux")
    assert info.cuinit_error is None and len(info.gpus) == 1


@needs_cc
def test_libcuda_that_hangs_is_a_timeout(tmp_path):
    root = _lib_root(tmp_path, hang=True)
    info = probe_nvidia(Root(root), {"PATH": str(tmp_path)}, nvml_module=NvmlReplay({"init": {"error": "Unknown"}}),
                        timeout=2, os_name="linux")
    lc = next(a for a in info.attempts if a.rung == "libcuda")
    assert lc.error == "timeout" and not lc.ok


@needs_cc
def test_libcuda_that_crashes_is_an_attempt_not_a_crash(tmp_path):
    root = _lib_root(tmp_path, crash=True)
    info = probe_nvidia(Root(root), {"PATH": str(tmp_path)}, nvml_module=NvmlReplay({"init": {"error": "Unknown"}}),
                        timeout=20, os_name="linux")
    lc = next(a for a in info.attempts if a.rung == "libcuda")
    assert lc.error == "crashed" and "exit -11" in lc.detail


def test_libcuda_that_is_not_a_library_fails_to_load(tmp_path):
    lib = tmp_path / "root/usr/lib/x86_64-linux-gnu/libcuda.so.1"
    lib.parent.mkdir(parents=True)
    lib.write_text("not an ELF file\n")
    info = probe_nvidia(Root(tmp_path / "root"), {"PATH": str(tmp_path)},
                        nvml_module=NvmlReplay({"init": {"error": "Unknown"}}), timeout=20, os_name="linux")
    lc = next(a for a in info.attempts if a.rung == "libcuda")
    assert lc.error == "load-failed"


@needs_cc
def test_stub_first_on_ld_library_path_is_detected(machine):
    m = machine("stub-libcuda-ld-path")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=20, deep=True, os_name="linux")
    assert info.libcuda_path == "/usr/local/cuda-12.4/lib64/stubs/libcuda.so"
    assert info.cuinit_error == "CUDA_ERROR_STUB_LIBRARY (34)"
    assert info.rung == "nvml"  # NVML does not go through libcuda


def test_libcuda_rung_does_not_run_when_nvml_answers(machine):
    m = machine("rtx4090-torch-cpu")
    info = probe_nvidia(Root(m.root), m.environ, nvml_module=m.nvml, timeout=10, os_name="linux")
    assert "libcuda" not in [a.rung for a in info.attempts] and "nvidia-smi" not in [a.rung for a in info.attempts]
