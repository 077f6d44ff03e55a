"""One result object per command, rendered either as text (rich) or as one JSON document.

Command modules compute a :class:`Result` and never print. ``cli.py`` hands it to
:func:`dlsetup.output.emit`. Tests assert on ``Result.data``, not on terminal text.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

SCHEMA_VERSION = 1

# Keys whose values are text for people, written in the language asked (--lang). Every other value in a JSON
# document is a fact (ids, severities, data, commands, argv, versions, paths) and is the same in every
# language; tests/core/test_json_language.py holds every command to that. Keep this list small: a new
# human-text key belongs here only when it carries no fact that is not also somewhere else in the document.
HUMAN_TEXT_FIELDS = frozenset({
    "title", "cause", "fix", "evidence", "message", "summary", "text", "detail", "why", "description",
    "machine_text",
})


@dataclasses.dataclass(frozen=True)
class Result:
    """What a command computed.

    ``data`` is a dataclass or a dict; its fields become the top-level keys of the JSON document,
    next to ``schema_version`` and ``command``. ``render_text(console, data)`` draws the same data
    for a person. ``exit_code`` follows :mod:`dlsetup.exitcodes`.
    """

    command: str
    data: Any
    exit_code: int = 0
    render_text: Callable[[Any, Any], None] | None = None
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        body = to_jsonable(self.data)
        doc: dict[str, Any] = {"schema_version": self.schema_version, "command": self.command}
        if isinstance(body, dict):
            doc.update(body)
        else:
            doc["data"] = body
        doc.setdefault("exit_code", self.exit_code)
        return doc


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, enums, paths, sets and tuples to plain JSON types (recursively)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        to_dict = getattr(obj, "to_dict", None)
        if callable(to_dict):
            return to_jsonable(to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [to_jsonable(v) for v in obj]
        return sorted(items, key=str) if isinstance(obj, (set, frozenset)) else items
    return str(obj)
