from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env
