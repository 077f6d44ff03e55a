"""The conda command line (``$CONDA_EXE`` or ``conda`` on PATH), driven through ``--json``.

Command forms from conda/conda (snapshot 0f64223): ``conda create --json`` prints
``{"success": true, "prefix": ..., "actions": {"LINK": [dist_fields_dump…]}}`` (conda/cli/common.py
``stdout_json_success``, conda/models/records.py ``dist_fields_dump``); ``conda env list --json`` gives
``envs`` and, from 25.11, ``envs_details`` (conda/cli/main_info.py); ``conda env export --json`` gives
``name, channels, dependencies, prefix``; ``conda create --clone`` copies untracked files
(conda/misc.py ``clone_env``); ``conda env remove`` refuses the active env and base itself as well.
"""

from __future__ import annotations

from dlsetup.envs.backends._cli import CliBackend


class CondaBackend(CliBackend):
    kind = "conda"
    supports_clone = True
    copies_untracked_on_clone = True
