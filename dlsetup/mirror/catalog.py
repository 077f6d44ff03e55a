"""The mirror catalogue: package data ``data/mirrors.toml`` plus the user's custom mirrors.

Custom mirrors live in ``<dlsetup config dir>/mirrors.toml`` with the same schema; a custom entry with a
catalogue name replaces that entry. Everything is validated: a bad file is a one-line UsageError that
names the file, the line (for TOML syntax errors) and the field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dlsetup.errors import UsageError
from dlsetup.toolconfig.readers import ConfigFileError, parse_toml, read_text

LAYOUTS = ("simple", "flat", "stable_html")
URL_FIELDS = ("pip", "pip_files", "conda", "python_install", "hf")
KNOWN_FIELDS = {
    "name", "aliases", "auto", "legacy", "pip", "pip_files", "conda", "conda_channels", "python_install", "hf",
    "torch", "notes", "source", "checked",
}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
_VARIANT_RE = re.compile(r"^(cpu|cu\d{2,3}|rocm\d+(\.\d+)*|xpu)$")


@dataclass(frozen=True)
class TorchWheels:
    """Where a mirror serves PyTorch wheels, and in which layout."""

    url: str
    layout: str  # "simple" (upstream index layout, <variant>/torch/), "flat" (one dir per variant), "stable_html"
    variants: tuple[str, ...] = ()

    def url_for(self, variant: str) -> str:
        base = self.url.rstrip("/")
        if self.layout == "simple":
            return f"{base}/{variant}"
        if self.layout == "flat":
            return f"{base}/{variant}/"
        return self.url

    def serves(self, variant: str) -> bool:
        return variant in self.variants


@dataclass(frozen=True)
class Mirror:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    auto: bool = True
    legacy: bool = False
    pip: str | None = None
    pip_files: str | None = None
    conda: str | None = None
    conda_channels: tuple[str, ...] = ()
    python_install: str | None = None
    hf: str | None = None
    torch: TorchWheels | None = None
    notes: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    checked: str | None = None
    custom: bool = False
    origin: str = "catalogue"

    def carries(self, channel_path: str) -> bool:
        return channel_path in self.conda_channels

    def channel_url(self, channel_path: str) -> str:
        return f"{(self.conda or '').rstrip('/')}/{channel_path}"

    def cloud_channels(self) -> list[str]:
        """Community channel names it carries under ``cloud/`` (conda-forge, bioconda, ...)."""
        return [c.split("/", 1)[1] for c in self.conda_channels if c.startswith("cloud/")]

    def pkgs_channels(self) -> list[str]:
        return [c for c in self.conda_channels if c.startswith("pkgs/")]

    @property
    def pip_http(self) -> bool:
        return bool(self.pip and self.pip.startswith("http://"))

    def urls(self) -> list[str]:
        """Every URL prefix that belongs to this mirror (to recognise its traces in config files)."""
        out = [u for u in (self.pip, self.pip_files, self.conda, self.python_install, self.hf) if u]
        if self.torch:
            out.append(self.torch.url)
        return out

    def to_dict(self) -> dict[str, Any]:
        """For display and ``--json``: credentials in (custom) URLs come out as ``***``."""
        from dlsetup.util.redact import redact_url

        def r(url: str | None) -> str | None:
            return redact_url(url) if url else url

        d: dict[str, Any] = {
            "id": self.id, "name": self.name, "aliases": list(self.aliases), "auto": self.auto,
            "legacy": self.legacy, "pip": r(self.pip), "pip_files": r(self.pip_files), "conda": r(self.conda),
            "conda_channels": list(self.conda_channels), "python_install": r(self.python_install), "hf": r(self.hf),
            "torch": None, "notes": list(self.notes), "source": list(self.source), "checked": self.checked,
            "custom": self.custom, "origin": self.origin,
        }
        if self.torch:
            d["torch"] = {"url": r(self.torch.url), "layout": self.torch.layout, "variants": list(self.torch.variants)}
        return d


@dataclass
class Catalog:
    mirrors: dict[str, Mirror] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return list(self.mirrors)

    def find(self, name: str) -> Mirror | None:
        key = name.strip().lower()
        key = self.aliases.get(key, key)
        return self.mirrors.get(key)

    def get(self, name: str) -> Mirror:
        """The mirror called ``name`` (or an alias); UsageError with the nearest names otherwise."""
        found = self.find(name)
        if found is not None:
            return found
        choices = sorted(set(self.mirrors) | set(self.aliases))
        close = difflib.get_close_matches(name.strip().lower(), choices, n=3, cutoff=0.5)
        close = list(dict.fromkeys(self.aliases.get(c, c) if c in self.aliases else c for c in close))
        if close:
            raise UsageError("mirror.error.unknown_suggest", name=name, suggestions=", ".join(close))
        raise UsageError("mirror.error.unknown", name=name)

    def auto_candidates(self) -> list[Mirror]:
        return [m for m in self.mirrors.values() if m.auto and not m.legacy]


_builtin: dict[str, Mirror] | None = None
_builtin_raw: dict[str, Any] = {}


def builtin_mirrors() -> dict[str, Mirror]:
    """The shipped catalogue (parsed once)."""
    global _builtin
    if _builtin is None:
        import copy

        path = resources.files("dlsetup.mirror").joinpath("data/mirrors.toml")
        text = path.read_text(encoding="utf-8")
        data = parse_toml(text, "dlsetup/mirror/data/mirrors.toml")
        _builtin_raw.update(copy.deepcopy(data.get("mirror", {})))
        _builtin = _parse_all(data, "dlsetup/mirror/data/mirrors.toml", custom=False)
    return dict(_builtin)


def custom_file() -> Path:
    from dlsetup.paths import config_dir

    return config_dir() / "mirrors.toml"


def load_catalog(custom_path: Path | None = None) -> Catalog:
    """Built-in mirrors plus the user's custom ones (custom wins on a name clash)."""
    mirrors = builtin_mirrors()
    path = custom_path or custom_file()
    try:
        text = read_text(path)
    except ConfigFileError as exc:
        raise UsageError("mirror.error.custom_invalid", path=exc.where(), reason=exc.reason) from None
    if text is not None and text.strip():
        try:
            data = parse_toml(text, path)
        except ConfigFileError as exc:
            raise UsageError("mirror.error.custom_invalid", path=exc.where(), reason=exc.reason) from None
        mirrors.update(_parse_all(data, str(path), custom=True))
    cat = Catalog(mirrors=mirrors)
    for m in mirrors.values():
        for alias in m.aliases:
            other = cat.aliases.get(alias)
            if (other and other != m.id) or (alias in mirrors and alias != m.id):
                if m.custom:
                    raise UsageError("mirror.error.custom_invalid", path=str(path),
                                     reason=f"mirror.{m.id}.aliases: '{alias}' already names {other or alias}")
                continue
            cat.aliases[alias] = m.id
    return cat


def _parse_all(data: dict[str, Any], path: str, custom: bool) -> dict[str, Mirror]:
    def bad(where: str, reason: str) -> UsageError:
        return UsageError("mirror.error.custom_invalid", path=path, reason=f"{where}: {reason}")

    unknown_top = set(data) - {"schema", "mirror"}
    if unknown_top:
        raise bad(sorted(unknown_top)[0], "unknown top-level key (expected [mirror.<name>] tables)")
    table = data.get("mirror", {})
    if not isinstance(table, dict):
        raise bad("mirror", "must be a table of [mirror.<name>] entries")
    out: dict[str, Mirror] = {}
    for mid, entry in table.items():
        where = f"mirror.{mid}"
        if not _NAME_RE.match(mid):
            raise bad(where, "a mirror name uses lower-case letters, digits, '-', '_' or '.'")
        if not isinstance(entry, dict):
            raise bad(where, "must be a table")
        if custom and mid in _builtin_raw:  # a custom entry with a catalogue name changes only the fields it sets
            import copy

            entry = {**copy.deepcopy(_builtin_raw[mid]), **entry}
        unknown = set(entry) - KNOWN_FIELDS
        if unknown:
            raise bad(f"{where}.{sorted(unknown)[0]}", "unknown field; known: " + ", ".join(sorted(KNOWN_FIELDS)))
        for key in URL_FIELDS:
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value)):
                raise bad(f"{where}.{key}", "must be an http:// or https:// URL")
        for key in ("aliases", "conda_channels", "notes", "source"):
            value = entry.get(key, [])
            if isinstance(value, str) and key in ("notes", "source"):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(f"{where}.{key}", "must be a list of strings")
            entry[key] = value
        for key in ("auto", "legacy"):
            if key in entry and not isinstance(entry[key], bool):
                raise bad(f"{where}.{key}", "must be true or false")
        if entry.get("conda_channels") and not entry.get("conda"):
            raise bad(f"{where}.conda_channels", "needs 'conda' (the base URL the channels live under)")
        for ch in entry.get("conda_channels", []):
            if not re.match(r"^(pkgs|cloud)/[A-Za-z0-9_.\-]+$", ch):
                raise bad(f"{where}.conda_channels", f"'{ch}' is not pkgs/<name> or cloud/<name>")
        checked = entry.get("checked")
        if checked is not None and (not isinstance(checked, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", checked)):
            raise bad(f"{where}.checked", "must be a date written YYYY-MM-DD")
        if not custom and (not entry.get("source") or not checked):
            raise bad(where, "catalogue entries need 'source' and 'checked'")
        torch = None
        if "torch" in entry:
            t = entry["torch"]
            if not isinstance(t, dict):
                raise bad(f"{where}.torch", "must be a table with url, layout, variants")
            extra = set(t) - {"url", "layout", "variants"}
            if extra:
                raise bad(f"{where}.torch.{sorted(extra)[0]}", "unknown field; known: url, layout, variants")
            if not isinstance(t.get("url"), str) or not re.match(r"^https?://", t["url"]):
                raise bad(f"{where}.torch.url", "must be an http:// or https:// URL")
            if t.get("layout") not in LAYOUTS:
                raise bad(f"{where}.torch.layout", "must be one of: " + ", ".join(LAYOUTS))
            variants = t.get("variants", [])
            if not isinstance(variants, list) or not all(isinstance(v, str) and _VARIANT_RE.match(v) for v in variants):
                raise bad(f"{where}.torch.variants", "must be a list like [\"cpu\", \"cu126\"]")
            torch = TorchWheels(t["url"], t["layout"], tuple(variants))
        if not any(entry.get(k) for k in ("pip", "conda", "hf", "python_install")) and torch is None:
            raise bad(where, "needs at least one of pip, conda, torch, hf")
        name = entry.get("name", mid)
        if not isinstance(name, str):
            raise bad(f"{where}.name", "must be a string")
        out[mid] = Mirror(
            id=mid, name=name, aliases=tuple(a.lower() for a in entry.get("aliases", [])),
            auto=entry.get("auto", True), legacy=entry.get("legacy", False),
            pip=entry.get("pip"), pip_files=entry.get("pip_files"), conda=entry.get("conda"),
            conda_channels=tuple(entry.get("conda_channels", [])), python_install=entry.get("python_install"),
            hf=entry.get("hf"), torch=torch, notes=tuple(entry.get("notes", [])),
            source=tuple(entry.get("source", [])), checked=checked, custom=custom,
            origin=path if custom else "catalogue",
        )
    return out


def owner_of(url: str, catalog: Catalog | None = None) -> Mirror | None:
    """The catalogue (or custom) mirror a URL belongs to, by URL prefix."""
    cat = catalog or load_catalog()
    u = _norm(url)
    best: tuple[int, Mirror] | None = None
    for m in cat.mirrors.values():
        for prefix in m.urls():
            p = _norm(prefix)
            if u.startswith(p) and (best is None or len(p) > best[0]):
                best = (len(p), m)
    return best[1] if best else None


def is_torch_url(url: str, catalog: Catalog | None = None) -> bool:
    """A PyTorch wheel location: upstream download.pytorch.org/whl or any mirror's torch URL."""
    u = _norm(url)
    if u.startswith("https://download.pytorch.org/whl"):
        return True
    cat = catalog or load_catalog()
    for m in cat.mirrors.values():
        if m.torch:
            base = _norm(m.torch.url)
            if m.torch.layout == "stable_html":
                base = base.rsplit("/", 1)[0]
            if u.startswith(base):
                return True
    return False


def is_mirror_torch_url(url: str, catalog: Catalog | None = None) -> bool:
    """A PyTorch wheel location on a mirror (not the upstream index)."""
    return is_torch_url(url, catalog) and not _norm(url).startswith("https://download.pytorch.org/whl")


def _norm(url: str) -> str:
    """Lower-case, no credentials, no trailing slash: for prefix comparison only."""
    return re.sub(r"://[^/@\s]*@", "://", url.strip()).rstrip("/").lower()
