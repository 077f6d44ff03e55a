"""Small queries other capabilities ask of the mirror layer (resolve prints commands, envs creates envs).

* :func:`pip_index_url` — the index ``pip install`` would use now (None: PyPI, pip's default).
* :func:`conda_channel_urls` — channel names as the user's conda would expand them (custom_channels,
  channel_alias, default_channels / custom_multichannels), for tools that do not read ``.condarc``
  (py-rattler).
* :func:`torch_wheel_source` — where the mirror applied with dlsetup serves a PyTorch variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from dlsetup.mirror import effective

CONDA_ALIAS = "https://conda.anaconda.org"
# conda's DEFAULT_CHANNELS (conda/base/constants.py): main and r, plus msys2 on Windows
UPSTREAM_DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
UPSTREAM_DEFAULTS_WIN = ("https://repo.anaconda.com/pkgs/msys2",)


def pip_index_url(environ: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> str | None:
    """The index URL ``pip install`` would use (env var, ``[install]``, ``[global]``); None = PyPI."""
    c = effective.collect(environ, cwd, tools={"pip"})
    for f in c.found:
        if f.setting.tool == "pip" and f.slot == "pip:index-url" and f.setting.effective:
            return f.setting.value
    return None


def conda_channel_urls(names: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Channel names → URLs through the user's condarc files; ``defaults`` expands to several URLs."""
    import sys

    c = effective.collect(environ, None, tools={"conda"})
    alias = CONDA_ALIAS
    custom: dict[str, str] = {}
    default_channels: list[str] = []
    multichannel_defaults: list[str] = []
    for f in c.found:
        s = f.setting
        if s.tool != "conda" or not s.effective:
            continue
        if s.key == "channel_alias":
            alias = s.value
        elif s.key.startswith("custom_channels."):
            custom[s.key.split(".", 1)[1]] = s.value
        elif s.key == "default_channels":
            default_channels.append(s.value)
        elif s.key == "custom_multichannels.defaults":
            multichannel_defaults.append(s.value)
    out: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if "://" in name or name.startswith("file:"):
            urls = [name.rstrip("/")]
        elif name == "defaults":
            urls = multichannel_defaults or default_channels or list(
                UPSTREAM_DEFAULTS + (UPSTREAM_DEFAULTS_WIN if sys.platform.startswith("win") else ()))
            urls = [u if "://" in u else f"{alias.rstrip('/')}/{u}" for u in urls]
        elif _custom_key(name, custom):
            urls = [f"{custom[_custom_key(name, custom)].rstrip('/')}/{name}"]
        else:
            urls = [f"{alias.rstrip('/')}/{name}"]
        for u in urls:
            u = u.rstrip("/")
            if u not in out:
                out.append(u)
    return out


def _custom_key(name: str, custom: Mapping[str, str]) -> str | None:
    """The ``custom_channels`` entry that covers ``name``: the channel itself, or for a label channel
    (``conda-forge/label/dev``) its longest listed prefix, as conda's ``Channel.from_value`` does."""
    parts = name.split("/")
    for i in range(len(parts), 0, -1):
        key = "/".join(parts[:i])
        if key in custom:
            return key
    return None


def torch_wheel_source(variant: str) -> dict[str, str] | None:
    """``{"mirror", "url", "layout"}`` when the mirror applied with dlsetup serves ``variant``, else None."""
    from dlsetup.mirror import journal
    from dlsetup.mirror.catalog import load_catalog

    current = journal.current_mirror()
    if current is None or not current.mirror:
        return None
    try:
        m = load_catalog().find(current.mirror)
    except Exception:  # a broken custom mirrors.toml must not break resolve
        return None
    if m is None or m.torch is None or not m.torch.serves(variant):
        return None
    return {"mirror": m.id, "url": m.torch.url_for(variant), "layout": m.torch.layout}


def resolver_torch_variant() -> str | None:
    """The PyTorch variant (cu126, cpu, ...) dlsetup's resolver picks for this machine; None if it cannot tell."""
    try:
        from dlsetup.resolve import Request, live_machine, resolve
    except ImportError:
        return None
    resolution = resolve(Request(packages=["torch"], machine=live_machine()))
    if not getattr(resolution, "ok", False):
        return None
    for pkg in resolution.packages:
        if pkg.name == "torch" and pkg.variant:
            return str(pkg.variant)
    return None
