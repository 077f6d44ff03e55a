"""``dlsetup mirror status``: per tool, the index / channels / endpoint in force, who set them, what
masks what, and whether a ``uv.lock`` pins mirror URLs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.mirror import journal
from dlsetup.mirror.catalog import load_catalog, owner_of
from dlsetup.mirror.writers import Message, msg
from dlsetup.paths import home as home_dir
from dlsetup.toolconfig import layers
from dlsetup.toolconfig import pip as pip_cfg
from dlsetup.util.redact import redact_url

UPSTREAM = {
    "pip": "https://pypi.org/simple",
    "uv": "https://pypi.org/simple",
    "conda": "channels: none set (conda >= 25.9 adds no default channel)",
    "pixi": "no [mirrors]: upstream hosts",
    "hf": "https://huggingface.co",
}
PYPI_HOSTS = ("pypi.org", "files.pythonhosted.org")


@dataclass
class Row:
    key: str
    value: str
    source: str
    effective: bool
    masked_by: str | None = None
    mirror: str | None = None  # the catalogue mirror the value belongs to
    masked_by_setting: str | None = None  # the winning key when it is not this one (e.g. install.index-url)

    def masked_by_label(self) -> str | None:
        """``masked_by`` for people: the winning key too when one file section masks another."""
        return masked_label(self.masked_by, self.masked_by_setting)


@dataclass
class ToolStatus:
    tool: str
    rows: list[Row] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    upstream_default: str = ""
    in_force: str | None = None  # the main value in force (index URL / endpoint), None = upstream default


@dataclass
class StatusResult:
    current: dict[str, Any] | None
    tools: list[ToolStatus] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    uv_lock: dict[str, Any] | None = None


def masked_label(source: str | None, key: str | None) -> str | None:
    if source and key and not source.startswith("env:"):
        from dlsetup.i18n import t

        return t("mirror.status.by_setting", setting=key, source=source)
    return source


def _main_slot(tool: str) -> str | None:
    return {"pip": "pip:index-url", "uv": "uv:default-index", "hf": "hf:HF_ENDPOINT"}.get(tool)


def status(environ: dict[str, str] | None = None, cwd: str | Path | None = None) -> StatusResult:
    env = dict(os.environ if environ is None else environ)
    where = Path(cwd) if cwd is not None else Path.cwd()
    catalog = load_catalog()
    collected = layers.collect(env, where)
    current = journal.current_mirror()
    result = StatusResult(current={"mirror": current.mirror, "scope": current.scope, "journal_id": current.id,
                                   "time": current.time} if current else None)
    for tool in ("pip", "uv", "conda", "pixi", "hf"):
        ts = ToolStatus(tool, files=[redact_url(p) for p in collected.files.get(tool, [])],
                        upstream_default=UPSTREAM[tool])
        for f in collected.found:
            s = f.setting
            if s.tool != tool:
                continue
            owner = owner_of(s.value, catalog) if "://" in s.value else None
            by = redact_url(f.masked_by) if f.masked_by else None
            ts.rows.append(Row(s.key, redact_url(s.value), redact_url(s.source), s.effective, by,
                               owner.id if owner else None, f.masked_by_key))
            if f.slot == _main_slot(tool) and s.effective and ts.in_force is None:
                ts.in_force = redact_url(s.value)
            if not s.effective and f.masked_by and s.key != "parse-error":
                result.notes.append(msg("mirror.status.masked", tool=tool, setting=s.key, source=redact_url(s.source),
                                        by=masked_label(redact_url(f.masked_by), f.masked_by_key)))
        if tool == "uv":
            # uv asks the non-default indexes (UV_INDEX, [[index]], extra-index-url) before the default one
            first = next((f.setting.value for f in collected.found if f.setting.tool == "uv"
                          and f.slot == "uv:index" and f.setting.effective), None)
            if first:
                ts.in_force = redact_url(first.split("=", 1)[1] if "=" in first and "://" not in
                                         first.split("=", 1)[0] else first)
        if tool == "conda" and collected.files.get("conda"):
            # what conda-forge expands to after every mask (custom_multichannels, custom_channels, alias)
            from dlsetup.toolconfig import conda as conda_cfg

            ts.in_force = redact_url(conda_cfg.Channels(conda_cfg.load(env)).urls("conda-forge")[0])
        result.tools.append(ts)
    home = home_dir(env)
    legacy = home / ".pip" / "pip.conf"
    if legacy.is_file() and str(legacy) in collected.files.get("pip", []):
        result.notes.append(msg("mirror.status.legacy_pip", path=str(legacy),
                                    new=str(pip_cfg.user_file(env))))
    for n in collected.notes:
        key = {"parse-error": "mirror.status.parse_error", "files-ignored": "mirror.status.files_ignored",
               "no-config": "mirror.status.no_config", "config-file-replaces": "mirror.status.config_file_replaces"}[n.kind]
        where_ = f"{n.source}:{n.line}" if n.line else n.source
        result.notes.append(msg(key, tool=n.tool, source=redact_url(where_), detail=redact_url(n.detail)))
    for var in ("CONDARC", "HF_ENDPOINT", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL", "PIP_CONFIG_FILE",
                "UV_CONFIG_FILE"):
        if env.get(var):
            result.notes.append(msg("mirror.status.env_var", var=var, value=redact_url(env[var])))
    result.uv_lock = uv_lock_pins(where, catalog)
    if result.uv_lock:
        result.notes.append(msg("mirror.status.uv_lock_pins", path=result.uv_lock["path"],
                                    hosts=", ".join(result.uv_lock["hosts"]), count=result.uv_lock["packages"]))
    return result


def find_uv_lock(cwd: Path) -> Path | None:
    try:
        start = cwd.resolve()
    except OSError:
        start = cwd
    for d in (start, *start.parents):
        if (d / "uv.lock").is_file():
            return d / "uv.lock"
        if (d / "pyproject.toml").is_file() or (d / ".git").exists():
            return None
    return None


def uv_lock_pins(cwd: Path, catalog=None) -> dict[str, Any] | None:
    """Hosts other than PyPI that a project's uv.lock records (registry sources and file URLs)."""
    from urllib.parse import urlsplit

    from dlsetup.toolconfig.readers import ConfigFileError, parse_toml, read_text

    path = find_uv_lock(cwd)
    if path is None:
        return None
    try:
        data = parse_toml(read_text(path) or "", path)
    except ConfigFileError:
        return None
    hosts: dict[str, int] = {}
    registries: set[str] = set()
    packages = 0
    for pkg in data.get("package", []) if isinstance(data.get("package"), list) else []:
        if not isinstance(pkg, dict):
            continue
        src = pkg.get("source")
        registry = src.get("registry") if isinstance(src, dict) else None
        if not isinstance(registry, str) or not registry.startswith("http"):
            continue
        host = urlsplit(registry).hostname or registry
        if host in PYPI_HOSTS or "download.pytorch.org" in host:
            continue
        packages += 1
        hosts[host] = hosts.get(host, 0) + 1
        registries.add(registry)
    if not hosts:
        return None
    mirrors = sorted({m.id for r in registries for m in [owner_of(r, catalog)] if m})
    return {"path": str(path), "hosts": sorted(hosts), "packages": packages, "mirrors": mirrors,
            "git": (path.parent / ".git").exists()}
