"""GPU datasheet peaks for ``verify --perf`` (``dlsetup/verify/data/gpu_peaks.toml``), loaded lazily, once."""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from dlsetup.util import toml


@functools.cache
def table() -> list[dict[str, Any]]:
    text = resources.files("dlsetup.verify.data").joinpath("gpu_peaks.toml").read_text(encoding="utf-8")
    return list(toml.loads(text)["gpu"])


def peak_for(device_name: str | None) -> dict[str, Any] | None:
    """The first row whose ``match`` pattern is found in ``device_name`` (case-insensitive), else None."""
    if not device_name:
        return None
    for row in table():
        if re.search(row["match"], device_name, re.IGNORECASE):
            return row
    return None
