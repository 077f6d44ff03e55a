"""Fixtures for the verify tests: one cold extension build and one default-suite run per test session.

Both are shared by every pytest-xdist worker (a file lock and a marker file in the session's common temp
directory), so the expensive parts run once however the tests are distributed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import _ENV_NAMES, _ENV_PREFIXES

HERE = Path(__file__).resolve().parent
FAULTS = HERE / "faults"
BROKEN_TORCH = HERE / "broken_torch"


def clean_environ(home: Path, cache: Path) -> dict[str, str]:
    """An environment like the autouse isolation fixture's, for subprocesses started by session fixtures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES) and k not in _ENV_NAMES}
    home.mkdir(parents=True, exist_ok=True)
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local/share"), "XDG_STATE_HOME": str(home / ".local/state"),
        "PIP_CONFIG_FILE": str(home / "pip.conf"), "CONDARC": str(home / ".condarc"),
        "DLSETUP_CONFIG_DIR": str(home / ".config/dlsetup"), "DLSETUP_STATE_DIR": str(home / ".local/state/dlsetup"),
        "DLSETUP_CACHE_DIR": str(cache), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",  # see one_thread_per_suite
    })
    return env


def run_dlsetup(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlsetup", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(autouse=True)
def one_thread_per_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-xdist already runs a test per core: a suite with torch's default thread count on top of that
    oversubscribes the CPU, and OpenMP's spin-waiting then makes runs many times slower. The checks
    themselves do not depend on the thread count."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Under xdist getbasetemp() is per worker and its parent is common to the session; without xdist the
    # parent is shared by every past session, so use the session's own directory.
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "dlsetup-verify-shared"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def ext_cache(shared_dir: Path) -> dict:
    """The session's one cold extension build (``--only extension --rebuild``). Returns its JSON document
    and the cache directory; afterwards every test may use the cache warm."""
    cache = shared_dir / "cache"
    marker = shared_dir / "cold-build.json"
    with FileLock(str(shared_dir / "ext.lock")):
        if not marker.exists():
            env = clean_environ(shared_dir / "home", cache)
            proc = run_dlsetup(["verify", "--only", "extension", "--rebuild", "--json"], env)
            marker.write_text(json.dumps({"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-4000:]}))
    data = json.loads(marker.read_text())
    return {"cache": cache, **data}


@pytest.fixture(scope="session")
def default_run(shared_dir: Path, ext_cache: dict) -> dict:
    """One run of the default suite with --json and --report, shared by the tests that inspect it."""
    marker = shared_dir / "default-run.json"
    report = shared_dir / "verify-report.html"
    with FileLock(str(shared_dir / "default.lock")):
        if not marker.exists():
            env = clean_environ(shared_dir / "home", ext_cache["cache"])
            proc = run_dlsetup(["verify", "--json", "--report", str(report)], env)
            marker.write_text(json.dumps({"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr[-4000:]}))
    data = json.loads(marker.read_text())
    return {"report": report, **data}


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch):
    """Turn on one injected fault for suite processes started by this test (see faults/sitecustomize.py)."""

    def enable(name: str, rank: int | None = None) -> None:
        monkeypatch.setenv("PYTHONPATH", str(FAULTS))
        monkeypatch.setenv("DLVERIFY_FAULT", name)
        if rank is not None:
            monkeypatch.setenv("DLVERIFY_FAULT_RANK", str(rank))

    return enable


def stage(doc: dict, name: str) -> dict:
    found = [s for s in doc["stages"] if s["name"] == name]
    assert found, f"no stage {name} in {[s['name'] for s in doc['stages']]}"
    return found[0]


def check(stage_doc: dict, name: str, variant: str | None = None) -> dict:
    found = [c for c in stage_doc["checks"] if c["name"] == name and (variant is None or c["variant"] == variant)]
    assert found, f"no check {name} [{variant}] in stage {stage_doc['name']}"
    return found[0]
