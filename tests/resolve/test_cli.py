"""`dlsetup resolve` through the real CLI: the --json contract, exit codes, bad input, --explain on this box
and on every doctor snapshot fixture in tests/fixtures/snapshots/ (recordings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

SNAPSHOTS = sorted((FIXTURES / "snapshots").glob("*.json"))


def test_json_contract_for_a_planned_machine(cli):
    r = cli("resolve", "torch", "--gpu-cc", "6.1", "--driver", "580.95.05", "--python", "3.11", "--os", "linux",
            "--arch", "x86_64", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["command"] == "resolve" and doc["exit_code"] == 0
    assert set(doc) >= {"packages", "cuda", "cudnn", "commands", "reasons", "rejected"}
    pkg = doc["packages"][0]
    assert set(pkg) >= {"name", "version", "variant", "index_url", "requirement"}
    assert (pkg["name"], pkg["version"], pkg["variant"]) == ("torch", "2.14.1", "cu126")
    assert pkg["index_url"] == "https://download.pytorch.org/whl/cu126"
    assert pkg["requirement"] == "torch==2.14.1"
    assert doc["cuda"] == "12.6" and doc["cudnn"] == "9.10.2.21"
    assert doc["commands"]["pip"] == "python -m pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cu126"
    assert doc["commands"]["uv"].startswith("uv pip install torch==2.14.1 --index-url")
    assert "conda" in doc["commands"]
    assert all(set(x) >= {"text", "source"} and x["source"] for x in doc["reasons"])
    assert all(set(x) >= {"candidate", "rule"} for x in doc["rejected"])
    assert {"torch 2.15.0+cu132", "torch 2.14.1+cu130"} <= {x["candidate"] for x in doc["rejected"]}
    assert r.stderr == ""


def test_nothing_fits_is_exit_1_with_reasons_and_hints(cli):
    r = cli("resolve", "torch==2.15.*", "--gpu-cc", "6.1", "--driver", "580.95.05", "--python", "3.12", "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["exit_code"] == 1 and doc["packages"] == []
    assert doc["commands"] == {"pip": None, "uv": None, "conda": None, "pixi": None}
    assert {x["rule"] for x in doc["rejected"]} == {"arch"}
    assert any("--no-gpu" in h["text"] for h in doc["hints"])
    # ...and what would fit without the constraint
    assert any("torch 2.14.1 (cu126) fits" in h["text"] for h in doc["hints"])


def test_text_output_names_the_fix(cli):
    r = cli("resolve", "torch", "--gpu-cc", "8.6", "--driver", "470.182.03", "--python", "3.10")
    assert r.code == 0
    assert "Resolved: torch 2.7.1" in r.stdout
    assert "python -m pip install torch==2.7.1 --index-url https://download.pytorch.org/whl/cu118" in r.stdout
    assert "upgrade the NVIDIA driver to ≥ 525.60.13" in r.stdout
    assert "--explain shows all" in r.stdout  # the short list of rejected candidates


def test_explain_shows_sources_and_every_rejected_candidate(cli):
    short = cli("resolve", "torch", "--gpu-cc", "8.6", "--driver", "470.182.03", "--python", "3.10")
    full = cli("resolve", "torch", "--gpu-cc", "8.6", "--driver", "470.182.03", "--python", "3.10", "--explain")
    assert full.code == 0
    assert full.stdout.count("✗ ") > short.stdout.count("✗ ") >= 1
    assert "(source: https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html)" in full.stdout
    assert "--explain shows all" not in full.stdout


def test_chinese_output(cli):
    r = cli("--lang", "zh", "resolve", "torch", "--gpu-cc", "6.1", "--driver", "580.95.05", "--python", "3.11")
    assert r.code == 0
    assert "解析结果" in r.stdout and "安装命令" in r.stdout and "依据" in r.stdout
    assert "计算能力 6.1" in r.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["frobnitz"], "dlsetup cannot resolve 'frobnitz'"),
        (["torch==="], "cannot read 'torch==='"),
        (["torch", "--gpu-cc", "eight"], "'eight' is not a compute capability"),
        (["torch", "--gpu-cc", "99.9"], "'99.9' is not a compute capability"),
        (["torch", "--gpu-cc", "0.0"], "'0.0' is not a compute capability"),
        (["torch", "--driver", "latest"], "'latest' is not an NVIDIA driver version"),
        (["torch", "--python", "three"], "'three' is not a Python version"),
        (["torch", "--os", "plan9"], "unknown OS 'plan9'"),
        (["torch", "--arch", "riscv"], "unknown architecture 'riscv'"),
        (["torch", "--cuda", "twelve"], "'twelve' is not a CUDA version"),
        (["torch", "torch==2.6.*"], "torch is requested twice"),
        (["--snapshot", "/nonexistent/snap.json"], "file not found"),
        (["torch", "--no-gpu", "--index-url", "https://pypi.org/simple"], "add --check-index"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(cli, args, needle):
    r = cli("resolve", *args)
    assert r.code == 2, r
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("dlsetup: error: ") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_bad_input_with_json_prints_an_error_document(cli):
    r = cli("resolve", "frobnitz", "--json")
    assert r.code == 2
    doc = r.json()
    assert doc["error"]["code"] == "resolve.error.unknown_package"


def test_bad_snapshot_is_a_usage_error(cli, tmp_path: Path):
    bad = tmp_path / "snap.json"
    bad.write_text(json.dumps({"kind": "something-else"}))
    r = cli("resolve", "--snapshot", str(bad))
    assert r.code == 2 and "not a usable dlsetup snapshot" in r.stderr


def test_help_has_examples(cli):
    r = cli("resolve", "--help")
    assert r.code == 0
    assert "Examples:" in r.stdout and "dlsetup resolve torch --gpu-cc 6.1 --driver 580.95.05" in r.stdout


def test_this_box_explain_is_a_decision_a_person_can_follow(cli):
    # The CI box: no NVIDIA GPU, so a CPU build, not an error.
    r = cli("resolve", "--explain")
    assert r.code == 0, r
    assert "Machine: " in r.stdout and "(from live probe)" in r.stdout
    assert "Resolved: torch " in r.stdout
    doc = cli("resolve", "--json").json()
    if not doc["machine"]["gpus"]:
        assert "No NVIDIA GPU found: planning CPU builds" in r.stdout
        assert doc["packages"][0]["variant"] == "cpu"


def test_no_gpu_gets_the_cpu_build(cli):
    r = cli("resolve", "torch", "torchvision", "--no-gpu", "--python", "3.12", "--os", "linux", "--json")
    assert r.code == 0
    doc = r.json()
    assert [(p["name"], p["variant"]) for p in doc["packages"]] == [("torch", "cpu"), ("torchvision", "cpu")]
    assert doc["commands"]["pip"].endswith("--index-url https://download.pytorch.org/whl/cpu")
    assert doc["cuda"] is None


# Key lines each snapshot fixture must produce with --explain (the fixtures say which machine they model).
SNAPSHOT_EXPECT = {
    "a100-gpu-lost.json": ["GPU 0 (NVIDIA A100 80GB PCIe): compute capability 8.0", "Resolved: torch 2.14.1"],
    "amd-rocm-no-nvidia.json": ["AMD Radeon RX 7900 XT/7900 XTX", "(gfx1100) is on AMD's ROCm support list", "Resolved: torch 2.15.0",
                                "rocm7.14"],
    "ci-box.json": ["No NVIDIA GPU found", "Resolved: torch 2.15.0"],
    "conda-torch-over-cpuonly.json": ["GPU 0 (NVIDIA GeForce RTX 3060): compute capability 8.6",
                                      "Resolved: torch 2.14.1", "cu126", "pytorch=2.13.0=cuda*"],
    "container-no-gpus.json": ["compute capability inferred from the name", "Resolved: torch 2.14.1"],
    "cuda-visible-devices-minus1.json": ["GPUs 0-1 (NVIDIA GeForce RTX 3090)", "Resolved: torch 2.14.1"],
    "driver-library-mismatch.json": ["NVIDIA driver 550.120 is branch R550", "Resolved: torch 2.14.1"],
    "gtx1080ti-r590.json": ["the driver is not usable: DriverNotLoaded", "GTX 1080 Ti", "R590 no longer supports it",
                            "Nothing GPU-capable fits", "install the R580 driver"],
    "h100-r580.json": ["GPUs 0-7 (NVIDIA H100 80GB HBM3)", "Resolved: torch 2.15.0", "minor-version compatibility"],
    "nouveau-no-driver.json": ["the driver is not usable", "RTX 2060", "install an NVIDIA driver ≥ 580"],
    # issue 14: no driver, no pci.ids: the card comes from dlsetup's GPU database by its PCI id
    "nodriver-rtx3090-debian12.json": ["GPU 0 (NVIDIA GeForce RTX 3090): compute capability 8.6, Ampere",
                                       "from the PCI id", "Resolved: torch 2.15.0", "install an NVIDIA driver ≥ 580"],
    "nodriver-gtx1080ti-ubuntu2404.json": ["compute capability 6.1, Pascal", "Resolved: torch 2.14.1", "cu126"],
    "nodriver-k80-debian12.json": ["GPUs 0-1 (Tesla K80): compute capability 3.7", "Resolved: torch 2.3.1", "cu118"],
    "nodriver-k80-ubuntu2204.json": ["compute capability 3.7", "Resolved: torch 2.3.1", "cu118"],
    "nodriver-rtx5090-debian12.json": ["compute capability 12.0, Blackwell", "Resolved: torch 2.15.0", "sm_120"],
    "nodriver-laptop-intel-rtx4070.json": ["RTX 4070 Laptop GPU", "compute capability 8.9", "Resolved: torch 2.15.0"],
    "arc-a770-ubuntu2404.json": ["Intel Arc A770 is supported by PyTorch's XPU builds", "Resolved: torch 2.15.0", "xpu"],
    "docker-host-no-toolkit.json": ["GPU 0 (NVIDIA GeForce RTX 4090): compute capability 8.9", "Resolved: torch 2.14.1"],
    "docker-host-toolkit.json": ["GPU 0 (NVIDIA GeForce RTX 4090): compute capability 8.9", "Resolved: torch 2.14.1"],
    "nvswitch-fabric-not-started.json": ["Resolved: torch 2.15.0"],
    "rtx3080-uvm-after-suspend.json": ["NVIDIA driver 535.183.01 is branch R535", "RTX 3080 Laptop GPU",
                                       "Resolved: torch 2.14.1", "minor-version compatibility"],
    "rtx3090-r470-cu126.json": ["branch R470", "Resolved: torch 2.7.1", "cu118", "525.60.13"],
    "rtx4090-cuda-compat-804.json": ["GPU 0 (NVIDIA GeForce RTX 4090): compute capability 8.9",
                                     "Resolved: torch 2.14.1", "served by the sm_86 kernels of cu126"],
    "rtx4090-torch-cpu.json": ["Resolved: torch 2.14.1", "cu126"],
    "rtx5090-cu124.json": ["Resolved: torch 2.13.0", "cu129", "sm_120", "≥ 580"],
    "stub-libcuda-ld-path.json": ["Resolved: torch 2.14.1"],
    "v100-torch211-cu128.json": ["Volta", "Resolved: torch 2.14.1", "cu126"],
    "wsl2-linux-driver-inside.json": ["linux (WSL2)", "NVIDIA GPU present, but the driver is not usable: "
                                      "DriverNotLoaded (user-space driver library 550.120", "Nothing GPU-capable fits",
                                      "--gpu-cc X.Y"],
    "wsl2-rtx4070.json": ["linux (WSL2)", "Resolved: torch 2.14.1"],
}


def test_every_snapshot_fixture_has_expectations():
    assert {p.name for p in SNAPSHOTS} <= set(SNAPSHOT_EXPECT), "a new snapshot fixture needs expected lines"


@pytest.mark.parametrize("path", SNAPSHOTS, ids=[p.name for p in SNAPSHOTS])
def test_explain_on_each_snapshot_fixture(cli, path: Path):
    r = cli("resolve", "--snapshot", str(path), "--explain")
    assert r.code in (0, 1), r
    assert "Traceback" not in r.stderr
    assert f"from snapshot {path}" in r.stdout
    for needle in SNAPSHOT_EXPECT.get(path.name, []):
        assert needle in r.stdout, f"{path.name}: {needle!r} missing from:\n{r.stdout}"
    doc = cli("resolve", "--snapshot", str(path), "--json").json()
    assert doc["exit_code"] == r.code
    assert (r.code == 0) == bool(doc["packages"])


def test_subprocess_json_has_nothing_else_on_stdout(cli_subprocess):
    r = cli_subprocess("resolve", "tensorflow", "--gpu-cc", "8.9", "--driver", "550.127.05", "--python", "3.12",
                       "--json")
    assert r.code == 0, r
    doc = json.loads(r.stdout)
    assert doc["packages"][0]["requirement"] == "tensorflow[and-cuda]==2.21.0"
    assert doc["commands"]["pip"] == "python -m pip install 'tensorflow[and-cuda]==2.21.0'"
