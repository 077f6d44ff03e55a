"""One writer per tool. Each turns a config file's current text into new text (comments kept).

A writer never touches the disk: :mod:`dlsetup.mirror.apply` reads the files, chains the writers that
edit the same file (pip then torch on ``pip.conf``, uv then torch on ``uv.toml``), shows diffs or writes
atomically through the journal. Writers are plain functions:

* ``apply(text, ctx, report) -> str | None`` — the new text (None: delete the file)
* ``reset(text, ctx, report) -> str | None`` — the text with dlsetup's keys removed
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.errors import UsageError
from dlsetup.mirror.catalog import Catalog, Mirror
from dlsetup.toolconfig.readers import ConfigFileError


@dataclass
class Message:
    """A translatable note: catalog key + params (rendered at output time)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        from dlsetup.i18n import t

        return t(self.key, **self.params)

    def to_dict(self) -> dict[str, Any]:
        from dlsetup.util.redact import redact_url

        return {"code": self.key, "message": redact_url(self.text())}


def msg(_key: str, **params: Any) -> Message:
    return Message(_key, params)


@dataclass
class Context:
    mirror: Mirror | None  # None for reset
    catalog: Catalog
    scope: str = "user"
    variant: str | None = None
    conda_defaults: bool = False
    env: dict[str, str] = field(default_factory=dict)
    platform: str = "linux"  # "linux" | "windows" | "macos"
    torch: bool = False  # the torch writer is part of this run


@dataclass
class Report:
    """What a writer did to one file: changes (plain ``key = value`` lines) and notes."""

    tool: str
    path: Path | None = None
    changes: list[str] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    skipped: bool = False  # the writer decided not to act (e.g. no PyTorch wheels on this mirror)

    def change(self, text: str) -> None:
        from dlsetup.util.redact import redact_url

        self.changes.append(redact_url(text))

    def note(self, key: str, **params: Any) -> None:
        self.notes.append(Message(key, params))


def malformed(tool: str, exc: ConfigFileError) -> UsageError:
    """A config file its tool would reject: name the file and line, change nothing."""
    return UsageError("mirror.error.malformed", tool=tool, where=exc.where(), reason=exc.reason)


def load_toml(tool: str, text: str | None, path: Path):
    """``text`` as a tomlkit document (comments kept). A file the tool itself would reject, or one tomlkit
    cannot round-trip, is a usage error naming the file: report it, never write it."""
    import tomlkit

    from dlsetup.toolconfig.readers import parse_toml
    from dlsetup.toolconfig.uv import parse as parse_uv

    if text:
        try:
            (parse_uv if tool == "uv" else parse_toml)(text, path)
        except ConfigFileError as exc:
            raise malformed(tool, exc) from None
    try:
        return tomlkit.parse(text or "")
    except Exception as exc:  # tomlkit rejects a few things tomllib accepts
        raise malformed(tool, ConfigFileError(path, f"cannot be edited safely ({exc})")) from None


def append_table(aot, table) -> None:
    """Append to a tomlkit array of tables, with one blank line before the new entry (as people write it)."""
    import tomlkit

    if len(aot) > 0:
        last = aot[-1]
        if not last.as_string().endswith("\n\n"):
            last.add(tomlkit.nl())
    aot.append(table)
