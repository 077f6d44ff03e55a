"""What index / channels / endpoint each tool would use right now, and which file or variable set it.

No subprocess: the files are read directly in each tool's own load order, so this is fast enough for
``dlsetup doctor``. :func:`effective_settings` returns :class:`~dlsetup.probe.model.ConfigSetting`
rows; ``effective=False`` marks a setting that something else masks. :func:`collect` returns the same
rows with the slot they compete for, what masks them, and notes (ignored files, parse errors, ...).

Precedence modelled (sources: pypa/pip ``configuration.py`` + ``baseparser.py``; uv docs
"Configuration files" + "Indexes"; conda ``base/constants.py`` SEARCH_PATH; pixi docs "configuration"):

* pip: files global (``$XDG_CONFIG_DIRS/pip/pip.conf``, ``/etc/pip.conf``) < user (legacy
  ``~/.pip/pip.conf`` < ``$XDG_CONFIG_HOME/pip/pip.conf``; skipped when ``PIP_CONFIG_FILE`` names an
  existing file) < site (``sys.prefix/pip.conf``) < ``PIP_CONFIG_FILE`` < ``PIP_*`` variables
  (``os.devnull`` disables every file). For ``pip install`` a ``[install]`` option in *any* file beats
  ``[global]`` in every file; ``[download]`` does the same for ``pip download``.
* uv: ``UV_NO_CONFIG`` disables files; ``UV_CONFIG_FILE`` replaces discovery; else project (nearest
  ``uv.toml``, or ``pyproject.toml`` with ``[tool.uv]``) > user > system (first found). Scalars: first
  wins; ``[[index]]`` arrays concatenate (project first) and the first ``default = true`` entry is the
  default index. ``UV_DEFAULT_INDEX`` / ``UV_INDEX_URL`` beat files. uv never reads pip.conf.
* conda: the SEARCH_PATH files in order, ``$CONDA_PREFIX/.condarc`` then ``$CONDARC`` last, then
  ``CONDA_*`` variables. Lists (``channels``, ``default_channels``) merge across files, maps merge by
  key, scalars (``channel_alias``): last wins. ``custom_multichannels.defaults`` masks ``default_channels``.
* pixi: ``/etc/pixi`` < ``~/.config/pixi`` < ``$XDG_CONFIG_HOME/pixi`` < ``~/.pixi`` < ``$PIXI_HOME`` <
  ``<project>/.pixi/config.toml``; ``[mirrors]`` entries override by key.
* Hugging Face: ``HF_ENDPOINT`` (read by huggingface_hub at import time), and dlsetup's snippet file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dlsetup.mirror.readers import (
    ConfigFileError,
    conda_files,
    dedupe_paths,
    ini_option_lines,
    normalize_pip_key,
    parse_condarc,
    parse_ini,
    parse_toml,
    read_text,
)
from dlsetup.settings_model import ConfigSetting

PIP_KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "no-index")
PIP_SECTIONS = ("global", "install", "download")
PIP_ENV = {
    "PIP_INDEX_URL": "index-url",
    "PIP_EXTRA_INDEX_URL": "extra-index-url",
    "PIP_FIND_LINKS": "find-links",
    "PIP_TRUSTED_HOST": "trusted-host",
    "PIP_NO_INDEX": "no-index",
}
UV_ENV = {
    "UV_DEFAULT_INDEX": "index.default",
    "UV_INDEX_URL": "index-url",
    "UV_INDEX": "index",
    "UV_EXTRA_INDEX_URL": "extra-index-url",
    "UV_FIND_LINKS": "find-links",
    "UV_PYTHON_INSTALL_MIRROR": "python-install-mirror",
}
CONDA_ENV = {
    "CONDA_CHANNELS": "channels",
    "CONDA_DEFAULT_CHANNELS": "default_channels",
    "CONDA_CHANNEL_ALIAS": "channel_alias",
}
HF_SNIPPET_NAME = "hf-endpoint.sh"


@dataclass
class Found:
    """One setting plus what it competes for (``slot``) and, when masked, the source that wins."""

    setting: ConfigSetting
    slot: str
    masked_by: str | None = None
    line: int | None = None
    masked_by_key: str | None = None  # the winner's key, when it differs (``install.index-url`` over ``global.…``)


@dataclass
class Note:
    """Something about the configuration that is not a setting: an ignored file, a parse error, ..."""

    tool: str
    kind: str  # "parse-error" | "files-ignored" | "no-config" | "config-file-replaces" | "uv-lock-pins"
    source: str
    detail: str = ""
    line: int | None = None


@dataclass
class Collected:
    found: list[Found] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)  # tool -> files consulted, in load order

    def settings(self) -> list[ConfigSetting]:
        out = []
        for f in self.found:
            if hasattr(f.setting, "masked_by"):  # the model grew this field for doctor
                f.setting.masked_by = f.masked_by
            out.append(f.setting)
        return out


def effective_settings(
    environ: Mapping[str, str] | None = None, cwd: str | Path | None = None, *, prefix: str | Path | None = None
) -> list[ConfigSetting]:
    """Every index / channel / endpoint setting pip, uv, conda, pixi and HF would see, masked ones included.

    ``environ`` defaults to ``os.environ``; ``cwd`` (for uv/pixi project files) to the current directory;
    ``prefix`` (the Python whose site ``pip.conf`` counts) to the active venv / conda env, else the base
    interpreter. A file its tool cannot parse appears as a setting with key ``parse-error``. Never raises.
    """
    return collect(environ, cwd, prefix=prefix).settings()


def collect(
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    *,
    prefix: str | Path | None = None,
    tools: set[str] | None = None,
) -> Collected:
    """Like :func:`effective_settings`, with slots, masks, files consulted and notes (``tools`` limits the work)."""
    env = dict(os.environ if environ is None else environ)
    where = Path(cwd) if cwd is not None else Path.cwd()
    out = Collected()
    for fn in (_pip, _uv, _conda, _pixi, _hf):
        if tools is not None and fn.__name__.strip("_") not in tools:
            continue
        try:
            fn(env, where, prefix, out)
        except Exception as exc:  # a probe helper must never take doctor down
            out.notes.append(Note(fn.__name__.strip("_"), "parse-error", "<internal>", f"{type(exc).__name__}: {exc}"))
    for n in out.notes:
        if n.kind == "parse-error":
            out.found.append(Found(ConfigSetting(n.tool, "parse-error", n.detail, n.source, False), "parse-error",
                                   line=n.line))
    return out


# ------------------------------------------------------------------------------------------- helpers


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def _xdg_config_home(env: Mapping[str, str]) -> Path:
    value = env.get("XDG_CONFIG_HOME", "").strip()
    return Path(value) if value else _home(env) / ".config"


def _xdg_config_dirs(env: Mapping[str, str]) -> list[Path]:
    value = env.get("XDG_CONFIG_DIRS", "").strip() or "/etc/xdg"
    return [Path(os.path.expanduser(p)) for p in value.split(os.pathsep) if p]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y", "t")


def _read(tool: str, path: Path, out: Collected, parse) -> tuple[str | None, object | None]:
    try:
        text = read_text(path)
        if text is None:
            return None, None
        return text, parse(text, path)
    except ConfigFileError as exc:
        out.notes.append(Note(tool, "parse-error", exc.path, exc.reason, exc.line))
        return None, None


def _resolve_slot(items: list[Found]) -> None:
    """Items of one slot, highest priority first: the first is effective, the rest masked by it."""
    if not items:
        return
    winner = items[0]
    winner.setting.effective = True
    for f in items[1:]:
        f.setting.effective = False
        f.masked_by = winner.setting.source
        f.masked_by_key = winner.setting.key if winner.setting.key != f.setting.key else None


def target_prefix(env: Mapping[str, str]) -> Path:
    """The Python prefix whose site files count: active venv, else active conda env, else the base Python."""
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if env.get(var):
            return Path(env[var])
    return Path(sys.base_prefix)


# ------------------------------------------------------------------------------------------------ pip


_WINDOWS = sys.platform.startswith("win")
PIP_BASENAME = "pip.ini" if _WINDOWS else "pip.conf"


def pip_files(env: Mapping[str, str], prefix: str | Path | None = None) -> list[tuple[str, Path]]:
    """(kind, path) in pip's load order (later overrides earlier); kind is global/user/site/env."""
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file is not None and config_file == os.devnull:
        return []
    if _WINDOWS:
        files: list[tuple[str, Path]] = [("global", Path(env.get("PROGRAMDATA", r"C:\ProgramData"), "pip", PIP_BASENAME))]
    else:
        files = [("global", d / "pip" / PIP_BASENAME) for d in _xdg_config_dirs(env)]
        files.append(("global", Path("/etc") / PIP_BASENAME))
    if not (config_file and os.path.exists(config_file)):
        files.append(("user", _home(env) / ("pip" if _WINDOWS else ".pip") / PIP_BASENAME))
        files.append(("user", pip_user_file(env)))
    files.append(("site", (Path(prefix) if prefix else target_prefix(env)) / PIP_BASENAME))
    if config_file:
        files.append(("env", Path(config_file)))
    return files


def pip_user_file(env: Mapping[str, str]) -> Path:
    """Where ``pip config --user set`` writes: the new-style user file, not the legacy one."""
    if _WINDOWS:
        return Path(env.get("APPDATA") or _home(env) / "AppData" / "Roaming") / "pip" / PIP_BASENAME
    if sys.platform == "darwin":
        mac = _home(env) / "Library" / "Application Support" / "pip"
        if mac.is_dir():  # pip uses it only when it exists (pip utils/appdirs.py)
            return mac / PIP_BASENAME
        return _home(env) / ".config" / "pip" / PIP_BASENAME
    return _xdg_config_home(env) / "pip" / PIP_BASENAME


def _pip(env: dict[str, str], cwd: Path, prefix, out: Collected) -> None:
    files = pip_files(env, prefix)
    out.files["pip"] = [str(p) for _, p in files]
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file == os.devnull:
        out.notes.append(Note("pip", "no-config", "env:PIP_CONFIG_FILE", os.devnull))
    elif config_file and os.path.exists(config_file):
        out.notes.append(Note("pip", "files-ignored", "env:PIP_CONFIG_FILE",
                              f"{_home(env) / '.pip/pip.conf'}, {pip_user_file(env)}"))
    # (section, key) -> [Found] lowest priority first
    per: dict[tuple[str, str], list[Found]] = {}
    for _kind, path in _dedupe_pairs(files):
        text, parser = _read("pip", path, out, parse_ini)
        if parser is None:
            continue
        lines = ini_option_lines(text or "")
        for section in parser.sections():
            if section not in PIP_SECTIONS:
                continue
            for raw_key, value in parser.items(section):
                key = normalize_pip_key(raw_key)
                if key not in PIP_KEYS:
                    continue
                s = ConfigSetting("pip", f"{section}.{key}", " ".join(value.split()), str(path), True)
                per.setdefault((section, key), []).append(Found(s, "", line=lines.get((section, key))))
    env_items: dict[str, Found] = {}
    for var, key in PIP_ENV.items():
        if var in env:
            env_items[key] = Found(ConfigSetting("pip", key, " ".join(env[var].split()), f"env:{var}", True), "")
    for key in PIP_KEYS:
        glob = list(reversed(per.get(("global", key), [])))
        inst = list(reversed(per.get(("install", key), [])))
        down = list(reversed(per.get(("download", key), [])))
        env_f = [env_items[key]] if key in env_items else []
        for f in env_f:
            f.slot = f"pip:{key}"
        for f in glob:
            f.slot = f"pip:{key}"
        for f in inst:
            f.slot = f"pip:{key}"
        for f in down:
            f.slot = f"pip download:{key}"
        # pip install: env > [install] (highest file) > [global] (highest file)
        install_chain = env_f + inst + glob
        _resolve_slot(install_chain)
        # [download] entries compete for pip download: env > [download] > [global]
        if down:
            _resolve_slot(env_f + down)
        out.found.extend(env_f + inst + down + glob)


def _dedupe_pairs(files: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    seen, out = set(), []
    for kind, p in files:
        key = os.path.normpath(str(p))
        if key in seen:
            continue
        seen.add(key)
        out.append((kind, p))
    return out


# ------------------------------------------------------------------------------------------------- uv


def uv_user_file(env: Mapping[str, str]) -> Path:
    """``~/.config/uv/uv.toml`` (``$XDG_CONFIG_HOME``), ``%APPDATA%\\uv\\uv.toml`` on Windows."""
    if _WINDOWS:
        return Path(env.get("APPDATA") or _home(env) / "AppData" / "Roaming") / "uv" / "uv.toml"
    return _xdg_config_home(env) / "uv" / "uv.toml"


def uv_project_file(cwd: Path) -> Path | None:
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


def uv_system_file(env: Mapping[str, str]) -> Path | None:
    for d in _xdg_config_dirs(env):
        p = d / "uv" / "uv.toml"
        if p.is_file():
            return p
    p = Path("/etc/uv/uv.toml")
    return p if p.is_file() else None


def uv_files(env: Mapping[str, str], cwd: Path) -> list[tuple[str, Path]]:
    """(kind, path) highest priority first, as uv would read them (empty under UV_NO_CONFIG)."""
    if _truthy(env.get("UV_NO_CONFIG")):
        return []
    if env.get("UV_CONFIG_FILE"):
        return [("config-file", Path(env["UV_CONFIG_FILE"]))]
    files: list[tuple[str, Path]] = []
    project = uv_project_file(cwd)
    if project:
        files.append(("project", project))
    user = uv_user_file(env)
    if user.is_file():
        files.append(("user", user))
    system = uv_system_file(env)
    if system:
        files.append(("system", system))
    return files


def _uv(env: dict[str, str], cwd: Path, prefix, out: Collected) -> None:
    disabled = _truthy(env.get("UV_NO_CONFIG"))
    replaced = bool(env.get("UV_CONFIG_FILE")) and not disabled
    if disabled:
        out.notes.append(Note("uv", "no-config", "env:UV_NO_CONFIG", env.get("UV_NO_CONFIG", "")))
    # Files uv reads, plus (reported as masked) the ones it would have read without UV_NO_CONFIG / UV_CONFIG_FILE.
    used = uv_files(env, cwd)
    masked: list[tuple[str, Path]] = []
    if disabled or replaced:
        natural = uv_files({k: v for k, v in env.items() if k not in ("UV_NO_CONFIG", "UV_CONFIG_FILE")}, cwd)
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
    for var, key in UV_ENV.items():
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
        _, data = _read("uv", path, out, parse_toml)
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
            f.setting.effective, f.masked_by = False, chain[0].setting.source
    for slot, items in slots.items():
        if slot == "uv:default-index":
            continue
        if slot in ("uv:index", "uv:find-links"):
            for f in items:  # arrays concatenate: every entry counts
                f.setting.effective = True
        else:
            _resolve_slot(items)
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


# ---------------------------------------------------------------------------------------------- conda


def _conda(env: dict[str, str], cwd: Path, prefix, out: Collected) -> None:
    files = conda_files(env)
    out.files["conda"] = [str(p) for p in files]
    layers: list[tuple[str, dict]] = []
    for path in files:
        _, data = _read("conda", path, out, parse_condarc)
        if isinstance(data, dict):
            layers.append((str(path), data))
    env_layer: dict = {}
    for var, key in CONDA_ENV.items():
        if env.get(var):
            value = env[var]
            env_layer[key] = [v.strip() for v in value.split(",") if v.strip()] if key != "channel_alias" else value
    if env_layer:
        layers.append(("env", env_layer))

    def src(name: str, key: str) -> str:
        if name != "env":
            return name
        return "env:" + next(v for v, k in CONDA_ENV.items() if k == key)

    # Highest priority first.
    ordered = list(reversed(layers))
    multichannel_defaults = [(n, d) for n, d in ordered
                             if isinstance(d.get("custom_multichannels"), dict)
                             and "defaults" in d["custom_multichannels"]]
    for key in ("channels", "default_channels"):
        for name, data in ordered:
            value = data.get(key)
            values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
            for v in values:
                if not isinstance(v, str):
                    continue
                s = ConfigSetting("conda", key, v, src(name, key), True)
                f = Found(s, f"conda:{key}")
                if key == "default_channels" and multichannel_defaults:
                    s.effective = False
                    f.masked_by = multichannel_defaults[0][0]
                out.found.append(f)
    for name, data in ordered:
        cm = data.get("custom_multichannels")
        if isinstance(cm, dict) and isinstance(cm.get("defaults"), list):
            for v in cm["defaults"]:
                if isinstance(v, str):
                    out.found.append(Found(ConfigSetting("conda", "custom_multichannels.defaults", v, name, True),
                                           "conda:custom_multichannels.defaults"))
    alias = [Found(ConfigSetting("conda", "channel_alias", str(d["channel_alias"]), src(n, "channel_alias"), True),
                   "conda:channel_alias")
             for n, d in ordered if isinstance(d.get("channel_alias"), str)]
    _resolve_slot(alias)
    out.found.extend(alias)
    per_channel: dict[str, list[Found]] = {}
    for name, data in ordered:
        cc = data.get("custom_channels")
        if not isinstance(cc, dict):
            continue
        for ch, loc in cc.items():
            if isinstance(loc, str):
                f = Found(ConfigSetting("conda", f"custom_channels.{ch}", loc, name, True), f"conda:custom_channels.{ch}")
                per_channel.setdefault(str(ch), []).append(f)
    for items in per_channel.values():
        _resolve_slot(items)
        out.found.extend(items)
    per_mirror: dict[str, list[Found]] = {}
    for name, data in ordered:
        mc = data.get("mirrored_channels")
        if not isinstance(mc, dict):
            continue
        for ch, locs in mc.items():
            locs = locs if isinstance(locs, list) else [locs]
            for loc in locs:
                if isinstance(loc, str):
                    per_mirror.setdefault(str(ch), []).append(
                        Found(ConfigSetting("conda", f"mirrored_channels.{ch}", loc, name, True),
                              f"conda:mirrored_channels.{ch}"))
    for items in per_mirror.values():
        # maps merge by key: the highest-priority file's list wins as a whole
        top = items[0].setting.source
        for f in items:
            if f.setting.source != top:
                f.setting.effective = False
                f.masked_by = top
        out.found.extend(items)


# ----------------------------------------------------------------------------------------------- pixi


def pixi_home(env: Mapping[str, str]) -> Path:
    return Path(env["PIXI_HOME"]) if env.get("PIXI_HOME") else _home(env) / ".pixi"


def pixi_user_file(env: Mapping[str, str]) -> Path:
    """Where ``pixi config set --global`` writes: ``$PIXI_HOME/config.toml`` (default ``~/.pixi``)."""
    return pixi_home(env) / "config.toml"


def pixi_project_root(cwd: Path) -> Path | None:
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


def pixi_files(env: Mapping[str, str], cwd: Path) -> list[Path]:
    """Candidate files, lowest priority first (existing or not)."""
    home = _home(env)
    files = [Path("/etc/pixi/config.toml"), home / ".config" / "pixi" / "config.toml"]
    if env.get("XDG_CONFIG_HOME"):
        files.append(Path(env["XDG_CONFIG_HOME"], "pixi", "config.toml"))
    files.append(home / ".pixi" / "config.toml")
    if env.get("PIXI_HOME"):
        files.append(Path(env["PIXI_HOME"], "config.toml"))
    root = pixi_project_root(cwd)
    if root:
        files.append(root / ".pixi" / "config.toml")
    return dedupe_paths(files)


def _pixi(env: dict[str, str], cwd: Path, prefix, out: Collected) -> None:
    files = [p for p in pixi_files(env, cwd) if p.is_file()]
    out.files["pixi"] = [str(p) for p in files]
    per_key: dict[str, list[Found]] = {}
    for path in reversed(files):  # highest first
        _, data = _read("pixi", path, out, parse_toml)
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
        _resolve_slot(items)
        out.found.extend(items)


# ------------------------------------------------------------------------------------------------- HF


def hf_snippet_file(env: Mapping[str, str]) -> Path:
    """dlsetup's shell snippet with ``export HF_ENDPOINT=...`` (under dlsetup's config dir)."""
    if env.get("DLSETUP_CONFIG_DIR"):
        return Path(env["DLSETUP_CONFIG_DIR"]) / HF_SNIPPET_NAME
    if sys.platform.startswith("linux"):  # what platformdirs answers there, without importing it (doctor's path)
        return _xdg_config_home(env) / "dlsetup" / HF_SNIPPET_NAME
    from dlsetup.paths import config_dir

    return config_dir() / HF_SNIPPET_NAME


def read_hf_snippet(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("export HF_ENDPOINT="):
            return s.split("=", 1)[1].strip().strip("'\"")
    return None


def conda_env_vars(prefix: Path) -> dict[str, str]:
    """Variables ``conda env config vars set`` stored in ``<prefix>/conda-meta/state``."""
    import json

    try:
        state = json.loads((prefix / "conda-meta" / "state").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    env_vars = state.get("env_vars") if isinstance(state, dict) else None
    if not isinstance(env_vars, dict):
        return {}
    # conda marks an unset variable with this sentinel (conda/base/constants.py CONDA_ENV_VARS_UNSET_VAR)
    return {str(k): str(v) for k, v in env_vars.items() if v != "***unset***"}


def _hf(env: dict[str, str], cwd: Path, prefix, out: Collected) -> None:
    items: list[Found] = []
    if env.get("HF_ENDPOINT"):
        items.append(Found(ConfigSetting("hf", "HF_ENDPOINT", env["HF_ENDPOINT"], "env:HF_ENDPOINT", True),
                           "hf:HF_ENDPOINT"))
    current = env.get("HF_ENDPOINT")
    if env.get("CONDA_PREFIX"):
        state_file = Path(env["CONDA_PREFIX"]) / "conda-meta" / "state"
        value = conda_env_vars(Path(env["CONDA_PREFIX"])).get("HF_ENDPOINT")
        if value:
            # conda exports it on `conda activate`; it is in force if the environment shows it.
            f = Found(ConfigSetting("hf", "HF_ENDPOINT", value, str(state_file), current == value), "hf:HF_ENDPOINT")
            if current != value:
                f.masked_by = "env:HF_ENDPOINT" if current else None
            items.append(f)
    snippet = hf_snippet_file(env)
    value = read_hf_snippet(snippet)
    if value:
        f = Found(ConfigSetting("hf", "HF_ENDPOINT", value, str(snippet), current == value), "hf:HF_ENDPOINT")
        if current != value:
            f.masked_by = "env:HF_ENDPOINT" if current else None
        items.append(f)
    out.files["hf"] = [str(snippet)]
    out.found.extend(items)
