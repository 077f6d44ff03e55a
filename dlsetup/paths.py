"""Where files live: dlsetup's own (config, state, cache) and the XDG base directories the tools read.

This is the one place that knows the XDG rules (the XDG Base Directory specification, as platformdirs
implements it on Linux). On Linux the answer is computed here, without importing platformdirs (~10 ms on
``dlsetup doctor``'s short path); on macOS and Windows platformdirs answers. Functions that take ``env``
read the variables from that mapping (a snapshot's, a test's), never from ``os.environ`` behind its back;
functions that take ``system`` ("linux" | "windows" | "macos") answer for that OS, default this one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def os_name(system: str | None = None) -> str:
    """``"linux"``, ``"windows"`` or ``"macos"``: ``system`` normalised, or this machine's."""
    value = (system or sys.platform).lower()
    if value.startswith("win"):
        return "windows"
    if value in ("darwin", "macos", "osx"):
        return "macos"
    return "linux"


def truthy(value: str | None) -> bool:
    """How the tools read a boolean variable (``UV_NO_CONFIG=1``, ``PIXI_NO_CONFIG=true``)."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y", "t")


def home(env: Mapping[str, str] | None = None) -> Path:
    """``$HOME`` from ``env`` (``%USERPROFILE%`` on Windows), else the process's home directory."""
    env = os.environ if env is None else env
    value = env.get("HOME") or env.get("USERPROFILE")
    return Path(value) if value else Path(os.path.expanduser("~"))


def _xdg_home(env: Mapping[str, str], var: str, default: str) -> Path:
    value = env.get(var, "").strip()
    return Path(value) if value else home(env) / default


def xdg_config_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg_home(os.environ if env is None else env, "XDG_CONFIG_HOME", ".config")


def xdg_cache_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg_home(os.environ if env is None else env, "XDG_CACHE_HOME", ".cache")


def xdg_state_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg_home(os.environ if env is None else env, "XDG_STATE_HOME", os.path.join(".local", "state"))


def xdg_config_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    value = env.get("XDG_CONFIG_DIRS", "").strip() or "/etc/xdg"
    return [Path(os.path.expanduser(p)) for p in value.split(os.pathsep) if p]


def appdata(env: Mapping[str, str]) -> Path:
    """Windows ``%APPDATA%`` (the roaming profile), as platformdirs' ``user_config_dir(roaming=True)``."""
    return Path(env.get("APPDATA") or home(env) / "AppData" / "Roaming")


def programdata(env: Mapping[str, str]) -> Path:
    """Windows ``%PROGRAMDATA%`` (machine-wide settings), as platformdirs' ``site_config_dir``."""
    return Path(env.get("PROGRAMDATA") or env.get("ALLUSERSPROFILE") or r"C:\ProgramData")


def _override(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def config_dir() -> Path:
    """User configuration (custom mirrors, defaults): ``$DLSETUP_CONFIG_DIR`` or the platform dir."""
    if (p := _override("DLSETUP_CONFIG_DIR")) is not None:
        return p
    if os_name() == "linux":
        return xdg_config_home() / "dlsetup"
    from platformdirs import user_config_dir

    return Path(user_config_dir("dlsetup", appauthor=False))


def state_dir() -> Path:
    """State that must survive (mirror journal and backups): ``$DLSETUP_STATE_DIR`` or the platform dir."""
    if (p := _override("DLSETUP_STATE_DIR")) is not None:
        return p
    if os_name() == "linux":
        return xdg_state_home() / "dlsetup"
    from platformdirs import user_state_dir

    return Path(user_state_dir("dlsetup", appauthor=False))


def cache_dir() -> Path:
    """Disposable caches (probe results, extension builds): ``$DLSETUP_CACHE_DIR`` or the platform dir."""
    if (p := _override("DLSETUP_CACHE_DIR")) is not None:
        return p
    if os_name() == "linux":
        return xdg_cache_home() / "dlsetup"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dlsetup", appauthor=False))
