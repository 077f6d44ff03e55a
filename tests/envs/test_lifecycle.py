"""list / export (each format) / clone / remove, end to end with the rattler backend."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.envs.channel_builder import PY_VER
from tests.envs.conftest import leftovers, registered
from tests.envs.test_create import _assert_launcher


@pytest.fixture
def demo(cli, channel_url, pypi, tmp_path, envs_dir) -> Path:
    """An env with conda packages, a pip section and a file the user dropped in."""
    yml = tmp_path / "environment.yml"
    yml.write_text(f"channels:\n  - {channel_url}\ndependencies:\n  - python\n  - pip\n  - dlsetup-demo-a\n"
                   f"  - dlsetup-demo-py\n  - pip:\n    - dlsetup-wheel-a\npip-repositories:\n  - {pypi.url}\n")
    r = cli("create", "env", "demo", "-f", str(yml))
    assert r.code == 0, r
    prefix = envs_dir / "demo"
    (prefix / "notes.txt").write_text(f"my env lives in {prefix}\n")
    return prefix


def test_list_text_and_json(cli, demo, envs_dir):
    r = cli("env", "list")
    assert r.code == 0
    row = [ln for ln in r.stdout.splitlines() if ln.startswith("demo ")]
    assert row and PY_VER in row[0] and str(demo) in row[0]
    doc = cli("--json", "env", "list").json()
    assert doc["command"] == "env list" and doc["envs_dirs"][0] == str(envs_dir)
    (env,) = [e for e in doc["envs"] if e["name"] == "demo"]
    assert env["registered"] is True and env["active"] is False and env["base"] is False
    assert env["packages"] == 5 and env["python"].startswith(PY_VER) and env["created"]


def test_list_marks_active_and_finds_registered_elsewhere(cli, demo, tmp_path, channel_url, monkeypatch):
    other = tmp_path / "elsewhere"
    assert cli("create", "env", str(other), "-c", channel_url, "dlsetup-demo-c").code == 0
    monkeypatch.setenv("CONDA_PREFIX", str(demo))
    doc = cli("--json", "env", "list").json()
    by_prefix = {e["prefix"]: e for e in doc["envs"]}
    assert by_prefix[str(demo)]["active"] is True
    assert by_prefix[str(other)]["registered"] is True and by_prefix[str(other)]["name"] is None


def test_export_yaml_is_conda_env_export(cli, demo, channel_url):
    r = cli("env", "export", "demo")
    assert r.code == 0, r
    doc = YAML(typ="safe").load(r.stdout)
    assert doc["name"] == "demo" and doc["prefix"] == str(demo) and doc["channels"] == [channel_url]
    deps = [d for d in doc["dependencies"] if isinstance(d, str)]
    assert "dlsetup-demo-a=0.1.0=h0_0" in deps and any(d.startswith("python=") for d in deps)
    pip = [d for d in doc["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert sorted(pip) == ["dlsetup-wheel-a==1.0", "dlsetup-wheel-b==2.1"]
    nob = YAML(typ="safe").load(cli("env", "export", "demo", "--no-builds").stdout)
    assert "dlsetup-demo-a=0.1.0" in nob["dependencies"]


def test_export_from_history_lists_only_requested_specs(cli, demo):
    doc = YAML(typ="safe").load(cli("env", "export", "demo", "--from-history").stdout)
    # like conda: the specs as asked, no pip section
    assert doc["dependencies"] == ["python", "pip", "dlsetup-demo-a", "dlsetup-demo-py"]


def test_export_explicit_requirements_and_json(cli, demo, channel_url):
    explicit = cli("env", "export", "demo", "--format", "explicit").stdout
    lines = explicit.splitlines()
    assert "@EXPLICIT" in lines and "# platform: linux-64" in lines
    urls = [ln for ln in lines if "://" in ln]
    assert len(urls) == 5 and all("#" in u and len(u.split("#")[1]) == 32 for u in urls)
    req = cli("env", "export", "demo", "--format", "requirements").stdout.splitlines()
    assert "dlsetup-demo-a=0.1.0=h0_0" in req and "dlsetup-wheel-a=1.0=pypi_0" in req
    doc = cli("--json", "env", "export", "demo", "--format", "requirements").json()
    assert doc["format"] == "requirements" and "dlsetup-demo-b=1.0.0=h0_0" in doc["content"]


def test_export_lock_roundtrips_through_install(cli, demo, envs_dir, tmp_path, pypi):
    out = tmp_path / "exported-lock.yml"
    r = cli("env", "export", "demo", "--format", "lock", "-o", str(out))
    assert r.code == 0, r
    assert f"wrote {out}" in r.stdout
    text = out.read_text()
    assert "manager: pip" in text and "dlsetup_wheel_a-1.0-py3-none-any.whl" in text
    r = cli("--json", "env", "install", "again", "-f", str(out))
    assert r.code == 0, r
    doc = r.json()
    assert doc["action"] == "install" and len(doc["packages"]) == 5
    assert sorted(p["name"] for p in doc["pip_packages"]) == ["dlsetup-wheel-a", "dlsetup-wheel-b"]
    again = envs_dir / "again"
    out = subprocess.run([str(again / "bin" / "wheel-a")], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"wheel-a ok {again}"


@pytest.mark.parametrize("args,msg", [
    (["--format", "explicit", "--from-history"], "--from-history does not apply to --format explicit"),
    (["--format", "lock", "--no-builds"], "--no-builds does not apply to --format lock"),
])
def test_export_flag_errors(cli, demo, args, msg):
    r = cli("env", "export", "demo", *args)
    assert r.code == 2 and msg in r.stderr


def test_export_unknown_env(cli):
    r = cli("env", "export", "ghost")
    assert r.code == 2 and r.stderr.strip() == "dlsetup: error: no environment named 'ghost'; see dlsetup env list"


def test_clone_copies_untracked_files_with_prefix_replaced(cli, demo, envs_dir, registry):
    r = cli("--json", "env", "clone", "demo", "copy")
    assert r.code == 0, r
    doc = r.json()
    copy = envs_dir / "copy"
    assert doc["action"] == "clone" and doc["source_prefix"] == str(demo) and doc["untracked_files"] >= 5
    # conda packages relinked for the new prefix
    assert (copy / "etc/dlsetup-demo-a/prefix.txt").read_text() == f"installed in {copy}\n"
    _assert_launcher(copy / "bin/demo-py", copy, f"python{PY_VER}")
    # pip-installed files and the user's file came along, text prefix replaced (conda's clone_env)
    assert (copy / "notes.txt").read_text() == f"my env lives in {copy}\n"
    _assert_launcher(copy / "bin/wheel-a", copy)
    out = subprocess.run([str(copy / "bin/wheel-a")], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"wheel-a ok {copy}"
    # the source is untouched, the copy is registered and remembers what was asked for
    assert (demo / "notes.txt").read_text() == f"my env lives in {demo}\n"
    assert str(copy) in registered(registry)
    assert "# update specs: ['python', 'pip', 'dlsetup-demo-a', 'dlsetup-demo-py']" in (copy / "conda-meta/history").read_text()
    assert cli("env", "clone", "demo", "copy").code == 2  # exists now
    assert cli("env", "clone", "ghost", "copy2").code == 2


def test_remove(cli, demo, envs_dir, registry):
    r = cli("--json", "env", "remove", "demo", "--dry-run")
    assert r.code == 0 and r.json()["removed"] is False and demo.exists()
    r = cli("--json", "env", "remove", "demo", "--yes")
    assert r.code == 0, r
    assert r.json()["removed"] is True and r.json()["unregistered"] is True
    assert not demo.exists() and registered(registry) == [] and leftovers(envs_dir) == []
    r = cli("env", "remove", "demo")
    assert r.code == 2 and "no environment named 'demo'" in r.stderr


def test_remove_refuses_active_base_and_self(cli, demo, monkeypatch, tmp_path):
    monkeypatch.setenv("CONDA_PREFIX", str(demo))
    r = cli("env", "remove", "demo")
    assert r.code == 2 and "refusing to remove the active environment" in r.stderr and demo.exists()
    monkeypatch.delenv("CONDA_PREFIX")
    monkeypatch.setenv("MAMBA_ROOT_PREFIX", str(demo))  # pretend demo is the base installation
    r = cli("env", "remove", str(demo))
    assert r.code == 2 and "refusing to remove the base environment" in r.stderr and demo.exists()
    monkeypatch.delenv("MAMBA_ROOT_PREFIX")
    for name in ("base", "root"):
        assert cli("env", "remove", name).code == 2
    r = cli("env", "remove", str(tmp_path))
    assert r.code == 2 and "is not an environment" in r.stderr


def test_a_killed_remove_is_finished_next_time(cli, demo, envs_dir):
    # simulate `remove` killed after the rename: a trash dir whose owner is gone
    trash = envs_dir / ".dlsetup-trash-demo-deadbeef"
    demo.rename(trash)
    doc = cli("--json", "env", "list").json()
    assert doc["cleaned"] == [trash.name] and not trash.exists()
    assert [e for e in doc["envs"] if e["name"] == "demo"] == []
