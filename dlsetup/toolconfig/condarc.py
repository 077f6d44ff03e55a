"""Editing a ``.condarc`` so that only the settings that change change, byte for byte.

ruamel.yaml's round-trip keeps comments but re-emits the whole document: line endings become LF, every
list takes one indentation, ``True`` becomes ``true``. So the edit is made on ruamel's document and then
*spliced*: each top-level setting whose value did not change keeps its original lines (and line endings);
only the changed or new settings take ruamel's text, indented like the file's own lists and converted to
the file's line ending. A file whose top level cannot be split into ``key:`` blocks (flow style, several
documents) is written from ruamel's text with the line ending kept.
"""

from __future__ import annotations

import io
import re
from typing import Any

_KEY = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s#'"\-?:,\[\]{}&*!|>%@`][^:#]*?))\s*:(?:\s|$)""")


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def list_indent(text: str) -> int:
    """How far the file indents list items under a key (0 for ``- x`` flush with it); 2 if it has none."""
    m = re.search(r"^[^\s#][^\n]*:[ \t]*\r?\n((?:[ \t]*#[^\n]*\r?\n)*)( *)- ", text, re.M)
    return len(m.group(2)) if m else 2


def make_yaml(text: str):
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = 4096
    n = list_indent(text)
    yaml.indent(mapping=2, sequence=n + 2, offset=n)
    return yaml


def plain(value: Any) -> Any:
    """A ruamel round-trip value as plain Python, for comparing before and after."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _blocks(text: str) -> tuple[list[str], list[tuple[str, list[str]]]] | None:
    """(lines before the first key, [(key, its lines)]); a key's block runs to the next top-level key."""
    preamble: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        s = line.rstrip("\r\n")
        if s.startswith(("---", "...", "%", "{")):
            return None
        m = _KEY.match(s) if s and not s[0].isspace() and not s.startswith("#") and not s.startswith("-") else None
        if m:
            blocks.append((next(g for g in m.groups() if g is not None).strip(), [line]))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            preamble.append(line)
    return preamble, blocks


def dump(yaml, data) -> str:
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def splice(old: str, before: dict[str, Any], data, yaml) -> str:
    """The new text of a file whose parsed settings were ``before`` and whose edited document is ``data``."""
    nl = newline_of(old) if old else "\n"
    new = dump(yaml, data)
    converted = new.replace("\r\n", "\n").replace("\n", nl)
    old_split, new_split = _blocks(old), _blocks(new)
    if old_split is None or new_split is None:
        return converted
    preamble, old_blocks = old_split
    old_keys = [k for k, _ in old_blocks]
    if len(set(old_keys)) != len(old_keys) or set(old_keys) != {str(k) for k in before}:
        return converted  # the split does not match what the YAML parser saw: do not guess
    kept = dict(old_blocks)
    after = plain(data)
    out = list(preamble)
    for key, lines in new_split[1]:
        if key in kept and key in before and plain(before[key]) == after.get(key):
            block = list(kept[key])
        else:
            block = [ln.replace("\r\n", "\n").replace("\n", nl) for ln in lines]
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += nl
        out += block
    return "".join(out)
