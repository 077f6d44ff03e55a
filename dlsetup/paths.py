"""Where dlsetup keeps its own files (config, state, cache), following platformdirs / XDG."""

from __future__ import annotations

import os
from pathlib import Path


def _override(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def config_dir() -> Path:
    """User configuration (custom mirrors, defaults): ``$DLSETUP_CONFIG_DIR`` or the platform dir."""
    from platformdirs import user_config_dir

    return _override("DLSETUP_CONFIG_DIR") or Path(user_config_dir("dlsetup", appauthor=False))


def state_dir() -> Path:
    """State that must survive (mirror journal and backups): ``$DLSETUP_STATE_DIR`` or the platform dir."""
    from platformdirs import user_state_dir

    return _override("DLSETUP_STATE_DIR") or Path(user_state_dir("dlsetup", appauthor=False))


def cache_dir() -> Path:
    """Disposable caches (probe results, extension builds): ``$DLSETUP_CACHE_DIR`` or the platform dir."""
    from platformdirs import user_cache_dir

    return _override("DLSETUP_CACHE_DIR") or Path(user_cache_dir("dlsetup", appauthor=False))


def home() -> Path:
    return Path(os.path.expanduser("~"))
