"""``create env`` fetches its pip wheels through the download engine: planned by uv (or pip), fetched with
resume and hash checks, installed with ``--no-index --find-links``. Real uv, real pip, the loopback index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlsetup.envs import wheels
from tests.download.server import Faults, FlakyServer, WheelBlob

MiB = 1 << 20



@pytest.fixture(scope="module")
def big_wheel() -> WheelBlob:
    return WheelBlob("dlsetup-big", "1.0", 24 * MiB, seed=7)


def _serve(srv: FlakyServer, big: WheelBlob, demo_wheels: list[Path]) -> None:
    srv.add(f"files/{big.filename}", big)
    for w in demo_wheels:
        srv.add(f"files/{w.name}", w)


def _wheel_bytes(srv: FlakyServer) -> int:
    return sum(srv.size(p) for p in srv.files if p.endswith(".whl") and "dlsetup_wheel_b-1.0" not in p)


@pytest.mark.parametrize("tool", ["uv", "pip"])
def test_venv_create_survives_drops_mid_wheel(cli, tool, demo_wheels, big_wheel, tmp_path, uv_isolated, monkeypatch):
    if tool == "pip":
        monkeypatch.setenv("DLSETUP_VENV_TOOL", "pip")  # pip installs; uv (present) only plans
    with FlakyServer(Faults(drop_every=5 * MiB, drop_suffixes=(".whl",))) as srv:
        _serve(srv, big_wheel, demo_wheels)
        r = cli("--json", "create", "env", str(tmp_path / "env"), "--backend", "venv",
                "--pip-index-url", f"{srv.url}/simple", "dlsetup-big", "dlsetup-wheel-a")
        assert r.code == 0, r
        big_gets = [q for q in srv.requests if q[0] == f"files/{big_wheel.filename}"]
        sent = srv.bytes_sent
    doc = r.json()
    wf = doc["wheel_fetch"]
    assert wf["via"] == "engine" and wf["files"] == 3 and wf["resumed"] >= 1, wf
    # five drops inside the 24 MiB wheel: every later request continues where the last one stopped
    resumed = [q for q in big_gets if q[1] and q[1].endswith("-") and q[2] == 206]
    assert [q[1] for q in resumed] == [f"bytes={k * 5 * MiB}-" for k in range(1, 5)]
    # planning reads metadata only; the bytes on the wire stay within 5 % of the wheels' size
    assert sent <= 1.05 * _wheel_bytes(srv), (sent, _wheel_bytes(srv))
    prefix = Path(doc["prefix"])
    payload = next(prefix.glob("lib/python3*/site-packages/dlsetup_big/payload.bin"))
    assert payload.stat().st_size == 24 * MiB - 4096
    pins = {p["name"]: p for p in doc["pip_packages"]}
    assert pins["dlsetup-wheel-b"]["version"] == "2.1"  # the dependency, resolved by the planner
    # the recorded origin is the index's URL with its sha256, not the temporary wheelhouse
    record = json.loads((prefix / "etc" / "dlsetup" / "pip-packages.json").read_text())
    assert record["dlsetup-big"]["url"] == f"{srv.url}/files/{big_wheel.filename}"
    assert record["dlsetup-big"]["sha256"] == big_wheel.sha256
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "dlsetup" / "downloads"
    assert not list(cache.glob("wheels-*"))  # the wheelhouse is gone; the verified blobs stay
    assert (cache / "blobs" / big_wheel.sha256).is_file()


def test_killed_create_resumes_partial_wheel_in_new_process(cli, demo_wheels, tmp_path, uv_isolated, isolated_env):
    big = WheelBlob("dlsetup-slow", "1.0", 40 * MiB, seed=11)
    part = Path(os.environ["XDG_CACHE_HOME"]) / "dlsetup" / "downloads" / "partial" / f"{big.sha256}.part"
    with FlakyServer(Faults(rate=8 * MiB)) as srv:
        srv.add(f"files/{big.filename}", big)
        argv = [sys.executable, "-m", "dlsetup", "create", "env", str(tmp_path / "first"), "--backend", "venv",
                "--pip-index-url", f"{srv.url}/simple", "dlsetup-slow"]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not (part.exists() and part.stat().st_size >= 8 * MiB):
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)  # killed: no cleanup at all
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        have = part.stat().st_size
        assert 8 * MiB <= have < big.size
        sidecar = json.loads(part.with_name(part.name + ".json").read_text())
        assert sidecar["sha256"] == big.sha256
        srv.faults.rate = None
        before = srv.bytes_sent
        # the same name again: the killed, half-made venv is removed (its unfinished marker has no owner), not "exists"
        assert (tmp_path / "first").exists()
        r = cli("--json", "create", "env", str(tmp_path / "first"), "--backend", "venv",
                "--pip-index-url", f"{srv.url}/simple", "dlsetup-slow")
        assert r.code == 0, r
        assert not Path(str(tmp_path / "first") + ".dlsetup-creating").exists()
        gets = [q for q in srv.requests if q[0] == f"files/{big.filename}" and q[1] and q[1].endswith("-")]
        second = srv.bytes_sent - before
    # the new process asked for the rest only, and the whole second run moved little more than that
    assert gets[-1][1] == f"bytes={have}-" and gets[-1][2] == 206
    assert second <= 1.05 * (big.size - have) + 64 * 1024, (second, big.size - have)
    assert r.json()["wheel_fetch"]["resumed"] == 1
    assert not part.exists()


def test_pylock_plan_picks_the_wheel_for_this_interpreter():
    # made for this test, in the shape uv 0.13.9's `uv pip compile --format pylock.toml` wrote against the
    # loopback index (wheels = [{ url, hashes = { sha256 } }]), with a second wheel for another Python
    py = f"{sys.version_info[0]}{sys.version_info[1]}"
    text = '''lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.10"

[[packages]]
name = "fastpkg"
version = "2.0"
wheels = [
  { url = "https://files.example/fastpkg-2.0-cp27-cp27mu-manylinux1_x86_64.whl", hashes = { sha256 = "aa" } },
  { url = "https://files.example/fastpkg-2.0-py3-none-any.whl", size = 10, hashes = { sha256 = "bb" } },
]
'''
    (p,) = wheels.from_pylock(text, f"{py[0]}.{py[1:]}")
    assert p.url.endswith("fastpkg-2.0-py3-none-any.whl") and p.sha256 == "bb" and p.size == 10
    only_sdist = '''lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "srconly"
version = "1.0"
sdist = { url = "https://files.example/srconly-1.0.tar.gz", hashes = { sha256 = "cc" } }
'''
    with pytest.raises(wheels.PlanImpossible, match="srconly 1.0: no wheel.*sdist"):
        wheels.from_pylock(only_sdist, None)


def test_pip_report_with_a_vcs_or_sdist_item_is_not_planned():
    # pip's installation report format (https://pip.pypa.io/en/stable/reference/installation-report/), made
    # for this test: a wheel from an index, then a VCS requirement
    report = {"version": "1", "install": [
        {"metadata": {"name": "six", "version": "1.16.0"}, "is_direct": False,
         "download_info": {"url": "https://files.example/six-1.16.0-py2.py3-none-any.whl",
                           "archive_info": {"hashes": {"sha256": "dd"}}}},
        {"metadata": {"name": "mylib", "version": "0.1"}, "is_direct": True,
         "download_info": {"url": "https://github.com/x/mylib.git", "vcs_info": {"vcs": "git", "commit_id": "abc"}}},
    ]}
    with pytest.raises(wheels.PlanImpossible, match="mylib 0.1: a direct reference"):
        wheels.from_pip_report(report)
    report["install"].pop()
    (p,) = wheels.from_pip_report(report)
    assert (p.name, p.sha256, p.filename) == ("six", "dd", "six-1.16.0-py2.py3-none-any.whl")


def test_old_pip_without_uv_falls_back_with_the_reason(cli, demo_wheels, tmp_path, uv_isolated, monkeypatch):
    """No uv to plan and a pip older than 25.3 (its --dry-run downloads every wheel): pip does it all, and says so."""
    import importlib.metadata as md

    monkeypatch.setenv("DLSETUP_VENV_TOOL", "pip")
    monkeypatch.setattr("dlsetup.envs.backends.venv.find_uv", lambda installer=True: None)
    with FlakyServer() as srv:
        for w in demo_wheels:
            srv.add(f"files/{w.name}", w)
        r = cli("--json", "create", "env", str(tmp_path / "env"), "--backend", "venv",
                "--pip-index-url", f"{srv.url}/simple", "dlsetup-wheel-a")
    assert r.code == 0, r
    wf = r.json()["wheel_fetch"]
    # python -m venv seeds the pip bundled with this Python (ensurepip)
    (dist,) = (tmp_path / "env").glob("lib/python3*/site-packages/pip-*.dist-info")
    venv_pip = md.PathDistribution(dist).version
    if tuple(int(x) for x in venv_pip.split(".")[:2]) >= wheels.PIP_METADATA_ONLY:
        assert wf["via"] == "engine"
    else:
        assert wf["via"] == "pip" and "download every wheel just to plan" in wf["reason"], wf
