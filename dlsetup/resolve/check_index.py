"""--check-index: ask the index whether the chosen wheels really exist for the target platform and Python.

Speaks the simple repository API (PEP 691 JSON, falling back to PEP 503 HTML) and flat ``find-links``
pages (``torch_stable.html``). A wheel counts when its file name parses, its version matches the
requirement (a requirement without a local tag accepts ``2.14.1+cu126``), one of its tags is supported
by the target interpreter/platform, and its ``data-requires-python`` admits the target Python.
"""

from __future__ import annotations

import re
from typing import Any

from dlsetup.resolve.model import Machine, Package
from dlsetup.util.redact import redact_url

PYPI_SIMPLE = "https://pypi.org/simple"
TIMEOUT = 20.0


def target_tags(machine: Machine) -> set[Any]:
    """The wheel tags an interpreter of ``machine.python`` on ``machine``'s platform accepts."""
    from packaging import tags

    py = tuple(int(x) for x in machine.python.split(".")[:2])
    arch = machine.arch
    if machine.os == "windows":
        platforms = ["win_amd64" if arch == "x86_64" else "win_arm64"]
    elif machine.os == "macos":
        a = "arm64" if arch in ("aarch64", "arm64") else "x86_64"
        platforms = [f"macosx_{major}_{minor}_{x}" for major in range(16, 10, -1) for minor in (0,)
                     for x in (a, "universal2")]
        if a == "x86_64":
            platforms += [f"macosx_10_{minor}_{x}" for minor in range(15, 8, -1) for x in ("x86_64", "intel",
                                                                                      "universal2")]
    else:
        glibc = tuple(int(x) for x in (machine.glibc or "2.17").split(".")[:2])
        platforms = [f"manylinux_2_{m}_{arch}" for m in range(glibc[1], 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        platforms += [f"{name}_{arch}" for m, name in legacy.items() if glibc[1] >= m]
        platforms.append(f"linux_{arch}")
    out = set(tags.cpython_tags(python_version=py, platforms=platforms))
    out |= set(tags.compatible_tags(python_version=py, interpreter=f"cp{py[0]}{py[1]}", platforms=platforms))
    return out


def _files_from_html(text: str, base: str) -> list[dict[str, str]]:
    from dlsetup.toolconfig.index import files_from_html

    return [f.as_dict() for f in files_from_html(text, base)]


def list_files(client: Any, index_url: str, kind: str, project: str) -> list[dict[str, str]]:
    """The files an index offers for ``project`` (``kind`` "find-links" reads one flat page)."""
    from dlsetup.toolconfig import index

    if kind == "find-links":
        resp = client.get(index_url)
        resp.raise_for_status()
        return _files_from_html(resp.text, index_url)
    resp = client.get(index.project_url(index_url, project), headers={"Accept": index.JSON_ACCEPT})
    resp.raise_for_status()
    ctype = resp.headers.get("content-type", "")
    if "json" in ctype:
        return [f.as_dict() for f in index.files_from_json(resp.json(), str(resp.url))]
    return _files_from_html(resp.text, str(resp.url))


def find_wheel(files: list[dict[str, str]], package: Package, supported: set[Any], python: str) -> str | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from dlsetup.toolconfig.index import wheel
    from dlsetup.util.names import canonical_name

    req = package.requirement
    spec_text = req.split("]", 1)[-1] if "]" in req else req[len(re.match(r"[A-Za-z0-9._-]+", req).group(0)):]
    spec = SpecifierSet(spec_text)
    want = canonical_name(package.name)
    for f in files:
        name = f["filename"]
        parsed = wheel(name)
        if parsed is None:
            continue
        wname, version, wtags = parsed
        if wname != want or not spec.contains(version, prereleases=True):
            continue
        if not (set(wtags) & supported):
            continue
        rp = f.get("requires_python")
        if rp:
            try:
                if not SpecifierSet(rp).contains(python + ".0", prereleases=True):
                    continue
            except InvalidSpecifier:
                pass
        return name
    return None


def check_packages(packages: list[Package], machine: Machine, index_url: str | None = None,
                   client: Any = None) -> list[dict[str, Any]]:
    """One entry per package: ``{"requirement", "index", "found", "file", "error", "status"}``.

    ``status``: "found"; "missing" (the index answered and has no matching wheel); "error" (the index could not
    be read: network, HTTP status); "skipped" (a conda package: not on a pip index, ``found`` is None).
    """
    import httpx

    from dlsetup.i18n import t

    supported = target_tags(machine)
    default = index_url or _default_index()
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True, trust_env=True)
    out = []
    try:
        for p in packages:
            if p.index_kind == "conda":
                out.append({"requirement": p.requirement, "index": redact_url(p.index_url or ""), "found": None,
                            "file": None, "error": t("resolve.check.conda"), "status": "skipped"})
                continue
            kind = p.index_kind if not index_url else ("find-links" if index_url.endswith(".html") else "index-url")
            where = index_url or p.index_url or default
            item: dict[str, Any] = {"requirement": p.requirement, "index": redact_url(where), "found": False,
                                    "file": None, "error": None, "status": "missing"}
            try:
                files = list_files(client, where, kind if kind == "find-links" else "simple", p.name)
                item["file"] = find_wheel(files, p, supported, machine.python)
                item["found"] = item["file"] is not None
                if item["found"]:
                    item["status"] = "found"
                else:
                    item["error"] = t("resolve.check.no_wheel", requirement=p.requirement,
                                      python=machine.python.replace(".", ""), platform=f"{machine.os}-{machine.arch}",
                                      count=len(files))
            except Exception as exc:  # network, HTTP status, bad page: the check failed, say why
                item["status"] = "error"
                item["error"] = t("resolve.check.error", error=redact_url(f"{type(exc).__name__}: {exc}")[:300])
            out.append(item)
    finally:
        if own:
            client.close()
    return out


def _default_index() -> str:
    """The index ``pip install`` would use. A pip config pip itself rejects is a usage error naming the
    file, not a silent check of PyPI."""
    from dlsetup.errors import UsageError
    from dlsetup.toolconfig import pip
    from dlsetup.toolconfig.readers import ConfigFileError

    try:
        return pip.index_url() or PYPI_SIMPLE
    except ConfigFileError as exc:
        raise UsageError("toolconfig.error.malformed", tool="pip", where=exc.where(), reason=exc.reason) from None
