"""Line-level editing of pip's INI files that keeps every other byte (comments, order, spacing, CRLF).

``configparser`` would drop comments and reformat the file, so edits are made on the lines. Which line is
a section header, an option or a continuation is decided exactly as ``configparser.RawConfigParser``
(pip's parser, ``pip/_internal/configuration.py`` ``_construct_parser``) decides it, using its own
``SECTCRE`` and option regexes on the running Python:

* a section header is any line whose stripped text *starts with* ``[name]`` — ``[global] index-url=x``
  is the header ``global`` and the rest of the line is ignored;
* indentation is relative: a line is a continuation only when it is indented deeper than the option line
  above it, so a file indented throughout (``  [install]`` included) has ordinary sections and options;
* a line whose stripped text starts with ``#`` or ``;`` is a comment; inline comments are not recognised.

A changed option keeps its spelling, indentation and delimiter; a new option goes after the last option of
its section, indented like it; a new section goes at the end.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field

from dlsetup.toolconfig.readers import normalize_pip_key

_PARSER = configparser.RawConfigParser()
_SECTCRE = _PARSER.SECTCRE
_OPTCRE = _PARSER._optcre  # the instance's option regex (delimiters "=" and ":")


@dataclass
class _Option:
    key: str  # normalised
    first: int  # line index of the option line
    end: int  # one past its last continuation line
    prefix: str  # the option line up to its value: indentation, key as written, delimiter and spaces
    indent: str
    values: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return " ".join(v for v in self.values if v).strip()


@dataclass
class _Section:
    name: str
    header: int  # line index
    indent: str
    trailing: str  # text after ``]`` on the header line, which configparser ignores
    end: int = 0  # one past its last line (the next header, or the end of the file)
    options: list[_Option] = field(default_factory=list)


class IniDoc:
    def __init__(self, text: str) -> None:
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.lines = text.splitlines(keepends=True)

    def text(self) -> str:
        return "".join(self.lines)

    # ------------------------------------------------------------------------------------ reading

    def _scan(self) -> list[_Section]:
        """The sections and options, as ``RawConfigParser._read`` sees them. Lines before the first header
        (which configparser rejects) belong to no section; callers validate the file first."""
        sections: list[_Section] = []
        current: _Section | None = None
        option: _Option | None = None
        indent_level = 0
        for i, line in enumerate(self.lines):
            raw = line.rstrip("\r\n")
            stripped = raw.strip()
            if not stripped or stripped.startswith(("#", ";")):
                continue  # empty lines and comments neither end a value nor start anything
            cur_indent = len(raw) - len(raw.lstrip())
            if current is not None and option is not None and cur_indent > indent_level:
                option.values.append(stripped)
                option.end = i + 1
                continue
            indent_level = cur_indent
            m = _SECTCRE.match(stripped)
            if m:
                if current is not None:
                    current.end = i
                current = _Section(m.group("header"), i, raw[:cur_indent], stripped[m.end():].strip())
                sections.append(current)
                option = None
                continue
            if current is None:
                continue
            m = _OPTCRE.match(stripped)
            if m:
                option = _Option(normalize_pip_key(m.group("option").rstrip()), i, i + 1,
                                 raw[:cur_indent] + stripped[: m.start("value")], raw[:cur_indent],
                                 [m.group("value").strip()])
                current.options.append(option)
            else:
                option = None
        if current is not None:
            current.end = len(self.lines)
        return sections

    def _section(self, name: str) -> _Section | None:
        # configparser (strict) rejects a repeated section; callers validate, so the first is the one
        return next((s for s in self._scan() if s.name == name), None)

    def _option(self, section: str, key: str) -> _Option | None:
        s = self._section(section)
        want = normalize_pip_key(key)
        return next((o for o in s.options if o.key == want), None) if s else None

    def get(self, section: str, key: str) -> str | None:
        found = self._option(section, key)
        return found.value if found else None

    def get_list(self, section: str, key: str) -> list[str]:
        value = self.get(section, key)
        return value.split() if value else []

    def odd_headers(self) -> list[tuple[int, str]]:
        """(1-based line, text) of header lines that hold more than a header: configparser takes the text up
        to the *last* ``]`` as the section name and ignores the rest, so ``[global] index-url = x`` is the
        header of ``[global]`` and ``[global] a = b [install] c = d`` a section named ``global] a = b [install``."""
        return [(s.header + 1, self.lines[s.header].strip()) for s in self._scan()
                if s.trailing or "]" in s.name]

    # ------------------------------------------------------------------------------------ edits

    def _ensure_trailing_newline(self) -> None:
        if self.lines and not self.lines[-1].endswith(("\n", "\r")):
            self.lines[-1] += self.newline

    def set(self, section: str, key: str, value: str) -> None:
        nl = self.newline
        s = self._section(section)
        found = next((o for o in s.options if o.key == normalize_pip_key(key)), None) if s else None
        if found:
            self.lines[found.first:found.end] = [f"{found.prefix}{value}{nl}"]
            return
        if s is None:
            self._ensure_trailing_newline()
            block = [f"[{section}]{nl}", f"{key} = {value}{nl}"]
            if self.lines and self.lines[-1].strip():
                block.insert(0, nl)
            self.lines.extend(block)
            return
        if s.options:  # after the last option (and its continuation lines), indented like it
            at, indent = s.options[-1].end, s.options[-1].indent
        else:  # right after the header
            at, indent = s.header + 1, s.indent
        if at == len(self.lines):
            self._ensure_trailing_newline()
        self.lines.insert(at, f"{indent}{key} = {value}{nl}")

    def set_list(self, section: str, key: str, values: list[str]) -> None:
        if values:
            self.set(section, key, " ".join(values))
        else:
            self.remove(section, key)

    def remove(self, section: str, key: str) -> bool:
        found = self._option(section, key)
        if not found:
            return False
        del self.lines[found.first:found.end]
        self._drop_empty_section(section)
        return True

    def _drop_empty_section(self, section: str) -> None:
        s = self._section(section)
        if s is None or s.trailing:
            return
        if any(self.lines[k].strip() for k in range(s.header + 1, s.end)):
            return  # options or comments remain
        start, end = s.header, s.end
        del self.lines[start:end]
        # drop the blank line that separated it from the previous section
        if 0 < start == len(self.lines) and not self.lines[start - 1].strip():
            del self.lines[start - 1]


def parse_values(text: str) -> dict[tuple[str, str], str]:
    """(section, normalised option) → value, read by the same strict ``RawConfigParser`` pip uses.
    Raises ``configparser.Error`` for a file pip would reject."""
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return {(sec, normalize_pip_key(k)): " ".join(v.split()) for sec in parser.sections() for k, v in parser.items(sec)}
