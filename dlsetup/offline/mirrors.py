"""Per-file fallback URLs: the same file on the mirrors the user named, then on the upstream source.

A wheel URL under PyPI's file store (``https://files.pythonhosted.org/packages/…``) or under a mirror's
copy of it (the catalogue's ``pip_files``) has the same relative path everywhere. A conda package URL
under ``https://conda.anaconda.org/<channel>/`` or ``https://repo.anaconda.com/pkgs/<x>/`` lives at
``<conda>/cloud/<channel>/`` or ``<conda>/pkgs/<x>/`` on a mirror that carries that channel (the
catalogue's ``conda`` and ``conda_channels``; see ``dlsetup/mirror/data/mirrors.toml`` for the sources).
The first URL stays the one the index, lock or repodata gave (the user's configured mirror); the
engine only ever keeps a file whose sha256 matches, wherever it came from.

:func:`fallback_chain` builds the list automatically: the mirrors named with ``--mirror``, the mirror the
user applied (the owner of the pip index in force, or the last ``dlsetup mirror NAME``), then the mirrors
the last cached probe (``dlsetup mirror probe`` / ``fastest``) found healthy, fastest first — then upstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


# ------------------------------------------------------------------------------ the automatic chain

PROBE_MAX_AGE_S = 7 * 24 * 3600  # an older probe says little about which mirrors are up today
PROBED_MAX = 3  # healthy probed mirrors to try after the user's own


@dataclass
class FallbackChain:
    """Where a file is looked for after its planned URL: the mirrors in order, then the upstream source."""

    mirrors: list = field(default_factory=list)  # catalogue Mirror objects, in the order tried
    why: dict[str, str] = field(default_factory=dict)  # mirror id → "named" | "applied" | "probed"
    every: list = field(default_factory=list)  # all known mirrors (to recognise the planned URL's mirror)

    def alternatives(self, url: str) -> list[str]:
        """``url`` first, then the same file on each mirror of the chain, then upstream (when any mirror)."""
        return alternatives(url, self.mirrors, upstream=bool(self.mirrors), recognise=self.every)

    def describe(self) -> list[dict]:
        return [{"mirror": m.id, "why": self.why.get(m.id, "")} for m in self.mirrors]


def applied_mirrors(catalog=None) -> list:
    """The mirror the user applied: the owner of the pip index in force (the tool configuration, however it
    got there), and the one ``dlsetup mirror NAME`` last applied (its journal), in that order."""
    from dlsetup.mirror import journal
    from dlsetup.mirror.catalog import load_catalog, owner_of
    from dlsetup.toolconfig import pip as pip_cfg
    from dlsetup.toolconfig.readers import ConfigFileError

    cat = catalog or load_catalog()
    out = []
    try:
        index = pip_cfg.index_url()
    except ConfigFileError:
        index = None  # a broken pip config is doctor's and mirror status's finding, not a download's
    owner = owner_of(index, cat) if index else None
    if owner is not None:
        out.append(owner)
    entry = journal.current_mirror()
    if entry is not None and entry.mirror:
        found = cat.find(entry.mirror)
        if found is not None:
            out.append(found)
    return out


def probed_healthy(catalog=None, now: float | None = None) -> list:
    """Mirrors the last cached ``dlsetup mirror probe`` / ``fastest`` found healthy, fastest first."""
    import time

    from dlsetup.mirror.catalog import load_catalog
    from dlsetup.mirror.probe import load_cache

    report = load_cache()
    if report is None or (now or time.time()) - float(report.created_unix or 0) > PROBE_MAX_AGE_S:
        return []
    cat = catalog or load_catalog()
    ranked = sorted((r for r in report.mirrors if r.ok), key=lambda r: r.rank or 10**6)
    return [m for m in (cat.find(r.mirror) for r in ranked) if m is not None]


def fallback_chain(named: list[str] | None = None, *, automatic: bool = True) -> FallbackChain:
    """``--mirror`` names first, then (``automatic``) the applied mirror and up to PROBED_MAX healthy
    probed ones; each mirror once. Upstream comes last (see :meth:`FallbackChain.alternatives`)."""
    from dlsetup.mirror.catalog import load_catalog

    cat = load_catalog()
    chain = FallbackChain(every=list(cat.mirrors.values()))

    def add(m, why: str) -> None:
        if all(m.id != have.id for have in chain.mirrors):
            chain.mirrors.append(m)
            chain.why[m.id] = why

    for m in [cat.get(n) for n in named or []]:
        add(m, "named")
    if automatic:
        for m in applied_mirrors(cat):
            add(m, "applied")
        for m in probed_healthy(cat)[:PROBED_MAX]:
            add(m, "probed")
    return chain
