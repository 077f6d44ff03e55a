"""Shared test harness.

* Every test runs with HOME, XDG dirs, PIP_CONFIG_FILE, CONDARC, uv/pixi config and dlsetup's own
  dirs pointed into its tmp dir, and with PIP_*/UV_*/CONDA_*/HF_* variables removed.
* A socket guard refuses connections to anything but loopback.
* At the end of the session, this machine's own pip/conda/uv/pixi configuration must be
  byte-identical to what it was at the start, or the run fails.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_REAL_HOME = Path(os.path.expanduser("~"))

# The machine's own configuration that tests must never change.
GUARDED_FILES = [
    Path("/etc/pip.conf"),
    Path("/etc/xdg/pip/pip.conf"),
    Path("/etc/xdg/pip/constraints.txt"),
    _REAL_HOME / ".config/pip/pip.conf",
    _REAL_HOME / ".pip/pip.conf",
    _REAL_HOME / ".condarc",
    _REAL_HOME / ".conda/environments.txt",
    _REAL_HOME / ".config/uv/uv.toml",
    _REAL_HOME / ".config/pixi/config.toml",
    _REAL_HOME / ".pixi/config.toml",
    _REAL_HOME / ".bashrc",
    _REAL_HOME / ".profile",
]


def _fingerprint() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in GUARDED_FILES:
        try:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except FileNotFoundError:
            out[str(p)] = None
        except OSError as exc:
            out[str(p)] = f"unreadable: {exc}"
    return out


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._dlsetup_guard = _fingerprint()  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = getattr(session.config, "_dlsetup_guard", None)
    if before is None or hasattr(session.config, "workerinput"):
        return
    after = _fingerprint()
    changed = [p for p in before if before[p] != after[p]]
    if changed:
        sys.stderr.write("\nFAIL: tests changed this machine's own configuration: " + ", ".join(changed) + "\n")
        session.exitstatus = 1


_ENV_PREFIXES = ("PIP_", "UV_", "CONDA", "MAMBA_", "PIXI_", "HF_", "HUGGINGFACE", "DLSETUP_", "RATTLER_", "XDG_")
_ENV_NAMES = ("VIRTUAL_ENV", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
              "TORCH_EXTENSIONS_DIR", "NO_COLOR", "FORCE_COLOR")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every config/state location into tmp_path; returns the fake HOME."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg-config-dirs"))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "pip-config-file" / "pip.conf"))
    monkeypatch.setenv("CONDARC", str(home / ".condarc"))
    monkeypatch.setenv("UV_CONFIG_FILE", str(home / ".config" / "uv" / "uv.toml"))
    monkeypatch.setenv("PIXI_HOME", str(home / ".pixi"))
    monkeypatch.setenv("DLSETUP_CONFIG_DIR", str(home / ".config" / "dlsetup"))
    monkeypatch.setenv("DLSETUP_STATE_DIR", str(home / ".local" / "state" / "dlsetup"))
    monkeypatch.setenv("DLSETUP_CACHE_DIR", str(home / ".cache" / "dlsetup"))
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(home / ".cache" / "rattler"))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("DLSETUP_SHELL", "bash")  # printed commands: bash, whatever shell runs the tests
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    from dlsetup import i18n, output

    i18n.reset()
    output.reset()
    yield home
    i18n.reset()
    output.reset()


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a name other than localhost would need DNS: refuse


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse in-process connections to anything but loopback (and Unix sockets)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not _is_loopback(address[0]):
                raise ConnectionRefusedError(f"tests may only connect to loopback, not {address[0]!r}")

    def connect(self, address):  # type: ignore[no-untyped-def]
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):  # type: ignore[no-untyped-def]
        check(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


class CliRun:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliRun(code={self.code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``dlsetup ARGS`` in-process through the real entry point; returns a CliRun."""
    from dlsetup import i18n, output
    from dlsetup.cli import main

    def run(*args: str) -> CliRun:
        i18n.reset()
        output.reset()
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliRun(code, out, err)

    return run


@pytest.fixture
def cli_subprocess():
    """Run ``python -m dlsetup ARGS`` in a real subprocess (inherits the isolated environment)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: str | None = None) -> CliRun:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "dlsetup", *args],
            capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def uv_isolated(request, tmp_path_factory, monkeypatch):
    """Real uv, isolated: its cache in the session's temp dir (one per test module), none of this machine's config."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path_factory.getbasetemp() / f"uv-cache-{module}"))
    monkeypatch.setenv("UV_NO_CONFIG", "1")  # the machine's uv.toml must not leak in
    monkeypatch.delenv("UV_CONFIG_FILE", raising=False)  # isolated_env points it at a file that does not exist
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
