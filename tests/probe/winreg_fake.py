"""A ``winreg`` stand-in that answers from a ``reg export`` file (tests/fixtures/windows/*.reg).

It implements the part of the module the probers call (``OpenKey``, ``EnumKey``, ``QueryValueEx``,
``HKEY_LOCAL_MACHINE``, keys as context managers) with the module's documented behaviour: a missing
key or value raises ``OSError`` (FileNotFoundError), ``EnumKey`` past the last subkey raises ``OSError``.
https://docs.python.org/3/library/winreg.html
"""

from __future__ import annotations

import re
from pathlib import Path

HKEY_LOCAL_MACHINE = "HKEY_LOCAL_MACHINE"
REG_SZ, REG_MULTI_SZ, REG_DWORD = 1, 7, 4


def parse_reg(text: str) -> dict[str, dict[str, tuple[object, int]]]:
    """``{lowercase key path: {value name: (value, type)}}`` from a .reg export (REG_SZ, dword, hex(7))."""
    keys: dict[str, dict[str, tuple[object, int]]] = {}
    current: dict[str, tuple[object, int]] | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        while line.endswith("\\") and i + 1 < len(lines):  # continued hex lines
            i += 1
            line = line[:-1] + lines[i].strip()
        i += 1
        if not line or line.startswith(";") or line.startswith("Windows Registry"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = keys.setdefault(line[1:-1].lower(), {})
            continue
        m = re.match(r'^"((?:[^"\\]|\\.)*)"=(.*)$', line)
        if not m or current is None:
            continue
        name, raw = m.group(1), m.group(2)
        if raw.startswith('"'):
            current[name] = (raw[1:-1].replace("\\\\", "\\").replace('\\"', '"'), REG_SZ)
        elif raw.startswith("dword:"):
            current[name] = (int(raw[6:], 16), REG_DWORD)
        elif raw.startswith("hex(7):"):
            data = bytes(int(x, 16) for x in raw[7:].split(",") if x)
            current[name] = ([s for s in data.decode("utf-16le").split("\0") if s], REG_MULTI_SZ)
    return keys


class _Key:
    def __init__(self, reg: FakeWinreg, path: str) -> None:
        self.reg, self.path = reg, path

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def Close(self) -> None:  # noqa: N802 - winreg's name
        return None


class FakeWinreg:
    HKEY_LOCAL_MACHINE = HKEY_LOCAL_MACHINE

    def __init__(self, export: str | Path) -> None:
        self.keys = parse_reg(Path(export).read_text(encoding="utf-8"))
        self.calls: list[str] = []

    def _children(self, path: str) -> list[str]:
        prefix = path.lower() + "\\"
        names: list[str] = []
        for k in self.keys:
            if k.startswith(prefix):
                child = k[len(prefix):].split("\\", 1)[0]
                if child not in [n.lower() for n in names]:
                    names.append(self._original_case(prefix + child))
        return names

    def _original_case(self, lower_path: str) -> str:
        return lower_path.rsplit("\\", 1)[-1].upper() if "&" in lower_path.rsplit("\\", 1)[-1] else \
            lower_path.rsplit("\\", 1)[-1]

    def OpenKey(self, parent, sub: str) -> _Key:  # noqa: N802
        base = parent.path if isinstance(parent, _Key) else parent
        path = f"{base}\\{sub}"
        self.calls.append(path)
        low = path.lower()
        if low not in self.keys and not any(k.startswith(low + "\\") for k in self.keys):
            raise FileNotFoundError(2, "The system cannot find the file specified", path)
        return _Key(self, path)

    def EnumKey(self, key: _Key, index: int) -> str:  # noqa: N802
        children = self._children(key.path)
        if index >= len(children):
            raise OSError(259, "No more data is available")
        return children[index]

    def QueryValueEx(self, key: _Key, name: str):  # noqa: N802
        values = self.keys.get(key.path.lower(), {})
        if name not in values:
            raise FileNotFoundError(2, "The system cannot find the file specified", name)
        return values[name]

    def CloseKey(self, key) -> None:  # noqa: N802
        return None
