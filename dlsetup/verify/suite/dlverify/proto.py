"""The line protocol back to dlsetup, and the small helpers every stage uses to describe a check.

Events (one JSON object per line):
  {"event": "hello", ...facts about the interpreter, torch and the device...}
  {"event": "start", "stage": NAME}
  {"event": "stage", "stage": NAME, "status": ..., "duration_s": ..., "checks": [...], "details": {...}}
  {"event": "ranks", "ranks": [...]}      (rank 0 of a distributed run: every rank's stages)
  {"event": "done"}

A check is ``{"name", "variant", "status", "value", "limit", "metric", "note", "error"}``. ``note`` is a
message key of dlsetup's ``verify`` catalog plus parameters (``{"key": ..., "params": {...}}``); dlsetup
translates it. Non-finite numbers travel as the strings "nan", "inf", "-inf" so the JSON stays valid.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from typing import Any

PASS, WARN, FAIL, SKIP, INFO = "pass", "warn", "fail", "skip", "info"
_RANK = {INFO: 0, SKIP: 0, PASS: 1, WARN: 2, FAIL: 3}


class Channel:
    """Keeps the original stdout for protocol lines; fd 1 and ``sys.stdout`` go to stderr from then on."""

    def __init__(self) -> None:
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
        self._out = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        sys.stdout = sys.stderr

    def send(self, obj: dict[str, Any]) -> None:
        self._out.write(json.dumps(clean(obj), separators=(",", ":")) + "\n")
        self._out.flush()


def clean(obj: Any) -> Any:
    """Make ``obj`` strict-JSON safe: non-finite floats become strings, tuples lists, unknowns str."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [clean(v) for v in obj]
    return str(obj)


def note(key: str, **params: Any) -> dict[str, Any]:
    """A translatable message: a ``verify.*`` catalog key and its parameters."""
    return {"key": key, "params": params}


def check(name: str, variant: str | None = None, *, value: float | None = None, limit: float | None = None,
          status: str | None = None, metric: str | None = None, note: dict | None = None,
          error: str | None = None, **extra: Any) -> dict[str, Any]:
    """One check. Without an explicit status: an error fails; a value fails when not finite or above limit."""
    if status is None:
        if error is not None:
            status = FAIL
        elif value is not None and limit is not None:
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            status = PASS if finite and value <= limit else FAIL
        else:
            status = PASS
    out = {"name": name, "variant": variant, "status": status, "value": value, "limit": limit,
           "metric": metric, "note": note, "error": error}
    out.update(extra)
    return out


def skipped(reason_key: str, **params: Any) -> dict[str, Any]:
    """A stage result for "does not apply here" (shown as skipped, never counted as a pass)."""
    return {"status": SKIP, "checks": [], "note": note(reason_key, **params)}


def worst(statuses: list[str]) -> str:
    """The stage status from its checks' statuses (no checks: pass)."""
    if not statuses:
        return PASS
    top = max(statuses, key=lambda s: _RANK.get(s, 0))
    if _RANK.get(top, 0) == 0:
        return SKIP if SKIP in statuses else PASS
    return top


def error_text(exc: BaseException, limit: int = 600) -> str:
    """``Type: message`` on one line, shortened; the way a failed operation is reported in a check."""
    text = f"{type(exc).__name__}: {exc}".strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def traceback_tail(exc: BaseException, lines: int = 8) -> str:
    """The last few lines of the traceback (where it failed), for the stage details."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    return "\n".join(text.splitlines()[-lines:])
