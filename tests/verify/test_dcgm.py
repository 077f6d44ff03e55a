"""The dcgm stage: dcgmi is NVIDIA's binary, so it is faked at that boundary by a script on PATH that prints
recorded-shape JSON (tests/verify/data/dcgm*.json say where their shape comes from)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlsetup.verify.dcgm import parse, run_dcgm

DATA = Path(__file__).resolve().parent / "data"


def fake_dcgmi(tmp_path: Path, monkeypatch, fixture: str | None, code: int = 0, body: str | None = None) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "dcgmi-args.txt"
    out = body if body is not None else (DATA / fixture).read_text()
    (tmp_path / "out.txt").write_text(out)
    script = bindir / "dcgmi"
    script.write_text(f'#!/bin/sh\necho "$@" > "{log}"\ncat "{tmp_path / "out.txt"}"\nexit {code}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_dcgm4_pass(tmp_path, monkeypatch):
    log = fake_dcgmi(tmp_path, monkeypatch, "dcgm4_level1_pass.json")
    event = run_dcgm(30)
    assert log.read_text().split() == ["diag", "-r", "1", "-j"]
    assert event["status"] == "pass"
    assert [(c["name"], c["variant"], c["status"]) for c in event["checks"]] == [("software", "Deployment", "pass")]
    assert event["details"]["metadata"]["DCGM Version"] == "4.2.3"


def test_dcgm4_fail_carries_the_warning_text(tmp_path, monkeypatch):
    fake_dcgmi(tmp_path, monkeypatch, "dcgm4_level1_fail.json", code=226)
    event = run_dcgm(30)
    assert event["status"] == "fail"
    assert "Persistence mode for GPU 1 is disabled" in event["checks"][0]["error"]


def test_old_layout_and_skips():
    checks, _ = parse(json.loads((DATA / "dcgm2_level1_pass.json").read_text()))
    assert [c["status"] for c in checks] == ["pass", "pass", "skip"]


def test_nonzero_exit_without_failed_test_fails(tmp_path, monkeypatch):
    fake_dcgmi(tmp_path, monkeypatch, "dcgm4_level1_pass.json", code=3)
    event = run_dcgm(30)
    assert event["status"] == "fail" and event["checks"][-1]["note"]["params"]["code"] == 3


def test_unreadable_output(tmp_path, monkeypatch):
    fake_dcgmi(tmp_path, monkeypatch, None, code=1, body="Error: unable to establish a connection to the host engine\n")
    event = run_dcgm(30)
    assert event["status"] == "fail"
    assert "host engine" in event["checks"][0]["error"]


def test_missing_dcgmi_is_a_skip(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run_dcgm(30)["status"] == "skip"


@pytest.mark.torch
def test_dcgm_stage_through_the_cli(cli, tmp_path, monkeypatch):
    fake_dcgmi(tmp_path, monkeypatch, "dcgm4_level1_fail.json", code=226)
    r = cli("verify", "--only", "dcgm", "--json")
    doc = r.json()
    assert r.code == 1 and doc["status"] == "fail"
    dcgm = [s for s in doc["stages"] if s["name"] == "dcgm"][0]
    assert dcgm["status"] == "fail" and dcgm["checks"][0]["name"] == "software"
    assert [s["name"] for s in doc["stages"]] == ["env", "dcgm"]
