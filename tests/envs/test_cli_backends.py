"""The conda / mamba / micromamba backends, against a fake executable on PATH.

The real tools cannot be installed here; ``fake_tools/fake_conda.py`` replays output
shaped as their source code prints it (its docstring cites the files) and keeps real on-disk state, so
these tests check dlsetup's half of the contract: detection, the exact argv per tool and version, JSON
parsing, the pip step with the env's own interpreter, and cleanup after a failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.envs.conftest import registered

FAKE = Path(__file__).parent / "fake_tools" / "fake_conda.py"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    def make(tool: str = "conda", version: str | None = None, env_var: bool = True) -> SimpleNamespace:
        root = tmp_path / f"{tool}-root"
        (root / "conda-meta").mkdir(parents=True)
        (root / "conda-meta" / "history").write_text("")
        (root / "envs").mkdir()
        bindir = root / "bin"
        bindir.mkdir()
        exe = bindir / tool
        # exec (not runpy) keeps sys.argv[0] == this file, so the fake knows which tool it plays
        exe.write_text(f"#!{sys.executable}\nsrc = {str(FAKE)!r}\n"
                       "exec(compile(open(src).read(), src, 'exec'), {'__name__': '__main__'})\n")
        exe.chmod(0o755)
        log = tmp_path / f"{tool}.log"
        monkeypatch.setenv("FAKE_TOOL_ROOT", str(root))
        monkeypatch.setenv("FAKE_TOOL_LOG", str(log))
        if version:
            monkeypatch.setenv("FAKE_TOOL_VERSION", version)
        monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
        if env_var and tool == "micromamba":
            monkeypatch.setenv("MAMBA_EXE", str(exe))
            monkeypatch.setenv("MAMBA_ROOT_PREFIX", str(root))
        elif env_var:
            monkeypatch.setenv("CONDA_EXE", str(exe))

        def calls() -> list[list[str]]:
            if not log.exists():
                return []
            return [json.loads(ln)["args"] for ln in log.read_text().splitlines()]

        def reset() -> None:
            if log.exists():
                log.unlink()

        return SimpleNamespace(root=root, exe=exe, envs=root / "envs", calls=calls, reset=reset)

    return make


def test_detection_and_selection(cli, fake, monkeypatch):
    f = fake("conda", env_var=False)  # only on PATH
    assert cli("--json", "env", "list").json()["backend"] == "conda"
    assert cli("--json", "env", "list", "--backend", "rattler").json()["backend"] == "rattler"
    monkeypatch.setenv("DLSETUP_BACKEND", "rattler")
    assert cli("--json", "env", "list").json()["backend"] == "rattler"
    monkeypatch.delenv("DLSETUP_BACKEND")
    r = cli("env", "list", "--backend", "micromamba")
    assert r.code == 2 and "needs the micromamba executable" in r.stderr
    monkeypatch.setenv("DLSETUP_BACKEND", "pixi")
    r = cli("env", "list")
    assert r.code == 2 and "unknown backend 'pixi'" in r.stderr
    assert f.calls() == [["env", "list", "--json"]]


def test_micromamba_via_mamba_exe(cli, fake):
    fake("micromamba")
    assert cli("--json", "env", "list").json()["backend"] == "micromamba"


def test_conda_backend_end_to_end(cli, fake, pypi, tmp_path, registry):
    f = fake("conda")
    req = tmp_path / "requirements.txt"
    req.write_text(f"--index-url {pypi.url}\ndlsetup-wheel-b==1.0\n")
    r = cli("--json", "create", "env", "cx", "-f", str(req))
    assert r.code == 0, r
    doc = r.json()
    prefix = f.envs / "cx"
    assert doc["backend"] == "conda" and doc["prefix"] == str(prefix)
    assert f.calls() == [["create", "-y", "--json", "-n", "cx", "python", "pip"]]
    assert sorted(p["name"] for p in doc["packages"]) == ["pip", "python"]
    # the pip section ran with the env's own interpreter
    assert [(p["name"], p["version"]) for p in doc["pip_packages"]] == [("dlsetup-wheel-b", "1.0")]
    assert list((prefix / "lib").glob("python3*/site-packages/dlsetup_wheel_b/__init__.py"))
    assert str(prefix) in registered(registry)

    f.reset()
    doc = cli("--json", "env", "list").json()
    (cx,) = [e for e in doc["envs"] if e["name"] == "cx"]
    assert cx["created"] == "2026-11-23T10:00:00" and cx["packages"] == 2  # from envs_details / conda-meta
    assert f.calls() == [["env", "list", "--json"]]

    f.reset()
    r = cli("env", "export", "cx", "--no-builds")
    assert r.code == 0 and "name: cx" in r.stdout and "  - python=3.11.7\n" in r.stdout
    r = cli("env", "export", "cx", "--format", "explicit")
    assert "@EXPLICIT" in r.stdout and "python-3.11.7-h0.conda#" in r.stdout
    r = cli("env", "export", "cx", "--format", "requirements")
    assert "python=3.11.7=h0" in r.stdout
    assert f.calls() == [["env", "export", "--json", "-p", str(prefix), "--no-builds"],
                         ["list", "-p", str(prefix), "--explicit", "--md5"],
                         ["list", "-p", str(prefix), "--export"]]
    f.reset()
    r = cli("env", "export", "cx", "--format", "lock")  # conda-meta is the same for every tool: no call
    assert r.code == 0 and "manager: pip" in r.stdout and f.calls() == []

    (prefix / "notes.txt").write_text(f"lives in {prefix}\n")
    r = cli("--json", "env", "clone", "cx", "cy")
    assert r.code == 0, r
    assert f.calls() == [["create", "-y", "--json", "--clone", str(prefix), "-n", "cy"]]
    assert (f.envs / "cy" / "notes.txt").read_text() == f"lives in {f.envs / 'cy'}\n"  # conda copies it

    f.reset()
    r = cli("--json", "env", "remove", "cy")
    assert r.code == 0 and r.json()["removed"] is True
    assert f.calls() == [["env", "remove", "-y", "--json", "-p", str(f.envs / "cy")]]
    assert not (f.envs / "cy").exists() and str(f.envs / "cy") not in registered(registry)


def test_conda_install_from_lock(cli, fake, channel_url, pypi, tmp_path):
    yml = tmp_path / "environment.yml"
    yml.write_text(f"channels:\n  - {channel_url}\ndependencies:\n  - python\n  - pip\n  - pip:\n"
                   f"    - dlsetup-wheel-b<2\npip-repositories:\n  - {pypi.url}\nallow-pypi-requests: false\n")
    lock = tmp_path / "conda-lock.yml"
    assert cli("env", "lock", "-f", str(yml), "-o", str(lock), "--backend", "rattler").code == 0
    f = fake("conda")
    r = cli("--json", "env", "install", "fromlock", "-f", str(lock))
    assert r.code == 0, r
    (call,) = f.calls()
    assert call[:5] == ["create", "-y", "--json", "-n", "fromlock"] and call[5] == "--file"
    prefix = f.envs / "fromlock"
    assert sorted(p.name for p in (prefix / "conda-meta").glob("*.json")) == [
        "pip-23.2.1-pyh0_0.json", "python-3.11.7-h0_dlsetup_test.json"]
    assert [p["name"] for p in r.json()["pip_packages"]] == ["dlsetup-wheel-b"]
    assert list((prefix / "lib").glob("python3*/site-packages/dlsetup_wheel_b-1.0.dist-info"))


def test_conda_failure_is_one_line_and_cleans_up(cli, fake, monkeypatch, registry):
    f = fake("conda")
    monkeypatch.setenv("FAKE_TOOL_FAIL", "create")
    r = cli("create", "env", "broken", "nonexistent")
    assert r.code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("dlsetup: error: conda create -y failed: The following packages are not available")
    assert "nonexistent" in lines[0]
    assert not (f.envs / "broken").exists()  # the half-made prefix conda left is gone
    assert registered(registry) == []


def test_micromamba_spellings_and_clone(cli, fake):
    f = fake("micromamba", version="2.5.0")
    r = cli("--json", "create", "env", "mx", "python", "pip", "-c", "conda-forge")
    assert r.code == 0, r
    assert f.calls() == [["create", "-y", "--json", "-n", "mx", "--override-channels", "-c", "conda-forge",
                          "python", "pip"]]
    prefix = f.envs / "mx"
    assert r.json()["prefix"] == str(prefix)
    f.reset()
    r = cli("env", "export", "mx", "--no-builds")
    assert r.code == 0 and "  - pip=1.0\n" in r.stdout
    r = cli("env", "export", "mx", "--format", "explicit")
    assert r.code == 0 and "@EXPLICIT" in r.stdout
    r = cli("env", "export", "mx", "--format", "requirements")  # no `list --export` in micromamba
    assert r.code == 0 and "python=3.11.7=h0" in r.stdout
    assert f.calls() == [["env", "export", "--json", "-p", str(prefix), "--no-build"],
                         ["env", "export", "-p", str(prefix), "--explicit"]]
    # clone: micromamba >= 2.5 has --clone but does not copy untracked files; dlsetup copies them
    (prefix / "notes.txt").write_text(f"lives in {prefix}\n")
    f.reset()
    r = cli("--json", "env", "clone", "mx", "my")
    assert r.code == 0, r
    assert ["create", "-y", "--json", "--clone", str(prefix), "-n", "my"] in f.calls()
    assert (f.envs / "my" / "notes.txt").read_text() == f"lives in {f.envs / 'my'}\n"
    assert r.json()["untracked_files"] == 1


def test_old_micromamba_clones_through_an_explicit_export(cli, fake):
    f = fake("micromamba", version="2.4.0")
    assert cli("create", "env", "old", "python").code == 0
    f.reset()
    r = cli("--json", "env", "clone", "old", "old2")
    assert r.code == 0, r
    calls = f.calls()
    assert ["--version"] in calls and not any("--clone" in c for c in calls)
    assert ["env", "export", "-p", str(f.envs / "old"), "--explicit"] in calls
    create = [c for c in calls if c[0] == "create"][0]
    assert create[:5] == ["create", "-y", "--json", "-n", "old2"] and create[5] == "-f"
    assert (f.envs / "old2" / "conda-meta").is_dir()


@pytest.mark.parametrize("version,style", [("1.5.8", "conda"), ("2.1.0", "micromamba")])
def test_mamba_one_and_two(cli, fake, version, style):
    f = fake("mamba", version=version)
    r = cli("--json", "create", "env", "mm", "python")
    assert r.code == 0 and r.json()["backend"] == "mamba", r
    f.reset()
    assert cli("env", "export", "mm", "--no-builds").code == 0
    export_call = [c for c in f.calls() if c[:2] == ["env", "export"]][0]
    assert export_call[-1] == ("--no-builds" if style == "conda" else "--no-build")
