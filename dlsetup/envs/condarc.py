"""The few ``.condarc`` keys environments need: channels, channel_alias, custom_channels, default_channels,
envs_dirs, pkgs_dirs — merged over conda's search path the way conda merges them.

conda's rules (conda/base/context.py, conda/common/configuration.py): files load in search-path order and
a later file has higher priority; for sequence parameters the higher-priority file's items come first (then
the rest, without duplicates); maps merge by key; scalars take the highest-priority value.
``CONDA_ENVS_PATH`` / ``CONDA_ENVS_DIRS``, ``CONDA_PKGS_DIRS``, ``CONDA_CHANNELS`` and
``CONDA_CHANNEL_ALIAS`` override the files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

LIST_KEYS = ("channels", "default_channels", "envs_dirs", "pkgs_dirs")
MAP_KEYS = ("custom_channels",)
SCALAR_KEYS = ("channel_alias",)


def condarc_files(environ: dict[str, str] | None = None) -> list[Path]:
    """Existing condarc files in conda's load order (later wins); ``condarc.d`` directories expanded."""
    from dlsetup.mirror.readers import conda_files

    return conda_files(dict(os.environ if environ is None else environ))


def _parse(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8-sig")
    try:  # helper M's reader: a fast subset parser, ruamel.yaml only when a file needs it
        from dlsetup.mirror.readers import parse_condarc
    except ImportError:  # pragma: no cover - only if the mirror package is absent
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(text)
    else:
        data = parse_condarc(text, path)
    return data if isinstance(data, dict) else {}


def load(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The merged settings. An unreadable or invalid file is skipped (doctor reports it; we must not crash)."""
    env = os.environ if environ is None else environ
    layers: list[dict[str, Any]] = []
    for path in condarc_files(dict(env)):
        try:
            layers.append(_parse(path))
        except Exception:  # noqa: BLE001 - a broken .condarc is doctor's finding, not our crash
            continue
    merged: dict[str, Any] = {}
    for key in LIST_KEYS:
        items: list[str] = []
        for layer in reversed(layers):  # highest priority first
            value = layer.get(key)
            values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
            items += [str(v) for v in values if isinstance(v, (str, int)) and str(v) not in items]
        if items:
            merged[key] = items
    for key in MAP_KEYS:
        m: dict[str, str] = {}
        for layer in layers:
            value = layer.get(key)
            if isinstance(value, dict):
                m.update({str(k): str(v) for k, v in value.items() if isinstance(v, str)})
        if m:
            merged[key] = m
    for key in SCALAR_KEYS:
        for layer in layers:
            if isinstance(layer.get(key), str):
                merged[key] = layer[key]
    sep = os.pathsep
    for var in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        if env.get(var):
            merged["envs_dirs"] = [p for p in env[var].split(sep) if p]
            break
    if env.get("CONDA_PKGS_DIRS"):
        merged["pkgs_dirs"] = [p for p in env["CONDA_PKGS_DIRS"].split(",") if p]
    if env.get("CONDA_CHANNELS"):
        merged["channels"] = [c.strip() for c in env["CONDA_CHANNELS"].split(",") if c.strip()]
    if env.get("CONDA_CHANNEL_ALIAS"):
        merged["channel_alias"] = env["CONDA_CHANNEL_ALIAS"]
    return merged
