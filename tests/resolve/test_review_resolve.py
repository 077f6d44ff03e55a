"""Review fixes for `dlsetup resolve` (issue 4): facts re-read from primary sources and the behaviour around them.

Each test names the source of the fact it pins: pytorch/pytorch#141565 (2.6's manylinux_2_28 split),
pytorch/pytorch#161257 and pytorch/test-infra#7246 (Thor in the aarch64 CUDA 13 wheels),
conda-forge/pytorch-cpu-feedstock history (recipe/build.sh and .ci_support per release).
"""

from __future__ import annotations

from dlsetup import compat
from dlsetup.compat import pytorch as pt
from dlsetup.resolve import Machine, Request, apply_overrides, resolve
from dlsetup.resolve.specs import parse_specs
from tests.conftest import FIXTURES

SNAP = FIXTURES / "snapshots"


def _machine(os="linux", arch="x86_64", python="3.11", glibc="2.35", **overrides) -> Machine:
    m = Machine(os="linux", arch="x86_64", python="3.11", glibc=glibc, source="test case")
    return apply_overrides(m, os=os, arch=arch, python=python, **overrides)


def _resolve(packages, cuda=None, **machine):
    return resolve(Request(specs=parse_specs(packages), cuda=cuda, machine=_machine(**machine)))


def _got(res):
    return {p.name: (p.version, p.variant) for p in res.packages}


# --- glibc: 2.6 moved only its CUDA 12.6 (and aarch64) wheels to manylinux_2_28 (pytorch/pytorch#141565) -----

def test_manylinux_glibc_per_variant_and_platform():
    r26 = pt.release_for_version("2.6.0")
    assert pt.manylinux_glibc(r26, pt.variant_row("2.6.0", "cu126"), "linux-x86_64") == "2.28"
    assert pt.manylinux_glibc(r26, pt.variant_row("2.6.0", "cu124"), "linux-x86_64") == "2.17"
    cpu = pt.variant_row("2.6.0", "cpu")
    assert pt.manylinux_glibc(r26, cpu, "linux-x86_64") == "2.17"
    assert pt.manylinux_glibc(r26, cpu, "linux-aarch64") == "2.28"
    assert pt.manylinux_glibc(pt.release_for_version("2.5.1")) == "2.17"
    assert pt.manylinux_glibc(pt.release_for_version("2.7.0"), pt.variant_row("2.7.0", "cu118")) == "2.28"


def test_centos7_gets_the_manylinux2014_build_of_2_6_not_cu126():
    res = _resolve(["torch"], gpu_cc=["6.1"], driver="535.104.05", glibc="2.17")
    assert res.ok and _got(res)["torch"] == ("2.6.0", "cu124")
    cu126 = [r for r in res.rejected if r.candidate == "torch 2.6.0+cu126"]
    assert cu126 and cu126[0].rule == "glibc" and "pytorch/pytorch#141565" in cu126[0].source
    # With glibc 2.28 the same box gets the newest release.
    assert _got(_resolve(["torch"], gpu_cc=["6.1"], driver="535.104.05", glibc="2.28"))["torch"] == ("2.14.1", "cu126")


def test_aarch64_cpu_2_6_needs_glibc_2_28():
    res = _resolve(["torch==2.6.*"], arch="aarch64", no_gpu=True, glibc="2.17")
    assert not res.ok and {r.rule for r in res.rejected} == {"glibc"}
    assert _got(_resolve(["torch==2.5.*"], arch="aarch64", no_gpu=True, glibc="2.17"))["torch"] == ("2.5.1", "cpu")


# --- Jetson Thor runs the regular aarch64 CUDA 13 wheels (pytorch/pytorch#161257); Orin does not -------------

def test_thor_is_an_sbsa_jetson():
    info = compat.gpu_architecture("11.0")
    assert info["jetson"] and info["sbsa"]
    assert "pytorch/pytorch#161257" in info["source"]
    orin = compat.gpu_architecture("8.7")
    assert orin["jetson"] and not orin["sbsa"]


def test_thor_gets_a_cuda13_aarch64_wheel_with_sm_110():
    res = _resolve(["torch"], arch="aarch64", gpu_cc=["11.0"], driver="580.65.06", python="3.12")
    assert res.ok, [(r.candidate, r.rule) for r in res.rejected]
    version, variant = _got(res)["torch"]
    assert variant.startswith("cu13")
    assert any("sm_110" in r.text for r in res.reasons)
    # CUDA 12.x aarch64 wheels have no sm_110 (nor sm_101): pinning 12.9 finds nothing.
    pinned = _resolve(["torch"], cuda="12.9", arch="aarch64", gpu_cc=["11.0"], driver="580.65.06", python="3.12")
    assert not pinned.ok and "arch" in {r.rule for r in pinned.rejected}


def test_orin_is_still_a_jetpack_board():
    res = _resolve(["torch"], arch="aarch64", gpu_cc=["8.7"], driver="540.4", python="3.10")
    assert not res.ok and {r.rule for r in res.rejected} == {"jetson"}


# --- hints name the build that would be chosen ----------------------------------------------------------

def test_driver_hint_names_the_verified_build_not_the_first_listed():
    res = _resolve(["torch"], gpu_cc=["7.5"], driver="470.82.01", python="3.12")
    assert _got(res)["torch"] == ("2.7.1", "cu118")
    texts = [h.text for h in res.hints]
    assert any("≥ 580" in h and "torch 2.15.0+cu132" in h for h in texts), texts


def test_driver_hint_asks_for_the_smallest_upgrade_that_reaches_the_newest_release():
    # Python 3.10: 2.15 is out of reach; 2.14.1 needs only 525.60.13 (cu126), not 580 (cu13x).
    res = _resolve(["torch"], gpu_cc=["8.6"], driver="470.182.03", python="3.10")
    assert any("525.60.13" in h.text and "torch 2.14.1+cu126" in h.text for h in res.hints), [h.text for h in res.hints]


# --- several frameworks: a machine fact is said once, every framework is rejected and hinted ---------------

def test_a_driver_that_no_longer_drives_the_gpu_blocks_every_framework_once():
    res = _resolve(["tensorflow", "jax"], gpu_cc=["6.1"], driver="590.44.01")
    assert not res.ok
    blocker = [r for r in res.reasons if "R590" in r.text and "R580" in r.text]
    assert len(blocker) == 1, [r.text for r in res.reasons]
    assert {r.candidate for r in res.rejected} == {"tensorflow", "jax"}
    assert any("R580" in h.text for h in res.hints)


# --- the machine line says where its facts come from, in the user's language --------------------------------

def test_machine_source_is_localized_and_names_overrides(cli):
    r = cli("--lang", "zh", "resolve", "torch", "--gpu-cc", "8.6", "--driver", "550.127.05")
    assert r.code == 0
    machine_line = next(ln for ln in r.stdout.splitlines() if "本机：" in ln)
    assert "（来自命令行参数）" in machine_line and "overrides" not in machine_line
    r = cli("resolve", "--snapshot", str(SNAP / "h100-r580.json"), "--driver", "595.45.04")
    assert f"(from snapshot {SNAP / 'h100-r580.json'}, with --driver from the command line)" in r.stdout
    r = cli("--lang", "zh", "resolve", "--snapshot", str(SNAP / "h100-r580.json"))
    assert f"（来自快照 {SNAP / 'h100-r580.json'}）" in r.stdout


# --- --check-index edge cases --------------------------------------------------------------------------

def test_check_index_skips_conda_packages(cli):
    r = cli("resolve", "torch", "--gpu-cc", "6.1", "--gpu-cc", "12.0", "--driver", "580.95.05", "--check-index",
            "--json")
    doc = r.json()
    assert r.code == 0, doc
    assert doc["packages"][0]["index_kind"] == "conda"
    assert doc["check_index"][0]["status"] == "skipped" and doc["check_index"][0]["found"] is None


def test_check_index_that_cannot_reach_the_index_says_so(cli):
    r = cli("resolve", "torch", "--gpu-cc", "8.6", "--driver", "580.95.05", "--check-index",
            "--index-url", "http://127.0.0.1:9/simple")
    assert r.code == 1
    assert "Resolved, but the index could not be checked" in r.stdout
    assert "the index could not be read: ConnectError" in r.stdout
    doc = cli("resolve", "torch", "--gpu-cc", "8.6", "--driver", "580.95.05", "--check-index",
              "--index-url", "http://127.0.0.1:9/simple", "--json").json()
    assert doc["exit_code"] == 1 and doc["check_index"][0]["status"] == "error"


def test_index_url_without_check_index_is_a_usage_error(cli):
    for args, needle in ((["--index-url", "https://pypi.org/simple"], "add --check-index"),
                         (["--check-index", "--index-url", "pypi.org"], "'pypi.org' is not an index URL")):
        r = cli("resolve", "torch", "--no-gpu", *args)
        assert r.code == 2, r
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and needle in lines[0] and r.stdout == ""


# --- a GPU box without NVIDIA: the CPU build is said to be one --------------------------------------------

def test_amd_gpu_box_gets_the_rocm_build_and_no_cpu_warning(cli):
    # issue 14: a Radeon RX 7900 XTX (gfx1100, on AMD's ROCm list) gets the ROCm build, not a CPU build with a warning
    doc = cli("resolve", "--snapshot", str(SNAP / "amd-rocm-no-nvidia.json"), "--json").json()
    assert doc["packages"][0]["variant"].startswith("rocm")
    assert doc["packages"][0]["index_url"].startswith("https://download.pytorch.org/whl/rocm")
    assert doc["warnings"] == []
    assert doc["machine"]["other_gpus"][0]["vendor"] == "amd"
    assert doc["machine"]["other_gpus"][0]["target"] == "gfx1100"
    quiet = cli("resolve", "--snapshot", str(SNAP / "amd-rocm-no-nvidia.json"), "--no-gpu", "--json").json()
    assert quiet["warnings"] == [] and quiet["packages"][0]["variant"] == "cpu"


def test_amd_gpu_rocm_does_not_run_on_is_warned_that_the_answer_is_a_cpu_build(cli):
    # RX 5700 XT (Navi 10, gfx1010): not on ROCm's list and no working override -> CPU build, said out loud
    doc = cli("resolve", "--gpu", "rx 5700 xt", "--python", "3.12", "--os", "linux", "--json").json()
    assert doc["packages"][0]["variant"] == "cpu"
    assert any("RX 5700 XT" in w and "ROCm" in w for w in doc["warnings"]), doc["warnings"]


def test_intel_desktop_igpu_is_not_a_reason_to_warn():
    from dlsetup.resolve.machine import _compute_gpus

    assert _compute_gpus([{"vendor": "intel", "name": "Alder Lake-S GT1 [UHD Graphics 730]"}]) == []
    assert _compute_gpus([{"vendor": "intel", "name": "DG2 [Arc A770]"}]) == [{"vendor": "intel",
                                                                               "name": "DG2 [Arc A770]"}]
    # with the PCI id, the GPU database decides: the Iris Xe iGPU has no XPU build, the Arc A770 has
    assert _compute_gpus([{"vendor": "intel", "name": None, "pci_id": "8086:9a49"}]) == []
    assert _compute_gpus([{"vendor": "intel", "name": None, "pci_id": "8086:56a0"}]) == [
        {"vendor": "intel", "name": "Intel Arc A770", "target": "", "compute": "xpu", "pci_id": "8086:56a0"}]


# --- conda-forge rows (conda-forge/pytorch-cpu-feedstock recipe/build.sh + .ci_support history) -------------

def test_conda_forge_2_10_has_cuda13_and_2_7_1_has_cuda129():
    assert "13.0" in pt.conda_forge_builds("2.10.0")["cuda"]["linux-x86_64"]
    assert pt.conda_forge_builds("2.7.1")["cuda"]["linux-x86_64"] == ["12.6", "12.9"]
    assert pt.conda_forge_builds("2.7.0")["cuda"]["linux-x86_64"] == ["12.6"]
    res = _resolve(["torch==2.10.*"], gpu_cc=["8.6"], driver="580.95.05", python="3.12")
    # pip: the package index's own build of 2.10 (cu128) is preferred to a second index
    assert _got(res)["torch"] == ("2.10.0", "cu128")
    assert "cuda-version=13.0" in res.commands["conda"] and "pytorch=2.10.0=cuda*" in res.commands["conda"]


def test_conda_forge_cuda13_builds_need_glibc_2_28():
    res = _resolve(["torch==2.13.*"], gpu_cc=["8.6"], driver="580.95.05", python="3.12", glibc="2.17")
    # No pip wheel of 2.13 runs on glibc 2.17; conda-forge's 12.9 build does, its 13.0 build does not.
    assert res.commands["pip"] is None
    assert res.commands["conda"] and "cuda-version=12.9" in res.commands["conda"]



# --- WSL2: a GPU is /dev/dxg, not a PCI device ----------------------------------------------------------------

def _wsl_snapshot(**nvidia):
    import json

    from dlsetup.probe.model import Snapshot

    data = json.loads((SNAP / "wsl2-linux-driver-inside.json").read_text(encoding="utf-8"))
    data["nvidia"].update(nvidia)
    return Snapshot.from_dict(data)


def test_wsl_with_a_broken_nvidia_driver_is_a_gpu_machine_not_a_cpu_one():
    from dlsetup.resolve.machine import machine_from_snapshot

    # The recording: a Linux driver installed inside WSL answers DriverNotLoaded (microsoft/WSL#9254).
    m = machine_from_snapshot(_wsl_snapshot())
    assert m.nvidia_present and m.gpu_machine and "DriverNotLoaded" in m.driver_problem
    res = resolve(Request(machine=m))
    assert not res.ok and res.packages == []  # never the CPU build on this box without --no-gpu
    assert any("--gpu-cc" in h.text for h in res.hints)
    # WSL on a host whose GPU is not NVIDIA (/dev/dxg, no NVIDIA user-space driver): a CPU plan is right.
    other = machine_from_snapshot(_wsl_snapshot(nvml_error="LibraryNotFound", library_version=None))
    assert not other.nvidia_present
    assert resolve(Request(machine=other)).packages[0].variant == "cpu"


# --- requirement strings copied from course notes carry the local tag -------------------------------------

def test_a_local_version_in_the_request_picks_that_build():
    # previous-versions.md style pins: torch==2.6.0+cu124 torchvision==0.21.0+cu124
    res = _resolve(["torch==2.6.0+cu124", "torchvision==0.21.0+cu124"], gpu_cc=["8.6"], driver="550.127.05")
    assert _got(res) == {"torch": ("2.6.0", "cu124"), "torchvision": ("0.21.0", "cu124")}
    # Without the tag any build of 2.6.0 may be chosen: the package index's own build (cu124) comes first.
    assert _got(_resolve(["torch==2.6.0"], gpu_cc=["8.6"], driver="550.127.05"))["torch"] == ("2.6.0", "cu124")
    # A tag that no build has: nothing fits, and the hint says what would without the constraint.
    res = _resolve(["torch==2.6.0+cu999"], gpu_cc=["8.6"], driver="550.127.05")
    assert not res.ok and any("fits this machine" in h.text for h in res.hints)


# --- ONNX Runtime per platform (PyPI file tags; microsoft/onnxruntime#31989 arch lists) ---------------------

def test_ort_aarch64_gpu_wheels_start_at_1_29_and_need_glibc_2_34():
    gh200 = dict(arch="aarch64", gpu_cc=["9.0"], driver="580.65.06", python="3.12")
    assert _got(_resolve(["onnxruntime"], **gh200))["onnxruntime-gpu"] == ("1.31.1", "cuda13")
    # No aarch64 onnxruntime-gpu before 1.29: a pin to 1.27/1.28 has nothing for this platform.
    res = _resolve(["onnxruntime<1.29"], **gh200)
    assert not res.ok
    assert ("onnxruntime 1.28.0 (cuda13)", "platform") in {(r.candidate, r.rule) for r in res.rejected}
    old_glibc = _resolve(["onnxruntime"], glibc="2.31", **gh200)
    assert not old_glibc.ok and "glibc" in {r.rule for r in old_glibc.rejected}
    assert any("glibc ≥ 2.34" in h.text for h in old_glibc.hints)


def test_ort_1_30_arch_lists_differ_per_platform():
    # aarch64 1.30+: 89;90a;120a;121a — an A100 on Grace (sm_80) falls back to 1.29.
    a100_arm = _resolve(["onnxruntime"], arch="aarch64", gpu_cc=["8.0"], driver="580.65.06", python="3.12")
    assert _got(a100_arm)["onnxruntime-gpu"] == ("1.29.0", "cuda13")
    # Windows 1.30+: 75;80;86;89;120a — no Hopper kernels; Linux x86_64 keeps sm_90a.
    win_h100 = _resolve(["onnxruntime"], os="windows", gpu_cc=["9.0"], driver="581.57", python="3.12")
    assert _got(win_h100)["onnxruntime-gpu"] == ("1.29.0", "cuda13")
    linux_h100 = _resolve(["onnxruntime"], gpu_cc=["9.0"], driver="580.65.06", python="3.12")
    assert _got(linux_h100)["onnxruntime-gpu"] == ("1.31.1", "cuda13")


def test_driver_without_a_gpu_says_the_answer_is_a_cpu_plan():
    res = _resolve(["torch"], driver="580.65.06")
    assert res.ok and res.packages[0].variant == "cpu"
    assert any("--gpu-cc" in h.text and "CPU plan" in h.text for h in res.hints)
    assert not any("CPU plan" in h.text for h in _resolve(["torch"], no_gpu=True).hints)
