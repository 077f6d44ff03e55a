"""Headless Chromium for the tests that render dlsetup's HTML pages (verify, report and setup reports).

Debian's ``chromium`` package (``.ci/run`` installs it). ``DLSETUP_REQUIRE_CHROMIUM=1`` turns a missing
browser into a failure instead of a skip, so CI cannot pass without rendering the pages."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REQUIRE_CHROMIUM = os.environ.get("DLSETUP_REQUIRE_CHROMIUM") == "1"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if REQUIRE_CHROMIUM:
        pytest.fail("DLSETUP_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def headless(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run Chromium headless with no network chatter and a fresh profile in ``tmp_path``."""
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=5000", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)
