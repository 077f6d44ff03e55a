"""Make untrusted strings (from snapshot files, file names, tool output) safe to print on a terminal."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional/zero-width format characters that can reorder or hide text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(value: object, limit: int = 300) -> str:
    """``value`` as one line of text: control and format characters shown as ``\\xNN``/``\\uNNNN``, cut at
    ``limit`` characters (with an ellipsis)."""
    s = "" if value is None else str(value)
    if len(s) > limit * 4:
        s = s[: limit * 4]
    s = _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)
    return s if len(s) <= limit else s[: limit - 1] + "…"
