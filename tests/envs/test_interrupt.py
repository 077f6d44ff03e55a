"""Interrupting a real ``dlsetup create env`` process leaves no half-made environment and no registry entry.

The channel is served over HTTP on 127.0.0.1 by a server that holds back one package (the biggest, pip)
until the test has interrupted the process: so the kill lands mid-create, after the solve and while
packages are being fetched and linked into the staging directory — deterministically, with no test hook
in dlsetup itself.
"""

from __future__ import annotations

import http.server
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.envs.conftest import leftovers, registered

HELD = "pip-23.2.1-pyh0_0.conda"


class _StallingServer:
    def __init__(self, root: Path) -> None:
        self.requested = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(root), **kw)

            def do_GET(self):  # noqa: N802
                if self.path.endswith(HELD):
                    outer.requested.set()
                    outer.release.wait(60)
                    return
                super().do_GET()

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stalling(channel, tmp_path, monkeypatch):
    # a cold package cache, so the held package really has to be fetched
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "cold-cache"))
    s = _StallingServer(channel)
    yield s
    s.close()


def _start(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dlsetup", "create", "env", "victim", "-c", url,
                             "python", "pip", "dlsetup-demo-a", "dlsetup-demo-py"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_mid_create(proc: subprocess.Popen, stalling: _StallingServer, envs_dir: Path) -> list[Path]:
    assert stalling.requested.wait(60), "dlsetup never asked for the held package"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        staged = [p for p in envs_dir.glob(".dlsetup-staging-victim-*") if p.is_dir()]
        if staged:
            return staged
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("no staging directory appeared")


def test_sigkill_mid_create_leaves_nothing_usable_and_is_cleaned_next_time(cli, stalling, envs_dir, registry):
    proc = _start(stalling.url)
    staged = _wait_mid_create(proc, stalling, envs_dir)
    # other packages are already being linked into the staging directory
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert not (envs_dir / "victim").exists() and registered(registry) == []
    assert staged[0].exists()  # a SIGKILL cannot be caught: the hidden staging dir stays ...
    r = cli("--json", "env", "list")
    assert r.code == 0
    assert r.json()["cleaned"] == [staged[0].name]  # ... until the next run removes it
    assert [e["name"] for e in r.json()["envs"]] == []
    assert leftovers(envs_dir) == []


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_ctrl_c_and_sigterm_clean_up_at_once(stalling, envs_dir, registry, sig, code):
    proc = _start(stalling.url)
    _wait_mid_create(proc, stalling, envs_dir)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and ("dlsetup: aborted" in err or "dlsetup: interrupted" in err)
    assert not (envs_dir / "victim").exists() and registered(registry) == []
    assert leftovers(envs_dir) == []
