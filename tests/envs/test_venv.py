"""``--backend venv`` end to end: real uv (and real ``python -m venv`` + pip) against a loopback index serving
real wheels. create → run → lock to pylock.toml → install from it into a new env → clone → remove."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dlsetup.envs.backends import venv as venvmod
from dlsetup.util import toml

PY = f"{sys.version_info.major}.{sys.version_info.minor}"




def test_uv_is_found_as_the_python_package():
    assert venvmod.find_uv() is not None  # uv is a test dependency (pip install uv)


def test_create_run_lock_install_clone_remove(cli, cli_subprocess, pypi, wheels, envs_dir, tmp_path, uv_isolated):
    r = cli("--json", "create", "env", "student", "--backend", "venv", "--python", PY,
            "--pip-index-url", pypi.url, "dlsetup-wheel-a")
    assert r.code == 0, r
    doc = r.json()
    prefix = envs_dir / "student"
    assert doc["backend"] == "venv" and doc["prefix"] == str(prefix) and doc["packages"] == []
    assert {(p["name"], p["version"]) for p in doc["pip_packages"]} >= {("dlsetup-wheel-a", "1.0"),
                                                                       ("dlsetup-wheel-b", "2.1")}
    assert (prefix / "pyvenv.cfg").is_file() and not (prefix / "conda-meta").exists()
    # listed, found by name, and runnable; the exit code is the command's
    listed = {e["name"]: e for e in cli("--json", "env", "list").json()["envs"]}
    assert listed["student"]["python"].startswith(PY) and listed["student"]["packages"] >= 2
    run = cli_subprocess("run", "-n", "student", "python", "-c",
                         "import sys, dlsetup_wheel_a; print(sys.prefix); sys.exit(7)")
    assert run.code == 7 and run.stdout.strip() == str(prefix)
    out = cli_subprocess("run", "-n", "student", "wheel-a")  # the wheel's console script, via PATH
    assert out.code == 0 and out.stdout.strip() == f"wheel-a ok {prefix}"
    # lock: PEP 751 pylock.toml and requirements with hashes, both from the same index
    lock = tmp_path / "pylock.toml"
    r = cli("--json", "env", "export", "student", "-o", str(lock))
    assert r.code == 0 and r.json()["format"] == "pylock"
    data = toml.loads(lock.read_text())
    assert data["lock-version"] == "1.0" and data["tool"]["dlsetup"]["python"].startswith(PY)
    by = {p["name"]: p for p in data["packages"]}
    assert by["dlsetup-wheel-b"]["version"] == "2.1"
    wheel_b = next(w for w in wheels if w.name.startswith("dlsetup_wheel_b-2.1-"))
    import hashlib

    assert by["dlsetup-wheel-b"]["wheels"][0]["hashes"]["sha256"] == hashlib.sha256(wheel_b.read_bytes()).hexdigest()
    req = cli("env", "export", "student", "--format", "requirements")
    assert req.code == 0 and "dlsetup-wheel-a==1.0" in req.stdout and "--hash=sha256:" in req.stdout
    # rebuild elsewhere from the lock: exactly those versions
    r = cli("--json", "env", "install", "rebuilt", "-f", str(lock))
    assert r.code == 0, r
    assert {(p["name"], p["version"]) for p in r.json()["pip_packages"]} >= {("dlsetup-wheel-a", "1.0"),
                                                                             ("dlsetup-wheel-b", "2.1")}
    again = cli_subprocess("run", "-n", "rebuilt", "python", "-c", "import dlsetup_wheel_b")
    assert again.code == 0
    # clone and remove work on venvs as on conda envs
    assert cli("env", "clone", "student", "copy").code == 0
    assert (envs_dir / "copy" / "pyvenv.cfg").is_file()
    for name in ("student", "rebuilt", "copy"):
        assert cli("env", "remove", name, "--yes").code == 0
        assert not (envs_dir / name).exists()
    assert cli("--json", "env", "list").json()["envs"] == []


def test_venv_at_a_path_is_registered_by_dlsetup_not_in_condas_list(cli, pypi, tmp_path, registry, uv_isolated):
    where = tmp_path / "proj" / ".venv"
    r = cli("create", "env", str(where), "--backend", "venv", "--pip-index-url", pypi.url, "dlsetup-wheel-b==1.0")
    assert r.code == 0, r
    assert not registry.exists() or str(where) not in registry.read_text()  # conda drops non-conda entries
    assert str(where) in [e["prefix"] for e in cli("--json", "env", "list").json()["envs"]]
    assert cli("env", "remove", str(where), "--yes").code == 0 and not where.exists()


def test_dry_run_resolves_without_creating(cli, pypi, envs_dir, uv_isolated):
    r = cli("--json", "create", "env", "plan", "--backend", "venv", "--pip-index-url", pypi.url,
            "dlsetup-wheel-a", "--dry-run")
    assert r.code == 0, r
    assert {p["name"] for p in r.json()["pip_packages"]} == {"dlsetup-wheel-a", "dlsetup-wheel-b"}
    assert not (envs_dir / "plan").exists()


def test_conda_names_map_to_pypi_names():
    assert venvmod.conda_to_pypi(["python=3.11", "pip", "pytorch=2.1", "opencv", "numpy>=1.26", "pyyaml==6.0.1"]) == [
        "torch==2.1.*", "opencv-python", "numpy>=1.26", "PyYAML==6.0.1"]


def test_missing_python_offline_is_a_clean_error(cli, envs_dir, uv_isolated):
    r = cli("create", "env", "old", "--backend", "venv", "--python", "3.4", "--offline", "dlsetup-wheel-b")
    assert r.code == 2 and "3.4" in r.stderr and not (envs_dir / "old").exists()


def test_failed_install_leaves_nothing(cli, pypi, envs_dir, uv_isolated):
    r = cli("create", "env", "broken", "--backend", "venv", "--pip-index-url", pypi.url, "no-such-dist==9")
    assert r.code == 1 and "no-such-dist" in r.stderr and not (envs_dir / "broken").exists()


def test_conda_lock_files_are_refused_with_the_reason(cli, tmp_path):
    ex = tmp_path / "spec.txt"
    ex.write_text("@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2\n")
    r = cli("create", "env", "x", "--backend", "venv", "-f", str(ex))
    assert r.code == 2 and "PyPI" in r.stderr


def test_without_uv_python_venv_and_pip(cli, cli_subprocess, pypi, envs_dir, tmp_path, monkeypatch):
    """The standard-library path: python -m venv, pip from the index, pylock written from pip's report."""
    monkeypatch.setenv("DLSETUP_VENV_TOOL", "pip")
    r = cli("--json", "create", "env", "plain", "--backend", "venv", "--pip-index-url", pypi.url, "dlsetup-wheel-a")
    assert r.code == 0, r
    prefix = envs_dir / "plain"
    cfg = (prefix / "pyvenv.cfg").read_text()
    assert not any(ln.startswith("uv =") for ln in cfg.splitlines())  # uv writes a `uv = <version>` line
    assert json.loads((prefix / "etc" / "dlsetup" / "venv.json").read_text())["tool"] == "pip"
    lock = tmp_path / "pylock.toml"
    assert cli("env", "export", "plain", "-o", str(lock)).code == 0
    data = toml.loads(lock.read_text())
    urls = {p["name"]: p["wheels"][0]["url"] for p in data["packages"]}
    assert urls["dlsetup-wheel-b"].startswith(pypi.url.split("/simple")[0])
    r = cli("--json", "env", "install", "plain2", "-f", str(lock))
    assert r.code == 0, r
    out = cli_subprocess("run", "-n", "plain2", "wheel-a", env={"DLSETUP_VENV_TOOL": "pip"})
    assert out.code == 0 and "wheel-a ok" in out.stdout


@pytest.mark.slow
def test_torch_cpu_wheel_from_a_loopback_index(cli, cli_subprocess, tmp_path, envs_dir, uv_isolated):
    """The real CPU torch wheel on disk, served on 127.0.0.1, installed by uv into a venv and imported."""
    from tests.envs import channel_builder as cb

    wheel = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    if not wheel.exists() or PY != "3.11":
        pytest.skip("the CPU torch wheel for CPython 3.11 is not on this machine")
    root = tmp_path / "index"
    deps = [cb.wheel_from_installed(tmp_path / "deps", d) for d in (
        "filelock", "typing-extensions", "setuptools", "sympy", "mpmath", "networkx", "jinja2", "MarkupSafe", "fsspec")]
    cb.write_simple_index(root, [wheel, *deps])
    with cb.LocalIndex(root) as index:
        r = cli("--json", "create", "env", "torch", "--backend", "venv", "--python", "3.11",
                "--pip-index-url", index.url, "torch==2.13.0+cpu")
        assert r.code == 0, r
        assert "torch" in {p["name"] for p in r.json()["pip_packages"]}
    out = cli_subprocess("run", "-n", "torch", "python", "-c",
                         "import torch; print(torch.__version__, (torch.ones(2) * 3).sum().item())", timeout=300)
    assert out.code == 0 and out.stdout.split() == ["2.13.0+cpu", "6.0"]


def test_recipe_pytorch_as_a_venv(cli, cli_subprocess, tmp_path, envs_dir, isolated_env, uv_isolated, monkeypatch):
    """`dlsetup create env dl --recipe pytorch --backend venv`: the resolver's torch/torchvision pins from the
    framework index, the recipe's conda part as PyPI names (opencv → opencv-python) from the user's own index
    (pip.conf, their mirror), a local Python the recipe allows. Both indexes are loopback ones serving small
    wheels built here with the resolver's versions."""
    from tests.envs import channel_builder as cb

    plan = cli("--json", "create", "env", "dl", "--recipe", "pytorch", "--backend", "venv", "--dry-run").json()
    assert plan["recipe"]["python"] == PY  # the local interpreter, not a download (the recipe lists it)
    assert plan["pip"][:4] == ["numpy", "pandas", "matplotlib", "opencv-python"]
    pins = {f["name"]: f["version"] for f in plan["recipe"]["frameworks"]}
    fw_dir, user_dir = tmp_path / "fw", tmp_path / "user"
    fw = [cb.make_wheel(fw_dir / "w", name, version, modules={f"{name}/__init__.py": f"__version__ = {version!r}\n"})
          for name, version in pins.items()]
    user = [cb.make_wheel(user_dir / "w", n, "1.0") for n in ("numpy", "pandas", "matplotlib", "opencv-python")]
    user.append(cb.make_wheel(user_dir / "w", "torch", "0.0.1"))  # must never win over the framework index
    cb.write_simple_index(fw_dir, fw)
    cb.write_simple_index(user_dir, user)
    with cb.LocalIndex(fw_dir) as fw_index, cb.LocalIndex(user_dir) as user_index:
        pip_conf = isolated_env / "pip.conf"
        pip_conf.write_text(f"[global]\nindex-url = {user_index.url}\n")
        monkeypatch.setenv("PIP_CONFIG_FILE", str(pip_conf))
        r = cli("--json", "create", "env", "dl", "--recipe", "pytorch", "--backend", "venv",
                "--pip-index-url", fw_index.url)
        assert r.code == 0, r
    got = {p["name"]: p["version"] for p in r.json()["pip_packages"]}
    assert got["torch"] == pins["torch"] and got["torchvision"] == pins["torchvision"] and got["opencv-python"] == "1.0"
    out = cli_subprocess("run", "-n", "dl", "python", "-c", "import torch, sys; print(torch.__version__, sys.version[:4])")
    assert out.code == 0 and out.stdout.split() == [pins["torch"], PY]
