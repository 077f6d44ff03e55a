"""Fixtures for the environment tests: a real local conda channel, a real PyPI index on 127.0.0.1, a
package cache shared by the tests of one worker, and helpers to run dlsetup against them.

Everything is built at session start by ``channel_builder`` (see its docstring for where the package
layout comes from); nothing here touches the network or the machine's own conda/pip configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.envs import channel_builder as cb


@pytest.fixture(scope="session")
def channel(tmp_path_factory) -> Path:
    """The demo channel: venv-style python, pip, demo-a/-b (prefix placeholder, conflict), demo-bin
    (binary placeholder), demo-cuda (needs __cuda), demo-c (.tar.bz2), demo-py (noarch:python + entry point)."""
    return cb.build_channel(tmp_path_factory.mktemp("channel"), cb.demo_packages())


@pytest.fixture(scope="session")
def channel_url(channel: Path) -> str:
    return channel.as_uri()


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> list[Path]:
    return cb.demo_wheels(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="session")
def pypi(tmp_path_factory, wheels):
    """A PEP 503 index with the test wheels, served on 127.0.0.1 for the whole session."""
    root = tmp_path_factory.mktemp("pypi")
    cb.write_simple_index(root, wheels)
    with cb.LocalIndex(root) as index:
        yield index


@pytest.fixture(scope="session")
def shared_rattler_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rattler-cache")


@pytest.fixture(autouse=True)
def _envs_isolation(monkeypatch, shared_rattler_cache, isolated_env):
    """One package cache per worker (like a real machine, warm after first use); no conda on PATH."""
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(shared_rattler_cache))
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not any((Path(p) / t).exists() for t in ("conda", "mamba", "micromamba"))]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    yield


@pytest.fixture
def envs_dir(isolated_env) -> Path:
    """Where named environments go under the isolated HOME (conda's ~/.conda/envs default)."""
    return isolated_env / ".conda" / "envs"


@pytest.fixture
def registry(isolated_env) -> Path:
    return isolated_env / ".conda" / "environments.txt"


def registered(registry: Path) -> list[str]:
    return [ln for ln in registry.read_text().splitlines() if ln.strip()] if registry.exists() else []


def leftovers(d: Path) -> list[str]:
    """Anything in an envs dir that is not a finished environment (staging/trash dirs, lock files)."""
    if not d.exists():
        return []
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))
