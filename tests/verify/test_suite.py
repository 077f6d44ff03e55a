"""The real suite on this CPU with the real torch 2.13.0: the default run passes, modes, devices, bad targets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.verify.conftest import FAULTS, check, stage

# The shared session fixtures (a cold C++ build, one default run) may land in any test's setup.
pytestmark = [pytest.mark.torch, pytest.mark.timeout(900)]

OPS = {"matmul", "conv2d", "conv2d.grad_input", "conv2d.grad_weight", "conv2d.grad_bias", "max_pool2d", "avg_pool2d",
       "lstm", "lstm.cell_state", "batch_norm.train", "batch_norm.running_stats", "batch_norm.eval", "softmax",
       "log_softmax", "log_softmax.large", "cross_entropy", "cross_entropy.grad"}


def strict_json(text: str) -> dict:
    def no_constants(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constants)


def test_default_suite_passes_on_this_cpu(default_run):
    assert default_run["code"] == 0, default_run["stderr"]
    doc = strict_json(default_run["stdout"])  # exactly one strict JSON document on stdout
    assert doc["command"] == "verify" and doc["schema_version"] == 1 and doc["exit_code"] == 0
    assert doc["status"] == "pass" and doc["mode"] == "default" and doc["device"] == "cpu"
    assert doc["torch"].startswith("2.13.0")
    statuses = {s["name"]: s["status"] for s in doc["stages"]}
    assert statuses == {"env": "pass", "ops": "pass", "autograd": "pass", "amp": "pass", "agreement": "skip",
                        "extension": "pass", "train": "pass", "frameworks": "skip", "distributed": "skip"}
    for s in doc["stages"]:
        assert isinstance(s["duration_s"], float) and s["duration_s"] >= 0, s["name"]
        assert s["timeout_s"] > 0 and s["message"], s["name"]

    ops = stage(doc, "ops")
    seen = {(c["name"], c["variant"]) for c in ops["checks"]}
    assert {(name, "fp32") for name in OPS} <= seen and {(name, "bf16") for name in OPS} <= seen
    assert {("matmul", "fp16"), ("conv2d", "fp16")} <= seen  # tiny fp16 on the CPU, matmul and conv only
    for c in ops["checks"]:
        assert c["status"] == "pass" and c["value"] <= c["limit"], c
    assert check(ops, "max_pool2d", "bf16")["value"] == 0 and check(ops, "max_pool2d", "bf16")["limit"] == 0
    assert check(ops, "matmul", "fp32")["limit"] == 1e-5 and check(ops, "matmul", "bf16")["limit"] == 2e-2

    autograd = stage(doc, "autograd")
    assert {c["name"] for c in autograd["checks"]} == {"conv2d", "max_pool2d", "conv2d+avg_pool2d", "lstm",
                                                       "batch_norm.train", "cross_entropy"}
    assert autograd["details"]["fast_mode"] is False

    agreement = stage(doc, "agreement")
    assert agreement["code"] == "verify.note.no_gpu" and "no GPU" in agreement["message"]

    ext = stage(doc, "extension")
    assert doc["extension_cached"] is True and ext["details"]["cached"] is True
    assert check(ext, "cpp")["value"] == 0

    train = stage(doc, "train")
    result = check(train, "held_out_accuracy")
    assert result["value"] >= 0.97 and result["limit"] == 0.97
    curve = train["details"]["curve"]
    assert curve and curve[-1]["accuracy"] == result["value"] and train["details"]["epochs"] <= 5
    assert [p["epoch"] for p in curve] == sorted(p["epoch"] for p in curve)


def test_cold_build_then_warm(ext_cache, cli, monkeypatch):
    assert ext_cache["code"] == 0, ext_cache["stderr"]
    cold = strict_json(ext_cache["stdout"])
    ext = stage(cold, "extension")
    assert ext["status"] == "pass" and ext["details"]["cached"] is False
    assert cold["extension_cached"] is False and ext["code"] is None
    assert check(ext, "build")["code"] == "verify.note.ext_built"
    key = ext["details"]["key"]
    assert key.startswith("torch2.13.0") and "-cpu-" in key and "gcc" in key and "py3" in key
    assert ext["details"]["build_dir"].startswith(str(ext_cache["cache"] / "torch_extensions" / key))

    monkeypatch.setenv("DLSETUP_CACHE_DIR", str(ext_cache["cache"]))
    r = cli("verify", "--only", "extension", "--json")
    warm = r.json()
    assert r.code == 0 and warm["extension_cached"] is True
    assert check(stage(warm, "extension"), "build")["code"] == "verify.note.ext_cached"


def test_quick_mode(cli):
    r = cli("verify", "--quick", "--json")
    doc = r.json()
    assert r.code == 0, r
    assert [s["name"] for s in doc["stages"]] == ["env", "ops", "autograd"]
    assert all(s["status"] == "pass" for s in doc["stages"])
    assert stage(doc, "autograd")["details"]["fast_mode"] is True
    assert doc["extension_cached"] is None


def test_text_output_english_and_chinese(cli):
    r = cli("verify", "--only", "amp")
    assert r.code == 0, r
    assert "Mixed precision" in r.stdout and "PASS" in r.stdout and "Environment" in r.stdout
    r = cli("verify", "--only", "amp", "--lang", "zh", "-v")
    assert r.code == 0
    assert "混合精度" in r.stdout and "通过" in r.stdout and "autocast [bf16]" in r.stdout


def test_cuda_requested_on_a_cpu_build(cli):
    r = cli("verify", "--device", "cuda", "--only", "ops", "--json")
    doc = r.json()
    assert r.code == 1 and doc["status"] == "fail"
    env = stage(doc, "env")
    device = check(env, "device")
    assert env["status"] == "fail" and device["code"] == "verify.note.cuda_requested_unavailable"
    assert "--device cpu" in device["message"]
    assert stage(doc, "ops")["status"] == "not_run"


def test_cuda_index_out_of_range_is_reported(cli):
    r = cli("verify", "--device", "cuda:3", "--only", "ops")
    assert r.code == 1 and "FAIL" in r.stdout


def test_interpreter_without_torch(cli, tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    r = cli("verify", "--python", str(tmp_path / "bare" / "bin" / "python"), "--json")
    doc = r.json()
    assert r.code == 1
    env = stage(doc, "env")
    assert env["status"] == "fail" and env["code"] == "verify.note.torch_import"
    assert "No module named 'torch'" in env["message"] and "dlsetup resolve torch" in env["message"]
    assert all(s["status"] == "not_run" for s in doc["stages"] if s["name"] != "env")


def test_broken_torch_install(cli, monkeypatch):
    from tests.verify.conftest import BROKEN_TORCH

    monkeypatch.setenv("PYTHONPATH", str(BROKEN_TORCH))
    r = cli("verify", "--quick")
    assert r.code == 1
    assert "torch cannot be imported" in r.stdout and "libcudart.so.12" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_burn_on_cpu(cli):
    r = cli("verify", "--only", "burn", "--burn", "0.5", "--json")
    doc = r.json()
    burn = stage(doc, "burn")
    assert r.code == 0 and burn["status"] == "pass"
    assert burn["details"]["iterations"] >= 1 and check(burn, "repeat_gemm")["value"] == 0


def test_tiny_burn_still_repeats_once_and_huge_time_limits_are_waited_out(cli):
    # --burn shorter than one GEMM used to pass after zero repeats; a stage limit of 1e15 s used to overflow
    # the wait for the suite's output (an internal error, with the suite left running).
    r = cli("verify", "--only", "burn", "--burn", "1e-6", "--stage-timeout", "burn=1e15", "--json")
    burn = stage(r.json(), "burn")
    assert r.code == 0 and burn["status"] == "pass" and burn["details"]["iterations"] == 1


def test_perf_needs_a_gpu(cli):
    r = cli("verify", "--only", "perf", "--json")
    perf = stage(r.json(), "perf")
    assert r.code == 0 and perf["status"] == "skip" and perf["code"] == "verify.note.perf_no_gpu"


def test_broken_tensorflow_fails_the_frameworks_stage(cli, monkeypatch, tmp_path):
    # An installed but unimportable TensorFlow (its import raises), the way a wheel with missing libraries fails.
    pkg = tmp_path / "site" / "tensorflow"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('raise ImportError("libtensorflow_framework.so.2: cannot open shared object file")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    r = cli("verify", "--only", "frameworks", "--json")
    doc = r.json()
    fw = stage(doc, "frameworks")
    assert r.code == 1 and fw["status"] == "fail"
    assert "libtensorflow_framework" in check(fw, "tensorflow")["error"]


def test_local_allreduce_with_nproc(cli):
    r = cli("verify", "--only", "distributed", "--nproc", "2", "--json")
    doc = r.json()
    dist = stage(doc, "distributed")
    assert r.code == 0 and dist["status"] == "pass", r
    assert dist["details"]["world_size"] == 2 and dist["details"]["backend"] == "gloo"
    sizes = [c for c in dist["checks"] if c["name"] == "all_reduce"]
    assert len(sizes) == 3 and all(c["value"] == 0 for c in sizes)
    bw = check(dist, "bandwidth")
    assert bw["status"] == "info" and bw["value"] > 0


def test_fault_directory_is_inert_without_a_fault(cli, monkeypatch):
    # The fault hook must not change anything unless a fault is named (so the fault tests measure the fault).
    monkeypatch.setenv("PYTHONPATH", str(FAULTS))
    r = cli("verify", "--only", "ops", "--json")
    assert r.code == 0 and stage(r.json(), "ops")["status"] == "pass"


def test_env_name_runs_that_environments_python(cli, isolated_env):
    # A conda-layout environment (conda-meta/) in ~/.conda/envs whose python has no torch: verify must run
    # exactly that interpreter (found through dlsetup.envs) and say torch is missing there.
    prefix = isolated_env / ".conda" / "envs" / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    (prefix / "conda-meta").mkdir()
    r = cli("verify", "--env", "bare", "--json")
    doc = r.json()
    assert r.code == 1 and doc["python"] == str(prefix / "bin" / "python")
    assert stage(doc, "env")["code"] == "verify.note.torch_import"


def test_unknown_env_name_is_usage_error(cli):
    r = cli("verify", "--env", "no-such-env")
    assert r.code == 2 and "no-such-env" in r.stderr and r.stdout == ""
