"""Retired frameworks still installed (course notes still mention them): say so and name the successor.

The list is data (``dlsetup/doctor/data/retired.toml``), each row with its source.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from importlib import resources

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import GROUP_FRAMEWORKS, WARNING, Finding, ev, finding
from dlsetup.probe.model import Snapshot


@lru_cache(maxsize=1)
def _text() -> str:
    return resources.files("dlsetup.doctor").joinpath("data/retired.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def retired_table() -> tuple[dict, ...]:
    """The rows of retired.toml (parsed once)."""
    from dlsetup.util import toml

    return tuple(toml.loads(_text())["framework"])


@lru_cache(maxsize=1)
def _all_patterns() -> tuple[str, ...]:
    """Every ``names`` pattern, read with a regex: the full TOML parse only runs when one matches."""
    out: list[str] = []
    for line in re.findall(r"^names\s*=\s*\[(.*)\]\s*$", _text(), re.M):
        out += re.findall(r'"([^"]+)"', line)
    return tuple(out)


def lookup(name: str) -> dict | None:
    """The retired.toml row whose ``names`` match the distribution ``name``, or None."""
    norm = facts.normalise(name)
    if not any(fnmatch.fnmatchcase(norm, pattern) for pattern in _all_patterns()):
        return None
    for row in retired_table():
        if any(fnmatch.fnmatchcase(norm, pattern) for pattern in row["names"]):
            return row
    return None


def retired_frameworks(snap: Snapshot) -> list[Finding]:
    installed: list[tuple[str, str | None]] = []
    for fw in snap.frameworks.items:
        installed.append((str(fw.extra.get("dist") or fw.name), fw.version))
    installed += list(snap.frameworks.packages.items())
    out: list[Finding] = []
    seen: set[str] = set()
    for name, version in installed:
        row = lookup(name)
        if row is None or row["key"] in seen:
            continue
        seen.add(row["key"])
        from dlsetup.i18n import language

        successor = row.get("successor_zh") if language() == "zh" and row.get("successor_zh") else row["successor"]
        install = row.get("successor_install") or ""
        if install.startswith("pip "):
            install = remedies.pip(snap, *install.split()[1:])
        out.append(finding(
            "framework.retired", WARNING, GROUP_FRAMEWORKS,
            evidence=[ev("package", name=name, version=version or "?"),
                      ev("retired_row", last=row["last_release"], since=row["retired"], source=row["source"])],
            commands=[remedies.pip(snap, "uninstall", "-y", name), install],
            name=row["display"], dist=name, successor=successor, since=row["retired"],
            data={"source": row["source"], "confidence": row["confidence"]},
        ))
    return out


CHECKS = [retired_frameworks]
