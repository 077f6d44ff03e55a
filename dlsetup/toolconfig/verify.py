"""Re-read an edited config file with its tool's own rules before it is written.

An edit is accepted only when the tool would load the new text (pip: the strict ``RawConfigParser`` pip
builds in ``configuration.py`` ``_construct_parser``; uv and pixi: TOML 1.0 as ``tomllib`` reads it;
conda: YAML as ruamel.yaml's safe loader reads it) *and* every setting outside the keys the edit is
allowed to touch reads back exactly as before. Otherwise :class:`EditRejected` names the file and why, and
nothing is written.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

from dlsetup.toolconfig.readers import ConfigFileError, parse_condarc, parse_toml

PIP_ALLOWED = {("global", k) for k in ("index-url", "trusted-host", "extra-index-url", "find-links")}
CONDA_ALLOWED = {"channels", "default_channels", "custom_channels", "show_channel_urls"}
UV_ALLOWED = {"index", "python-install-mirror", "sources"}  # sources: the torch writer pins torch to its index
PIXI_ALLOWED = {"mirrors"}


class EditRejected(Exception):
    def __init__(self, path: Path | str, reason: str) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


def kind_of(path: Path, tools: list[str]) -> str | None:
    """Which tool's rules read ``path``: pip, conda, uv, uv-pyproject, pixi; None for files no tool parses
    as configuration (dlsetup's shell snippet, conda's state file)."""
    name = path.name
    if name in ("pip.conf", "pip.ini"):
        return "pip"
    if name in (".condarc", "condarc") or path.suffix in (".yml", ".yaml"):
        return "conda"
    if name == "pyproject.toml":
        return "uv-pyproject"
    if name == "uv.toml":
        return "uv"
    if path.suffix == ".toml" and "pixi" in tools:
        return "pixi"
    return None


def _pip(text: str, path: Path) -> dict[tuple[str, str], str]:
    from dlsetup.toolconfig.ini import parse_values

    try:
        return parse_values(text)
    except configparser.Error as exc:
        raise EditRejected(path, str(exc).splitlines()[0]) from None


def _outside(data: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in allowed}


def check(path: Path, tools: list[str], old: str | None, new: str | None) -> None:
    """Raise :class:`EditRejected` unless the tool reads ``new`` and it differs from ``old`` only in the
    keys dlsetup's writers own. ``None`` is an absent file."""
    kind = kind_of(path, tools)
    if kind is None or new is None:
        return
    try:
        if kind == "pip":
            before, after = _pip(old or "", path) if old else {}, _pip(new, path)
            changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)} - PIP_ALLOWED
            if changed:
                raise EditRejected(path, "would change " + ", ".join(sorted(".".join(k) for k in changed)))
            return
        if kind == "conda":
            before, after = (parse_condarc(old, path) if old else {}), parse_condarc(new, path)
            allowed = CONDA_ALLOWED
        else:
            from dlsetup.toolconfig.uv import parse as parse_uv

            parse = parse_uv if kind.startswith("uv") else parse_toml
            before, after = (parse(old, path) if old else {}), parse(new, path)
            if kind == "uv-pyproject":
                tool_b, tool_a = before.get("tool") or {}, after.get("tool") or {}
                if _outside(before, {"tool"}) != _outside(after, {"tool"}) or \
                        _outside(tool_b, {"uv"}) != _outside(tool_a, {"uv"}):
                    raise EditRejected(path, "would change settings outside [tool.uv]")
                before, after = tool_b.get("uv") or {}, tool_a.get("uv") or {}
            allowed = UV_ALLOWED if kind.startswith("uv") else PIXI_ALLOWED
    except ConfigFileError as exc:
        raise EditRejected(path, f"{exc.reason} (line {exc.line})" if exc.line else exc.reason) from None
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)} - allowed
    if changed:
        raise EditRejected(path, "would change " + ", ".join(sorted(changed)))
