"""Read an existing environment directly from disk: its conda records, Python version and pip packages.

``conda-meta/<name>-<version>-<build>.json`` is the same format for conda, mamba, micromamba, pixi and
rattler, so reading it needs none of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def conda_records(prefix: Path) -> list[dict[str, Any]]:
    """Every package record in ``conda-meta`` (unreadable ones skipped), sorted by name."""
    out = []
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("name") and data.get("version") is not None:
            out.append(data)
    return sorted(out, key=lambda r: r["name"])


def python_version(prefix: Path, records: list[dict[str, Any]] | None = None) -> str | None:
    for rec in records if records is not None else conda_records(prefix):
        if rec.get("name") == "python":
            return str(rec.get("version"))
    return None


def count_packages(prefix: Path) -> int:
    return sum(1 for _ in (prefix / "conda-meta").glob("*.json"))


def subdir_of(records: list[dict[str, Any]]) -> str:
    """The platform of an environment: the first non-noarch record's subdir."""
    from dlsetup.envs.virtual import current_platform

    for rec in records:
        sub = rec.get("subdir")
        if sub and sub != "noarch":
            return str(sub)
    return current_platform()
