"""Line-level editing of pip's INI files that keeps every other byte (comments, order, spacing).

``configparser`` would drop comments and reformat the file, so edits are made on the lines: a changed
option keeps its spelling and position, a new option goes after the last option of its section, a new
section goes at the end. Continuation lines (indented) belong to the option above them.
"""

from __future__ import annotations

import re

from dlsetup.toolconfig.readers import normalize_pip_key

_SECTION = re.compile(r"^\[([^\]]+)\]\s*(?:[#;].*)?$")
_OPTION = re.compile(r"^([^\s=:#;\[][^=:]*?)\s*([=:])\s?(.*)$")


class IniDoc:
    def __init__(self, text: str) -> None:
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.lines = text.splitlines(keepends=True)

    def text(self) -> str:
        return "".join(self.lines)

    # ------------------------------------------------------------------------------------ lookups

    def _section_bounds(self, section: str) -> tuple[int, int] | None:
        """(index of the header line, index one past the section's last line)."""
        start = None
        for i, line in enumerate(self.lines):
            m = _SECTION.match(line.strip())
            if m and line[:1] == "[":
                if start is not None:
                    return start, i
                if m.group(1).strip() == section:
                    start = i
        return (start, len(self.lines)) if start is not None else None

    def _option(self, section: str, key: str) -> tuple[int, int, str, str] | None:
        """(first line, one past last continuation line, key as written, value) of ``key`` in ``section``."""
        bounds = self._section_bounds(section)
        if not bounds:
            return None
        start, end = bounds
        want = normalize_pip_key(key)
        i = start + 1
        while i < end:
            line = self.lines[i]
            m = _OPTION.match(line.rstrip("\r\n"))
            if m and line[:1] not in (" ", "\t"):
                j = i + 1
                while j < end and self.lines[j][:1] in (" ", "\t") and self.lines[j].strip():
                    j += 1
                if normalize_pip_key(m.group(1)) == want:
                    value = " ".join([m.group(3).strip()] + [ln.strip() for ln in self.lines[i + 1 : j]]).strip()
                    return i, j, m.group(1), value
                i = j
                continue
            i += 1
        return None

    def get(self, section: str, key: str) -> str | None:
        found = self._option(section, key)
        return found[3] if found else None

    def get_list(self, section: str, key: str) -> list[str]:
        value = self.get(section, key)
        return value.split() if value else []

    # ------------------------------------------------------------------------------------ edits

    def _ensure_trailing_newline(self) -> None:
        if self.lines and not self.lines[-1].endswith(("\n", "\r")):
            self.lines[-1] += self.newline

    def set(self, section: str, key: str, value: str) -> None:
        found = self._option(section, key)
        nl = self.newline
        if found:
            i, j, written, _ = found
            self.lines[i:j] = [f"{written} = {value}{nl}"]
            return
        bounds = self._section_bounds(section)
        if bounds is None:
            self._ensure_trailing_newline()
            block = [f"[{section}]{nl}", f"{key} = {value}{nl}"]
            if self.lines and self.lines[-1].strip():
                block.insert(0, nl)
            self.lines.extend(block)
            return
        start, end = bounds
        insert_at = start + 1
        for k in range(start + 1, end):
            s = self.lines[k].strip()
            if s and not s.startswith(("#", ";")):
                insert_at = k + 1
        if insert_at == len(self.lines):
            self._ensure_trailing_newline()
        self.lines.insert(insert_at, f"{key} = {value}{nl}")

    def set_list(self, section: str, key: str, values: list[str]) -> None:
        if values:
            self.set(section, key, " ".join(values))
        else:
            self.remove(section, key)

    def remove(self, section: str, key: str) -> bool:
        found = self._option(section, key)
        if not found:
            return False
        i, j, _, _ = found
        del self.lines[i:j]
        self._drop_empty_section(section)
        return True

    def _drop_empty_section(self, section: str) -> None:
        bounds = self._section_bounds(section)
        if not bounds:
            return
        start, end = bounds
        if any(self.lines[k].strip() for k in range(start + 1, end)):
            return  # options or comments remain
        del self.lines[start:end]
        # drop the blank line that separated it from the previous section
        if start > 0 and start <= len(self.lines) and not self.lines[start - 1].strip():
            if start == len(self.lines):
                del self.lines[start - 1]
