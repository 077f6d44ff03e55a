"""Read what goes into an environment from the files people have: ``environment.yml``, a conda-lock file,
a ``requirements.txt`` (pip's, or conda's ``conda list -e`` form), or an ``@EXPLICIT`` list.

Every problem is a UsageError that names the file (and line) — nothing is created from a file we could
not read completely.
"""

from __future__ import annotations

import re
from pathlib import Path

from dlsetup.envs.model import EnvSpec
from dlsetup.errors import UsageError

_CONDA_PIN = re.compile(r"^[A-Za-z0-9_.\-]+=[^=<>!~ ][^=]*(=[^=]+)?$")  # name=1.2 or name=1.2=build


def detect_kind(path: Path, text: str) -> str:
    name = path.name.lower()
    if name.endswith(("-lock.yml", "-lock.yaml", ".lock.yml", ".lock.yaml")) or (
        re.search(r"^version:\s*1\s*$", text, re.M) and re.search(r"^package:", text, re.M)
        and re.search(r"^metadata:", text, re.M)
    ):
        return "conda-lock"
    if re.search(r"^@EXPLICIT\s*$", text, re.M):
        return "explicit"
    if name.endswith((".yml", ".yaml")):
        return "environment-yaml"
    return "requirements"


def read(path: str | Path) -> EnvSpec:
    """Parse an input file into an :class:`EnvSpec` (``kind`` says which form it was)."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError("core.error.file_not_found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("core.error.file_unreadable", path=str(p), reason=str(exc)) from None
    kind = detect_kind(p, text)
    if kind == "environment-yaml":
        spec = _environment_yaml(p, text)
    elif kind == "explicit":
        spec = _explicit(p, text)
    elif kind == "conda-lock":
        spec = EnvSpec(kind="conda-lock")
    else:
        spec = _requirements(p, text)
    spec.source = str(p.resolve())
    spec.kind = kind
    return spec


def _environment_yaml(p: Path, text: str) -> EnvSpec:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise UsageError("envs.error.bad_file", path=str(p), reason=f"not valid YAML{line}") from None
    if not isinstance(data, dict):
        raise UsageError("envs.error.bad_file", path=str(p), reason="expected a mapping with 'dependencies'")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise UsageError("envs.error.bad_file", path=str(p), reason="'dependencies' must be a list")
    spec = EnvSpec(name=str(data["name"]) if data.get("name") else None)
    for ch in data.get("channels") or []:
        if not isinstance(ch, str):
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"channel {ch!r} is not a string")
        if ch != "nodefaults":
            spec.channels.append(ch)
    for i, dep in enumerate(deps):
        if isinstance(dep, str):
            spec.conda.append(dep.strip())
        elif isinstance(dep, dict) and list(dep) == ["pip"] and isinstance(dep["pip"], list):
            for req in dep["pip"]:
                spec.pip.extend(_pip_line(str(req), p))
        else:
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"dependency #{i + 1} is not a spec: {dep!r}")
    platforms = data.get("platforms") or []
    spec.platforms = [str(x) for x in platforms] if isinstance(platforms, list) else []
    repos = data.get("pip-repositories") or []
    if isinstance(repos, list) and repos and not spec.pip_index_url:
        spec.pip_index_url = str(repos[0])
        spec.pip_extra_index_urls = [str(r) for r in repos[1:]]
    return spec


def _pip_line(line: str, p: Path) -> list[str]:
    """One line of an environment.yml's pip section (a requirement or a pip option, as in a requirements
    file); ``-r file`` / ``-c file`` are resolved against the yml's directory, as conda does."""
    line = line.strip()
    m = re.match(r"^(-r|--requirement|-c|--constraint)\s+(.+)$", line)
    if m:
        return [f"{m.group(1)} {(p.parent / m.group(2)).resolve()}"]
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
    spec = EnvSpec()
    for n, ln in enumerate(text.splitlines(), 1):
        ln = ln.strip()
        if not ln or ln.startswith("#") or ln == "@EXPLICIT":
            continue
        if "://" not in ln:
            raise UsageError("envs.error.bad_file", path=str(p), reason=f"line {n} is not a package URL: {ln}")
        spec.explicit_urls.append(ln)
    if not spec.explicit_urls:
        raise UsageError("envs.error.bad_file", path=str(p), reason="no package URLs after @EXPLICIT")
    return spec


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
    names = {re.split(r"[\s=<>!~\[]", s.split("::")[-1], maxsplit=1)[0].lower() for s in spec.conda}
    if python:
        spec.conda = [s for s in spec.conda if re.split(r"[\s=<>!~\[]", s.split("::")[-1], maxsplit=1)[0].lower() != "python"]
        spec.conda.insert(0, f"python={python}")
        names.add("python")
    if spec.pip:
        if "python" not in names:
            spec.conda.insert(0, "python")
        if "pip" not in names:
            spec.conda.append("pip")
