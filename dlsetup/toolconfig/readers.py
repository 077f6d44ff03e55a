"""Fast, read-only parsers for the config files the tools read: pip INI, TOML, .condarc YAML.

They run on ``dlsetup doctor``'s short path, so they avoid heavy imports: ``configparser`` for pip,
``tomllib`` for uv/pixi, and a small reader for the plain YAML subset every real ``.condarc`` uses
(top-level keys, scalars, block and flow lists, one level of mapping). Anything outside that subset
(anchors, tags, block scalars, deeper nesting) falls back to ruamel.yaml, which costs ~35-100 ms to
import. Every failure is a :class:`ConfigFileError` naming the file and, where known, the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dlsetup.util import toml


class ConfigFileError(Exception):
    """A config file that its tool would reject (or that we cannot read)."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.line = line
        super().__init__(self.where() + ": " + reason)

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


def read_text(path: Path, encoding: str | None = None) -> str | None:
    """The file's text, or None when it does not exist. Undecodable or unreadable → ConfigFileError.

    ``encoding`` is the codec the tool itself decodes with (pip: the locale's); default UTF-8 with an
    optional byte-order mark, as the TOML and YAML tools read their files."""
    from dlsetup.util.atomic import read_regular_bytes

    try:
        data = read_regular_bytes(path)  # never blocks on a FIFO or reads /dev/zero forever
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise ConfigFileError(path, "is a directory") from None
    except OSError as exc:
        raise ConfigFileError(path, exc.strerror or str(exc)) from None
    codec = encoding or "utf-8-sig"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigFileError(path, f"not {encoding or 'UTF-8'} text", line) from None
    except LookupError:
        raise ConfigFileError(path, f"unknown text encoding {codec}") from None


# --------------------------------------------------------------------------------------------- pip INI


def parse_ini(text: str, path: Path | str):
    """Parse like pip does (``RawConfigParser``, strict); returns the parser."""
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigFileError(path, "a setting before any [section] header", exc.lineno) from None
    except configparser.DuplicateOptionError as exc:
        raise ConfigFileError(path, f"option '{exc.option}' set twice in [{exc.section}]", exc.lineno) from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigFileError(path, f"section [{exc.section}] appears twice", exc.lineno) from None
    except configparser.ParsingError as exc:
        line = exc.errors[0][0] if getattr(exc, "errors", None) else None
        raise ConfigFileError(path, "not valid INI syntax", line) from None
    except configparser.Error as exc:
        raise ConfigFileError(path, str(exc).splitlines()[0]) from None
    return parser


def ini_option_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, normalised option) → 1-based line, for messages that point at a line."""
    out: dict[tuple[str, str], int] = {}
    section = ""
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and "]" in s:
            section = s[1 : s.index("]")].strip()
            continue
        if line[:1] in (" ", "\t"):
            continue  # continuation line
        m = re.match(r"([^=:]+?)\s*[=:]", s)
        if m:
            out.setdefault((section, normalize_pip_key(m.group(1))), i)
    return out


def normalize_pip_key(name: str) -> str:
    """pip's ``_normalize_name``: lower case, ``_`` → ``-``, no leading ``--``."""
    name = name.strip().lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


# ------------------------------------------------------------------------------------------------ TOML


def parse_toml(text: str, path: Path | str) -> dict[str, Any]:
    try:
        return toml.loads(text)
    except toml.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) or "not valid TOML"
        raise ConfigFileError(path, f"not valid TOML ({reason})", line) from None


# ------------------------------------------------------------------------------------------ .condarc


class _NeedFullYaml(Exception):
    pass


_PLAIN_KEY = re.compile(r"^([A-Za-z0-9_.\-]+|'[^']*'|\"[^\"]*\")\s*:(?:\s+(.*))?$")


def parse_condarc(text: str, path: Path | str) -> dict[str, Any]:
    """Parse a ``.condarc``; the fast subset reader first, ruamel.yaml (safe) when it is not enough."""
    try:
        return _condarc_lite(text)
    except _NeedFullYaml:
        return _condarc_full(text, path)


def _condarc_full(text: str, path: Path | str) -> dict[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigFileError(path, f"not valid YAML ({exc.problem or exc.context})", line) from None
    except YAMLError as exc:
        raise ConfigFileError(path, f"not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(path, "the top level is not a mapping of settings", 1)
    return data


def _strip_comment(s: str) -> str:
    """Drop a trailing ``# comment`` outside quotes (YAML needs a space before ``#``)."""
    quote = None
    for i, ch in enumerate(s):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
    return s.rstrip()


def _scalar(s: str) -> Any:
    s = s.strip()
    if not s:
        return None
    if s[0] in "&*!|>%@`" or s.startswith(("? ", "- ")):
        raise _NeedFullYaml
    if s[0] == "[":
        if not s.endswith("]"):
            raise _NeedFullYaml
        inner = s[1:-1].strip()
        if not inner:
            return []
        if any(c in inner for c in "[]{}"):
            raise _NeedFullYaml
        return [_scalar(p) for p in _split_flow(inner)]
    if s[0] == "{":
        if not s.endswith("}"):
            raise _NeedFullYaml
        inner = s[1:-1].strip()
        out: dict[str, Any] = {}
        if not inner:
            return out
        if any(c in inner for c in "[]{}"):
            raise _NeedFullYaml
        for part in _split_flow(inner):
            m = re.match(r"^([^:]+?|'[^']*'|\"[^\"]*\")\s*:\s+(.*)$", part.strip())
            if not m:
                raise _NeedFullYaml
            out[str(_scalar(m.group(1)))] = _scalar(m.group(2))
        return out
    if s[0] == "'":
        if not s.endswith("'") or len(s) < 2:
            raise _NeedFullYaml
        return s[1:-1].replace("''", "'")
    if s[0] == '"':
        if not s.endswith('"') or len(s) < 2 or "\\" in s:
            raise _NeedFullYaml
        return s[1:-1]
    # YAML 1.2 core schema, as ruamel.yaml reads it (yes/no/on/off stay strings)
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if s in ("null", "Null", "NULL", "~"):
        return None
    if re.fullmatch(r"[-+]?\d+", s):
        return int(s)
    return s


def _split_flow(inner: str) -> list[str]:
    parts, cur, quote = [], [], None
    for ch in inner:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts]


def _condarc_lite(text: str) -> dict[str, Any]:
    """Top-level ``key: value`` with block lists / one-level maps below. Raises _NeedFullYaml otherwise."""
    if "\t" in text or text.lstrip().startswith(("---", "%")):
        raise _NeedFullYaml
    data: dict[str, Any] = {}
    key: str | None = None
    child_indent: int | None = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if body in ("---", "..."):
            raise _NeedFullYaml
        if indent == 0 and not body.startswith("- "):
            m = _PLAIN_KEY.match(body)
            if not m:
                raise _NeedFullYaml
            key = str(_scalar(m.group(1)))
            if key in data:
                raise _NeedFullYaml  # let the real parser decide about duplicate keys
            value = m.group(2)
            data[key] = _scalar(value) if value else None
            child_indent = None
            continue
        if key is None:
            raise _NeedFullYaml
        current = data[key]
        if child_indent is None:
            child_indent = indent
        elif indent != child_indent:
            raise _NeedFullYaml  # deeper nesting
        if body == "-" or body.startswith("- "):
            if current is None:
                current = data[key] = []
            if not isinstance(current, list):
                raise _NeedFullYaml
            item = body[1:].strip()
            if _PLAIN_KEY.match(item) and not re.match(r"^[a-z][a-z0-9+.\-]*://", item):
                raise _NeedFullYaml  # a list of maps
            current.append(_scalar(item))
        else:
            if indent == 0:
                raise _NeedFullYaml
            m = _PLAIN_KEY.match(body)
            if not m or not m.group(2):
                raise _NeedFullYaml
            if current is None:
                current = data[key] = {}
            if not isinstance(current, dict):
                raise _NeedFullYaml
            current[str(_scalar(m.group(1)))] = _scalar(m.group(2))
    return data


def dedupe_paths(paths: list[Path]) -> list[Path]:
    """``paths`` without repeats (compared after ``os.path.normpath``), first occurrence kept."""
    seen: set[str] = set()
    unique: list[Path] = []
    for p in paths:
        key = os.path.normpath(str(p))
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique
