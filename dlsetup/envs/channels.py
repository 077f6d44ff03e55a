"""Channel names → URLs, through the user's conda configuration (and so through the mirror they chose).

``conda-forge`` becomes ``<channel_alias>/conda-forge`` unless ``custom_channels`` maps it elsewhere;
``defaults`` expands to ``default_channels``. URLs pass through; a local directory becomes ``file://``.
Name mapping is helper M's ``dlsetup.mirror.api.conda_channel_urls`` when it exists, else the same rules
read here from the merged ``.condarc`` (conda/models/channel.py semantics).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
# conda's DEFAULT_CHANNELS_UNIX (conda/base/constants.py)
DEFAULT_CHANNELS = ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]
FALLBACK_CHANNELS = ["conda-forge"]  # dlsetup's default when neither the user nor .condarc names one


def is_url(name: str) -> bool:
    return "://" in name


def is_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or (os.sep != "/" and os.sep in name)


def configured_channels(rc: dict | None = None) -> list[str]:
    """The channels the user configured (``.condarc`` ``channels``), or dlsetup's default (conda-forge)."""
    from dlsetup.envs import condarc

    rc = condarc.load() if rc is None else rc
    return list(rc.get("channels") or FALLBACK_CHANNELS)


def channel_urls(names: list[str], rc: dict | None = None) -> list[str]:
    """Map each channel name to the URL(s) it stands for, keeping order and dropping duplicates."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            out.extend(_names_to_urls(list(pending), rc))
            pending.clear()

    for name in names:
        name = name.strip()
        if not name:
            continue
        if is_url(name):
            flush()
            out.append(name.rstrip("/"))
        elif is_path(name):
            flush()
            out.append(Path(name).expanduser().resolve().as_uri())
        else:
            pending.append(name)
    flush()
    return list(dict.fromkeys(out))


def _names_to_urls(names: list[str], rc: dict | None) -> list[str]:
    try:
        from dlsetup.mirror.api import conda_channel_urls
    except ImportError:
        conda_channel_urls = None
    if conda_channel_urls is not None and rc is None:
        try:
            return [u.rstrip("/") for u in conda_channel_urls(names)]
        except Exception:  # noqa: BLE001 - fall back to our own reading of .condarc
            pass
    from dlsetup.envs import condarc

    rc = condarc.load() if rc is None else rc
    alias = str(rc.get("channel_alias") or DEFAULT_CHANNEL_ALIAS).rstrip("/")
    custom = rc.get("custom_channels") or {}
    urls: list[str] = []
    for name in names:
        if name == "defaults":
            defaults = rc.get("default_channels") or DEFAULT_CHANNELS
            urls += [d.rstrip("/") if is_url(d) else f"{alias}/{d}" for d in defaults]
            continue
        head = name.split("/", 1)[0]
        if head in custom:
            urls.append(f"{custom[head].rstrip('/')}/{name}")
        else:
            urls.append(f"{alias}/{name}")
    return urls


def display_name(url: str, rc: dict | None = None) -> str:
    """The short name conda prints for a channel URL (``conda-forge``), or the URL itself."""
    from dlsetup.envs import condarc
    from dlsetup.util.redact import redact_url

    rc = condarc.load() if rc is None else rc
    url = url.rstrip("/")
    bases = [str(rc.get("channel_alias") or DEFAULT_CHANNEL_ALIAS).rstrip("/")]
    bases += [v.rstrip("/") for v in (rc.get("custom_channels") or {}).values()]
    for base in bases:
        if url.startswith(base + "/"):
            return url[len(base) + 1:]
    return redact_url(url)
