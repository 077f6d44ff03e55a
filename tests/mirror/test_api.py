"""dlsetup.mirror.api: the answers the command layer passes to resolve and envs."""

from __future__ import annotations

from pathlib import Path

from dlsetup.mirror import api


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
