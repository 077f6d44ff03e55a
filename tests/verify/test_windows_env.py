"""verify's environment stage on Windows, simulated on Linux: the suite's Windows branches (MSVC cl.exe,
nvcc.exe under CUDA_PATH, ninja in Scripts\\, an NVIDIA adapter from the registry) and the judge's fix."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dlsetup" / "verify" / "suite"))

from dlsetup.verify.judge import env_checks  # noqa: E402
from tests.probe.winreg_fake import FakeWinreg  # noqa: E402
from tests.verify.test_judge import by_name, facts  # noqa: E402

WIN = Path(__file__).resolve().parents[1] / "fixtures" / "windows"


@pytest.fixture
def env_mod(monkeypatch):
    from dlverify import env

    monkeypatch.setattr(env, "WINDOWS", True)
    return env


def test_nvidia_adapter_from_the_registry_with_or_without_driver(env_mod):
    assert env_mod._windows_nvidia_adapter(FakeWinreg(WIN / "rtx3060-laptop-no-driver.reg")) is True
    assert env_mod._windows_nvidia_adapter(FakeWinreg(WIN / "rtx3060-laptop-546.reg")) is True


def test_no_nvidia_adapter_in_an_intel_only_registry(env_mod, tmp_path):
    text = (WIN / "rtx3060-laptop-no-driver.reg").read_text(encoding="utf-8")
    intel_only = "\n\n".join(b for b in text.split("\n\n") if "VEN_10DE" not in b and "0001]" not in b)
    (tmp_path / "intel.reg").write_text(intel_only, encoding="utf-8")
    assert env_mod._windows_nvidia_adapter(FakeWinreg(tmp_path / "intel.reg")) is False


def test_nvcc_exe_under_cuda_path(env_mod, monkeypatch, tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "nvcc.exe").write_text("")
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.setenv("CUDA_PATH", str(tmp_path))
    path, how = env_mod.find_nvcc()
    assert path == str(tmp_path / "bin" / "nvcc.exe") and how == "env:CUDA_PATH"


def test_ninja_is_looked_for_in_scripts(env_mod, monkeypatch, tmp_path):
    monkeypatch.setattr(env_mod.sys, "executable", str(tmp_path / "python.exe"))
    monkeypatch.setattr(env_mod.sys, "prefix", str(tmp_path))
    assert env_mod.script_dirs() == [str(tmp_path), str(tmp_path / "Scripts")]
    assert env_mod.tool_path().split(os.pathsep)[:2] == [str(tmp_path), str(tmp_path / "Scripts")]


def test_msvc_cl_is_found_with_its_version(env_mod, monkeypatch, tmp_path):
    # cl prints its banner on stderr; the text is MSVC 17.8's (Visual Studio 2022) as cl writes it.
    cl = tmp_path / "cl"
    cl.write_text("#!/bin/sh\necho 'Microsoft (R) C/C++ Optimizing Compiler Version 19.38.33135 for x64' >&2\n"
                  "echo 'usage: cl [ option... ] filename... [ /link linkoption... ]'\n")
    cl.chmod(cl.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    cxx = env_mod.cxx_facts()
    assert cxx["kind"] == "msvc" and cxx["version"] == "19.38.33135" and cxx["path"] == str(cl)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert env_mod.cxx_facts() == {"name": "cl", "path": None, "version": None, "kind": "msvc"}


def test_judge_says_install_build_tools_on_windows_not_apt():
    f = facts(platform="windows-AMD64", cxx={"name": "cl", "path": None, "version": None, "kind": "msvc"})
    cxx = by_name(env_checks(f), "cxx")[0]
    from dlsetup.i18n import t

    assert cxx["status"] == "warn" and cxx["note"]["key"] == "verify.note.no_msvc"
    text = t(cxx["note"]["key"], **cxx["note"]["params"])
    assert "Visual Studio Build Tools" in text and "C++" in text and "apt" not in text
    msvc = facts(cxx={"name": "cl", "path": "C:\\VS\\cl.exe", "version": "19.38.33135", "kind": "msvc"})
    assert by_name(env_checks(msvc), "cxx")[0]["status"] == "pass"  # no gcc range applied to MSVC
