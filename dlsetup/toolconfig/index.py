"""Reading package-index pages: the one parser for PEP 503 HTML, PEP 691 JSON and flat ``find-links``
pages, with file names, versions and tags read by ``packaging`` (the library pip and uv's Python side
agree with). ``resolve --check-index`` and ``mirror probe`` both use it; neither speaks HTTP here.

Links are read with ``html.parser`` (PEP 503: each file is an ``<a href>``; ``data-requires-python`` and
``data-yanked`` are attributes); the file name is the last path segment of the href, URL-decoded
(``torch-2.6.0%2Bcu126-…whl`` is ``torch-2.6.0+cu126-…whl``).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"  # PEP 691 content negotiation


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str  # absolute, without the #hash fragment
    requires_python: str = ""
    yanked: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"filename": self.filename, "url": self.url, "requires_python": self.requires_python}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "a":
            a = {k.lower(): v or "" for k, v in attrs}
            if a.get("href"):
                self.links.append(a)


def files_from_html(text: str, base: str) -> list[IndexFile]:
    parser = _Links()
    parser.feed(text)
    out = []
    for a in parser.links:
        url = urljoin(base, a["href"].strip()).split("#", 1)[0]
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if name:
            out.append(IndexFile(name, url, a.get("data-requires-python", ""), "data-yanked" in a))
    return out


def files_from_json(doc: dict[str, Any], base: str) -> list[IndexFile]:
    out = []
    for f in doc.get("files", []) if isinstance(doc, dict) else []:
        if isinstance(f, dict) and f.get("filename"):
            out.append(IndexFile(str(f["filename"]), urljoin(base, str(f.get("url", ""))).split("#", 1)[0],
                                 str(f.get("requires-python") or ""), bool(f.get("yanked"))))
    return out


def project_url(index_url: str, project: str) -> str:
    """``<index>/<normalised name>/`` (PEP 503)."""
    from dlsetup.util.names import canonical_name

    return index_url.rstrip("/") + "/" + canonical_name(project) + "/"


def wheel(filename: str) -> tuple[str, Any, frozenset] | None:
    """(normalised name, ``packaging`` Version, tags) of a wheel file name; None if it is not a valid one."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    return str(name), version, tags


def file_version(filename: str, project: str) -> str | None:
    """The version of ``project`` a wheel or sdist file carries; None for another project or another file."""
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    from dlsetup.util.names import canonical_name

    want = canonical_name(project)
    w = wheel(filename)
    if w is not None:
        return str(w[1]) if w[0] == want else None
    if not filename.endswith((".tar.gz", ".zip")):
        return None
    try:
        name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return None
    return str(version) if name == want else None
