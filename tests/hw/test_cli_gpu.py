"""Plan by GPU name or PCI id: ``resolve --gpu`` (repeatable, mixed with --gpu-cc) and the DLSETUP_* variables for
builds without a GPU (``docker build``)."""

from __future__ import annotations

import pytest

BASE = ("--python", "3.12", "--os", "linux", "--arch", "x86_64")


def test_gpu_by_name_plans_the_cuda_build(cli):
    doc = cli("resolve", "torch", "--gpu", "RTX 3060", "--driver", "580.95.05", *BASE, "--json").json()
    assert doc["exit_code"] == 0
    gpus = doc["machine"]["gpus"]
    assert gpus == [{"index": 0, "name": "NVIDIA GeForce RTX 3060", "cc": "8.6", "cc_source": "gpu"}]
    assert doc["packages"][0]["variant"].startswith("cu")


def test_gpu_by_pci_id_mixed_with_gpu_cc(cli):
    doc = cli("resolve", "torch", "--gpu", "10de:2504", "--gpu-cc", "6.1", "--driver", "580.95.05", *BASE,
              "--json").json()
    assert [g["cc"] for g in doc["machine"]["gpus"]] == ["8.6", "6.1"]
    assert doc["packages"][0]["variant"] == "cu126"  # Pascal: the last CUDA 12 line (cu130 has no sm_61)


@pytest.mark.parametrize("lang, needle", [("en", "matches several GPUs"), ("zh", "匹配到多个 GPU")])
def test_an_ambiguous_name_lists_the_candidates_and_exits_2(cli, lang, needle):
    r = cli("resolve", "--gpu", "titan", *BASE, "--lang", lang)
    assert r.code == 2 and r.stdout == ""
    assert needle in r.stderr and "NVIDIA TITAN V" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_unknown_name_exits_2(cli):
    r = cli("resolve", "--gpu", "quantum flux 9000", *BASE)
    assert r.code == 2 and "no GPU of that name or PCI id" in r.stderr


def test_environment_variables_for_a_docker_build(cli, monkeypatch):
    monkeypatch.setenv("DLSETUP_GPU", "gtx1650, rtx 4090")
    monkeypatch.setenv("DLSETUP_DRIVER", "535.104.05")
    monkeypatch.setenv("DLSETUP_PYTHON", "3.11")
    doc = cli("resolve", "torch", "--os", "linux", "--json").json()
    assert [g["cc"] for g in doc["machine"]["gpus"]] == ["7.5", "8.9"]
    assert doc["machine"]["driver"] == "535.104.05" and doc["machine"]["python"] == "3.11"
    assert doc["packages"][0]["variant"] == "cu126"  # R535 runs CUDA 12.x through minor-version compatibility


def test_help_documents_gpu_and_the_variables(cli):
    r = cli("resolve", "--help")
    assert "--gpu NAME|PCI_ID" in r.stdout and "DLSETUP_GPU" in r.stdout and "DLSETUP_DRIVER" in r.stdout


def test_amd_by_name_gets_rocm_and_a_consumer_card_the_override_warning(cli):
    doc = cli("resolve", "torch", "--gpu", "rx 7600", *BASE, "--json").json()
    assert doc["packages"][0]["variant"].startswith("rocm")
    assert any("HSA_OVERRIDE_GFX_VERSION=11.0.0" in w for w in doc["warnings"])
    assert doc["machine"]["other_gpus"][0]["target"] == "gfx1102"


def test_intel_arc_by_name_gets_xpu(cli):
    doc = cli("resolve", "torch", "--gpu", "arc a770", *BASE, "--json").json()
    assert doc["packages"][0]["variant"] == "xpu"
    assert doc["packages"][0]["index_url"] == "https://download.pytorch.org/whl/xpu"


def test_apple_silicon_default_wheel_is_the_mps_build_not_cpu_only(cli):
    r = cli("resolve", "torch", "--os", "macos", "--arch", "aarch64", "--python", "3.12")
    assert r.code == 0 and "MPS" in r.stdout and "CPU-only build" not in r.stdout


def test_create_env_recipe_for_a_named_gpu(cli, monkeypatch):
    # --offline with no cached channel metadata: the conda part is not solved (exit 1), the recipe plan is there
    doc = cli("--json", "create", "env", "dl", "--recipe", "pytorch", "--gpu", "RTX 4090", "--dry-run", "--offline").json()
    assert doc["dry_run"] is True and doc["exit_code"] == (0 if doc["solved"] else 1)
    assert "NVIDIA GeForce RTX 4090 (8.9)" in doc["recipe"]["machine_text"] and doc["recipe"]["variant"].startswith("cu")
    monkeypatch.setenv("DLSETUP_GPU", "arc a770")
    doc = cli("--json", "create", "env", "dl", "--recipe", "pytorch", "--dry-run", "--offline").json()
    assert doc["recipe"]["variant"] == "xpu"
