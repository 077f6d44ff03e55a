"""Read a conda package spec the way ``conda`` reads one from an environment file.

py-rattler's solver parses spec *strings* strictly (``rattler/solver/solver.py`` builds
``PyMatchSpec(str(spec), True, ...)``), which rejects specs that conda has always accepted:
``pytorch-mutex=1.0=cuda`` (``conda env export``'s ``name=version=build``), ``cudatoolkit==11.3.*``,
``dask-cuda==24.10.*,>=0.0.0a0``. conda's own grammar is ``_parse_spec_str`` in
``conda/models/match_spec.py`` (conda/conda, snapshot 0f64223, 2026-08-21): strip a ``#`` comment and an
`` if `` conditional, take ``[key=value]`` brackets, split ``channel::`` off with ``rsplit(":", 2)``, split the
name from the rest with ``_NAME_VERSION_RE``, split version from build with ``_VERSION_BUILD_RE``, then
``_sanitize_version_str``: ``==1.2`` → ``1.2`` and ``=1.2`` → ``1.2*`` when there is no build.

:func:`parse` ports those steps (the regexes are conda's, copied with their names) and returns the
components conda would; :func:`to_matchspec` gives the rattler ``MatchSpec`` the solver gets, built in
rattler's lenient mode from the components, so the solve sees what conda would have asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# conda/models/match_spec.py: _BRACKETS_RE, _BRACKETS_KV_RE, _PARENS_RE, _NAME_VERSION_RE, _VERSION_BUILD_RE
_BRACKETS_RE = re.compile(r".*(?:(\[.*\]))")
_BRACKETS_KV_RE = re.compile(r"""([a-zA-Z0-9_-]+?)=(["\']?)([^\'"]*?)(\2)(?:[,\ ]|$)""")
_PARENS_RE = re.compile(r".*(?:(\(.*\)))")
_NAME_VERSION_RE = re.compile(r"([^\ =<>!~]+)?([><!=~\ ].+)?")
_VERSION_BUILD_RE = re.compile(r"((?:.+?)[^><!,|]?)(?:(?<![=!|,<>~])(?:[\ =])([^-=,|<>~]+?))?$")
_PACKAGE_EXTENSIONS = (".conda", ".tar.bz2")


class SpecError(ValueError):
    """conda would reject this spec too (``InvalidMatchSpec``); the message says why."""


@dataclass(frozen=True)
class CondaSpec:
    """The components conda's ``_parse_spec_str`` yields for one spec string."""

    original: str
    name: str
    version: str | None = None
    build: str | None = None
    channel: str | None = None
    subdir: str | None = None
    url: str | None = None  # a package file given directly (``…/name-1.0-0.conda``)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("name", self.name), ("version", self.version), ("build", self.build),
                                  ("channel", self.channel), ("subdir", self.subdir), ("url", self.url)) if v}

    def with_channel(self, channel: str | None) -> str:
        """The spec as rattler's lenient parser reads it, optionally with the channel replaced (a URL)."""
        body = self.name
        if self.version:
            body += f" {self.version}"
        if self.build:
            body += f" {self.build}" if self.version else f" * {self.build}"
        ch = channel or self.channel
        if ch and self.subdir:
            ch = f"{ch}/{self.subdir}"
        return f"{ch}::{body}" if ch else body


def _sanitize_version_str(version: str, build: str | None) -> str:
    """conda's ``_sanitize_version_str``: ``==1.2.3`` → ``1.2.3`` and ``=1.2.3`` → ``1.2.3*`` (no build)."""
    if version in ("==", "=") or not version.startswith("="):
        return version
    bare = version.lstrip("=")
    if version.startswith("==") and build is None:
        return bare
    if not any(c in bare for c in "=,|"):
        if build is None and not bare.endswith("*"):
            return bare + "*"
        return bare
    return version


def _parse_version_plus_build(v_plus_b: str) -> tuple[str, str | None]:
    m = _VERSION_BUILD_RE.search(v_plus_b)
    if m:
        version, build = m.groups()
        build = build and build.strip()
    else:
        version, build = v_plus_b, None
    return (version and version.replace(" ", "")), build


def parse(spec_str: str) -> CondaSpec:
    """Components of ``spec_str`` as conda's legacy (classic-solver) parser yields them."""
    original = spec_str
    if "#" in spec_str:  # step 1: a comment
        spec_str = spec_str[: spec_str.index("#")]
    spec_str = spec_str.split(" if ", 1)[0].strip()  # step 1b: conditionals are ignored
    if not spec_str:
        raise SpecError("empty spec")
    if spec_str.endswith(_PACKAGE_EXTENSIONS):  # step 2: a package file
        fn = spec_str.rsplit("/", 1)[-1]
        stem = fn.removesuffix(".conda").removesuffix(".tar.bz2")
        try:
            name, version, build = stem.rsplit("-", 2)
        except ValueError:
            raise SpecError("a package file name is <name>-<version>-<build>") from None
        parts = spec_str.rsplit("/", 2)
        subdir = parts[1] if len(parts) == 3 else None
        return CondaSpec(original, name, version, build, subdir=subdir, url=spec_str)
    brackets: dict[str, str] = {}
    m3 = _BRACKETS_RE.match(spec_str)  # step 3: [key=value, ...]
    if m3:
        text = m3.group(1)
        spec_str = spec_str.replace(text, "")
        for kv in _BRACKETS_KV_RE.finditer(text[1:-1]):
            key, _, value, _ = kv.groups()
            if not key or not value:
                raise SpecError("key-value mismatch in brackets")
            brackets[key] = _sanitize_version_str(value, None) if key == "version" else value
    m4 = _PARENS_RE.match(spec_str)  # step 4: (optional) parens are parsed and dropped
    if m4:
        spec_str = spec_str.replace(m4.group(1), "")
    parts = spec_str.rsplit(":", 2)  # step 5: channel::name
    channel = subdir = None
    if len(parts) == 3:
        channel, _namespace, spec_str = parts
    elif len(parts) == 2:
        _namespace, spec_str = parts
    channel = channel or None
    if channel and "/" in channel and not re.match(r"^[a-z][a-z0-9+.-]*://", channel):
        head, _, tail = channel.rpartition("/")  # conda-forge/linux-64::pkg
        if re.fullmatch(r"(linux|osx|win|noarch|emscripten|wasi)(-[a-z0-9_]+)?", tail):
            channel, subdir = head, tail
    if "channel" in brackets:
        channel = brackets.pop("channel")
    if "subdir" in brackets:
        subdir = brackets.pop("subdir")
    m6 = _NAME_VERSION_RE.match(spec_str.strip())  # step 6: the name
    if not m6 or not m6.group(1):
        raise SpecError("no package name found")
    name, rest = m6.groups()
    rest = rest and rest.strip()
    version = build = None
    if rest:  # step 7: version and build
        if "[" in rest:
            raise SpecError("multiple brackets sections not allowed")
        version, build = _parse_version_plus_build(rest)
        version = _sanitize_version_str(version, build)
        if version in ("==", "=", "<=", ">=", "<", ">", "!=", "~="):
            raise SpecError(f"the version operator {version!r} has no version")
    version = brackets.pop("version", version)
    build = brackets.pop("build", build)
    return CondaSpec(original, name, version or None, build or None, channel=channel, subdir=subdir)


def to_matchspec(spec: CondaSpec | str, channel_url: str | None = None):
    """The rattler ``MatchSpec`` the solver gets for ``spec`` (lenient mode, conda's components)."""
    from rattler import MatchSpec

    cs = parse(spec) if isinstance(spec, str) else spec
    return MatchSpec(cs.with_channel(channel_url), strict=False)


def name_of(spec_str: str) -> str:
    """The package name of a spec, or the string itself when conda could not parse it."""
    try:
        return parse(spec_str).name.lower()
    except SpecError:
        return spec_str.strip().lower()
