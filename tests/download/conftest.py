"""Fixtures for the bundle tests: a real conda channel and real wheels (``tests/envs/channel_builder``)
served over HTTP by the flaky loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.download.server import FlakyServer
from tests.envs import channel_builder as cb


@pytest.fixture(scope="session")
def demo_channel(tmp_path_factory) -> Path:
    return cb.build_channel(tmp_path_factory.mktemp("dl-channel"), cb.demo_packages())


@pytest.fixture(scope="session")
def demo_wheels(tmp_path_factory) -> list[Path]:
    return cb.demo_wheels(tmp_path_factory.mktemp("dl-wheels"))


@pytest.fixture
def origin(demo_channel, demo_wheels):
    """One server with the channel under /conda and the wheels under /files (+ /simple index)."""
    with FlakyServer(max_seconds=240) as srv:
        srv.add_tree(demo_channel, "conda")
        for w in demo_wheels:
            srv.add(f"files/{w.name}", w)
        yield srv
