"""dlsetup's own judgement of the suite's facts: architecture coverage, nvcc and compiler rules, peaks.

The facts are shaped exactly like the suite's environment stage output (see dlverify/env.py); the arch
lists are the ones torch 2.13.0 wheels report (torch/cuda/__init__.py PYTORCH_RELEASES_CODE_CC).
"""

from __future__ import annotations

import re

import pytest

from dlsetup.verify.judge import env_checks, judge, perf_checks
from dlsetup.verify.peaks import peak_for, table

CU130_ARCHS = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]


def facts(**over):
    base = {
        "python": "3.11.7", "torch": "2.13.0+cu130", "torch_cuda": "13.0", "platform": "linux-x86_64", "device": "cuda:0",
        "gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "cc": "8.9"}], "arch_list": CU130_ARCHS,
        "nvcc": {"path": "/usr/local/cuda/bin/nvcc", "version": "13.0"},
        "cxx": {"name": "c++", "path": "/usr/bin/c++", "version": "12.2.0", "kind": "gcc"},
        "ninja": {"path": "/venv/bin/ninja", "version": "1.13.0"},
        "tf32": {"matmul": "none", "cudnn_conv": "tf32"}, "tf32_capable": True, "bf16_native": True,
    }
    base.update(over)
    return base


def by_name(checks, name):
    return [c for c in checks if c["name"] == name]


def test_covered_gpu_passes_and_names_the_kernel_entry():
    checks = env_checks(facts())
    arch = by_name(checks, "arch")[0]
    assert arch["status"] == "pass" and arch["note"]["params"]["entry"] == "sm_86"  # sm_86 SASS runs on 8.9
    assert {c["name"]: c["status"] for c in checks}["nvcc"] == "pass"
    assert by_name(checks, "cxx")[0]["status"] == "pass"


def test_v100_on_a_cu130_build_fails_and_names_the_cu126_build():
    f = facts(gpus=[{"index": 0, "name": "Tesla V100-SXM2-32GB", "cc": "7.0"}])
    arch = by_name(env_checks(f), "arch")[0]
    assert arch["status"] == "fail"
    params = arch["note"]["params"]
    assert params["builds"] == "cu126"
    # the fix is the resolver's answer for this machine: only the cu126 build still has sm_70
    assert params["fix"] == "python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"


def test_rtx50_on_a_cu126_build_fails_and_names_cu129_first():
    f = facts(torch="2.13.0+cu126", torch_cuda="12.6", nvcc={"path": "/x/nvcc", "version": "12.6"},
              gpus=[{"index": 1, "name": "NVIDIA GeForce RTX 5090", "cc": "12.0"}],
              arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"])
    arch = by_name(env_checks(f), "arch")[0]
    assert arch["status"] == "fail" and arch["variant"].startswith("GPU1 ")
    assert arch["note"]["params"]["builds"] == "cu129, cu130, cu132"
    # Same answer as `dlsetup resolve torch==2.13.0` for this machine (the resolver knows the driver floors).
    from dlsetup.resolve import GpuSpec, Machine, Request, resolve

    # An RTX 5090 needs driver branch R570 or newer; R570 runs CUDA <= 12.8 runtimes (12.9 by minor-version
    # compatibility), so of the covering builds only cu129 runs on it (cu130/cu132 need R580).
    machine = Machine(os="linux", arch="x86_64", python="3.11", driver="570.124.06", cuda_driver="12.8",
                      nvidia_present=True, gpus=[GpuSpec(index=1, name="NVIDIA GeForce RTX 5090", cc="12.0")])
    expected = resolve(Request(packages=["torch==2.13.0"], machine=machine)).commands["pip"]
    f["driver"], f["python"] = "570.124.06", "3.11.7"
    arch = by_name(env_checks(f), "arch")[0]
    assert arch["note"]["params"]["fix"] == expected and expected.endswith("/whl/cu129")
    # A driver too old for the GPU itself (R550 predates Blackwell), or for every build that has sm_120:
    # send the user to the resolver's explanation.
    for driver in ("550.54.15", "470.82.01"):
        f["driver"] = driver
        assert by_name(env_checks(f), "arch")[0]["note"]["params"]["fix"] == "dlsetup resolve torch", driver


def test_nvcc_major_mismatch_is_an_error_minor_a_warning_missing_a_warning():
    major = by_name(env_checks(facts(nvcc={"path": "/x", "version": "12.8"})), "nvcc")[0]
    assert major["status"] == "fail" and major["note"]["key"] == "verify.note.nvcc_mismatch"
    minor = by_name(env_checks(facts(torch_cuda="13.2", nvcc={"path": "/x", "version": "13.0"})), "nvcc")[0]
    assert minor["status"] == "warn" and minor["note"]["key"] == "verify.note.nvcc_minor"
    missing = by_name(env_checks(facts(nvcc={"path": None, "version": None})), "nvcc")[0]
    assert missing["status"] == "warn" and missing["note"]["params"]["cuda"] == "13.0"
    assert not by_name(env_checks(facts(torch_cuda=None, arch_list=[], gpus=[])), "nvcc")  # CPU torch: no rule


def test_gcc_outside_the_cuda_range_fails():
    # CUDA 12.6 accepts gcc >= 6, < 14 (torch's CUDA_GCC_VERSIONS, via dlsetup.compat)
    f = facts(torch_cuda="12.6", nvcc={"path": "/x", "version": "12.6"},
              cxx={"name": "c++", "path": "/usr/bin/c++", "version": "14.2.0", "kind": "gcc"})
    cxx = by_name(env_checks(f), "cxx")[0]
    assert cxx["status"] == "fail"
    assert cxx["note"]["params"] == {"compiler": "gcc 14.2.0", "cuda": "12.6", "low": "6.0.0", "high": "14.0"}
    ok = by_name(env_checks(facts(cxx={"name": "c++", "path": "/c++", "version": "13.3.0", "kind": "gcc"})), "cxx")[0]
    assert ok["status"] == "pass"


def test_missing_compiler_and_ninja_are_warnings():
    checks = env_checks(facts(cxx={"name": "c++", "path": None}, ninja={"path": None}))
    assert by_name(checks, "cxx")[0]["status"] == "warn"
    assert by_name(checks, "ninja")[0]["note"]["key"] == "verify.note.no_ninja"


def test_judge_recomputes_the_stage_status():
    event = {"stage": "env", "status": "pass", "checks": [{"name": "device", "status": "pass"}],
             "details": facts(nvcc={"path": "/x", "version": "11.8"})}
    assert judge(event)["status"] == "fail"
    skipped = {"stage": "agreement", "status": "skip", "checks": [], "details": {}}
    assert judge(skipped)["status"] == "skip"


def test_peaks_table_rows_are_sourced_and_match_real_device_names():
    for row in table():
        assert row["source"] and row["confidence"] in ("verified", "secondary", "unverified"), row["name"]
        re.compile(row["match"])
    # Device names as torch.cuda.get_device_name() reports them.
    expect = {
        "NVIDIA H100 80GB HBM3": "H100 SXM5 80GB", "NVIDIA H100 PCIe": "H100 PCIe 80GB",
        "NVIDIA H100 NVL": "H100 NVL 94GB", "NVIDIA H200": "H200 SXM 141GB",
        "NVIDIA A100-SXM4-80GB": "A100 80GB SXM", "NVIDIA A100 80GB PCIe": "A100 80GB PCIe",
        "NVIDIA A100-PCIE-40GB": "A100 40GB", "NVIDIA L4": "L4", "Tesla T4": "T4",
        "Tesla V100-SXM2-32GB": "V100 SXM2", "Tesla V100S-PCIE-32GB": "V100S PCIe 32GB",
        "NVIDIA GeForce RTX 4090": "GeForce RTX 4090", "NVIDIA B200": "B200 (HGX, per GPU)",
    }
    for device, row in expect.items():
        assert (peak_for(device) or {}).get("name") == row, device
    assert peak_for("NVIDIA L40S") is None and peak_for("NVIDIA GeForce GTX 1080") is None


@pytest.mark.parametrize("tflops,gbs,status", [(800.0, 3000.0, "pass"), (300.0, 1000.0, "warn")])
def test_perf_warns_below_half_of_peak_never_fails(tflops, gbs, status):
    event = {"stage": "perf", "status": "pass", "details": {"device_name": "NVIDIA H100 80GB HBM3"},
             "checks": [{"name": "gemm", "variant": "bfloat16", "status": "info", "value": tflops, "metric": "tflops"},
                        {"name": "copy", "variant": "d2d", "status": "info", "value": gbs, "metric": "gbs"}]}
    judge(event)
    assert [c["status"] for c in event["checks"]] == [status, status]
    assert event["status"] == status
    assert event["checks"][0]["limit"] == pytest.approx(989.4 / 2, abs=0.1)
    assert event["details"]["peak"]["name"] == "H100 SXM5 80GB"


def test_perf_on_an_unknown_gpu_is_information():
    event = {"stage": "perf", "status": "pass", "details": {"device_name": "NVIDIA RTX A4000"},
             "checks": [{"name": "gemm", "variant": "bfloat16", "status": "info", "value": 50.0}]}
    perf_checks(event)
    assert event["checks"][0]["status"] == "info" and event["checks"][0]["note"]["key"] == "verify.note.no_peak"
