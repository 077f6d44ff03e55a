"""Render an installed environment in the formats people exchange.

* ``yaml`` — ``conda env export``: ``name``, ``channels``, ``dependencies`` (``name=version=build``, or
  ``name=version`` with ``--no-builds``, or the requested specs with ``--from-history``, which like conda
  leaves the pip section out), a ``pip:`` subsection, ``prefix``.
* ``explicit`` — ``conda list --explicit --md5``: ``@EXPLICIT`` then ``url#md5`` per package.
* ``requirements`` — ``conda list --export``: ``name=version=build``; pip packages as ``=pypi_0``.
* ``lock`` — a single-platform ``conda-lock.yml`` written with conda-lock's own models and writer, which
  ``dlsetup env install`` (and ``micromamba create -f``) can rebuild the environment from.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from dlsetup.envs.model import Package

FORMATS = ("yaml", "explicit", "lock", "requirements", "pylock")  # pylock: venv environments (PEP 751)
_PLAIN = re.compile(r"^[A-Za-z0-9_/.][A-Za-z0-9_.\-=<>!*,/:@+~ \[\]'|]*$")
HEADER = ("# This file may be used to create an environment using:\n"
          "# $ conda create --name <env> --file <this file>\n")


def _q(value: str) -> str:
    """A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML)."""
    if _PLAIN.match(value) and ": " not in value and " #" not in value and not value.endswith(":"):
        return value
    return json.dumps(value, ensure_ascii=False)


def channel_names(records: list[dict[str, Any]]) -> list[str]:
    from dlsetup.envs.channels import display_name

    names: list[str] = []
    for rec in records:
        ch = rec.get("channel")
        if ch:
            n = display_name(str(ch))
            if n not in names:
                names.append(n)
    return names


def to_yaml(name: str | None, prefix: Path, records: list[dict[str, Any]], pip_packages: list[Package], *,
            from_history: dict[str, str] | None = None, no_builds: bool = False) -> str:
    lines = [f"name: {_q(name or prefix.name)}", "channels:"]
    lines += [f"  - {_q(c)}" for c in channel_names(records)]
    lines.append("dependencies:")
    if from_history is not None:
        lines += [f"  - {_q(s)}" for s in from_history.values()]
    else:
        for rec in records:
            spec = f"{rec['name']}={rec['version']}" + ("" if no_builds else f"={rec.get('build', '')}")
            lines.append(f"  - {_q(spec)}")
        if pip_packages:
            lines.append("  - pip:")
            lines += [f"      - {_q(f'{p.name}=={p.version}')}" for p in pip_packages]
    lines.append(f"prefix: {_q(str(prefix))}")
    return "\n".join(lines) + "\n"


def to_explicit(records: list[dict[str, Any]], platform: str) -> str:
    from dlsetup.util.redact import redact_url

    body = [f"{redact_url(r['url'])}#{r['md5']}" if r.get("md5") else redact_url(r["url"])
            for r in records if r.get("url")]
    return HEADER + f"# platform: {platform}\n@EXPLICIT\n" + "".join(line + "\n" for line in body)


def to_requirements(records: list[dict[str, Any]], pip_packages: list[Package], platform: str, *,
                    no_builds: bool = False) -> str:
    lines = [f"{r['name']}={r['version']}" + ("" if no_builds else f"={r.get('build', '')}") for r in records]
    lines += [f"{p.name}={p.version}" + ("" if no_builds else "=pypi_0") for p in pip_packages]
    return HEADER + f"# platform: {platform}\n" + "".join(line + "\n" for line in lines)


def to_lock(prefix: Path, records: list[dict[str, Any]], pip_packages: list[Package], platform: str) -> tuple[str, list[str]]:
    """A conda-lock v1 file for this environment; returns (text, names of pip packages it had to leave out)."""
    from dlsetup.envs.locking import require_conda_lock

    require_conda_lock()  # the optional dlsetup[lock] extra; says how to get it when missing
    from conda_lock.lockfile import write_conda_lock_file
    from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency, Lockfile, LockMeta
    from conda_lock.models.channel import Channel

    deps = []
    for r in records:
        if not r.get("url"):
            continue
        depends = {}
        for d in r.get("depends") or []:
            n, _, v = str(d).partition(" ")
            depends[n] = v
        deps.append(LockedDependency(name=r["name"], version=str(r["version"]), manager="conda", platform=platform,
                                     dependencies=depends, url=r["url"],
                                     hash=HashModel(md5=r.get("md5") or "", sha256=r.get("sha256")),
                                     categories={"main"}))
    left_out = []
    for p in pip_packages:
        if not p.url or not p.sha256:
            left_out.append(p.name)
            continue
        deps.append(LockedDependency(name=p.name, version=p.version, manager="pip", platform=platform,
                                     dependencies={}, url=p.url, hash=HashModel(sha256=p.sha256),
                                     categories={"main"}))
    channels = []
    for r in records:
        ch = str(r.get("channel") or "").rstrip("/")
        if ch and ch not in channels:
            channels.append(ch)
    # There is no input spec to hash for an export: hash what is installed, so two exports of the
    # same environment agree and any change shows.
    digest = hashlib.sha256("\n".join(sorted(d.url for d in deps)).encode()).hexdigest()
    lock = Lockfile(package=deps, metadata=LockMeta(content_hash={platform: digest},
                                                    channels=[Channel.from_string(c) for c in channels],
                                                    platforms=[platform], sources=[str(prefix)]))
    with tempfile.TemporaryDirectory(prefix="dlsetup-export-") as tmp:
        path = Path(tmp) / "conda-lock.yml"
        write_conda_lock_file(lock, path, metadata_choices=None)
        return path.read_text(encoding="utf-8"), left_out
