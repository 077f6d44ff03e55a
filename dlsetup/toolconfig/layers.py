"""What index / channels / endpoint each tool would use right now, and which file or variable set it.

No subprocess: each tool module (:mod:`.pip`, :mod:`.uv`, :mod:`.conda`, :mod:`.pixi`, :mod:`.hf`) reads
the files directly in its tool's own load order, so this is fast enough for ``dlsetup doctor``.
:func:`effective_settings` returns :class:`ConfigSetting` rows (``effective=False`` marks one that
something else masks); :func:`collect` returns the same rows with the slot they compete for, what masks
them, the files consulted and notes (ignored files, files the tool would reject, ...).

A file the tool would reject is the user's finding (a ``parse-error`` note naming file and line). An
exception from dlsetup's own code is not: it propagates, to be reported as dlsetup's error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dlsetup.toolconfig import conda, hf, pip, pixi, uv
from dlsetup.toolconfig.model import Collected, ConfigSetting, Found, Note

TOOLS = {"pip": pip.read, "uv": uv.read, "conda": conda.read, "pixi": pixi.read, "hf": hf.read}

__all__ = ["Collected", "ConfigSetting", "Found", "Note", "TOOLS", "collect", "effective_settings"]


def effective_settings(
    environ: Mapping[str, str] | None = None, cwd: str | Path | None = None, *, prefix: str | Path | None = None
) -> list[ConfigSetting]:
    """Every index / channel / endpoint setting pip, uv, conda, pixi and HF would see, masked ones included.

    ``environ`` defaults to ``os.environ``; ``cwd`` (for uv/pixi project files) to the current directory;
    ``prefix`` (the Python whose site ``pip.conf`` counts) to the active venv / conda env, else the base
    interpreter. A file its tool cannot parse appears as a setting with key ``parse-error``.
    """
    return collect(environ, cwd, prefix=prefix).settings()


def collect(
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    *,
    prefix: str | Path | None = None,
    tools: set[str] | None = None,
) -> Collected:
    """Like :func:`effective_settings`, with slots, masks, files consulted and notes (``tools`` limits the work)."""
    env = dict(os.environ if environ is None else environ)
    where = Path(cwd) if cwd is not None else Path.cwd()
    out = Collected()
    for name, read in TOOLS.items():
        if tools is None or name in tools:
            read(env, where, prefix, out)
    for n in out.notes:
        if n.kind == "parse-error":
            out.found.append(Found(ConfigSetting(n.tool, "parse-error", n.detail, n.source, False), "parse-error",
                                   line=n.line))
    return out
