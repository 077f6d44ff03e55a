"""dlsetup.mirror.api: the answers resolve and envs rely on."""

from __future__ import annotations

import os
from pathlib import Path

from dlsetup.mirror import api


def test_pip_index_url_follows_pip_precedence(home: Path):
    assert api.pip_index_url() is None  # PyPI, pip's default
    p = home / ".config/pip/pip.conf"
    p.parent.mkdir(parents=True)
    p.write_text("[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n")
    assert api.pip_index_url() == "https://pypi.tuna.tsinghua.edu.cn/simple"
    env = dict(os.environ, PIP_INDEX_URL="https://corp.example/simple")
    assert api.pip_index_url(env) == "https://corp.example/simple"


def test_conda_channel_urls_through_condarc(home: Path):
    assert api.conda_channel_urls(["conda-forge", "defaults"])[:2] == [
        "https://conda.anaconda.org/conda-forge", "https://repo.anaconda.com/pkgs/main"]
    (home / ".condarc").write_text(
        "default_channels:\n  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main\n"
        "custom_channels:\n  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/\n"
        "channel_alias: https://alias.example/\n")
    assert api.conda_channel_urls(["conda-forge", "defaults", "bioconda", "https://x.example/ch/"]) == [
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge",
        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
        "https://alias.example/bioconda",
        "https://x.example/ch",
    ]


def test_torch_wheel_source_follows_the_applied_mirror(cli):
    assert api.torch_wheel_source("cu126") is None
    assert cli("mirror", "aliyun", "--offline", "--tools", "pip,torch", "--variant", "cu126").code == 0
    assert api.torch_wheel_source("cu126") == {"mirror": "aliyun", "url": "https://mirrors.aliyun.com/pytorch-wheels/cu126/",
                                               "layout": "flat"}
    assert api.torch_wheel_source("cu999") is None
    assert cli("mirror", "tuna", "--offline", "--tools", "pip").code == 0
    assert api.torch_wheel_source("cu126") is None  # tuna has no wheels
    assert cli("mirror", "restore").code == 0
    assert api.torch_wheel_source("cu126")["mirror"] == "aliyun"
    assert cli("mirror", "reset", "--tools", "pip").code == 0
    assert api.torch_wheel_source("cu126") is None


def test_tools_present_are_detected(cli, tmp_path: Path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("conda", "pixi"):
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    doc = cli("mirror", "tuna", "--dry-run", "--json").json()
    tools = {t["tool"] for t in doc["tools"]}
    assert {"pip", "conda", "pixi", "torch"} <= tools and "uv" not in tools and "hf" not in tools
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    doc = cli("mirror", "tuna", "--dry-run", "--json").json()
    assert {t["tool"] for t in doc["tools"]} == {"pip", "torch"}
    doc = cli("mirror", "hf-mirror", "--dry-run", "--json").json()
    assert [t["tool"] for t in doc["tools"]] == ["hf"]


def test_label_channels_go_through_custom_channels_like_conda(home: Path):
    """conda maps ``conda-forge/label/dev`` through ``custom_channels.conda-forge`` (longest listed prefix),
    so a label channel must come from the mirror too, not from the upstream alias."""
    (home / ".condarc").write_text("custom_channels:\n  conda-forge: https://mirrors.ustc.edu.cn/anaconda/cloud\n")
    assert api.conda_channel_urls(["conda-forge/label/dev", "bioconda/label/x"]) == [
        "https://mirrors.ustc.edu.cn/anaconda/cloud/conda-forge/label/dev",
        "https://conda.anaconda.org/bioconda/label/x",
    ]
