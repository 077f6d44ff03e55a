"""The shapes every tool module returns: one setting, where it came from, and what masks it.

``ConfigSetting`` is also part of the machine snapshot (``dlsetup.probe.model`` re-exports it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.toolconfig.readers import ConfigFileError, read_text


@dataclass
class ConfigSetting:
    """An index/channel/endpoint setting and where it came from."""

    tool: str  # "pip" | "uv" | "conda" | "pixi" | "hf"
    key: str  # "global.index-url", "channels", "HF_ENDPOINT", ...
    value: str
    source: str  # a file path, or "env:PIP_INDEX_URL"
    effective: bool = True  # False when something else masks it
    masked_by: str | None = None  # the source that wins when effective=False: "env:PIP_INDEX_URL", a file


@dataclass
class Found:
    """One setting plus what it competes for (``slot``) and, when masked, the source that wins."""

    setting: ConfigSetting
    slot: str
    masked_by: str | None = None
    line: int | None = None
    masked_by_key: str | None = None  # the winner's key, when it differs (``install.index-url`` over ``global.…``)


@dataclass
class Note:
    """Something about the configuration that is not a setting: an ignored file, a parse error, ..."""

    tool: str
    kind: str  # "parse-error" | "files-ignored" | "no-config" | "config-file-replaces" | "pypi-config-elsewhere"
    source: str
    detail: str = ""
    line: int | None = None


@dataclass
class Collected:
    found: list[Found] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)  # tool -> files consulted, in load order

    def settings(self) -> list[ConfigSetting]:
        out = []
        for f in self.found:
            f.setting.masked_by = f.masked_by
            out.append(f.setting)
        return out


def read_into(tool: str, path: Path, out: Collected, parse: Callable[[str, Path], Any],
              encoding: str | None = None) -> tuple[str | None, Any]:
    """(text, parsed) of ``path``; (None, None) when it is missing. A file the tool would reject becomes a
    ``parse-error`` note (the user's file, the user's finding); anything else raised is dlsetup's own bug
    and propagates."""
    try:
        text = read_text(path, encoding)
        if text is None:
            return None, None
        return text, parse(text, path)
    except ConfigFileError as exc:
        out.notes.append(Note(tool, "parse-error", exc.path, exc.reason, exc.line))
        return None, None


def resolve_slot(items: list[Found]) -> None:
    """Items of one slot, highest priority first: the first is effective, the rest masked by it."""
    if not items:
        return
    winner = items[0]
    winner.setting.effective = True
    for f in items[1:]:
        f.setting.effective = False
        f.masked_by = winner.setting.source
        f.masked_by_key = winner.setting.key if winner.setting.key != f.setting.key else None


def target_prefix(env: Mapping[str, str]) -> Path:
    """The Python prefix whose site files count: active venv, else active conda env, else the base Python."""
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if env.get(var):
            return Path(env[var])
    return Path(sys.base_prefix)
