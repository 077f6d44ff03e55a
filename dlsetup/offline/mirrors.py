"""Per-file fallback URLs: the same file on the mirrors the user named, then on the upstream source.

A wheel URL under PyPI's file store (``https://files.pythonhosted.org/packages/…``) or under a mirror's
copy of it (the catalogue's ``pip_files``) has the same relative path everywhere. A conda package URL
under ``https://conda.anaconda.org/<channel>/`` or ``https://repo.anaconda.com/pkgs/<x>/`` lives at
``<conda>/cloud/<channel>/`` or ``<conda>/pkgs/<x>/`` on a mirror that carries that channel (the
catalogue's ``conda`` and ``conda_channels``; see ``dlsetup/mirror/data/mirrors.toml`` for the sources).
The first URL stays the one the index, lock or repodata gave (the user's configured mirror); the
engine only ever keeps a file whose sha256 matches, wherever it came from.
"""

from __future__ import annotations

PYPI_FILES = "https://files.pythonhosted.org/packages"
CONDA_CLOUD = "https://conda.anaconda.org"
ANACONDA_PKGS = "https://repo.anaconda.com/pkgs"


def load(names: list[str]) -> list:
    """Catalogue (or custom) mirrors by name or alias; UsageError for an unknown one."""
    if not names:
        return []
    from dlsetup.mirror.catalog import load_catalog

    cat = load_catalog()
    return [cat.get(n) for n in names]


def _pip_rel(url: str, mirrors: list) -> str | None:
    for base in [PYPI_FILES, *(m.pip_files for m in mirrors if m.pip_files)]:
        b = base.rstrip("/") + "/"
        if url.startswith(b):
            return url[len(b):]
    return None


def _conda_rel(url: str, mirrors: list) -> tuple[str, str] | None:
    """(``cloud/<channel>`` or ``pkgs/<x>``, the rest ``<subdir>/<file>``) of a conda package URL."""
    if url.startswith(CONDA_CLOUD + "/"):
        chan, _, rest = url[len(CONDA_CLOUD) + 1:].partition("/")
        return f"cloud/{chan}", rest
    if url.startswith(ANACONDA_PKGS + "/"):
        chan, _, rest = url[len(ANACONDA_PKGS) + 1:].partition("/")
        return f"pkgs/{chan}", rest
    for m in mirrors:
        if m.conda and url.startswith(m.conda.rstrip("/") + "/"):
            parts = url[len(m.conda.rstrip("/")) + 1:].split("/", 2)
            if len(parts) == 3 and parts[0] in ("cloud", "pkgs"):
                return f"{parts[0]}/{parts[1]}", parts[2]
    return None


def known() -> list:
    """Every catalogue and custom mirror (to recognise the mirror a planned URL is on)."""
    from dlsetup.mirror.catalog import load_catalog

    return list(load_catalog().mirrors.values())


def alternatives(url: str, mirrors: list, upstream: bool = True, recognise: list | None = None) -> list[str]:
    """``url`` first, then the same file on each mirror in order, then (``upstream``) on the source.

    ``recognise``: the mirrors whose URL layout is understood for ``url`` itself (default ``mirrors``);
    the planned URL is often on the user's configured mirror, which need not be a fallback.
    """
    out = [url]
    seen = [*mirrors, *(recognise or [])]
    rel = _pip_rel(url, seen)
    if rel is not None:
        out += [m.pip_files.rstrip("/") + "/" + rel for m in mirrors if m.pip_files]
        if upstream:
            out.append(f"{PYPI_FILES}/{rel}")
    else:
        found = _conda_rel(url, seen)
        if found is not None:
            key, rest = found
            out += [f"{m.conda.rstrip('/')}/{key}/{rest}" for m in mirrors if m.conda and m.carries(key)]
            if upstream:
                kind, chan = key.split("/", 1)
                out.append(f"{CONDA_CLOUD}/{chan}/{rest}" if kind == "cloud" else f"{ANACONDA_PKGS}/{chan}/{rest}")
    return list(dict.fromkeys(out))
