"""Hugging Face: ``HF_ENDPOINT`` (read by huggingface_hub ``constants.py`` at import time) and where the
hub cache lives (``HF_HUB_CACHE`` > ``$HF_HOME/hub`` > ``$XDG_CACHE_HOME/huggingface/hub``, the same on every OS).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dlsetup.paths import config_dir, os_name, xdg_cache_home, xdg_config_home
from dlsetup.toolconfig.conda import env_vars
from dlsetup.toolconfig.model import Collected, ConfigSetting, Found

SNIPPET_NAME = "hf-endpoint.sh"


def hub_cache(env: Mapping[str, str]) -> Path:
    """huggingface_hub ``constants.py``: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else the XDG cache."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    hf_home = Path(env["HF_HOME"]) if env.get("HF_HOME") else xdg_cache_home(env) / "huggingface"
    return hf_home / "hub"



def snippet_file(env: Mapping[str, str]) -> Path:
    """dlsetup's shell snippet with ``export HF_ENDPOINT=...`` (under dlsetup's config dir)."""
    if env.get("DLSETUP_CONFIG_DIR"):
        return Path(env["DLSETUP_CONFIG_DIR"]) / SNIPPET_NAME
    if os_name() == "linux":  # from env, not os.environ: a snapshot's or a test's variables
        return xdg_config_home(env) / "dlsetup" / SNIPPET_NAME
    return config_dir() / SNIPPET_NAME


def read_snippet(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("export HF_ENDPOINT="):
            return s.split("=", 1)[1].strip().strip("'\"")
    return None


def read(env: Mapping[str, str], cwd: Path, prefix: str | Path | None, out: Collected) -> None:
    """``HF_ENDPOINT`` from the environment, the active conda env's stored variables and dlsetup's snippet."""
    items: list[Found] = []
    if env.get("HF_ENDPOINT"):
        items.append(Found(ConfigSetting("hf", "HF_ENDPOINT", env["HF_ENDPOINT"], "env:HF_ENDPOINT", True),
                           "hf:HF_ENDPOINT"))
    current = env.get("HF_ENDPOINT")
    if env.get("CONDA_PREFIX"):
        state_file = Path(env["CONDA_PREFIX"]) / "conda-meta" / "state"
        value = env_vars(Path(env["CONDA_PREFIX"])).get("HF_ENDPOINT")
        if value:
            # conda exports it on `conda activate`; it is in force if the environment shows it.
            f = Found(ConfigSetting("hf", "HF_ENDPOINT", value, str(state_file), current == value), "hf:HF_ENDPOINT")
            if current != value:
                f.masked_by = "env:HF_ENDPOINT" if current else None
            items.append(f)
    snippet = snippet_file(env)
    value = read_snippet(snippet)
    if value:
        f = Found(ConfigSetting("hf", "HF_ENDPOINT", value, str(snippet), current == value), "hf:HF_ENDPOINT")
        if current != value:
            f.masked_by = "env:HF_ENDPOINT" if current else None
        items.append(f)
    out.files["hf"] = [str(snippet)]
    out.found.extend(items)
