"""What a virtual environment made by ``--backend venv`` says about itself (its marker file), for the backend
and for ``env list`` of every backend alike."""

from __future__ import annotations

import json
from pathlib import Path

from dlsetup.envs.model import EnvInfo

MARKER = Path("etc") / "dlsetup" / "venv.json"


def read_marker(prefix: Path) -> dict:
    try:
        data = json.loads((prefix / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def env_info(prefix: Path, name: str | None) -> EnvInfo:
    from dlsetup.envs import pip

    marker = read_marker(prefix)
    return EnvInfo(name=name, prefix=str(prefix), registered=True, python=marker.get("python"),
                   packages=len(pip.installed_by_pip(prefix, owned=set())), created=marker.get("created"))
