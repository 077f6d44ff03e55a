"""pip: where its config files are, how it decodes and parses them, and which value wins.

Everything here follows pypa/pip ``src/pip/_internal/configuration.py`` (``get_configuration_files``,
``Configuration.iter_config_files``, ``_construct_parser``) and ``utils/appdirs.py``, as of pip 23.2-26.x:

* files, in load order (later overrides earlier): global (``site_config_dirs``: ``$XDG_CONFIG_DIRS/pip``
  and ``/etc`` on Linux, ``/Library/Application Support/pip`` on macOS, ``%PROGRAMDATA%\\pip`` on
  Windows) < user (legacy ``~/.pip/pip.conf`` — ``%USERPROFILE%\\pip\\pip.ini`` on Windows — then
  ``user_config_dir``: ``$XDG_CONFIG_HOME/pip``, ``~/Library/Application Support/pip`` on macOS when that
  directory exists else ``~/.config/pip``, ``%APPDATA%\\pip`` on Windows; skipped when ``PIP_CONFIG_FILE``
  names an existing file) < site (``sys.prefix``) < ``PIP_CONFIG_FILE`` < ``PIP_*`` variables;
  ``PIP_CONFIG_FILE=os.devnull`` disables every file. The basename is ``pip.ini`` on Windows.
* each file is read by ``configparser.RawConfigParser`` decoding with ``locale.getpreferredencoding(False)``
  (so a GBK ``pip.ini`` is fine on a zh_CN Windows), strict: a repeated section or option is an error.
* for ``pip install`` an ``[install]`` option in *any* file beats ``[global]`` in every file; ``[download]``
  does the same for ``pip download``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dlsetup.paths import appdata, home, os_name, programdata, xdg_config_dirs, xdg_config_home
from dlsetup.toolconfig.model import (
    Collected,
    ConfigSetting,
    Found,
    Note,
    read_into,
    resolve_slot,
    target_prefix,
)
from dlsetup.toolconfig.readers import dedupe_paths, ini_option_lines, normalize_pip_key, parse_ini

KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "no-index")
SECTIONS = ("global", "install", "download")
ENV = {
    "PIP_INDEX_URL": "index-url",
    "PIP_EXTRA_INDEX_URL": "extra-index-url",
    "PIP_FIND_LINKS": "find-links",
    "PIP_TRUSTED_HOST": "trusted-host",
    "PIP_NO_INDEX": "no-index",
}


def basename(system: str | None = None) -> str:
    return "pip.ini" if os_name(system) == "windows" else "pip.conf"


def encoding() -> str:
    """The codec pip decodes its config files with (``_construct_parser``): the locale's preferred one."""
    import locale

    return locale.getpreferredencoding(False)


def files(env: Mapping[str, str], prefix: str | Path | None = None, *, system: str | None = None
          ) -> list[tuple[str, Path]]:
    """(kind, path) in pip's load order (later overrides earlier); kind is global/user/site/env."""
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file is not None and config_file == os.devnull:
        return []
    name, osn = basename(system), os_name(system)
    if osn == "windows":
        out: list[tuple[str, Path]] = [("global", programdata(env) / "pip" / name)]
    elif osn == "macos":
        out = [("global", Path("/Library/Application Support/pip") / name)]
    else:
        out = [("global", d / "pip" / name) for d in xdg_config_dirs(env)]
        out.append(("global", Path("/etc") / name))
    if not (config_file and os.path.exists(config_file)):
        out.append(("user", home(env) / ("pip" if osn == "windows" else ".pip") / name))
        out.append(("user", user_file(env, system=system)))
    out.append(("site", (Path(prefix) if prefix else target_prefix(env)) / name))
    if config_file:
        out.append(("env", Path(config_file)))
    return out


def user_file(env: Mapping[str, str], *, system: str | None = None) -> Path:
    """Where ``pip config --user set`` writes: the new-style user file, not the legacy one."""
    name, osn = basename(system), os_name(system)
    if osn == "windows":
        return appdata(env) / "pip" / name
    if osn == "macos":
        mac = home(env) / "Library" / "Application Support" / "pip"
        if mac.is_dir():  # pip uses it only when it exists (pip utils/appdirs.py)
            return mac / name
        return home(env) / ".config" / "pip" / name
    return xdg_config_home(env) / "pip" / name


def read(env: Mapping[str, str], cwd: Path, prefix: str | Path | None, out: Collected) -> None:
    """Every index setting pip would see, with ``[install]``/``[download]``/variable masking."""
    found = files(env, prefix)
    out.files["pip"] = [str(p) for _, p in found]
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file == os.devnull:
        out.notes.append(Note("pip", "no-config", "env:PIP_CONFIG_FILE", os.devnull))
    elif config_file and os.path.exists(config_file):
        out.notes.append(Note("pip", "files-ignored", "env:PIP_CONFIG_FILE",
                              f"{home(env) / '.pip/pip.conf'}, {user_file(env)}"))
    per: dict[tuple[str, str], list[Found]] = {}  # (section, key) -> lowest priority first
    codec = encoding()
    unique = dedupe_paths([p for _, p in found])
    for path in unique:
        text, parser = read_into("pip", path, out, parse_ini, codec)
        if parser is None:
            continue
        lines = ini_option_lines(text or "")
        for section in parser.sections():
            if section not in SECTIONS:
                continue
            for raw_key, value in parser.items(section):
                key = normalize_pip_key(raw_key)
                if key not in KEYS:
                    continue
                s = ConfigSetting("pip", f"{section}.{key}", " ".join(value.split()), str(path), True)
                per.setdefault((section, key), []).append(Found(s, "", line=lines.get((section, key))))
    env_items: dict[str, Found] = {}
    for var, key in ENV.items():
        if var in env:
            env_items[key] = Found(ConfigSetting("pip", key, " ".join(env[var].split()), f"env:{var}", True), "")
    for key in KEYS:
        glob = list(reversed(per.get(("global", key), [])))
        inst = list(reversed(per.get(("install", key), [])))
        down = list(reversed(per.get(("download", key), [])))
        env_f = [env_items[key]] if key in env_items else []
        for f in env_f + glob + inst:
            f.slot = f"pip:{key}"
        for f in down:
            f.slot = f"pip download:{key}"
        # pip install: env > [install] (highest file) > [global] (highest file)
        resolve_slot(env_f + inst + glob)
        # [download] entries compete for pip download: env > [download] > [global]
        if down:
            resolve_slot(env_f + down)
        out.found.extend(env_f + inst + down + glob)


def index_url(env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> str | None:
    """The index URL ``pip install`` would use (variable, ``[install]``, ``[global]``); None = PyPI.

    A config file pip would reject makes pip itself fail, so it raises :class:`ConfigFileError` here too
    rather than answering "PyPI"."""
    from dlsetup.toolconfig.readers import ConfigFileError

    out = Collected()
    read(dict(os.environ if env is None else env), Path(cwd or "."), None, out)
    for n in out.notes:
        if n.kind == "parse-error":
            raise ConfigFileError(n.source, n.detail, n.line)
    for f in out.found:
        if f.slot == "pip:index-url" and f.setting.effective:
            return f.setting.value
    return None
