"""Read what goes into an environment from the files people have: ``environment.yml``, a conda-lock file,
a ``requirements.txt`` (pip's, or conda's ``conda list -e`` form), or an ``@EXPLICIT`` list.

Every problem is a UsageError that names the file (and line) — nothing is created from a file we could
not read completely.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from dlsetup.envs.model import EnvSpec
from dlsetup.errors import UsageError

_CONDA_PIN = re.compile(r"^[A-Za-z0-9_.\-]+=[^=<>!~ ][^=]*(=[^=]+)?$")  # name=1.2 or name=1.2=build


def is_pylock(path: Path) -> bool:
    """A PEP 751 lock file: ``pylock.toml`` or ``pylock.<name>.toml`` (the names the PEP allows)."""
    return re.fullmatch(r"pylock(\.[^.]+)?\.toml", Path(path).name.lower()) is not None


def detect_kind(path: Path, text: str) -> str:
    name = path.name.lower()
    # conda-lock 1.x files have no ``version:`` line; every version has top-level metadata and package
    if name.endswith(("-lock.yml", "-lock.yaml", ".lock.yml", ".lock.yaml")) or (
        re.search(r"^package:", text, re.M) and re.search(r"^metadata:", text, re.M)
    ):
        return "conda-lock"
    if re.search(r"^@EXPLICIT\s*$", text, re.M):
        return "explicit"
    if name.endswith((".yml", ".yaml")):
        return "environment-yaml"
    return "requirements"


def read(path: str | Path, platform: str | None = None) -> EnvSpec:
    """Parse an input file into an :class:`EnvSpec` (``kind`` says which form it was).

    ``platform`` (default: this machine's) decides which conda-lock ``# [selector]`` lines apply.
    """
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise UsageError("core.error.file_not_found", path=str(p)) from None
    except OSError as exc:
        raise UsageError("core.error.file_unreadable", path=str(p), reason=exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # conda's load_file (conda/env/env.py) falls back to UTF-16
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UsageError("core.error.file_unreadable", path=str(p), reason=str(exc)) from None
    kind = detect_kind(p, text)
    if kind == "environment-yaml":
        spec = _environment_yaml(p, text, platform)
    elif kind == "explicit":
        spec = _explicit(p, text)
    elif kind == "conda-lock":
        spec = EnvSpec(kind="conda-lock")
    else:
        spec = _requirements(p, text)
    spec.source = str(p.resolve())
    spec.kind = kind
    return spec


# conda-lock's platform selectors (conda_lock/src_parser/selectors.py, filter_platform_selectors): a line
# ending in ``# [sel]`` is kept only on the platforms whose set contains ``sel``.
PLATFORM_SELECTORS = {
    "linux-64": {"linux64", "unix", "linux"},
    "linux-aarch64": {"aarch64", "unix", "linux"},
    "linux-ppc64le": {"ppc64le", "unix", "linux"},
    "osx-64": {"osx64", "osx", "unix"},
    "osx-arm64": {"arm64", "osx", "unix"},
    "win-64": {"win", "win64"},
}
_SELECTOR = re.compile(r"(.+?)\s*(#.*)\[([^\[\]]+)\](?(2)[^\(\)]*)$")


def apply_selectors(text: str, platform: str | None) -> str:
    """Blank the lines whose selector excludes ``platform`` (blanked, not dropped: line numbers stay)."""
    if not platform or platform not in PLATFORM_SELECTORS:
        return text
    keep = PLATFORM_SELECTORS[platform]
    out = []
    for line in text.splitlines():
        m = None if line.lstrip().startswith("#") else _SELECTOR.match(line)
        out.append("" if m and m.group(3).strip() not in keep else line)
    return "\n".join(out) + "\n"


def _line_of(seq, i: int) -> int | None:
    try:
        return seq.lc.item(i)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _environment_yaml(p: Path, text: str, platform: str | None = None) -> EnvSpec:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from dlsetup.envs import matchspec
    from dlsetup.envs.virtual import current_platform

    try:
        data = YAML(typ="rt", pure=True).load(apply_selectors(text, platform or current_platform()))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise UsageError("envs.error.bad_file", path=str(p), reason=f"not valid YAML{line}") from None
    if not isinstance(data, dict):
        raise UsageError("envs.error.bad_file", path=str(p), reason="expected a mapping with 'dependencies'")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise UsageError("envs.error.bad_file", path=str(p), reason="'dependencies' must be a list")
    spec = EnvSpec(name=str(data["name"]) if data.get("name") else None, has_dependencies="dependencies" in data)
    for ch in data.get("channels") or []:
        if not isinstance(ch, str):
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"channel {ch!r} is not a string")
        if ch != "nodefaults":
            spec.channels.append(os.path.expandvars(ch))  # conda/env/env.py: _expand_channels
    for i, dep in enumerate(deps):
        line = _line_of(deps, i)
        where = f"{p}:{line}" if line else str(p)
        if dep is None:  # a list item blanked by a selector, or an empty "- "
            continue
        if isinstance(dep, str):
            s = dep.strip()
            try:
                matchspec.parse(s)
            except matchspec.SpecError as exc:
                raise UsageError("envs.error.bad_spec_at", spec=s, where=where, reason=str(exc)) from None
            spec.conda.append(s)
            spec.origins.setdefault(s, where)
        elif isinstance(dep, dict) and list(dep) == ["pip"] and isinstance(dep["pip"], list | type(None)):
            reqs = dep["pip"] or []
            for j, req in enumerate(reqs):
                if req is None:
                    continue
                pline = _line_of(reqs, j)
                for out in _pip_line(str(req), p):
                    spec.pip.append(out)
                    spec.origins.setdefault(out, f"{p}:{pline}" if pline else str(p))
        else:
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"line {line}: dependency #{i + 1} is not a spec: {dep!r}")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):  # conda/env/env.py: variables_validation
        raise UsageError("envs.error.bad_file", path=str(p), reason="'variables' must be a mapping")
    spec.variables = {str(k): "" if v is None else str(v) for k, v in variables.items()}
    platforms = data.get("platforms") or []
    spec.platforms = [str(x) for x in platforms] if isinstance(platforms, list) else []
    repos = data.get("pip-repositories") or []
    if isinstance(repos, list) and repos and not spec.pip_index_url:
        # conda-lock expands $VAR in repository URLs (conda_lock/models/pip_repository.py, posixpath.expandvars)
        urls = [posixpath.expandvars(str(r)) for r in repos]
        spec.pip_index_url = urls[0]
        spec.pip_extra_index_urls = urls[1:]
    return spec


_URL_OR_VCS = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://|[a-z]+\+[a-z]+://|git@)")


def _local_path(target: str, base: Path) -> str | None:
    """``target`` as an absolute path when it is a local path relative to ``base`` (else None)."""
    if _URL_OR_VCS.match(target) or target.startswith("-"):
        return None
    path_part, sep, extras = target.partition("[")
    candidate = base / path_part
    looks_like_path = path_part.startswith((".", "/", "~")) or "/" in path_part or "\\" in path_part
    if looks_like_path or candidate.exists():
        resolved = Path(path_part).expanduser()
        resolved = resolved if resolved.is_absolute() else (base / resolved).resolve()
        return str(resolved) + (sep + extras if sep else "")
    return None


def _pip_line(line: str, p: Path) -> list[str]:
    """One line of an environment.yml's pip section (a requirement or a pip option, as in a requirements
    file). conda runs pip in the yml's directory (conda/env/installers/pip.py, ``cwd=workdir``), so
    ``-r file``, ``-e .`` and relative paths are resolved against that directory here."""
    line = line.strip()
    base = p.parent.resolve()
    m = re.match(r"^(-r|--requirement|-c|--constraint)\s+(.+)$", line)
    if m:
        return [f"{m.group(1)} {(base / m.group(2)).resolve()}"]
    m = re.match(r"^(-e|--editable)\s+(.+)$", line)
    if m:
        local = _local_path(m.group(2).strip(), base)
        return [f"{m.group(1)} {local}" if local else line]
    if not line.startswith("-") and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*([<>=!~;@]|$)", line):
        local = _local_path(line, base)
        if local:
            return [local]
    return [line]


def _requirements(p: Path, text: str) -> EnvSpec:
    lines = [ln.strip() for ln in text.splitlines()]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    conda_form = "conda create --name <env> --file" in text or "# platform:" in text or (
        bool(body) and all(_CONDA_PIN.match(ln) for ln in body)
    )
    spec = EnvSpec()
    if conda_form:
        for n, ln in enumerate(lines, 1):
            if not ln or ln.startswith("#"):
                continue
            parts = ln.split("=")
            if len(parts) == 3 and parts[2] == "pypi_0":  # conda list -e marks pip packages this way
                spec.pip.append(f"{parts[0]}=={parts[1]}")
            elif len(parts) in (2, 3) and all(parts):
                spec.conda.append(" ".join([parts[0], f"=={parts[1]}", *parts[2:]]) if len(parts) == 3
                                  else f"{parts[0]}=={parts[1]}")
            elif re.match(r"^[A-Za-z0-9_.\-]+(\s*[<>=!~].*)?$", ln):
                spec.conda.append(ln)
            else:
                raise UsageError("envs.error.bad_file", path=str(p), reason=f"line {n} is not a conda spec: {ln}")
        return spec
    # pip's format: hand the whole file to pip, which understands all of it (options, hashes, -e, markers)
    spec.pip = [f"-r {p.resolve()}"]
    return spec


def _explicit(p: Path, text: str) -> EnvSpec:
    """An ``@EXPLICIT`` file (``conda list --explicit``): package URLs with ``#md5`` or ``#sha256:`` hashes."""
    spec = EnvSpec()
    for n, ln in enumerate(text.splitlines(), 1):
        ln = ln.strip()
        m = re.match(r"^#\s*platform:\s*(\S+)", ln)
        if m:
            spec.explicit_platform = m.group(1)
            continue
        if not ln or ln.startswith("#") or ln == "@EXPLICIT":
            continue
        if "://" not in ln:
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"line {n} is not a package URL: {ln}")
        url, _, digest = ln.partition("#")
        if digest and not re.fullmatch(r"[0-9a-fA-F]{32}|sha256:[0-9a-fA-F]{64}", digest):
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"line {n}: '{digest}' is neither an md5 "
                             "nor sha256:<hex>")
        spec.explicit_urls.append(ln)
        spec.origins.setdefault(url, f"{p}:{n}")
    if not spec.explicit_urls:
        raise UsageError("envs.error.bad_file", path=str(p), reason="no package URLs after @EXPLICIT")
    return spec


def explicit_platform(spec: EnvSpec) -> str | None:
    """The platform an @EXPLICIT list is for: its ``# platform:`` line, else the subdirs of its URLs."""
    if spec.explicit_platform:
        return spec.explicit_platform
    subdirs = {u.split("#", 1)[0].rsplit("/", 2)[-2] for u in spec.explicit_urls if u.count("/") >= 3}
    subdirs.discard("noarch")
    return subdirs.pop() if len(subdirs) == 1 else None


def explicit_digests(urls: list[str]) -> dict[str, tuple[str, str]]:
    """``name-version-build`` → (``md5`` | ``sha256``, hex digest) from an @EXPLICIT list's ``#…`` parts."""
    out: dict[str, tuple[str, str]] = {}
    for entry in urls:
        url, _, digest = entry.partition("#")
        if not digest:
            continue
        stem = url.rsplit("/", 1)[-1].removesuffix(".conda").removesuffix(".tar.bz2")
        kind, hexd = ("sha256", digest[7:]) if digest.startswith("sha256:") else ("md5", digest)
        out[stem] = (kind, hexd.lower())
    return out


def explicit_to_specs(urls: list[str]) -> tuple[list[str], list[str]]:
    """``…/<channel>/<subdir>/<name>-<version>-<build>.conda#md5`` → (channels, exact specs)."""
    channels: list[str] = []
    specs: list[str] = []
    for entry in urls:
        url = entry.split("#", 1)[0]
        base, _, fn = url.rpartition("/")
        channel = base.rpartition("/")[0]
        stem = fn.removesuffix(".conda").removesuffix(".tar.bz2")
        try:
            name, version, build = stem.rsplit("-", 2)
        except ValueError:
            raise UsageError("envs.error.bad_spec", spec=entry, reason="not <name>-<version>-<build>") from None
        if channel not in channels:
            channels.append(channel)
        specs.append(f"{name} =={version} {build}")
    return channels, specs


def add_python(spec: EnvSpec, python: str | None) -> None:
    """``--python X.Y`` → ``python=X.Y``; a pip section needs python and pip in the conda part."""
    from dlsetup.envs.matchspec import name_of

    names = {name_of(s) for s in spec.conda}
    if python:
        spec.conda = [s for s in spec.conda if name_of(s) != "python"]
        spec.conda.insert(0, f"python={python}")
        names.add("python")
    if spec.pip:
        if "python" not in names:
            spec.conda.insert(0, "python")
        if "pip" not in names:
            spec.conda.append("pip")
