"""conda's ``conda-meta/history`` format, written and read so ``conda env export --from-history`` works.

Format (conda/history.py, ``write_head`` / ``write_changes`` / ``write_specs``)::

    ==> 2026-11-23 10:00:00 <==
    # cmd: dlsetup create env demo python=3.11 numpy
    +conda-forge/linux-64::python-3.11.7-h0_0
    # update specs: ['python=3.11', 'numpy']

conda keeps an entry only when it has a ``# cmd:`` line (``History.get_user_requests``); ``update`` /
``install`` / ``create`` specs add to the requested set by package name, ``remove`` specs drop names
(``History.get_requested_specs_map``).
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
import time
from pathlib import Path

_SPEC_LINE = re.compile(r"#\s*(\w+)\s*specs:\s*(.+)?")
_HEAD = re.compile(r"==>\s*(.+?)\s*<==")


def history_path(prefix: Path) -> Path:
    return prefix / "conda-meta" / "history"


def dist_str(channel: str, subdir: str, name: str, version: str, build: str) -> str:
    """conda's ``PackageRecord.dist_str()``: ``<channel>/<subdir>::<name>-<version>-<build>``."""
    return f"{channel.rstrip('/')}/{subdir}::{name}-{version}-{build}"


def append_entry(prefix: Path, *, added: list[str] = (), removed: list[str] = (), update_specs: list[str] = (),
                 remove_specs: list[str] = (), argv: list[str] | None = None) -> None:
    """Append one conda-format history entry (the file is created when missing)."""
    path = history_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = " ".join(shlex.quote(a) for a in (argv if argv is not None else ["dlsetup", *sys.argv[1:]]))
    lines = [f"==> {time.strftime('%Y-%m-%d %H:%M:%S')} <==", f"# cmd: {cmd}"]
    lines += [f"-{d}" for d in sorted(removed)]
    lines += [f"+{d}" for d in sorted(added)]
    if remove_specs:
        lines.append(f"# remove specs: {list(remove_specs)!r}")
    if update_specs:
        lines.append(f"# update specs: {list(update_specs)!r}")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _spec_name(spec: str) -> str:
    """The package name of a match spec (``conda-forge::numpy>=2`` → ``numpy``)."""
    s = spec.split("::", 1)[-1].strip()
    m = re.match(r"[A-Za-z0-9_.\-]+", s)
    return (m.group(0) if m else s).lower()


def requested_specs(prefix: Path) -> dict[str, str]:
    """name → spec the user asked for, in request order (conda's ``get_requested_specs_map``)."""
    try:
        text = history_path(prefix).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    spec_map: dict[str, str] = {}
    entries: list[list[str]] = [[]]
    for line in text.splitlines():
        if _HEAD.match(line.strip()):
            entries.append([])
        else:
            entries[-1].append(line.strip())
    for comments in entries:
        if not any(c.startswith("#") and re.match(r"#\s*cmd:", c) for c in comments):
            continue
        for c in comments:
            m = _SPEC_LINE.match(c)
            if not m:
                continue
            action, specs_string = m.group(1), (m.group(2) or "").strip()
            if specs_string.startswith("["):
                try:
                    specs = [str(s) for s in ast.literal_eval(specs_string)]
                except (ValueError, SyntaxError):
                    continue
            else:  # conda's old format: comma-separated
                specs = [s.strip() for s in specs_string.split(",")]
            specs = [s for s in specs if s and not s.endswith("@")]
            if action in ("update", "install", "create"):
                for s in specs:
                    spec_map[_spec_name(s)] = s
            elif action in ("remove", "uninstall"):
                for s in specs:
                    spec_map.pop(_spec_name(s), None)
    return spec_map


def created_time(prefix: Path) -> str | None:
    """ISO time of the first history entry, if any."""
    try:
        with open(history_path(prefix), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = _HEAD.match(line.strip())
                if m:
                    return m.group(1).replace(" ", "T")
    except OSError:
        return None
    return None
