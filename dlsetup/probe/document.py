"""Reading a snapshot file someone else may have made: only a regular file, bounded in every way.

Kept apart from the snapshot model and the redaction code so both can use it without importing each other.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

# Limits for a file from a stranger. A real snapshot is 5-60 KB with nesting under 10 levels.
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 200_000
MAX_STRING = 64 * 1024
MAX_VERSION = 128  # a version, kernel or driver string longer than this is not one
MAX_INT_DIGITS = 30
_VERSION_KEY = re.compile(r"^(?!proc_)(?:\w+_)?version$|^(?:kernel|glibc|cuda|cudnn|nccl|compute_capability|driver)$")
_VERSION_MAPS = {"packages", "conda_records"}  # name -> version


class _Limit(Exception):
    def __init__(self, key: str, where: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.where, self.params = key, where, params


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Limit("probe.limit.number", "", value=text[:12] + "…")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _Limit("probe.limit.number", "", value=text[:12] + ("…" if len(text) > 12 else ""))
    return value


def _parse_constant(text: str) -> Any:  # NaN, Infinity, -Infinity: not JSON
    raise _Limit("probe.limit.number", "", value=text)


def _max_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside strings, without recursion (json's parser recurses)."""
    depth = best = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        tok = m.group(0)
        if tok in "[{":
            depth += 1
            if depth > best:
                best = depth
                if best > MAX_DEPTH:
                    return best
        elif tok in "]}":
            depth -= 1
    return best


def _check_values(data: Any) -> None:
    """Count values and check every string (no lone surrogates, bounded length, versions short)."""
    count = 0
    stack: list[tuple[Any, str, str]] = [(data, "", "")]
    while stack:
        value, where, key = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _Limit("probe.limit.count", where or "<root>", limit=MAX_VALUES)
        if isinstance(value, dict):
            for k, v in value.items():
                _check_string(k, f"{where}.{k[:40]}" if where else k[:40], "")
                stack.append((v, f"{where}.{k[:40]}" if where else k[:40], "version" if key in _VERSION_MAPS else k))
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", key) for i, v in enumerate(value))
        elif isinstance(value, str):
            _check_string(value, where, key)


def _check_string(value: str, where: str, key: str) -> None:
    limit = MAX_VERSION if _VERSION_KEY.search(key.lower()) else MAX_STRING
    if len(value) > limit:
        raise _Limit("probe.limit.string", where or "<root>", limit=limit)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Limit("probe.limit.surrogate", where or "<root>") from None


def read_document(path: str | os.PathLike[str]) -> Any:
    """Parse a snapshot file someone else may have made: the JSON document, or a one-line UsageError.

    Only a regular file is opened (a FIFO would block forever and ``/dev/zero`` never ends): it is
    checked with ``stat`` before the open, opened non-blocking and checked again on the descriptor.
    At most :data:`MAX_BYTES` are read; nesting, value count, number size (no 4300-digit integers,
    no ``1e400``, no NaN) and string length are bounded, and lone surrogates are refused.
    """
    from dlsetup.errors import UsageError
    from dlsetup.i18n import t
    from dlsetup.util.atomic import FileTooLarge, NotRegularFile, read_regular_bytes

    p = Path(path)
    try:
        raw = read_regular_bytes(p, MAX_BYTES)
    except FileNotFoundError:
        raise UsageError("core.error.file_not_found", path=str(p)) from None
    except NotRegularFile as exc:
        raise UsageError("probe.error.snapshot_not_regular", path=str(p), kind=exc.kind) from None
    except IsADirectoryError:
        raise UsageError("probe.error.snapshot_not_regular", path=str(p), kind="directory") from None
    except FileTooLarge as exc:
        raise UsageError("probe.error.snapshot_too_large", path=str(p), size=exc.size, limit=MAX_BYTES) from None
    except OSError as exc:
        raise UsageError("core.error.file_unreadable", path=str(p), reason=exc.strerror or str(exc)) from None

    def limit_error(what: str, where: str) -> UsageError:
        return UsageError("probe.error.snapshot_limits", path=str(p), what=what, where=where)

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise limit_error(t("probe.limit.encoding", detail=f"byte {exc.start}"), "<file>") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if _max_depth(text) > MAX_DEPTH:
        raise limit_error(t("probe.limit.depth", limit=MAX_DEPTH), "<root>")
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
        _check_values(data)
    except _Limit as lim:
        raise limit_error(t(lim.key, **lim.params), lim.where or "<number>") from None
    except json.JSONDecodeError as exc:
        raise UsageError("core.error.snapshot_invalid", path=str(p),
                         reason=f"not JSON ({exc.msg}, line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError("core.error.snapshot_invalid", path=str(p), reason=str(exc)[:200]) from None
    return data
