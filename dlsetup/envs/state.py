"""An environment's variables, kept where conda keeps them: ``<prefix>/conda-meta/state``.

conda writes ``{"env_vars": {...}}`` there (``PrefixData.set_environment_env_vars`` and
``_write_environment_state_file`` in conda/core/prefix_data.py, ``PREFIX_STATE_FILE`` in
conda/base/constants.py) for an environment.yml's ``variables:`` and ``conda env config vars set``;
``conda activate`` and ``conda run`` export them. Values equal to conda's unset marker are skipped on read.
"""

from __future__ import annotations

import json
from pathlib import Path

STATE_FILE = Path("conda-meta") / "state"
UNSET_MARKER = "***unset***"  # conda/base/constants.py: CONDA_ENV_VARS_UNSET_VAR


def read_state(prefix: Path) -> dict:
    try:
        data = json.loads((Path(prefix) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def env_vars(prefix: Path) -> dict[str, str]:
    """The variables an activation of ``prefix`` exports (conda's ``get_environment_env_vars``)."""
    found = read_state(prefix).get("env_vars") or {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if v != UNSET_MARKER}


def set_env_vars(prefix: Path, variables: dict[str, str]) -> dict[str, str]:
    """Merge ``variables`` into ``conda-meta/state`` as conda's ``set_environment_env_vars`` does."""
    state = read_state(prefix)
    current = state.get("env_vars")
    if isinstance(current, dict) and current:
        current.update(variables)
    else:
        state["env_vars"] = dict(variables)
    path = Path(prefix) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    return dict(state["env_vars"])
