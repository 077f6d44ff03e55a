"""`dlsetup doctor` end to end: this machine (no GPU), --json, --deep with the real CPU torch, frameworks that
crash or hang on import, --lang zh, --strict, snapshots in and out, and bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlsetup.probe.snapshot import save_snapshot
from tests.doctor.helpers import FrameworksInfo, gpu_box, machine, torch

# ------------------------------------------------------------------------------------ this machine


def test_live_run_on_this_box_is_a_correct_no_gpu_report(cli):
    r = cli("doctor", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["command"] == "doctor" and doc["exit_code"] == 0
    assert doc["source"] == "live" and doc["deep"] is False
    assert doc["counts"]["error"] == 0
    none = [f for f in doc["findings"] if f["id"] == "gpu.none"]
    assert len(none) == 1 and none[0]["severity"] == "info"
    assert "LibraryNotFound" in " ".join(none[0]["evidence"])
    assert doc["machine"]["gpus"] == [] and doc["machine"]["driver_version"] is None
    assert [a["rung"] for a in doc["rungs"]][0] == "nvml"
    assert len(doc["checks_run"]) >= 30
    assert r.stderr == ""


def test_text_output_groups_and_ends_with_the_summary(cli):
    r = cli("doctor")
    assert r.code == 0, r
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert lines[0].startswith("dlsetup doctor")
    heads = [ln.split("  ")[0] for ln in lines if not ln.startswith(" ")][1:-1]
    assert heads == ["Driver & GPU", "CUDA", "Python & packages", "Frameworks"]
    assert "[gpu.none]" in r.stdout
    assert "error(s)" in lines[-1] and "checks" in lines[-1]
    assert "\x1b[" not in r.stdout  # not a TTY: no colour codes


def test_without_deep_no_framework_is_imported():
    code = (
        "import sys\n"
        "from dlsetup.cli import main\n"
        "try:\n    main(['doctor', '--json'])\nexcept SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'tensorflow', 'jax', 'paddle'))\n"
        "sys.stderr.write('IMPORTED %r\\n' % bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert "IMPORTED []" in out.stderr, out.stderr
    assert json.loads(out.stdout)["command"] == "doctor"


@pytest.mark.torch
def test_deep_with_the_real_cpu_torch(cli_subprocess):
    pytest.importorskip("torch")
    r = cli_subprocess("doctor", "--deep", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["deep"] is True
    fw = {f["name"]: f for f in doc["machine"]["frameworks"]}
    t = fw["torch"]
    assert t["variant"] == "cpu" and t["version"].startswith("2.13.0")
    assert t["deep"]["ok"] is True and t["deep"]["cuda_available"] is False and t["deep"]["cuda_version"] is None
    # A CPU build on a machine without a GPU is right, not an error.
    assert doc["counts"]["error"] == 0
    assert not [f for f in doc["findings"] if f["id"].startswith(("torch.", "framework."))]


# ------------------------------------------------------------------------------------ broken frameworks


def _venv_with_fake_torch(tmp_path: Path, init_body: str) -> Path:
    """A real venv (no pip) whose site-packages holds a fake `torch` 2.6.0+cu124 with ``init_body`` as __init__."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    pkg = site / "torch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(init_body)
    (pkg / "version.py").write_text("__version__ = '2.6.0+cu124'\ndebug = False\ncuda = '12.4'\nhip = None\n")
    dist = site / "torch-2.6.0+cu124.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.6.0+cu124\n")
    (dist / "INSTALLER").write_text("pip\n")
    return venv / "bin" / "python"


def test_framework_whose_import_crashes_is_a_finding(cli, tmp_path):
    py = _venv_with_fake_torch(tmp_path, "import os\nos.abort()\n")
    r = cli("doctor", "--deep", "--python", str(py), "--json")
    assert r.code == 1, r
    doc = r.json()
    f = [x for x in doc["findings"] if x["id"] == "framework.import_failed"]
    assert len(f) == 1 and f[0]["severity"] == "error"
    assert "signal" in " ".join(f[0]["evidence"])
    assert f[0]["commands"][-1].endswith("-m pip install --force-reinstall --no-deps torch==2.6.0")
    assert "Traceback" not in r.stderr


def test_framework_whose_import_raises_a_library_error(cli, tmp_path, monkeypatch):
    py = _venv_with_fake_torch(tmp_path, "raise ImportError('libcudnn.so.9: cannot open shared object file')\n")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    r = cli("doctor", "--deep", "--python", str(py), "--json")
    assert r.code == 1, r
    f = [x for x in r.json()["findings"] if x["id"] == "framework.import_failed"][0]
    assert "libcudnn.so.9" in " ".join(f["evidence"])
    assert f["commands"][0] == "unset LD_LIBRARY_PATH"


def test_framework_whose_import_hangs_is_a_finding(cli, tmp_path):
    py = _venv_with_fake_torch(tmp_path, "import time\ntime.sleep(600)\n")
    r = cli("doctor", "--deep", "--deep-timeout", "2", "--python", str(py), "--json")
    assert r.code == 1, r
    f = [x for x in r.json()["findings"] if x["id"] == "framework.import_hangs"]
    assert len(f) == 1 and "import torch" in f[0]["commands"][0]


# ------------------------------------------------------------------------------------ language, strict, quiet


def test_chinese_output(cli):
    r = cli("doctor", "--lang", "zh")
    assert r.code == 0, r
    assert "驱动与 GPU" in r.stdout and "未发现 NVIDIA GPU" in r.stdout and "证据" in r.stdout
    assert "No NVIDIA GPU found" not in r.stdout
    assert "个错误" in r.stdout.strip().splitlines()[-1]


def test_chinese_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    r = cli("doctor", "--json")
    titles = [f["title"] for f in r.json()["findings"]]
    assert any("GPU" in x and "未" in x for x in titles)


def _snapshot_file(tmp_path: Path, snap, name: str = "snap.json") -> Path:
    return save_snapshot(snap, tmp_path / name, redact=False)


def test_strict_turns_warnings_into_exit_3(cli, tmp_path):
    warn_only = machine(frameworks=FrameworksInfo(packages={"pynvml": "13.0.1"}))
    path = _snapshot_file(tmp_path, warn_only)
    assert cli("doctor", "--snapshot", str(path)).code == 0
    r = cli("doctor", "--snapshot", str(path), "--strict", "--json")
    assert r.code == 3 and r.json()["exit_code"] == 3 and r.json()["strict"] is True


def test_errors_exit_1_and_quiet_shows_only_errors(cli, tmp_path):
    snap = gpu_box(frameworks=FrameworksInfo(items=[torch("2.6.0+cpu", cuda=None)], packages={"pynvml": "13.0.1"}))
    path = _snapshot_file(tmp_path, snap)
    r = cli("doctor", "--snapshot", str(path), "-q")
    assert r.code == 1
    assert "[torch.cpu_build]" in r.stdout and "[python.pynvml_deprecated]" not in r.stdout
    r = cli("doctor", "--snapshot", str(path))
    assert "[python.pynvml_deprecated]" in r.stdout and "NVIDIA GeForce RTX 3090" in r.stdout


def test_verbose_shows_the_ladder_and_checks(cli, tmp_path):
    path = _snapshot_file(tmp_path, gpu_box())
    r = cli("doctor", "--snapshot", str(path), "-v")
    assert r.code == 0
    assert "NVIDIA detection ladder" in r.stdout and "nvml: ok" in r.stdout
    assert "Checks run" in r.stdout and "(check: gpu.presence)" not in r.stdout


# ------------------------------------------------------------------------------------ snapshots in and out


def test_save_snapshot_is_redacted_and_replays(cli, tmp_path):
    out = tmp_path / "sub" / "me.json"
    r = cli("doctor", "--save-snapshot", str(out), "--json")
    assert r.code == 0, r
    assert r.json()["saved_snapshot"] == str(out)
    data = json.loads(out.read_text())
    assert data["kind"] == "dlsetup.snapshot" and data["redacted"] is True
    import socket

    host = socket.gethostname()
    if len(host) >= 4:
        assert host not in out.read_text()
    again = cli("doctor", "--snapshot", str(out), "--json")
    assert again.code == 0
    assert [f["id"] for f in again.json()["findings"]] == [f["id"] for f in r.json()["findings"]]
    assert again.json()["source"] == str(out)


def test_no_redact_keeps_the_host_name(cli, tmp_path):
    out = tmp_path / "raw.json"
    assert cli("doctor", "--save-snapshot", str(out), "--no-redact").code == 0
    data = json.loads(out.read_text())
    assert data["redacted"] is False and data["system"]["hostname"] not in (None, "<hostname>")


@pytest.mark.parametrize("content,needle", [
    ("{not json", "not JSON"),
    ('{"kind": "something.else", "schema_version": 1}', "not a dlsetup snapshot"),
    ('[1, 2, 3]', "not a JSON object"),
    ('{"kind": "dlsetup.snapshot", "schema_version": 1, "system": {"os": "linux"}, "tooling": {}}', "system.arch"),
])
def test_corrupt_or_foreign_snapshot_is_a_one_line_error(cli, tmp_path, content, needle):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    r = cli("doctor", "--snapshot", str(bad))
    assert r.code == 2 and r.stdout == ""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("dlsetup: error: ") and needle in lines[0]


def test_corrupt_snapshot_with_json_gives_an_error_document(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    r = cli("doctor", "--snapshot", str(bad), "--json")
    assert r.code == 2
    doc = r.json()
    assert doc["exit_code"] == 2 and doc["command"] == "doctor" and "not JSON" in doc["error"]["message"]


def test_missing_snapshot_file(cli, tmp_path):
    r = cli("doctor", "--snapshot", str(tmp_path / "nope.json"))
    assert r.code == 2 and "file not found" in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["--snapshot", "x.json", "--deep"], "--deep"),
    (["--snapshot", "x.json", "--python", "/usr/bin/python3"], "--python"),
    (["--no-redact"], "--save-snapshot"),
])
def test_contradictory_options_are_usage_errors(cli, args, needle):
    r = cli("doctor", *args)
    assert r.code == 2 and needle in r.stderr and "Traceback" not in r.stderr


def test_python_that_does_not_exist(cli, tmp_path):
    r = cli("doctor", "--python", str(tmp_path / "no-python"))
    assert r.code == 2
    assert r.stderr.startswith("dlsetup: error: ") and len(r.stderr.strip().splitlines()) == 1


def test_save_snapshot_into_a_directory_changes_nothing(cli, tmp_path):
    r = cli("doctor", "--save-snapshot", str(tmp_path))
    assert r.code == 2 and "cannot save the snapshot" in r.stderr and "it is a directory" in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["home"]
    zh = cli("doctor", "--save-snapshot", str(tmp_path), "--lang", "zh")
    assert zh.code == 2 and "这是一个目录" in zh.stderr and "directory" not in zh.stderr


def test_help_has_examples(cli):
    r = cli("doctor", "--help")
    assert r.code == 0 and "Examples:" in r.stdout and "dlsetup doctor --snapshot student.json" in r.stdout


# ------------------------------------------------------------------------------------ real config files


def _pip_conf(home: Path, text: str) -> Path:
    # conftest points PIP_CONFIG_FILE at a file that does not exist, so the user file below is read.
    path = home / ".config" / "pip" / "pip.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_mirror_in_pip_conf_masked_by_env_var(cli, isolated_env, monkeypatch):
    conf = _pip_conf(isolated_env, "[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n")
    monkeypatch.setenv("PIP_INDEX_URL", "https://token:s3cret@pypi.corp.example/simple")
    r = cli("doctor", "--json")
    f = [x for x in r.json()["findings"] if x["id"] == "index.masked_by_env"]
    assert len(f) == 1 and f[0]["severity"] == "warning"
    assert str(conf) in f[0]["title"] and f[0]["commands"][0] == "unset PIP_INDEX_URL"
    assert "s3cret" not in r.stdout


def test_unreadable_pip_conf_is_a_finding(cli, isolated_env):
    conf = _pip_conf(isolated_env, "index-url = https://pypi.tuna.tsinghua.edu.cn/simple\n")  # no [section]
    r = cli("doctor", "--json")
    assert r.code == 0
    f = [x for x in r.json()["findings"] if x["id"] == "index.config_unreadable" and x["data"]["tool"] == "pip"]
    assert len(f) == 1 and str(conf) in f[0]["title"] and "[section]" in f[0]["evidence"][0]
    assert f[0]["commands"] == [f"cat -A {conf} | head -40"]
