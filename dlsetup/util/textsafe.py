"""Terminal safety: strings dlsetup did not write itself never reach a terminal raw.

A GPU name, a path or a version inside a snapshot a stranger sent, or a string a tested interpreter
reports, may hold escape sequences: OSC 52 (``ESC ] 52 ; c ; … BEL``) sets the clipboard, OSC 0 the
window title, CSI ``2J`` clears the screen, and bidi overrides (U+202E) make text read differently
from what it is. The text renderer passes every value it draws through :func:`sanitize_data`, so no
renderer or check has to remember to.

Controls are *escaped*, not dropped: ``ESC`` becomes the four characters ``\\x1b``, so a person still
sees that the value was odd. Newline and tab are kept (catalog text and multi-line messages use them).

``--json`` output is never escaped (it must stay exact); :func:`json_safe` only replaces the floats
JSON cannot carry (NaN, ±Infinity) with ``null``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from pathlib import PurePath
from typing import Any

# C0 controls except \t and \n, DEL, C1 controls; bidi embeddings/overrides/isolates and the marks
# (U+200E/F, U+061C); line/paragraph separators; lone surrogates (they cannot be encoded anyway).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(m: re.Match[str]) -> str:
    cp = ord(m.group(0))
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}"


def sanitize(text: str) -> str:
    """``text`` with every terminal control, bidi override and lone surrogate shown as an escape."""
    if not isinstance(text, str):
        return text
    return _UNSAFE.sub(_escape, text)


# One line of text (a name in a table cell, a path in an error): everything sanitize() escapes, plus tab, newline
# and the zero-width characters that hide text in a cell.
_UNSAFE_ONE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n\u200b-\u200d\ufeff]")


def printable(value: object, limit: int = 300) -> str:
    """``value`` as one line of text: control and format characters shown as ``\\xNN``/``\\n``/``\\uNNNN``,
    cut at ``limit`` characters (with an ellipsis)."""
    s = "" if value is None else str(value)
    if len(s) > limit * 4:
        s = s[: limit * 4]
    s = _UNSAFE_ONE_LINE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def is_safe(text: str) -> bool:
    return _UNSAFE.search(text) is None


def clean(text: str) -> str:
    """What every string drawn for a person goes through: secrets redacted, then controls escaped."""
    from dlsetup.util.redact import redact

    text = redact(text)
    return sanitize(text) if _UNSAFE.search(text) else text


def sanitize_data(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with :func:`clean` applied to every string inside it; types are kept
    (dataclasses stay dataclasses, frozen ones too, so renderers can use their methods)."""
    if _depth > 64:
        return value
    if isinstance(value, str):
        return clean(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, PurePath):
        s = str(value)
        return type(value)(clean(s)) if clean(s) != s else value
    if isinstance(value, dict):
        return {sanitize_data(k, _depth + 1): sanitize_data(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize_data(v, _depth + 1) for v in value]
    if isinstance(value, tuple):
        items = [sanitize_data(v, _depth + 1) for v in value]
        if hasattr(value, "_fields"):  # a namedtuple
            return type(value)(*items)
        return tuple(items)
    if isinstance(value, (set, frozenset)):
        return type(value)(sanitize_data(v, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        clone = copy.copy(value)
        for f in dataclasses.fields(value):
            try:
                old = getattr(value, f.name)
            except AttributeError:
                continue
            new = sanitize_data(old, _depth + 1)
            if new is not old:
                object.__setattr__(clone, f.name, new)
        return clone
    return value


def json_safe(value: Any) -> Any:
    """``value`` (plain JSON types) with NaN and ±Infinity replaced by ``None`` (JSON has no such numbers)
    and secrets redacted in every string."""
    if isinstance(value, str):
        from dlsetup.util.redact import redact

        return redact(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


# Characters JSON may carry raw but a terminal may act on (C1 controls, bidi overrides, line separators):
# written as \\uXXXX escapes, which parse back to the same string.
_JSON_RAW_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that always yields valid JSON: non-finite floats become ``null``; characters a terminal
    could act on are written as ``\\uXXXX`` escapes (the parsed value is unchanged)."""
    import json

    kwargs.setdefault("ensure_ascii", False)
    value = json_safe(value)
    text = json.dumps(value, allow_nan=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only the \\uXXXX form can carry it
        text = json.dumps(value, allow_nan=False, **{**kwargs, "ensure_ascii": True})
    return _JSON_RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
