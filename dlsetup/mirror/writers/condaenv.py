"""Variables of a conda environment: ``<prefix>/conda-meta/state`` ``env_vars``.

This is the file ``conda env config vars set NAME=VALUE`` writes (conda ``core/prefix_data.py``
``set_environment_env_vars``: JSON ``{"env_vars": {...}}``); conda exports the variables on
``conda activate``. Writing it directly works without conda on PATH.
"""

from __future__ import annotations

import json
from pathlib import Path

from dlsetup.mirror.writers import Report, malformed
from dlsetup.toolconfig.readers import ConfigFileError


def _state(text: str | None, path: Path) -> dict:
    if not text or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise malformed("conda", ConfigFileError(path, f"not JSON ({exc.msg})", exc.lineno)) from None
    if not isinstance(data, dict):
        raise malformed("conda", ConfigFileError(path, "not a JSON object", 1))
    return data


def set_vars(text: str | None, values: dict[str, str], report: Report) -> str | None:
    state = _state(text, report.path or Path("state"))
    env_vars = state.get("env_vars") if isinstance(state.get("env_vars"), dict) else {}
    changed = False
    for name, value in values.items():
        if env_vars.get(name) != value:
            env_vars[name] = value
            report.change(f"env_vars.{name} = {value}")
            changed = True
    if not changed:
        return text
    state["env_vars"] = env_vars
    return json.dumps(state, ensure_ascii=False)


def unset_vars(text: str | None, names: list[str], report: Report) -> str | None:
    if text is None:
        return None
    state = _state(text, report.path or Path("state"))
    env_vars = state.get("env_vars")
    if not isinstance(env_vars, dict):
        return text
    removed = [n for n in names if n in env_vars]
    if not removed:
        return text
    for n in removed:
        del env_vars[n]
        report.change(f"env_vars.{n} (removed)")
    return json.dumps(state, ensure_ascii=False)
