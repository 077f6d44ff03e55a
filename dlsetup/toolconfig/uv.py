"""uv: where its config files are and which index setting wins.

From astral-sh/uv ``docs/concepts/configuration-files.md`` and ``docs/concepts/indexes.md``:
``UV_NO_CONFIG`` disables files; ``UV_CONFIG_FILE`` replaces discovery; else project (nearest ``uv.toml``,
or ``pyproject.toml`` with ``[tool.uv]``) > user (``$XDG_CONFIG_HOME/uv/uv.toml``, ``~/.config/uv`` on Linux
and macOS, ``%APPDATA%\\uv\\uv.toml`` on Windows) > system (``$XDG_CONFIG_DIRS/uv/uv.toml`` or
``/etc/uv/uv.toml``; ``%PROGRAMDATA%\\uv\\uv.toml`` on Windows). Scalars: first wins; ``[[index]]`` arrays
concatenate (project first) and the first ``default = true`` entry is the default index, ahead of the
deprecated ``index-url``. ``UV_DEFAULT_INDEX`` / ``UV_INDEX_URL`` beat files. uv never reads pip.conf.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dlsetup.paths import appdata, os_name, programdata, truthy, xdg_config_dirs, xdg_config_home
from dlsetup.toolconfig.model import Collected, ConfigSetting, Found, Note, read_into, resolve_slot
from dlsetup.toolconfig.readers import ConfigFileError, parse_toml

ENV = {
    "UV_DEFAULT_INDEX": "index.default",
    "UV_INDEX_URL": "index-url",
    "UV_INDEX": "index",
    "UV_EXTRA_INDEX_URL": "extra-index-url",
    "UV_FIND_LINKS": "find-links",
    "UV_PYTHON_INSTALL_MIRROR": "python-install-mirror",
}


def user_file(env: Mapping[str, str], *, system: str | None = None) -> Path:
    """``$XDG_CONFIG_HOME/uv/uv.toml`` (``~/.config`` on Linux and macOS), ``%APPDATA%\\uv\\uv.toml`` on Windows."""
    if os_name(system) == "windows":
        return appdata(env) / "uv" / "uv.toml"
    return xdg_config_home(env) / "uv" / "uv.toml"


def project_file(cwd: Path) -> Path | None:
    """The nearest ``uv.toml``, or ``pyproject.toml`` with a ``[tool.uv]`` table, from ``cwd`` upwards."""
    try:
        start = cwd.resolve()
    except OSError:
        start = cwd
    for d in (start, *start.parents):
        uv_toml = d / "uv.toml"
        if uv_toml.is_file():
            return uv_toml
        pyproject = d / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = pyproject.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "[tool.uv" in text or "tool.uv" in text:
                try:
                    data = parse_toml(text, pyproject)
                except ConfigFileError:
                    return pyproject  # let the reader report the error
                if isinstance(data.get("tool"), dict) and "uv" in data["tool"]:
                    return pyproject
    return None


def system_file(env: Mapping[str, str], *, system: str | None = None) -> Path | None:
    """The first existing ``$XDG_CONFIG_DIRS/uv/uv.toml``, else ``/etc/uv/uv.toml``; ``%PROGRAMDATA%\\uv\\uv.toml``
    on Windows."""
    if os_name(system) == "windows":
        p = programdata(env) / "uv" / "uv.toml"
        return p if p.is_file() else None
    for d in xdg_config_dirs(env):
        p = d / "uv" / "uv.toml"
        if p.is_file():
            return p
    p = Path("/etc/uv/uv.toml")
    return p if p.is_file() else None


def files(env: Mapping[str, str], cwd: Path, *, system: str | None = None) -> list[tuple[str, Path]]:
    """(kind, path) highest priority first, as uv would read them (empty under UV_NO_CONFIG)."""
    if truthy(env.get("UV_NO_CONFIG")):
        return []
    if env.get("UV_CONFIG_FILE"):
        return [("config-file", Path(env["UV_CONFIG_FILE"]))]
    found: list[tuple[str, Path]] = []
    project = project_file(cwd)
    if project:
        found.append(("project", project))
    user = user_file(env, system=system)
    if user.is_file():
        found.append(("user", user))
    sys_file = system_file(env, system=system)
    if sys_file:
        found.append(("system", sys_file))
    return found


def parse(text: str, path: Path | str) -> dict:
    """Parse a ``uv.toml`` / ``pyproject.toml`` as uv does, as far as dlsetup can tell: TOML, plus the mistake
    real files make that uv rejects — a ``[tool.uv]``, ``[uv]`` or ``[project]`` table inside ``uv.toml``
    (astral-sh/uv#17082; uv 0.13.9 answers "Failed to parse … TOML parse error"). Unknown fields inside an
    ``[[index]]`` entry are accepted, as uv accepts them."""
    data = parse_toml(text, path)
    if Path(path).name != "pyproject.toml":
        for bad in ("tool", "uv", "project"):
            if bad in data:
                raise ConfigFileError(path, f"unknown field `{bad}` (uv.toml holds uv's settings at the top level)")
    return data


def read(env: Mapping[str, str], cwd: Path, prefix: str | Path | None, out: Collected) -> None:
    """Every index setting uv would see, with its default-index precedence."""
    disabled = truthy(env.get("UV_NO_CONFIG"))
    replaced = bool(env.get("UV_CONFIG_FILE")) and not disabled
    if disabled:
        out.notes.append(Note("uv", "no-config", "env:UV_NO_CONFIG", env.get("UV_NO_CONFIG", "")))
    # Files uv reads, plus (reported as masked) the ones it would have read without UV_NO_CONFIG / UV_CONFIG_FILE.
    used = files(env, cwd)
    masked: list[tuple[str, Path]] = []
    if disabled or replaced:
        natural = files({k: v for k, v in env.items() if k not in ("UV_NO_CONFIG", "UV_CONFIG_FILE")}, cwd)
        used_paths = {os.path.normpath(str(p)) for _, p in used}
        masked = [(k, p) for k, p in natural if os.path.normpath(str(p)) not in used_paths]
        if replaced and masked:
            out.notes.append(Note("uv", "config-file-replaces", "env:UV_CONFIG_FILE",
                                  ", ".join(str(p) for _, p in masked)))
    out.files["uv"] = [str(p) for _, p in used]
    mask_source = "env:UV_NO_CONFIG" if disabled else "env:UV_CONFIG_FILE"

    slots: dict[str, list[Found]] = {}

    def add(slot: str, s: ConfigSetting, line: int | None = None) -> Found:
        f = Found(s, slot, line=line)
        slots.setdefault(slot, []).append(f)
        return f

    env_found: list[Found] = []
    for var, key in ENV.items():
        value = env.get(var)
        if not value:
            continue
        slot = {"index.default": "uv:default-index", "index-url": "uv:default-index",
                "index": "uv:index", "extra-index-url": "uv:index", "find-links": "uv:find-links",
                "python-install-mirror": "uv:python-install-mirror"}[key]
        env_found.append(add(slot, ConfigSetting("uv", key, " ".join(value.split()), f"env:{var}", True)))

    file_defaults: list[Found] = []
    file_index_urls: list[Found] = []
    pip_index_urls: list[Found] = []
    for kind, path in used + masked:
        is_masked = (kind, path) in masked
        if kind == "config-file" and not path.exists():
            out.notes.append(Note("uv", "parse-error", str(path), "UV_CONFIG_FILE names a file that does not exist"))
            continue
        _, data = read_into("uv", path, out, parse)
        if not isinstance(data, dict):
            continue
        if path.name == "pyproject.toml":
            tool = data.get("tool")
            data = tool.get("uv", {}) if isinstance(tool, dict) else {}
            if not isinstance(data, dict):
                continue
        for s_key, slot, value in _uv_items(data):
            s = ConfigSetting("uv", s_key, value, str(path), not is_masked)
            f = Found(s, slot)
            if is_masked:
                f.masked_by = mask_source
                out.found.append(f)
                continue
            if s_key == "index.default":
                file_defaults.append(f)
            elif s_key == "index-url":
                file_index_urls.append(f)
            elif s_key == "pip.index-url":
                pip_index_urls.append(f)
            else:
                slots.setdefault(slot, []).append(f)
    # The default index (checked against uv 0.13.9): env (UV_DEFAULT_INDEX, then UV_INDEX_URL) > the
    # first [[index]] default=true across files (project first) > for `uv pip` only, [pip] index-url >
    # index-url (project > user > system). A setting counts as effective if it wins either chain.
    env_default = [f for f in env_found if f.slot == "uv:default-index"]
    env_default.sort(key=lambda f: 0 if f.setting.key == "index.default" else 1)
    for f in pip_index_urls:
        f.slot = "uv:default-index"
    project_chain = env_default + file_defaults + file_index_urls
    pip_chain = env_default + file_defaults + pip_index_urls + file_index_urls
    winners = {id(chain[0]) for chain in (project_chain, pip_chain) if chain}
    pip_only = {id(f) for f in pip_index_urls}
    for f in pip_chain:
        if id(f) in winners:
            f.setting.effective, f.masked_by = True, None
        else:
            chain = pip_chain if id(f) in pip_only or not project_chain else project_chain
            winner = chain[0].setting
            f.setting.effective, f.masked_by = False, winner.source
            f.masked_by_key = winner.key if winner.key != f.setting.key else None
    for slot, items in slots.items():
        if slot == "uv:default-index":
            continue
        if slot in ("uv:index", "uv:find-links"):
            for f in items:  # arrays concatenate: every entry counts
                f.setting.effective = True
        else:
            resolve_slot(items)
    out.found.extend(env_default + file_defaults + pip_index_urls + file_index_urls)
    for slot, items in slots.items():
        if slot != "uv:default-index":
            out.found.extend(items)


def _uv_items(data: dict) -> list[tuple[str, str, str]]:
    """(key, slot, value) for the index-related settings of one uv.toml / [tool.uv] table."""
    items: list[tuple[str, str, str]] = []
    indexes = data.get("index")
    if isinstance(indexes, list):
        for entry in indexes:
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                continue
            url = entry["url"]
            if entry.get("default") is True:
                items.append(("index.default", "uv:default-index", url))
            else:
                name = entry.get("name")
                label = f"{name}={url}" if isinstance(name, str) else url
                items.append(("index", "uv:index", label))
    for key, slot in (("index-url", "uv:default-index"), ("extra-index-url", "uv:index"),
                      ("find-links", "uv:find-links"), ("python-install-mirror", "uv:python-install-mirror")):
        value = data.get(key)
        if isinstance(value, str):
            items.append((key, slot, value))
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, str):
                    items.append((key, slot, v))
    pip_table = data.get("pip")
    if isinstance(pip_table, dict):
        for key in ("index-url", "extra-index-url", "find-links"):
            value = pip_table.get(key)
            values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            for v in values:
                if isinstance(v, str):
                    items.append((f"pip.{key}", "uv:default-index" if key == "index-url" else f"uv pip:{key}", v))
    return items
