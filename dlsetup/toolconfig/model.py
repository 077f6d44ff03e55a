"""``ConfigSetting``: one index/channel/endpoint setting and where it came from.

Kept apart from the snapshot model (``dlsetup.probe.model`` re-exports it) so that ``dlsetup mirror``,
which reads settings but never probes, does not pay for building the whole machine model at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ConfigSetting:
    """An index/channel/endpoint setting and where it came from."""

    tool: str  # "pip" | "uv" | "conda" | "pixi" | "hf"
    key: str  # "global.index-url", "channels", "HF_ENDPOINT", ...
    value: str
    source: str  # a file path, or "env:PIP_INDEX_URL"
    effective: bool = True  # False when something else masks it
    masked_by: str | None = None  # (doctor) the source that wins when effective=False: "env:PIP_INDEX_URL", a file
