"""conda: where ``.condarc`` files are, how conda merges them with ``CONDA_*`` variables, and what a
channel name expands to. The one place in dlsetup that does either.

Sources (conda/conda):

* ``conda/base/constants.py`` ``SEARCH_PATH``: ``C:/ProgramData/conda/{.condarc,condarc,condarc.d}`` on
  Windows, ``/etc/conda/…`` and ``/var/lib/conda/…`` elsewhere; then ``$CONDA_ROOT``,
  ``$XDG_CONFIG_HOME/conda``, ``~/.config/conda``, ``~/.conda`` (each ``.condarc``, ``condarc``,
  ``condarc.d/``), ``~/.condarc``, ``$CONDA_PREFIX/…``, ``$CONDARC``. Later files have higher precedence.
  ``DEFAULT_CHANNELS_UNIX`` = pkgs/main, pkgs/r; ``DEFAULT_CHANNELS_WIN`` adds pkgs/msys2.
* ``conda/common/configuration.py``: the variables are one more source, above every file. Sequences merge
  (higher precedence first, duplicates dropped); maps merge by key, each key's value merged the same way;
  scalars take the highest-precedence value. So ``CONDA_CHANNELS`` puts its channels *in front of* the
  files' channels; it does not replace them.
* ``conda/base/context.py`` ``custom_multichannels``: the reserved multichannels (``defaults`` from
  ``default_channels``, ``local``) are added after the user's, so "reserved overrides custom": a
  ``custom_multichannels.defaults`` never takes effect. ``custom_channels`` is built from every
  multichannel's channels, then the ``custom_channels`` entries (those win by name).
* ``conda/models/channel.py``: a name that is a multichannel key expands to its channels first
  (``Channel.from_value``), so ``custom_multichannels.conda-forge`` masks ``custom_channels.conda-forge``;
  otherwise ``_get_channel_for_name`` takes the longest listed prefix in ``custom_channels`` (label channels:
  ``conda-forge/label/dev``), else ``channel_alias``. ``make_simple_channel``: a URL with no scheme is
  relative to ``channel_alias``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dlsetup.paths import home, os_name
from dlsetup.toolconfig.model import Collected, ConfigSetting, Found, read_into, resolve_slot
from dlsetup.toolconfig.readers import ConfigFileError, dedupe_paths, parse_condarc, read_text

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
DEFAULT_CHANNELS_UNIX = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
DEFAULT_CHANNELS_WIN = DEFAULT_CHANNELS_UNIX + ("https://repo.anaconda.com/pkgs/msys2",)
RESERVED_MULTICHANNELS = ("defaults", "local")
BUILTIN = "conda (built-in default_channels)"

# variable -> (key, separator); envs_dirs is declared with string_delimiter=os.pathsep in context.py
ENV = {
    "CONDA_CHANNELS": ("channels", ","),
    "CONDA_DEFAULT_CHANNELS": ("default_channels", ","),
    "CONDA_CHANNEL_ALIAS": ("channel_alias", None),
    "CONDA_PKGS_DIRS": ("pkgs_dirs", ","),
    "CONDA_ENVS_PATH": ("envs_dirs", os.pathsep),
    "CONDA_ENVS_DIRS": ("envs_dirs", os.pathsep),
}


def default_channels(system: str | None = None) -> tuple[str, ...]:
    return DEFAULT_CHANNELS_WIN if os_name(system) == "windows" else DEFAULT_CHANNELS_UNIX


def search_path(env: Mapping[str, str], *, system: str | None = None) -> list[Path]:
    """conda's SEARCH_PATH with variables expanded; entries whose variable is unset are skipped."""
    h = home(env)
    bases = ["C:/ProgramData/conda"] if os_name(system) == "windows" else ["/etc/conda", "/var/lib/conda"]
    entries: list[Path] = []

    def trio(d: Path) -> list[Path]:
        return [d / ".condarc", d / "condarc", d / "condarc.d"]

    for base in bases:
        entries += trio(Path(base))
    root = env.get("CONDA_ROOT")
    if not root and env.get("CONDA_EXE"):
        root = str(Path(env["CONDA_EXE"]).parent.parent)
    if root:
        entries += trio(Path(root))
    if env.get("XDG_CONFIG_HOME"):
        entries += trio(Path(env["XDG_CONFIG_HOME"], "conda"))
    entries += trio(h / ".config" / "conda") + trio(h / ".conda")
    entries.append(h / ".condarc")
    if env.get("CONDA_PREFIX"):
        entries += trio(Path(env["CONDA_PREFIX"]))
    if env.get("CONDARC"):
        entries.append(Path(env["CONDARC"]))
    return dedupe_paths(entries)


def files(env: Mapping[str, str], *, system: str | None = None) -> list[Path]:
    """Existing condarc files in load order (later wins); ``condarc.d`` directories expanded."""
    out: list[Path] = []
    for entry in search_path(env, system=system):
        if entry.is_dir():
            out += sorted(p for p in entry.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
        elif entry.is_file():
            out.append(entry)
    return out


def env_layer(env: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """key -> (variable, value) for the ``CONDA_*`` variables conda reads as settings."""
    layer: dict[str, tuple[str, Any]] = {}
    for var, (key, sep) in ENV.items():
        value = env.get(var)
        if not value or key in layer:
            continue
        layer[key] = (var, value if sep is None else [v.strip() for v in value.split(sep) if v.strip()])
    return layer


def layers(env: Mapping[str, str], out: Collected | None = None, *, system: str | None = None
           ) -> list[tuple[str, dict]]:
    """(source, settings) lowest precedence first: each file, then the variables (source ``env``).

    A file conda would reject is noted in ``out`` (when given) and left out, as doctor reports it."""
    sink = out if out is not None else Collected()
    result: list[tuple[str, dict]] = []
    for path in files(env, system=system):
        _, data = read_into("conda", path, sink, parse_condarc)
        if isinstance(data, dict):
            result.append((str(path), data))
    variables = env_layer(env)
    if variables:
        result.append(("env", {k: v for k, (_, v) in variables.items()}))
    return result


def _merge_values(values: list[Any]) -> Any:
    """``values`` highest precedence first, merged as conda merges one parameter."""
    if all(isinstance(v, list) for v in values):
        merged: list[Any] = []
        for v in values:
            merged += [x for x in v if x not in merged]
        return merged
    if all(isinstance(v, dict) for v in values):
        grouped: dict[str, list[Any]] = {}
        for v in values:
            for k, x in v.items():
                grouped.setdefault(str(k), []).append(x)
        return {k: _merge_values(xs) for k, xs in grouped.items()}
    return values[0]


def merge(stack: list[tuple[str, dict]]) -> dict[str, Any]:
    """The merged settings of ``stack`` (lowest precedence first, as :func:`layers` returns it)."""
    grouped: dict[str, list[Any]] = {}
    for _, data in reversed(stack):
        for key, value in data.items():
            if value is None:
                continue
            if isinstance(value, str) and key in ("channels", "default_channels", "envs_dirs", "pkgs_dirs"):
                value = [value]
            grouped.setdefault(str(key), []).append(value)
    return {k: _merge_values(v) for k, v in grouped.items()}


def load(env: Mapping[str, str] | None = None, *, system: str | None = None) -> dict[str, Any]:
    """conda's merged configuration for ``env`` (default ``os.environ``). Files conda would reject are left
    out here; doctor reports them."""
    return merge(layers(dict(os.environ if env is None else env), system=system))


# ----------------------------------------------------------------------------------------- channels


def _simple_channel(alias: str, url: str) -> str:
    """``make_simple_channel``: the full URL of one multichannel member."""
    url = str(url).rstrip("/")
    return url if "://" in url or url.startswith("file:") else f"{alias}/{url.strip('/')}"


def _channel_name(alias: str, url: str) -> tuple[str, str]:
    """(location, name) of a multichannel member, as ``make_simple_channel`` splits it."""
    from urllib.parse import urlsplit

    full = _simple_channel(alias, url)
    if full.startswith(alias + "/"):
        return alias, full[len(alias) + 1:]
    parts = urlsplit(full)
    base = f"{parts.scheme}://{parts.netloc}"
    return base, parts.path.strip("/")


class Channels:
    """Channel names → URLs under one merged configuration (:func:`load`)."""

    def __init__(self, rc: Mapping[str, Any], *, system: str | None = None) -> None:
        self.alias = str(rc.get("channel_alias") or DEFAULT_CHANNEL_ALIAS).rstrip("/")
        user_multi = rc.get("custom_multichannels") if isinstance(rc.get("custom_multichannels"), dict) else {}
        defaults = rc.get("default_channels") or list(default_channels(system))
        self.multichannels: dict[str, list[str]] = {str(k): [str(u) for u in (v if isinstance(v, list) else [v])]
                                                    for k, v in user_multi.items()}
        self.multichannels["defaults"] = [str(u) for u in defaults]  # reserved overrides custom
        self.custom: dict[str, str] = {}
        for urls in self.multichannels.values():
            for u in urls:
                location, name = _channel_name(self.alias, u)
                if name:
                    self.custom[name] = location
        for name, loc in (rc.get("custom_channels") or {}).items():
            if isinstance(loc, str):
                self.custom[str(name).strip("/")] = loc.rstrip("/")

    def custom_key(self, name: str) -> str | None:
        """The ``custom_channels`` entry that covers ``name``: itself or its longest listed prefix."""
        parts = name.split("/")
        for i in range(len(parts), 0, -1):
            key = "/".join(parts[:i])
            if key in self.custom:
                return key
        return None

    def urls(self, name: str) -> list[str]:
        name = name.strip().rstrip("/")
        if "://" in name or name.startswith("file:"):
            return [name]
        if name in self.multichannels:
            return [_simple_channel(self.alias, u) for u in self.multichannels[name]]
        key = self.custom_key(name)
        if key is not None:
            return [f"{self.custom[key]}/{name}"]
        return [f"{self.alias}/{name}"]


def channel_urls(names: Iterable[str], rc: Mapping[str, Any] | None = None, *,
                 env: Mapping[str, str] | None = None, system: str | None = None) -> list[str]:
    """Channel names → URLs as conda expands them (``defaults`` → several); order kept, duplicates dropped."""
    ch = Channels(load(env, system=system) if rc is None else rc, system=system)
    out: list[str] = []
    for name in names:
        if not name.strip():
            continue
        for u in ch.urls(name):
            if u not in out:
                out.append(u)
    return out


# --------------------------------------------------------------------------------- layered settings


def read(env: Mapping[str, str], cwd: Path, prefix: str | Path | None, out: Collected) -> None:
    """Every channel setting conda would see, with what masks what."""
    out.files["conda"] = [str(p) for p in files(env)]
    stack = layers(env, out)
    variables = env_layer(env)

    def src(name: str, key: str) -> str:
        return f"env:{variables[key][0]}" if name == "env" else name

    ordered = list(reversed(stack))  # highest precedence first
    for key in ("channels", "default_channels"):
        for name, data in ordered:
            value = data.get(key)
            for v in value if isinstance(value, list) else [value] if isinstance(value, str) else []:
                if isinstance(v, str):
                    out.found.append(Found(ConfigSetting("conda", key, v, src(name, key), True), f"conda:{key}"))
    first_default = next((src(n, "default_channels") for n, d in ordered if d.get("default_channels")), None)
    multi_keys: dict[str, str] = {}  # multichannel name -> the highest file defining it
    for name, data in ordered:
        cm = data.get("custom_multichannels")
        if not isinstance(cm, dict):
            continue
        for mc, urls in cm.items():
            multi_keys.setdefault(str(mc), name)
            for v in urls if isinstance(urls, list) else [urls]:
                if not isinstance(v, str):
                    continue
                f = Found(ConfigSetting("conda", f"custom_multichannels.{mc}", v, name, True),
                          f"conda:custom_multichannels.{mc}")
                if str(mc) in RESERVED_MULTICHANNELS:
                    # context.py: "reserved overrides custom"
                    f.setting.effective = False
                    f.masked_by = first_default or BUILTIN
                    f.masked_by_key = "default_channels"
                out.found.append(f)
    alias = [Found(ConfigSetting("conda", "channel_alias", str(d["channel_alias"]), src(n, "channel_alias"), True),
                   "conda:channel_alias")
             for n, d in ordered if isinstance(d.get("channel_alias"), str)]
    resolve_slot(alias)
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
    for ch, items in per_channel.items():
        resolve_slot(items)
        if ch in multi_keys and ch not in RESERVED_MULTICHANNELS:
            # channel.py Channel.from_value: a multichannel name never reaches custom_channels
            for f in items:
                f.setting.effective = False
                f.masked_by, f.masked_by_key = multi_keys[ch], f"custom_multichannels.{ch}"
        out.found.extend(items)
    per_mirror: dict[str, list[Found]] = {}
    for name, data in ordered:
        mc = data.get("mirrored_channels")
        if not isinstance(mc, dict):
            continue
        for ch, locs in mc.items():
            for loc in locs if isinstance(locs, list) else [locs]:
                if isinstance(loc, str):
                    per_mirror.setdefault(str(ch), []).append(
                        Found(ConfigSetting("conda", f"mirrored_channels.{ch}", loc, name, True),
                              f"conda:mirrored_channels.{ch}"))
    for items in per_mirror.values():
        top = items[0].setting.source  # maps merge by key: the highest file's list wins as a whole
        for f in items:
            if f.setting.source != top:
                f.setting.effective = False
                f.masked_by = top
        out.found.extend(items)


def env_vars(prefix: Path) -> dict[str, str]:
    """Variables ``conda env config vars set`` stored in ``<prefix>/conda-meta/state``."""
    import json

    try:
        text = read_text(prefix / "conda-meta" / "state")
        state = json.loads(text) if text else None
    except (ConfigFileError, ValueError):
        return {}
    values = state.get("env_vars") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return {}
    # conda marks an unset variable with this sentinel (conda/base/constants.py CONDA_ENV_VARS_UNSET_VAR)
    return {str(k): str(v) for k, v in values.items() if v != "***unset***"}


__all__ = ["Channels", "channel_urls", "default_channels", "env_vars", "files", "layers", "load", "merge",
           "read", "search_path"]
