"""The plan's parts that need no network: which backend setup uses when the user does not choose (and why), who
chose the Python (the recipe, the command line, the Python installed here), and what the download line counts."""

from __future__ import annotations

import os
from pathlib import Path

from dlsetup.envs.model import EnvSpec, Package
from dlsetup.resolve import Machine, apply_overrides
from dlsetup.resolve.engine import source_label
from dlsetup.setup import steps as S


def _plan(cli, *args: str) -> dict:
    r = cli("setup", "--dry-run", "--json", *args)
    assert r.code == 0, r
    return r.json()["plan"]


def test_default_backend_is_rattler_and_the_plan_says_why(cli, isolated_env, tmp_path, monkeypatch):
    monkeypatch.delenv("DLSETUP_BACKEND", raising=False)
    bare = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not any((Path(p) / t).exists() for t in ("conda", "mamba", "micromamba"))]
    monkeypatch.setenv("PATH", os.pathsep.join(bare))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    plan = _plan(cli)
    assert plan["backend"]["name"] == "rattler" and plan["backend"]["source"] == "default"
    assert "no conda, mamba or micromamba found" in plan["backend"]["why"]
    text = cli("setup", "--dry-run")
    assert "Backend" in text.stdout and "--backend venv" in text.stdout
    # a conda-family tool on PATH (an executable named micromamba) does not change the choice; the plan names it
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "micromamba").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "micromamba").chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bindir), *bare]))
    plan = _plan(cli)
    assert plan["backend"]["name"] == "rattler" and "--backend micromamba uses micromamba" in plan["backend"]["why"]
    # chosen: --backend, else DLSETUP_BACKEND
    assert _plan(cli, "--backend", "venv")["backend"] == {"name": "venv", "source": "option",
                                                          "why": "venv, as asked (--backend)"}
    monkeypatch.setenv("DLSETUP_BACKEND", "venv")
    assert _plan(cli)["backend"]["source"] == "env"


def test_the_machine_line_names_who_chose_the_python(cli, isolated_env):
    machine = _plan(cli)["reasons"][0]["text"]
    assert "Python version chosen by recipe pytorch" in machine and "command line" not in machine
    machine = _plan(cli, "--python", "3.12")["reasons"][0]["text"]
    assert "with --python from the command line" in machine and "recipe" not in machine
    machine = _plan(cli, "--recipe", "cpu-minimal")["reasons"][0]["text"]
    assert "the Python version, CPU builds chosen by recipe cpu-minimal" in machine
    r = cli("create", "env", "x", "--recipe", "pytorch", "--dry-run", "--offline", "--json")
    reasons = r.json()["recipe"]["reasons"]
    assert "chosen by recipe pytorch" in reasons[0]["text"]
    zh = cli("setup", "--dry-run", "--lang", "zh")
    assert "由 配方 pytorch 选定" in zh.stdout


def test_overrides_chosen_by_someone_else_are_kept_apart():
    m = apply_overrides(Machine(os="linux", arch="x86_64", python="3.11"), driver="550.54.14")
    m = apply_overrides(m, python="3.12", no_gpu=True, chosen_by="recipe:cpu-minimal")
    assert m.overrides == ["driver"] and m.chosen == {"python": "recipe:cpu-minimal", "no-gpu": "recipe:cpu-minimal"}
    assert m.python == "3.12" and m.no_gpu
    assert source_label(m) == ("live probe, with --driver from the command line, with the Python version, CPU builds "
                               "chosen by recipe cpu-minimal")


def test_download_plan_says_what_is_not_counted():
    spec = EnvSpec(conda=["python=3.12", "numpy", "opencv", "pip"], pip=["torch==2.15.0", "torchvision==0.29.2",
                                                                          "--find-links https://x/", "einops"])
    spec.pip_index_url = "https://download.pytorch.org/whl/cpu"
    choice = S.MirrorChoice(mode="none")
    d = S.download_plan(spec, "rattler", choice)
    assert d["pip"] == ["torch==2.15.0", "torchvision==0.29.2"] and d["pip_index_url"] == spec.pip_index_url
    assert d["not_counted"] == [{"what": "pip_dependencies", "items": []}, {"what": "pip_unpinned", "items": ["einops"]}]
    v = S.download_plan(spec, "venv", S.MirrorChoice(mode="named", torch_index="http://127.0.0.1:1/whl/cpu"))
    assert v["pip_index_url"] == "http://127.0.0.1:1/whl/cpu"
    assert v["not_counted"][1]["items"] == ["numpy", "opencv-python", "einops"]  # the conda part as PyPI names
    d.update(pip_bytes={"torch==2.15.0": 1000, "torchvision==0.29.2": 20}, conda_packages=2, conda_bytes=500,
             conda_cached_bytes=300)
    assert S.total_bytes(d) == 1000 + 20 + 200
    d["pip_bytes"]["torchvision==0.29.2"] = None  # a size the index does not give: no total
    assert S.total_bytes(d) is None


def test_conda_packages_already_here_are_not_downloaded_again(monkeypatch, tmp_path):
    """A package extracted in rattler's cache, or verified in the download engine's store, costs no download."""
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "rattler"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    extracted = Package("numpy", "2.1.0", "py312h1", size=8_000_000, sha256="aa" * 32)
    stored = Package("pandas", "2.2.3", "py312h2", size=12_000_000, sha256="BB" * 32)
    fresh = Package("python", "3.12.7", "h3", size=30_000_000, sha256="cc" * 32)
    (tmp_path / "rattler" / "pkgs" / "numpy-2.1.0-py312h1" / "info").mkdir(parents=True)
    from dlsetup.download.engine import cache_root

    blob = cache_root() / "blobs" / ("bb" * 32)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"x")
    d = S.conda_download([extracted, stored, fresh])
    assert d == {"conda_packages": 3, "conda_bytes": 50_000_000, "conda_cached": 2, "conda_cached_bytes": 20_000_000}
    assert S.total_bytes({**d, "pip_bytes": {}}) == 30_000_000
