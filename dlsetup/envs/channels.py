"""Channel names → URLs, through the user's conda configuration (and so through the mirror they chose).

The expansion itself is conda's, implemented once in :mod:`dlsetup.toolconfig.conda`; this module adds
what environments need on top: dlsetup's default channel, local directories as ``file://`` URLs, and the
short name conda prints for a URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from dlsetup.toolconfig import conda

FALLBACK_CHANNELS = ["conda-forge"]  # dlsetup's default when neither the user nor .condarc names one


def is_url(name: str) -> bool:
    return "://" in name


def is_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or (os.sep != "/" and os.sep in name)


def configured_channels(rc: dict | None = None) -> list[str]:
    """The channels the user configured (``.condarc`` ``channels``), or dlsetup's default (conda-forge)."""
    rc = conda.load() if rc is None else rc
    return [str(c) for c in rc.get("channels") or FALLBACK_CHANNELS]


def channel_urls(names: list[str], rc: dict | None = None) -> list[str]:
    """Map each channel name to the URL(s) it stands for, keeping order and dropping duplicates."""
    expander = conda.Channels(conda.load() if rc is None else rc)
    out: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if is_url(name):
            out.append(name.rstrip("/"))
        elif is_path(name):
            out.append(Path(name).expanduser().resolve().as_uri())
        else:
            out += expander.urls(name)
    return list(dict.fromkeys(out))


def display_name(url: str, rc: dict | None = None) -> str:
    """The short name conda prints for a channel URL (``conda-forge``), or the URL itself."""
    from dlsetup.util.redact import redact_url

    expander = conda.Channels(conda.load() if rc is None else rc)
    url = url.rstrip("/")
    for base in [expander.alias, *expander.custom.values()]:
        if url.startswith(base + "/"):
            return url[len(base) + 1:]
    return redact_url(url)
