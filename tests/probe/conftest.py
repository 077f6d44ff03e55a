"""Fixtures for the probe tests: machines materialized from tests/fixtures/hw recordings."""

from __future__ import annotations

import shutil

import pytest

from tests.probe.hwkit import load_hw, materialize


@pytest.fixture
def machine(tmp_path):
    """``machine("h100-r580")`` → a :class:`tests.probe.hwkit.Machine` built under tmp_path."""

    def make(name: str, **changes):
        spec = load_hw(name)
        spec.update(changes)
        return materialize(spec, tmp_path / name)

    return make


needs_cc = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                              reason="needs a C compiler to build the fake libcuda")
