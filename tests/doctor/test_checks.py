"""Each doctor check on a hand-built machine: the finding id, its severity and the exact fix it prints.

Machines are described next to each test; facts (driver floors, arch lists, gcc bounds) come from the
real ``dlsetup.compat`` tables, so a wrong table row shows up here too.
"""

from __future__ import annotations

import re

import pytest

from dlsetup.doctor.model import ERROR, INFO, WARNING
from tests.doctor.helpers import (
    ConfigSettingRow,
    CudaInfo,
    DeepImport,
    DiskSpace,
    Framework,
    FrameworksInfo,
    Gpu,
    LibDir,
    NvidiaInfo,
    ProbeAttempt,
    SystemInfo,
    Tool,
    Toolkit,
    by_id,
    gpu_box,
    ids,
    machine,
    run,
    torch,
)

# ------------------------------------------------------------------------------------ Driver & GPU


def test_no_gpu_is_a_note_with_the_cpu_path():
    snap = machine()
    report = run(snap)
    assert [f.id for f in report.findings] == ["gpu.none"]
    f = report.findings[0]
    assert f.severity == INFO and f.group == "driver"
    # the resolver's CPU build, installed with this interpreter's pip
    assert f.commands[0].startswith("/home/stu/venv/bin/python -m pip install torch==")
    assert f.commands[0].endswith("--index-url https://download.pytorch.org/whl/cpu")
    assert report.exit_code == 0


def test_no_gpu_with_cpu_torch_needs_nothing():
    snap = machine(frameworks=FrameworksInfo(items=[torch("2.13.0+cpu", cuda=None)]))
    f = by_id(snap, "gpu.none")
    assert "2.13.0+cpu" in f.fix and f.commands == []


def test_no_gpu_on_macos_points_at_mps():
    snap = machine(system=SystemInfo(os="macos", arch="arm64"))
    f = by_id(snap, "gpu.none")
    assert "mps" in f.fix.lower()
    assert f.commands == ["/home/stu/venv/bin/python -m pip install torch"]


def test_no_gpu_with_amd_gpu_points_at_rocm():
    snap = machine(nvidia=NvidiaInfo(nvml_error="LibraryNotFound", other_gpus=[
        {"vendor": "amd", "name": "Navi 31 [Radeon RX 7900 XTX]", "pci_id": "1002:744c", "driver": "amdgpu"}]))
    f = by_id(snap, "gpu.none")
    assert "ROCm" in f.fix and any("AMD Navi 31" in e for e in f.evidence)  # vendor shown as a name, not "amd"


def test_nouveau_bound_gpu_is_an_error_with_blacklist_fix():
    snap = machine(nvidia=NvidiaInfo(nvml_error="LibraryNotFound", nouveau_loaded=True, other_gpus=[
        {"vendor": "nvidia", "name": "GA102 [GeForce RTX 3090]", "pci_id": "10de:2204", "slot": "0000:01:00.0",
         "driver": "nouveau"}]))
    assert ids(snap) == ["gpu.nouveau"]
    f = by_id(snap, "gpu.nouveau")
    assert f.severity == ERROR
    assert any("blacklist nouveau" in c for c in f.commands)
    assert "sudo ubuntu-drivers install" in f.commands


def test_gpu_without_driver_gets_the_distro_install_command():
    snap = machine(nvidia=NvidiaInfo(nvml_error="LibraryNotFound", other_gpus=[
        {"vendor": "nvidia", "name": "GA102 [GeForce RTX 3090]", "pci_id": "10de:2204", "slot": "0000:01:00.0",
         "driver": None}]))
    f = by_id(snap, "gpu.no_driver")
    assert f.severity == ERROR and f.commands == ["sudo ubuntu-drivers install", "sudo reboot"]
    snap.system.distro, snap.system.distro_version = "debian", "12"
    assert by_id(snap, "gpu.no_driver").commands[1] == ("sudo apt install linux-headers-$(dpkg --print-architecture) "
                                                        "nvidia-driver firmware-misc-nonfree")
    assert "non-free" in by_id(snap, "gpu.no_driver").fix


def test_driver_loaded_but_gpu_not_driven():
    # GTX 1080 Ti on R590: the module loads, NVML initialises, but lists no GPU (R590 dropped Pascal).
    snap = machine(nvidia=NvidiaInfo(driver_version="590.44.01", rung="nvml", kernel_module="590.44.01", other_gpus=[
        {"vendor": "nvidia", "name": "GP102 [GeForce GTX 1080 Ti]", "pci_id": "10de:1b06", "slot": "0000:01:00.0",
         "driver": "nvidia"}]))
    f = by_id(snap, "gpu.not_driven")
    assert f.severity == ERROR and "590.44.01" in f.title
    assert "sudo dmesg | grep -i nvrm" in f.commands


def test_kernel_module_without_user_space_libraries():
    snap = machine(nvidia=NvidiaInfo(nvml_error="LibraryNotFound", kernel_module="550.54.14", rung="sysfs",
                                     driver_version="550.54.14", device_nodes=["/dev/nvidiactl", "/dev/nvidia0"]))
    f = by_id(snap, "driver.libraries_missing")
    assert f.severity == ERROR and "sudo ldconfig" in f.commands
    assert "gpu.none" not in ids(snap)


@pytest.mark.parametrize("error,fid,severity,command", [
    ("DriverNotLoaded", "driver.not_loaded", ERROR, "sudo modprobe nvidia"),
    ("LibRmVersionMismatch", "driver.version_mismatch", ERROR, "sudo reboot"),
    ("NoPermission", "driver.no_permission", ERROR, "sudo usermod -aG video $USER"),
    ("GpuIsLost", "driver.gpu_lost", ERROR, "sudo reboot"),
    ("ResetRequired", "driver.reset_required", ERROR, "sudo nvidia-smi --gpu-reset"),
    ("InsufficientPower", "driver.insufficient_power", ERROR, "nvidia-smi"),
    ("CorruptedInforom", "driver.corrupted_inforom", WARNING, "nvidia-smi"),
    ("IrqIssue", "driver.irq_issue", ERROR, "sudo dmesg | grep -i -E 'nvrm|irq'"),
    ("FunctionNotFound", "driver.nvml_failed", WARNING, "nvidia-smi"),
    ("Unknown", "driver.nvml_failed", WARNING, "nvidia-smi"),
])
def test_every_nvml_error_class_is_its_own_finding(error, fid, severity, command):
    snap = machine(nvidia=NvidiaInfo(nvml_error=error, kernel_module="550.54.14",
                                     attempts=[ProbeAttempt(rung="nvml", ok=False, error=error)]))
    found = ids(snap)
    assert found == [fid], found  # and no "no GPU" note on top of it
    f = by_id(snap, fid)
    assert f.severity == severity and command in f.commands
    assert error in " ".join(f.evidence)


def _nvml_error_classes() -> list[str]:
    import pynvml

    return sorted(n[len("NVMLError_"):] for n in dir(pynvml)
                  if n.startswith("NVMLError_") and n != "NVMLError_LibraryNotFound")


@pytest.mark.parametrize("error", _nvml_error_classes())
def test_every_pynvml_error_class_from_the_probe_is_an_nvml_finding(tmp_path, error):
    """All 30 classes nvidia-ml-py defines (not only the ten with their own text), raised by nvmlInit through the
    real NVML rung, give a driver finding naming the class: never "no NVIDIA GPU" (exit 0) or "not driven"."""
    from dlsetup.probe._fs import Root
    from dlsetup.probe.nvidia import probe_nvidia
    from tests.probe.hwkit import NvmlReplay

    (tmp_path / "sys" / "module" / "nvidia").mkdir(parents=True)
    (tmp_path / "sys" / "module" / "nvidia" / "version").write_text("550.54.14\n")
    info = probe_nvidia(Root(tmp_path), {"PATH": str(tmp_path)}, nvml_module=NvmlReplay({"init": {"error": error}}),
                        os_name="linux")
    assert info.nvml_error == error
    found = run(machine(nvidia=info)).findings
    assert not {"gpu.none", "gpu.not_driven", "gpu.no_driver"} & {f.id for f in found}, [f.id for f in found]
    nvml = [f for f in found if f.id.startswith("driver.") and error in " ".join(f.evidence)]
    assert nvml and nvml[0].severity in (ERROR, WARNING) and nvml[0].commands, [f.id for f in found]


@pytest.mark.parametrize("error", ["NotSupported", "InUse", "GpuNotFound", "ImportError", "NVMLError(77)"])
def test_nvml_classes_without_their_own_text_are_nvml_failed(error):
    snap = machine(nvidia=NvidiaInfo(nvml_error=error, attempts=[ProbeAttempt(rung="nvml", ok=False, error=error)]))
    assert ids(snap) == ["driver.nvml_failed"]
    f = by_id(snap, "driver.nvml_failed")
    assert f.severity == WARNING and error in f.title and "nvidia-smi" in f.commands
    # one GPU whose handle failed with such a class (the others answered) is reported the same way
    box = gpu_box(count=2)
    box.nvidia.gpus[1].error = error
    assert "driver.nvml_failed" in ids(box) and error in " ".join(by_id(box, "driver.nvml_failed").evidence)


def test_kernel_module_differs_from_user_space_driver():
    snap = gpu_box(driver="550.90.07")
    snap.nvidia.kernel_module = "550.54.14"
    f = by_id(snap, "driver.version_mismatch")
    assert "sudo reboot" in f.commands and "550.54.14" in f.cause


def test_pascal_on_r590_is_unsupported_and_names_the_last_branch():
    snap = gpu_box(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1", driver="590.44.01", cuda="13.1")
    f = by_id(snap, "driver.gpu_unsupported")
    assert f.severity == ERROR and "Pascal" in f.title
    assert f.commands == ["sudo apt update", "sudo apt install nvidia-driver-580", "sudo reboot"]


def test_pascal_on_r580_is_fine():
    snap = gpu_box(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1", driver="580.95.05", cuda="13.0")
    assert "driver.gpu_unsupported" not in ids(snap)


def test_fabric_manager_not_started():
    snap = gpu_box(name="NVIDIA H100 80GB HBM3", cc="9.0", driver="580.65.06", cuda="13.0", count=8)
    for g in snap.nvidia.gpus:
        g.fabric_state = "not-started"
    f = by_id(snap, "driver.fabric_manager")
    assert f.severity == ERROR
    assert "sudo apt install nvidia-fabricmanager-580" in f.commands
    assert "sudo systemctl enable --now nvidia-fabricmanager" in f.commands


def test_fabric_manager_from_cuinit_802():
    snap = gpu_box(name="NVIDIA H100 80GB HBM3", cc="9.0", driver="580.65.06", cuda="13.0")
    snap.nvidia.cuinit_error = "CUDA_ERROR_SYSTEM_NOT_READY (802)"
    assert ids(snap) == ["driver.fabric_manager"]


def test_mig_enabled_is_a_note():
    snap = gpu_box(name="NVIDIA A100-SXM4-80GB", cc="8.0", driver="550.54.14")
    snap.nvidia.gpus[0].mig_mode = "enabled"
    f = by_id(snap, "gpu.mig_enabled")
    assert f.severity == INFO and "nvidia-smi -L" in f.commands


@pytest.mark.parametrize("error,fid", [("timeout", "driver.probe_hung"), ("garbage-output", "driver.probe_garbage"),
                                        ("crashed", "driver.probe_crashed")])
def test_a_hanging_or_garbled_rung_is_a_finding(error, fid):
    snap = gpu_box()
    snap.nvidia.attempts.append(ProbeAttempt(rung="nvidia-smi", ok=False, duration_ms=10000.0, error=error,
                                             detail="NVIDIA-SMI has failed because ..."))
    f = by_id(snap, fid)
    assert f.severity == WARNING and "nvidia-smi" in f.title


@pytest.mark.parametrize("code,cause_word,command", [
    ("CUDA_ERROR_UNKNOWN (999)", "nvidia_uvm", "sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm"),
    ("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (803)", "803", "sudo reboot"),
    ("CUDA_ERROR_NO_DEVICE (100)", "100", "nvidia-smi -L"),
])
def test_cuinit_failures_are_explained_by_code(code, cause_word, command):
    snap = gpu_box()
    snap.nvidia.cuinit_error = code
    f = by_id(snap, "driver.cuinit_failed")
    assert cause_word in f.cause and command in f.commands


# ------------------------------------------------------------------------------------ containers and WSL


def _container(**nv) -> object:
    snap = machine(nvidia=NvidiaInfo(nvml_error="LibraryNotFound", **nv))
    snap.system.container = "docker"
    return snap


def test_container_without_gpus_but_cuda_torch_is_an_error():
    snap = _container()
    snap.frameworks = FrameworksInfo(items=[torch("2.6.0+cu126", cuda="12.6")])
    assert ids(snap) == ["container.no_gpu_runtime"]
    f = by_id(snap, "container.no_gpu_runtime")
    assert "docker run --rm --gpus all IMAGE nvidia-smi" in f.commands
    assert "sudo nvidia-ctk runtime configure --runtime=docker" in f.commands


def test_cpu_container_is_just_the_cpu_note():
    snap = _container()
    snap.frameworks = FrameworksInfo(items=[torch("2.13.0+cpu", cuda=None)])
    f = by_id(snap, "gpu.none")
    assert f.severity == INFO and "--gpus all" in f.fix


def test_container_with_devices_but_no_driver_libraries():
    snap = _container(device_nodes=["/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"])
    assert ids(snap) == ["container.no_driver_libs"]


def test_podman_fix_uses_cdi():
    snap = _container()
    snap.system.container = "podman"
    snap.env = {"NVIDIA_VISIBLE_DEVICES": "all"}
    f = by_id(snap, "container.no_gpu_runtime")
    assert "podman run --rm --device nvidia.com/gpu=all IMAGE nvidia-smi" in f.commands
    assert "NVIDIA_VISIBLE_DEVICES=all" in f.evidence


def test_container_missing_nvidia_uvm():
    snap = gpu_box()
    snap.system.container = "podman"
    snap.nvidia.device_nodes = ["/dev/nvidiactl", "/dev/nvidia0"]
    assert by_id(snap, "container.uvm_missing").severity == ERROR


def _wsl(**nv):
    snap = machine(nvidia=NvidiaInfo(**nv))
    snap.system.wsl = True
    snap.system.wsl_lib_dir = True
    snap.system.kernel = "5.15.153.1-microsoft-standard-WSL2"
    return snap


def test_wsl_with_a_linux_driver_package_is_not_told_to_modprobe():
    # `sudo apt install nvidia-driver-550` inside WSL: its libnvidia-ml.so.550.54.14 is found before
    # /usr/lib/wsl/lib's, and NVML answers DriverNotLoaded (WSL has no nvidia kernel module).
    snap = _wsl(nvml_error="DriverNotLoaded", library_version="550.54.14", device_nodes=["/dev/dxg"])
    assert ids(snap) == ["wsl.linux_driver"]
    f = by_id(snap, "wsl.linux_driver")
    assert f.commands[0].startswith("sudo apt-get remove --purge") and "550.54.14" in " ".join(f.evidence)
    assert not any("modprobe" in c or "dkms" in c for c in f.commands)


def test_wsl_driver_not_loaded_without_a_linux_driver_points_at_windows():
    snap = _wsl(nvml_error="DriverNotLoaded", device_nodes=["/dev/dxg"])
    f = by_id(snap, "driver.not_loaded")
    assert f.commands == ["wsl.exe --update", "wsl.exe --shutdown"] and "Windows" in f.cause


def test_driver_not_loaded_legacy_cause_only_when_the_gpu_could_be_a_dropped_one():
    def box(pci_name):
        return machine(nvidia=NvidiaInfo(nvml_error="DriverNotLoaded", library_version="590.44.01", other_gpus=[
            {"vendor": "nvidia", "name": pci_name, "pci_id": "10de:2204", "slot": "0000:01:00.0", "driver": None}]))

    ampere = by_id(box("GA102 [GeForce RTX 3090]"), "driver.not_loaded")  # R590 supports Ampere
    assert "580" not in ampere.cause + " ".join(ampere.commands) and ampere.commands[0] == "sudo modprobe nvidia"
    assert "GA102 [GeForce RTX 3090]" in " ".join(ampere.evidence)
    pascal = by_id(box("GP102 [GeForce GTX 1080 Ti]"), "driver.not_loaded")
    assert "sudo apt install nvidia-driver-580" in pascal.commands and "Pascal" in pascal.cause
    unknown = by_id(box(None), "driver.not_loaded")  # no pci.ids name: the legacy case cannot be ruled out
    assert "sudo apt install nvidia-driver-580" in unknown.commands


def test_wsl_linux_driver_inside_wsl():
    snap = _wsl(driver_version="552.22", cuda_driver_version="12.4", rung="nvml",
                libcuda_path="/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14",
                gpus=[Gpu(index=0, name="NVIDIA GeForce RTX 4070", compute_capability="8.9")])
    f = by_id(snap, "wsl.linux_driver")
    assert f.severity == ERROR and any("remove --purge" in c for c in f.commands)


def test_wsl_loader_path_missing():
    snap = _wsl(nvml_error="LibraryNotFound", driver_version="552.22", rung="nvidia-smi")
    f = by_id(snap, "wsl.loader_path")
    assert "echo /usr/lib/wsl/lib | sudo tee /etc/ld.so.conf.d/ld.wsl.conf" in f.commands


def test_wsl_without_gpu_bridge_and_cuda_torch():
    snap = _wsl(nvml_error="LibraryNotFound")
    snap.system.wsl_lib_dir = False
    snap.frameworks = FrameworksInfo(items=[torch("2.6.0+cu124")])
    assert by_id(snap, "wsl.no_gpu_bridge").commands[0] == "wsl.exe --update"


def test_wsl_without_nvidia_is_a_note():
    snap = _wsl(nvml_error="LibraryNotFound")
    f = by_id(snap, "gpu.none")
    assert f.severity == INFO and "wsl --update" in f.fix


# ------------------------------------------------------------------------------------ CUDA


@pytest.mark.parametrize("value", ["", "-1", "NoDevFiles", "4"])
def test_cuda_visible_devices_hiding_every_gpu(value):
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": value})
    f = by_id(snap, "env.cuda_visible_devices_hides_all")
    assert f.severity == ERROR
    assert f.commands == ["unset CUDA_VISIBLE_DEVICES", "export CUDA_VISIBLE_DEVICES=0,1"]


def test_cuda_visible_devices_stops_at_the_first_invalid_entry():
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": "1,7,0"})
    f = by_id(snap, "env.cuda_visible_devices_truncated")
    assert f.severity == WARNING and f.commands == ["export CUDA_VISIBLE_DEVICES=1"]


@pytest.mark.parametrize("value", ["0", "1,0", "GPU-00000001", "GPU-redacted-0"])
def test_valid_cuda_visible_devices_is_quiet(value):
    snap = gpu_box(count=2, env={"CUDA_VISIBLE_DEVICES": value})
    if value == "GPU-redacted-0":
        for g in snap.nvidia.gpus:
            g.uuid = f"GPU-redacted-{g.index}"
    assert not [i for i in ids(snap) if i.startswith("env.")]


def test_stub_libcuda_on_the_loader_path():
    stub = "/usr/local/cuda-12.4/lib64/stubs"
    snap = gpu_box(env={"LD_LIBRARY_PATH": f"/usr/local/cuda-12.4/lib64:{stub}:/opt/x"})
    snap.cuda = CudaInfo(ld_library_path=[LibDir(path="/usr/local/cuda-12.4/lib64", cudart=True),
                                          LibDir(path=stub, libcuda=True, stubs=True), LibDir(path="/opt/x")])
    f = by_id(snap, "cuda.stub_libcuda")
    assert f.severity == ERROR
    assert f.commands == ["export LD_LIBRARY_PATH=/usr/local/cuda-12.4/lib64:/opt/x"]


def test_cuinit_34_alone_points_at_the_stub():
    snap = gpu_box()
    snap.nvidia.cuinit_error = "CUDA_ERROR_STUB_LIBRARY (34)"
    assert ids(snap) == ["cuda.stub_libcuda"]


def test_ld_library_path_shadowing_pip_wheels():
    snap = gpu_box(env={"LD_LIBRARY_PATH": "/usr/local/cuda-11.8/lib64"},
                   frameworks=FrameworksInfo(items=[torch("2.6.0+cu124")]))
    snap.cuda = CudaInfo(ld_library_path=[LibDir(path="/usr/local/cuda-11.8/lib64", cudart=True, cudnn=True)])
    f = by_id(snap, "cuda.ld_path_shadows")
    assert f.severity == WARNING and f.commands == ["unset LD_LIBRARY_PATH"]


def test_compat_libs_on_a_geforce_are_error_804():
    snap = gpu_box(name="NVIDIA GeForce RTX 4090", cc="8.9", driver="550.54.14",
                   env={"LD_LIBRARY_PATH": "/usr/local/cuda/compat"})
    snap.cuda = CudaInfo(ld_library_path=[LibDir(path="/usr/local/cuda/compat", libcuda=True, compat=True)],
                         compat_libs=["/usr/local/cuda/compat/libcuda.so.580.65.06"])
    f = by_id(snap, "cuda.compat_unsupported_gpu")
    assert f.commands[0] == "unset LD_LIBRARY_PATH"


def test_compat_libs_older_than_the_driver_are_error_803():
    snap = gpu_box(name="NVIDIA A100-SXM4-80GB", cc="8.0", driver="580.65.06", cuda="13.0",
                   env={"LD_LIBRARY_PATH": "/usr/local/cuda-12.4/compat:/opt/lib"})
    snap.cuda = CudaInfo(ld_library_path=[LibDir(path="/usr/local/cuda-12.4/compat", libcuda=True, compat=True),
                                          LibDir(path="/opt/lib")],
                         compat_libs=["/usr/local/cuda-12.4/compat/libcuda.so.550.54.15"])
    f = by_id(snap, "cuda.compat_older_than_driver")
    assert "550.54.15" in f.title and f.commands[0] == "export LD_LIBRARY_PATH=/opt/lib"


def test_compat_libs_newer_than_the_driver_on_a_datacenter_gpu_are_fine():
    snap = gpu_box(name="NVIDIA A100-SXM4-80GB", cc="8.0", driver="535.183.01", cuda="12.2")
    snap.cuda = CudaInfo(ld_library_path=[LibDir(path="/usr/local/cuda-12.4/compat", libcuda=True, compat=True)],
                         compat_libs=["/usr/local/cuda-12.4/compat/libcuda.so.550.54.15"])
    assert not [i for i in ids(snap) if "compat" in i]


def test_toolkit_of_a_newer_major_than_the_driver():
    snap = gpu_box(driver="550.54.14", cuda="12.4")
    snap.cuda = CudaInfo(nvcc_path="/usr/local/cuda-13.0/bin/nvcc", nvcc_version="13.0.88",
                         toolkits=[Toolkit(path="/usr/local/cuda-13.0", version="13.0.88")])
    f = by_id(snap, "toolkit.newer_than_driver")
    assert f.severity == ERROR and "580.65.06" in f.fix
    assert "sudo apt install nvidia-driver-580" in f.commands


def test_toolkit_newer_minor_is_only_a_note():
    snap = gpu_box(driver="535.183.01", cuda="12.2")
    snap.cuda = CudaInfo(nvcc_path="/usr/local/cuda-12.6/bin/nvcc", nvcc_version="12.6.85",
                         toolkits=[Toolkit(path="/usr/local/cuda-12.6", version="12.6.85")])
    f = by_id(snap, "toolkit.newer_than_driver_minor")
    assert f.severity == INFO and "560.28.03" in f.cause


def test_nvcc_major_differs_from_torch_cuda():
    snap = gpu_box(driver="580.65.06", cuda="13.0", frameworks=FrameworksInfo(items=[torch("2.6.0+cu124")]))
    snap.cuda = CudaInfo(nvcc_path="/usr/local/cuda-13.0/bin/nvcc", nvcc_version="13.0.88",
                         toolkits=[Toolkit(path="/usr/local/cuda-13.0", version="13.0.88")])
    f = by_id(snap, "toolkit.torch_mismatch")
    assert f.severity == WARNING
    assert f.commands[-2:] == ["export CUDA_HOME=/usr/local/cuda-12.4", 'export PATH=/usr/local/cuda-12.4/bin:"$PATH"']
    assert f.commands[0].startswith("sudo apt install cuda-toolkit-12-4")
    # A matching toolkit already installed: just switch to it.
    snap.cuda.toolkits.append(Toolkit(path="/usr/local/cuda-12.8", version="12.8.93"))
    f = by_id(snap, "toolkit.torch_mismatch")
    assert f.commands == ["export CUDA_HOME=/usr/local/cuda-12.8", 'export PATH=/usr/local/cuda-12.8/bin:"$PATH"']


def test_cuda_home_wins_over_nvcc_on_path():
    snap = gpu_box(driver="580.65.06", cuda="13.0", frameworks=FrameworksInfo(items=[torch("2.6.0+cu124")]))
    snap.cuda = CudaInfo(cuda_home="/usr/local/cuda-12.4", nvcc_path="/usr/local/cuda-13.0/bin/nvcc",
                         nvcc_version="13.0.88",
                         toolkits=[Toolkit(path="/usr/local/cuda-13.0", version="13.0.88"),
                                   Toolkit(path="/usr/local/cuda-12.4", version="12.4.131")])
    assert "toolkit.torch_mismatch" not in ids(snap)


def test_gcc_too_new_for_the_toolkit():
    snap = gpu_box(driver="550.54.14", cuda="12.4")
    snap.cuda = CudaInfo(nvcc_path="/usr/local/cuda-12.4/bin/nvcc", nvcc_version="12.4.131", gcc_version="14.2.0",
                         toolkits=[Toolkit(path="/usr/local/cuda-12.4", version="12.4.131")])
    f = by_id(snap, "toolkit.gcc_unsupported")
    assert f.severity == WARNING and "< 14.0" in " ".join(f.evidence)
    assert f.commands[:4] == ["sudo apt install gcc-13 g++-13", "export CC=gcc-13", "export CXX=g++-13",
                              "export CUDAHOSTCXX=g++-13"]
    snap.cuda.gcc_version = "12.3.0"
    assert "toolkit.gcc_unsupported" not in ids(snap)


# ------------------------------------------------------------------------------------ Python & packages


def test_pip_on_path_belongs_to_another_python():
    snap = machine()
    snap.tooling.pip_matches_python = False
    snap.tooling.tools = [Tool(name="pip", found=True, path="/usr/bin/pip", version="22.0.2")]
    snap.tooling.pip_python = "/usr/bin/python3"
    f = by_id(snap, "python.pip_mismatch")
    assert f.severity == WARNING and f.commands[0] == "/home/stu/venv/bin/python -m pip --version"
    assert "/usr/bin/python3" in " ".join(f.evidence)


def test_torch_from_user_site_in_a_conda_env():
    snap = machine()
    snap.tooling.python.is_venv, snap.tooling.python.is_conda = False, True
    snap.tooling.python.prefix = "/home/stu/miniconda3/envs/dl"
    snap.frameworks = FrameworksInfo(items=[torch("2.5.1+cu121", location="/home/stu/.local/lib/python3.11/site-packages")])
    f = by_id(snap, "python.outside_env")
    assert f.commands[0] == "export PYTHONNOUSERSITE=1"
    assert f.commands[1] == "/home/stu/venv/bin/python -m pip install --force-reinstall --no-deps torch==2.5.1"


def test_torch_by_pip_over_conda_pytorch():
    snap = gpu_box()
    snap.tooling.python.is_conda, snap.tooling.python.prefix = True, "/opt/conda/envs/dl"
    snap.frameworks = FrameworksInfo(items=[torch("2.5.1", cuda="12.4", location="/opt/conda/envs/dl/lib/python3.11/site-packages")],
                                     conda_packages=["pytorch"], conda_records={"pytorch": "2.4.0 py3.11_cuda12.1_cudnn9.1.0_0"})
    f = by_id(snap, "python.torch_twice")
    assert f.severity == ERROR
    assert f.commands == ["/home/stu/venv/bin/python -m pip uninstall -y torch torchvision torchaudio",
                          "conda install -p /opt/conda/envs/dl --force-reinstall pytorch"]


def test_two_copies_of_torch():
    t = torch("2.6.0+cu124")
    t.extra["also_found"] = [{"version": "2.1.0", "location": "/home/stu/venv/lib/python3.11/site-packages",
                              "meta": "torch-2.1.0.dist-info"}]
    snap = gpu_box(frameworks=FrameworksInfo(items=[t]))
    f = by_id(snap, "python.torch_twice")
    assert len(f.evidence) == 2 and f.commands[-1] == "dlsetup resolve torch"


def test_cpuonly_pin_on_a_gpu_machine():
    snap = gpu_box()
    snap.tooling.python.prefix = "/opt/conda/envs/dl"
    snap.frameworks = FrameworksInfo(conda_packages=["cpuonly", "pytorch-mutex"])
    f = by_id(snap, "python.cpuonly_pin")
    assert f.commands[0] == "conda remove -p /opt/conda/envs/dl cpuonly"
    assert "python.cpuonly_pin" not in ids(machine(frameworks=FrameworksInfo(conda_packages=["cpuonly"])))


def test_deprecated_pynvml_distribution():
    snap = machine(frameworks=FrameworksInfo(packages={"pynvml": "13.0.1", "nvidia-ml-py": "13.615.71"}))
    f = by_id(snap, "python.pynvml_deprecated")
    assert f.commands == ["/home/stu/venv/bin/python -m pip uninstall -y pynvml",
                          "/home/stu/venv/bin/python -m pip install --force-reinstall nvidia-ml-py"]


def test_mirror_in_pip_conf_masked_by_environment_variable():
    tuna = "https://pypi.tuna.tsinghua.edu.cn/simple"
    snap = machine(env={"PIP_INDEX_URL": "https://user:secret@pypi.corp.example/simple"})
    snap.tooling.settings = [
        ConfigSettingRow("pip", "index-url", "https://user:secret@pypi.corp.example/simple", "env:PIP_INDEX_URL", True),
        ConfigSettingRow("pip", "global.index-url", tuna, "/home/stu/.config/pip/pip.conf", False,
                         masked_by="env:PIP_INDEX_URL"),
    ]
    f = by_id(snap, "index.masked_by_env")
    assert f.severity == WARNING and "PIP_INDEX_URL" in f.title
    assert f.commands[0] == "unset PIP_INDEX_URL"
    assert "secret" not in " ".join(f.evidence) and tuna in " ".join(f.evidence)


def test_masking_by_another_file_or_with_the_same_value_is_quiet():
    tuna = "https://pypi.tuna.tsinghua.edu.cn/simple"
    snap = machine()
    snap.tooling.settings = [
        ConfigSettingRow("pip", "index-url", tuna, "env:PIP_INDEX_URL", True),
        ConfigSettingRow("pip", "global.index-url", tuna, "/etc/pip.conf", False, masked_by="env:PIP_INDEX_URL"),
        ConfigSettingRow("pip", "global.extra-index-url", "https://a/simple", "/home/stu/.config/pip/pip.conf", True),
        ConfigSettingRow("pip", "global.extra-index-url", "https://b/simple", "/etc/pip.conf", False,
                         masked_by="/home/stu/.config/pip/pip.conf"),
    ]
    assert not [i for i in ids(snap) if i.startswith("index.")]


def test_unreadable_config_file():
    snap = machine()
    snap.tooling.settings = [ConfigSettingRow("pip", "parse-error", "a setting before any [section] header (line 1)",
                                              "/home/stu/.config/pip/pip.conf", False)]
    f = by_id(snap, "index.config_unreadable")
    assert f.commands == ["cat -A /home/stu/.config/pip/pip.conf | head -40"]


def test_low_disk_space():
    snap = machine()
    snap.system.disks = [DiskSpace(path="/home/stu", purpose="home", free_bytes=3 * 1024**3, total_bytes=64 * 1024**3),
                         DiskSpace(path="/data", purpose="conda envs", free_bytes=900 * 1024**3,
                                   total_bytes=1000 * 1024**3)]
    f = by_id(snap, "disk.low")
    assert f.severity == WARNING and "3.0 GiB" in f.title
    assert f.commands[0] == "/home/stu/venv/bin/python -m pip cache purge"
    assert len(f.evidence) == 1


# ------------------------------------------------------------------------------------ Frameworks


def test_cpu_torch_on_a_gpu_machine():
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cpu", cuda=None)]))
    f = by_id(snap, "torch.cpu_build")
    assert f.severity == ERROR and "2.6.0+cpu" in f.title
    # RTX 3090 on driver 550 (CUDA 12.4), Python 3.11: CUDA 13 builds need R580, so 2.14.1 cu126
    assert f.commands == ["/home/stu/venv/bin/python -m pip install torch==2.14.1 "
                          "--index-url https://download.pytorch.org/whl/cu126"]
    assert "torch==2.14.1 (cu126) from https://download.pytorch.org/whl/cu126" in f.fix


def test_cpu_torch_without_a_gpu_is_not_an_error():
    snap = machine(frameworks=FrameworksInfo(items=[torch("2.13.0+cpu", cuda=None)]))
    assert run(snap).counts.error == 0


def test_driver_too_old_for_the_wheel():
    # RTX 3090 with an R470 driver (CUDA 11.4) and a cu126 wheel: 12.x needs >= 525.60.13.
    snap = gpu_box(driver="470.82.01", cuda="11.4", frameworks=FrameworksInfo(items=[torch("2.6.0+cu126", cuda="12.6")]))
    f = by_id(snap, "torch.driver_too_old")
    assert f.severity == ERROR and "525.60.13" in f.cause
    assert f.commands[:3] == ["sudo apt update", "sudo apt install nvidia-driver-525", "sudo reboot"]
    assert f.commands[-1].endswith("-m pip install torch==2.7.1 --index-url https://download.pytorch.org/whl/cu118")


def test_wheel_without_kernels_for_the_gpu_from_data():
    # GTX 1080 Ti (sm_61) with torch 2.11 cu128: that build starts at sm_75 (pytorch/pytorch#175253).
    snap = gpu_box(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1", driver="580.95.05", cuda="13.0",
                   frameworks=FrameworksInfo(items=[torch("2.11.0+cu128", cuda="12.8")]))
    f = by_id(snap, "torch.arch_missing")
    assert f.severity == ERROR and "sm_61" in f.title
    assert "from dlsetup's data" in " ".join(f.evidence)


def test_wheel_without_kernels_from_the_deep_import():
    deep = DeepImport(ok=True, cuda_available=True, device_count=1, cuda_version="12.8",
                      arch_list=["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
                      warnings=["UserWarning: Found GPU0 NVIDIA GeForce GTX 1080 Ti which is of cuda capability 6.1. "
                                "Minimum and Maximum cuda capability supported by this version of PyTorch is (7.5) - (12.0)"])
    snap = gpu_box(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1", driver="580.95.05", cuda="13.0",
                   frameworks=FrameworksInfo(items=[torch("2.8.0+cu128", cuda="12.8", deep=deep)], deep=True))
    f = by_id(snap, "torch.arch_missing")
    assert "reported by torch.cuda.get_arch_list()" in " ".join(f.evidence) and "capability 6.1" in " ".join(f.evidence)


def test_blackwell_with_a_new_wheel_is_covered():
    snap = gpu_box(name="NVIDIA GeForce RTX 5090", cc="12.0", driver="580.65.06", cuda="13.0",
                   frameworks=FrameworksInfo(items=[torch("2.11.0+cu128", cuda="12.8")]))
    assert "torch.arch_missing" not in ids(snap)


def test_torchvision_variant_differs_from_torch():
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cu124"),
                                                    torch("0.21.0+cpu", cuda=None, name="torchvision")]))
    f = by_id(snap, "torch.companion_mismatch")
    assert f.severity == ERROR and "torchvision" in f.title


def test_import_failure_from_libraries_on_ld_path():
    deep = DeepImport(ok=False, error="ImportError: /home/stu/venv/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so: "
                                      "undefined symbol: cudnnGetLibConfig, version libcudnn.so.9")
    snap = gpu_box(env={"LD_LIBRARY_PATH": "/usr/local/cuda/lib64"},
                   frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", deep=deep)], deep=True))
    f = by_id(snap, "framework.import_failed")
    assert f.commands[0] == "unset LD_LIBRARY_PATH"
    assert f.commands[-1] == "/home/stu/venv/bin/python -m pip install --force-reinstall --no-deps torch==2.6.0"
    assert "LD_LIBRARY_PATH" in f.cause


def test_companion_never_imported_because_torch_failed_is_not_a_second_error():
    failed = DeepImport(ok=False, error="ImportError: libtorch_cuda.so: cannot open shared object file")
    skipped = DeepImport(ok=False, error="not imported: torch failed to import", details={"skipped_because": "torch"})
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", deep=failed),
                                                    torch("0.21.0+cu124", name="torchvision", deep=skipped)], deep=True))
    found = [f for f in run(snap).findings if f.id == "framework.import_failed"]
    assert [f.data["name"] for f in found] == ["torch"]


def test_import_that_hangs():
    deep = DeepImport(ok=False, timed_out=True, duration_s=120.0, error="import did not finish in 120 s")
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", deep=deep)], deep=True))
    f = by_id(snap, "framework.import_hangs")
    assert "120" in f.cause and f.severity == ERROR


def test_cuda_build_that_sees_no_gpu_after_suspend():
    deep = DeepImport(ok=True, cuda_available=False, device_count=0, cuda_version="12.4", warnings=[
        "UserWarning: CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up environment, "
        "e.g. changing env variable CUDA_VISIBLE_DEVICES after program start. Setting the available devices to be zero."])
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", deep=deep)], deep=True))
    f = by_id(snap, "framework.cuda_unavailable")
    assert "nvidia_uvm" in f.cause and f.commands[0] == "sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm"


@pytest.mark.parametrize("dist,name,successor", [
    ("mxnet-cu112", "mxnet", "PyTorch"), ("tensorflow-gpu", "tensorflow", "tensorflow"),
    ("theano", "theano", "PyTensor"), ("cntk-gpu", "cntk", "PyTorch")])
def test_retired_frameworks_name_their_successor(dist, name, successor):
    fw = Framework(name=name, version="1.9.1", installer="pip")
    if dist != name:
        fw.extra["dist"] = dist
    snap = machine(frameworks=FrameworksInfo(items=[fw]))
    f = by_id(snap, "framework.retired")
    assert f.severity == WARNING and successor in f.title
    assert f.commands[0] == f"/home/stu/venv/bin/python -m pip uninstall -y {dist}"
    assert f.data["source"]


def test_retired_package_found_among_other_packages():
    snap = machine(frameworks=FrameworksInfo(packages={"torchtext": "0.18.0"}))
    assert "framework.retired" in ids(snap)


# ------------------------------------------------------------------------------------ the runner itself


def test_a_crashing_check_becomes_a_warning(monkeypatch):
    from dlsetup.doctor.checks import driver

    def boom(snap):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(driver, "CHECKS", [boom, *driver.CHECKS])
    report = run(gpu_box())
    f = [x for x in report.findings if x.id == "doctor.check_failed"]
    assert len(f) == 1 and "driver.boom" in f[0].title and "simulated bug" in f[0].evidence[0]
    assert len(report.checks_run) > 10  # the others still ran


def test_probe_part_failure_is_reported():
    snap = machine()
    snap.probe_errors = [ProbeAttempt(rung="cuda", ok=False, error="timeout", detail="no answer in 35 s")]
    f = by_id(snap, "probe.part_failed")
    assert f.group == "cuda" and "cuda" in f.title


def test_exit_codes_follow_severity():
    assert run(machine()).exit_code == 0  # info only
    warn = machine(frameworks=FrameworksInfo(packages={"pynvml": "13.0.1"}))
    assert run(warn).exit_code == 0 and run(warn, strict=True).exit_code == 3
    err = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cpu", cuda=None)]))
    assert run(err).exit_code == 1 and run(err, strict=True).exit_code == 1


def test_findings_are_grouped_then_sorted_by_severity():
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cpu", cuda=None)], packages={"pynvml": "13.0.1"}),
                   env={"CUDA_VISIBLE_DEVICES": ""})
    snap.nvidia.gpus[0].mig_mode = "enabled"
    report = run(snap)
    order = [(f.group, f.severity) for f in report.findings]
    groups = ["driver", "cuda", "python", "frameworks"]
    sev = ["error", "warning", "info"]
    assert order == sorted(order, key=lambda x: (groups.index(x[0]), sev.index(x[1])))
    assert {f.id for f in report.findings} >= {"gpu.mig_enabled", "env.cuda_visible_devices_hides_all",
                                                 "python.pynvml_deprecated", "torch.cpu_build"}


def test_every_check_survives_an_empty_snapshot():
    from dlsetup.doctor.checks import all_checks

    snap = machine()
    snap.tooling.python.prefix = None
    for fn in all_checks():
        assert isinstance(fn(snap), list)


def test_retired_table_rows_have_sources_and_the_fast_path_agrees():
    from dlsetup.doctor.checks.retired import _all_patterns, retired_table

    rows = retired_table()
    assert len(rows) >= 7
    for row in rows:
        assert row["source"] and row["confidence"] in ("verified", "secondary", "unverified"), row["key"]
        assert row["successor"] and row["retired"], row["key"]
        assert re.search(r"[\u4e00-\u9fff]", row.get("successor_zh", "")), row["key"]  # zh output names it in Chinese
    assert sorted(p for r in rows for p in r["names"]) == sorted(_all_patterns())


def test_retired_successor_is_in_chinese_with_lang_zh():
    from dlsetup import i18n

    snap = machine(frameworks=FrameworksInfo(items=[Framework(name="theano", version="1.0.5", installer="pip")]))
    try:
        i18n.set_language("zh")
        f = by_id(snap, "framework.retired")
    finally:
        i18n.set_language("en")
    assert "PyTensor（PyMC 使用的" in f.title and "the maintained fork" not in f.title + f.fix
    assert f.commands[-1] == "/home/stu/venv/bin/python -m pip install pytensor"


# ------------------------------------------------------------------------------------ TensorFlow


def _tf(version: str, variant: str, cuda: str | None, dist: str | None = None) -> Framework:
    fw = Framework(name="tensorflow", version=version, installer="pip", variant=variant, cuda=cuda)
    if dist:
        fw.extra["dist"] = dist
    return fw


def test_tensorflow_on_native_windows_after_2_10():
    snap = gpu_box(system=SystemInfo(os="windows", arch="x86_64"),
                   frameworks=FrameworksInfo(items=[_tf("2.16.1", "cpu", None)]))
    f = by_id(snap, "tensorflow.windows_no_gpu")
    assert f.severity == ERROR and "2.10" in f.cause  # the last windows_gpu=true row of tensorflow.toml
    assert f.commands[0] == "wsl --install -d Ubuntu"
    snap.frameworks = FrameworksInfo(items=[_tf("2.10.1", "cu112", "11.2")])
    assert "tensorflow.windows_no_gpu" not in ids(snap)


def test_tensorflow_cpu_build_on_a_gpu_box():
    snap = gpu_box(frameworks=FrameworksInfo(items=[_tf("2.21.0", "cpu", None, dist="tensorflow-cpu")]))
    f = by_id(snap, "tensorflow.cpu_build")
    assert f.commands[0] == "/home/stu/venv/bin/python -m pip uninstall -y tensorflow-cpu"
    assert "tensorflow" in f.commands[-1]


def test_tensorflow_without_its_cuda_wheels():
    snap = gpu_box(frameworks=FrameworksInfo(items=[_tf("2.21.0", "cu125", "12.5")]))
    f = by_id(snap, "tensorflow.cuda_libs_missing")
    assert f.commands == ["/home/stu/venv/bin/python -m pip install 'tensorflow[and-cuda]==2.21.0'"]
    snap.frameworks.packages = {"nvidia-cudnn-cu12": "9.3.0.75", "nvidia-cublas-cu12": "12.5.3.2"}
    assert "tensorflow.cuda_libs_missing" not in ids(snap)
    # Before 2.14 there was no [and-cuda] extra: CUDA came from the system, not a finding here.
    snap.frameworks = FrameworksInfo(items=[_tf("2.12.0", "cu118", "11.8")])
    assert "tensorflow.cuda_libs_missing" not in ids(snap)


# ------------------------------------------------------------------------------------ Chinese comment lines


def _comment_machines():
    """One machine per fix that puts a ``# ...`` comment among its commands."""
    mig = gpu_box(name="NVIDIA A100-SXM4-80GB", cc="8.0")
    mig.nvidia.gpus[0].mig_mode = "enabled"
    uvm999 = gpu_box()
    uvm999.nvidia.cuinit_error = "CUDA_ERROR_UNKNOWN (999)"
    mismatch = gpu_box(driver="550.90.07")
    mismatch.nvidia.kernel_module = "550.54.14"
    podman = gpu_box()
    podman.system.container = "podman"
    podman.nvidia.device_nodes = ["/dev/nvidiactl", "/dev/nvidia0"]
    windows_tf = gpu_box(system=SystemInfo(os="windows", arch="x86_64"),
                         frameworks=FrameworksInfo(items=[_tf("2.16.1", "cpu", None)]))
    old_driver = gpu_box(driver="470.82.01", cuda="11.4",
                         frameworks=FrameworksInfo(items=[torch("2.6.0+cu126", cuda="12.6")]))
    nvcc = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", cuda="12.4")]))
    nvcc.cuda = CudaInfo(toolkits=[Toolkit(path="/usr/local/cuda-11.8", version="11.8.89")],
                         nvcc_path="/usr/local/cuda-11.8/bin/nvcc", nvcc_version="11.8.89")
    return {"gpu.mig_enabled": mig, "driver.cuinit_failed": uvm999, "driver.version_mismatch": mismatch,
            "container.uvm_missing": podman, "tensorflow.windows_no_gpu": windows_tf,
            "torch.driver_too_old": old_driver, "toolkit.torch_mismatch": nvcc}


@pytest.mark.parametrize("fid", sorted(_comment_machines()))
def test_comment_lines_in_fix_commands_follow_the_language(fid):
    from dlsetup import i18n

    snap = _comment_machines()[fid]
    try:
        i18n.set_language("zh")
        zh = by_id(snap, fid)
    finally:
        i18n.set_language("en")
    en = by_id(snap, fid)
    assert zh.notes, zh.commands
    for note in zh.notes:
        assert re.search(r"[\u4e00-\u9fff]", note["text"]), note  # no English prose inside Chinese output
    assert all(re.search(r"[a-z]{3,}", n["text"]) for n in en.notes)
    # the commands and where each remark stands are data: identical in both languages, and no command line
    # carries a remark
    assert en.commands == zh.commands
    assert not any("#" in c for c in en.commands if not c.startswith("sudo dmesg")), en.commands
    facts = [{k: v for k, v in n.items() if k != "text"} for n in en.notes]
    assert facts == [{k: v for k, v in n.items() if k != "text"} for n in zh.notes]


def test_multi_line_warnings_become_one_evidence_line():
    deep = DeepImport(ok=True, cuda_available=True, device_count=1, cuda_version="12.4",
                      arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
                      warnings=["UserWarning: \nNVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible "
                                "with the current PyTorch installation.\nThe current PyTorch install supports CUDA "
                                "capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90."])
    snap = gpu_box(name="NVIDIA GeForce RTX 5090", cc="12.0", driver="575.64.03", cuda="12.9",
                   frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", deep=deep)], deep=True))
    f = by_id(snap, "torch.arch_missing")
    warning = [e for e in f.evidence if "sm_120 is not compatible" in e]
    assert warning and all("\n" not in e for e in f.evidence)
    assert "UserWarning: NVIDIA GeForce RTX 5090" in warning[0]


def test_toolkit_found_only_on_disk_is_described_in_words():
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cu124", cuda="12.4")]))
    snap.cuda = CudaInfo(toolkits=[Toolkit(path="/opt/cuda-11.8", version="11.8.89")])
    f = by_id(snap, "toolkit.torch_mismatch")
    line = next(e for e in f.evidence if "/opt/cuda-11.8" in e)
    assert "standard install location" in line and "via found" not in line
