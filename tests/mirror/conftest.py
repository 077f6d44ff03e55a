"""Fixtures for the mirror tests: fake mirrors on 127.0.0.1 (see fakemirror.py) and helpers."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import pytest

from tests.mirror.fakemirror import Content, FakeMirror

PY_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
PLAT_TAG = f"manylinux_2_28_{platform.machine().lower().replace('amd64', 'x86_64')}"


@pytest.fixture(scope="session")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return Content.build(tmp_path_factory.mktemp("wheels"), PY_TAG, PLAT_TAG)


@pytest.fixture
def serve(content: Content):
    """serve(mode="good", delay=0.0) -> a started FakeMirror; all stopped after the test."""
    started: list[FakeMirror] = []

    def start(mode: str = "good", delay: float = 0.0) -> FakeMirror:
        m = FakeMirror(content, mode, delay).start()
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


@pytest.fixture
def custom_mirrors(isolated_env: Path):
    """custom_mirrors(text) writes dlsetup's custom mirrors file (config dir of the isolated HOME)."""

    def write(text: str) -> Path:
        path = Path(os.environ["DLSETUP_CONFIG_DIR"]) / "mirrors.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env


def client_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for real pip/uv subprocesses: the isolated one, with every non-loopback request
    sent to a proxy that refuses (so "from the mirror and nowhere else" is enforced, not hoped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) or k == "PIP_CONFIG_FILE"}
    env.update({
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
    })
    env.update(extra or {})
    return env
