"""``dlsetup env lock`` (conda-lock's code, rattler solving) and ``dlsetup env install`` from the lock."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML


def _yml(path: Path, channel_url: str, deps: list[str], pip: list[str] | None = None, extra: str = "") -> Path:
    text = f"channels:\n  - {channel_url}\ndependencies:\n" + "".join(f"  - {d}\n" for d in deps)
    if pip:
        text += "  - pip:\n" + "".join(f"    - {p}\n" for p in pip)
    path.write_text(text + extra)
    return path


def _lock(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def test_lock_two_platforms(cli, channel_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = _yml(tmp_path / "environment.yml", channel_url, ["dlsetup-demo-a", "dlsetup-demo-c"])
    r = cli("--json", "env", "lock", "-f", str(env), "-p", "linux-64", "-p", "osx-arm64")
    assert r.code == 0, r
    doc = r.json()
    out = tmp_path / "conda-lock.yml"
    assert doc["lockfile"] == str(out) and doc["platforms"] == ["linux-64", "osx-arm64"]
    assert doc["packages"] == {"linux-64": 3, "osx-arm64": 3} and doc["pip_packages"] == {}
    lock = _lock(out)
    assert lock["version"] == 1 and set(lock["metadata"]["content_hash"]) == {"linux-64", "osx-arm64"}
    assert lock["metadata"]["sources"] == ["environment.yml"]
    by = {(p["name"], p["platform"]): p for p in lock["package"]}
    assert by[("dlsetup-demo-b", "osx-arm64")]["version"] == "1.0.0"
    assert by[("dlsetup-demo-a", "linux-64")]["dependencies"] == {"dlsetup-demo-b": ">=1,<2"}
    assert by[("dlsetup-demo-c", "linux-64")]["url"].endswith(".tar.bz2")
    assert len(by[("dlsetup-demo-c", "linux-64")]["hash"]["sha256"]) == 64
    assert "conda-lock install -n YOURENV conda-lock.yml" in out.read_text()  # header names the real file
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_lock_platforms_default_to_file_then_this_machine(cli, channel_url, tmp_path):
    env = _yml(tmp_path / "e.yml", channel_url, ["dlsetup-demo-c"], extra="platforms:\n  - osx-64\n")
    r = cli("--json", "env", "lock", "-f", str(env), "-o", str(tmp_path / "a.yml"))
    assert r.code == 0 and r.json()["platforms"] == ["osx-64"]
    env2 = _yml(tmp_path / "e2.yml", channel_url, ["dlsetup-demo-c"])
    r = cli("--json", "env", "lock", "-f", str(env2), "-o", str(tmp_path / "b.yml"))
    assert r.code == 0 and r.json()["platforms"] == ["linux-64"]


def test_lock_with_pip_section_then_install(cli, channel_url, pypi, tmp_path, envs_dir):
    env = _yml(tmp_path / "environment.yml", channel_url, ["python", "pip", "dlsetup-demo-py"], pip=["dlsetup-wheel-a"],
               extra=f"pip-repositories:\n  - {pypi.url}\nallow-pypi-requests: false\n")
    out = tmp_path / "conda-lock.yml"
    r = cli("--json", "env", "lock", "-f", str(env), "-o", str(out))
    assert r.code == 0, r
    assert r.json()["pip_packages"] == {"linux-64": 2}
    pips = {p["name"]: p for p in _lock(out)["package"] if p["manager"] == "pip"}
    assert pips["dlsetup-wheel-b"]["version"] == "2.1" and len(pips["dlsetup-wheel-b"]["hash"]["sha256"]) == 64
    assert pips["dlsetup-wheel-a"]["url"].endswith("dlsetup_wheel_a-1.0-py3-none-any.whl")
    r = cli("--json", "env", "install", "fromlock", "-f", str(out))
    assert r.code == 0, r
    doc = r.json()
    assert doc["lockfile"] == str(out) and doc["platform"] == "linux-64"
    assert sorted(p["name"] for p in doc["pip_packages"]) == ["dlsetup-wheel-a", "dlsetup-wheel-b"]
    prefix = envs_dir / "fromlock"
    run = subprocess.run([str(prefix / "bin" / "wheel-a")], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == f"wheel-a ok {prefix}"
    run = subprocess.run([str(prefix / "bin" / "demo-py")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    # the lock installs exactly: `create -f conda-lock.yml` goes the same way
    r = cli("--json", "create", "env", "fromlock2", "-f", str(out), "--dry-run")
    assert r.code == 0 and r.json()["action"] == "install"


def test_lock_pip_index_option_and_no_public_pypi(cli, channel_url, pypi, tmp_path):
    # no pip-repositories in the file: --pip-index-url is used, and nothing else is contacted
    # (the socket guard refuses any non-loopback connection from this process)
    env = _yml(tmp_path / "environment.yml", channel_url, ["python", "pip"], pip=["dlsetup-wheel-b<2"])
    out = tmp_path / "lock.yml"
    r = cli("--json", "env", "lock", "-f", str(env), "-o", str(out), "--pip-index-url", pypi.url)
    assert r.code == 0, r
    (b,) = [p for p in _lock(out)["package"] if p["manager"] == "pip"]
    assert b["version"] == "1.0"


def test_lock_cuda(cli, channel_url, tmp_path):
    env = _yml(tmp_path / "environment.yml", channel_url, ["dlsetup-demo-cuda"])
    # conda-lock's own default for linux-64 is __cuda 11.4: too old for this package
    r = cli("env", "lock", "-f", str(env), "-o", str(tmp_path / "l.yml"))
    assert r.code == 1 and "__cuda" in r.stderr
    assert not (tmp_path / "l.yml").exists()
    r = cli("--json", "env", "lock", "-f", str(env), "-o", str(tmp_path / "l.yml"), "--cuda", "12.4")
    assert r.code == 0, r
    assert r.json()["packages"] == {"linux-64": 1}


def test_lock_failure_keeps_the_old_lock(cli, channel_url, tmp_path):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    out = tmp_path / "conda-lock.yml"
    out.write_text("previous\n")
    env = _yml(tmp_path / "environment.yml", channel_url, ["dlsetup-demo-a", "dlsetup-demo-x"])
    r = cli("env", "lock", "-f", str(env), "-o", str(out))
    assert r.code == 1 and "dlsetup-demo-b" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conda-lock.yml", "environment.yml"]


@pytest.mark.parametrize("case", ["platform", "input", "missing", "noflag"])
def test_lock_usage_errors(cli, channel_url, tmp_path, case):
    env = _yml(tmp_path / "environment.yml", channel_url, ["dlsetup-demo-c"])
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\n")
    args = {"platform": ["-f", str(env), "-p", "amiga-68k"], "input": ["-f", str(req)],
            "missing": ["-f", str(tmp_path / "nope.yml")], "noflag": []}[case]
    r = cli("env", "lock", *args)
    assert r.code == 2 and "Traceback" not in r.stderr


def test_install_from_lock_for_another_platform_only(cli, channel_url, tmp_path, envs_dir):
    env = _yml(tmp_path / "environment.yml", channel_url, ["dlsetup-demo-c"])
    out = tmp_path / "mac.yml"
    assert cli("env", "lock", "-f", str(env), "-p", "osx-arm64", "-o", str(out)).code == 0
    r = cli("env", "install", "mac", "-f", str(out))
    assert r.code == 2
    assert "has no packages for linux-64 (it was locked for: osx-arm64)" in r.stderr
    assert not (envs_dir / "mac").exists()
    r = cli("env", "install", "x", "-f", str(env))
    assert r.code == 2 and "is not a conda-lock file" in r.stderr
