"""pixi: where its config files are and which ``[mirrors]`` / ``[pypi-config]`` entry wins.

prefix-dev/pixi ``docs/reference/pixi_configuration.md`` (lowest priority first): Linux
``/etc/pixi/config.toml`` < ``$XDG_CONFIG_HOME/pixi`` < ``~/.config/pixi`` < ``~/.pixi`` < ``$PIXI_HOME`` <
``<project>/.pixi/config.toml``; macOS adds ``~/Library/Application Support/pixi``; Windows
``C:\\ProgramData\\pixi`` < ``%APPDATA%\\pixi`` < ``%USERPROFILE%\\.pixi`` < ``%PIXI_HOME%`` < the project's.
``[mirrors]`` entries override by key. ``[pypi-config] index-url`` is not a global setting for pixi's
PyPI resolution: it is written into new manifests on ``pixi init``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dlsetup.paths import appdata, home, os_name, programdata
from dlsetup.toolconfig.model import Collected, ConfigSetting, Found, read_into, resolve_slot
from dlsetup.toolconfig.readers import dedupe_paths, parse_toml


def pixi_home(env: Mapping[str, str]) -> Path:
    return Path(env["PIXI_HOME"]) if env.get("PIXI_HOME") else home(env) / ".pixi"


def user_file(env: Mapping[str, str]) -> Path:
    """Where ``pixi config set --global`` writes: ``$PIXI_HOME/config.toml`` (default ``~/.pixi``)."""
    return pixi_home(env) / "config.toml"


def project_root(cwd: Path) -> Path | None:
    try:
        start = cwd.resolve()
    except OSError:
        start = cwd
    for d in (start, *start.parents):
        if (d / "pixi.toml").is_file():
            return d
        pyproject = d / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "[tool.pixi" in pyproject.read_text(encoding="utf-8"):
                    return d
            except (OSError, UnicodeDecodeError):
                pass
    return None


def files(env: Mapping[str, str], cwd: Path, *, system: str | None = None) -> list[Path]:
    """Candidate files, lowest priority first (existing or not)."""
    h, osn = home(env), os_name(system)
    if osn == "windows":
        out = [programdata(env) / "pixi" / "config.toml", appdata(env) / "pixi" / "config.toml"]
    else:
        out = [Path("/etc/pixi/config.toml")]
        if env.get("XDG_CONFIG_HOME"):
            out.append(Path(env["XDG_CONFIG_HOME"], "pixi", "config.toml"))
        out.append(h / ".config" / "pixi" / "config.toml")
        if osn == "macos":
            out.append(h / "Library" / "Application Support" / "pixi" / "config.toml")
    out.append(h / ".pixi" / "config.toml")
    if env.get("PIXI_HOME"):
        out.append(Path(env["PIXI_HOME"], "config.toml"))
    root = project_root(cwd)
    if root:
        out.append(root / ".pixi" / "config.toml")
    return dedupe_paths(out)


def read(env: Mapping[str, str], cwd: Path, prefix: str | Path | None, out: Collected) -> None:
    """pixi's ``[mirrors]``, ``default-channels`` and ``[pypi-config]`` settings, highest file first."""
    existing = [p for p in files(env, cwd) if p.is_file()]
    out.files["pixi"] = [str(p) for p in existing]
    per_key: dict[str, list[Found]] = {}
    for path in reversed(existing):  # highest first
        _, data = read_into("pixi", path, out, parse_toml)
        if not isinstance(data, dict):
            continue
        mirrors = data.get("mirrors")
        if isinstance(mirrors, dict):
            for upstream, targets in mirrors.items():
                targets = targets if isinstance(targets, list) else [targets]
                value = ", ".join(str(t) for t in targets)
                key = f"mirrors.{upstream}"
                per_key.setdefault(key, []).append(Found(ConfigSetting("pixi", key, value, str(path), True),
                                                         f"pixi:{key}"))
        for key in ("default-channels", "default_channels"):
            chans = data.get(key)
            if isinstance(chans, list):
                per_key.setdefault("default-channels", []).append(
                    Found(ConfigSetting("pixi", "default-channels", ", ".join(map(str, chans)), str(path), True),
                          "pixi:default-channels"))
        pypi = data.get("pypi-config")
        if isinstance(pypi, dict) and isinstance(pypi.get("index-url"), str):
            per_key.setdefault("pypi-config.index-url", []).append(
                Found(ConfigSetting("pixi", "pypi-config.index-url", pypi["index-url"], str(path), True),
                      "pixi:pypi-config.index-url"))
    for items in per_key.values():
        resolve_slot(items)
        out.found.extend(items)
