"""How much the pip part of an environment downloads: for each pinned requirement, the wheel pip would pick from
the index page (PEP 503) for the environment's Python and this platform, and its size (PEP 700 ``size`` where the
index gives JSON is not needed: one HEAD request for ``Content-Length`` works on every index, static ones too).

Only the named wheels are measured, not their dependencies; a size that cannot be learnt is ``None``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

TIMEOUT_S = 5.0


def _tags(python: str | None):
    """Compatible tags, best first, for CPython ``python`` ("3.12") on this platform (this interpreter's tags when
    ``python`` is None)."""
    from packaging import tags

    if not python:
        return list(tags.sys_tags())
    version = tuple(int(x) for x in python.split(".")[:2])
    platforms = list(tags.platform_tags())
    return list(tags.cpython_tags(version, platforms=platforms)) + list(
        tags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms=platforms))


def pick_wheel(page_html: str, page_url: str, name: str, specifier, python: str | None) -> str | None:
    """The URL of the best wheel on an index page for ``name`` matching ``specifier``, or None."""
    from dlsetup.toolconfig.index import files_from_html, wheel
    from dlsetup.util.names import canonical_name

    rank = {tag: i for i, tag in enumerate(_tags(python))}
    want = canonical_name(name)
    best: tuple[int, object, str] | None = None
    for f in files_from_html(page_html, page_url):  # the one index-page reader (PEP 503 links)
        parsed = wheel(f.filename)
        if parsed is None:
            continue
        wname, version, wtags = parsed
        if wname != want or not specifier.contains(version, prereleases=True):
            continue
        score = min((rank[t] for t in wtags if t in rank), default=None)
        if score is None:
            continue
        key = (score, version)
        if best is None or (key[0] < best[0] or (key[0] == best[0] and key[1] > best[1])):
            best = (score, version, f.url)
    return best[2] if best else None


def _get(url: str, method: str = "GET"):
    import urllib.request

    req = urllib.request.Request(url, method=method, headers={"User-Agent": "dlsetup"})
    return urllib.request.urlopen(req, timeout=TIMEOUT_S)  # noqa: S310 - index URLs are http(s) by construction


def wheel_size(requirement: str, index_url: str, python: str | None) -> int | None:
    from packaging.requirements import InvalidRequirement, Requirement

    from dlsetup.toolconfig.index import project_url

    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return None
    if not index_url.startswith(("http://", "https://")):
        return None
    page = project_url(index_url, req.name)
    try:
        with _get(page) as resp:
            html = resp.read(4 << 20).decode("utf-8", "replace")
            page = resp.geturl()
        url = pick_wheel(html, page, req.name, req.specifier, python)
        if url is None:
            return None
        with _get(url, "HEAD") as resp:
            length = resp.headers.get("Content-Length")
        return int(length) if length and length.isascii() and length.isdigit() else None
    except (OSError, ValueError):
        return None


def pip_sizes(requirements: list[str], index_url: str | None, python: str | None) -> dict[str, int | None]:
    """``{requirement: bytes or None}``, the requests made in parallel."""
    reqs = [r for r in requirements if r and not r.startswith("-")]
    if not index_url or not reqs:
        return {r: None for r in reqs}
    with ThreadPoolExecutor(max_workers=min(8, len(reqs))) as pool:
        sizes = list(pool.map(lambda r: wheel_size(r, index_url, python), reqs))
    return dict(zip(reqs, sizes, strict=True))
