"""Wheels through dlsetup's download engine first, then pip or uv installs the local copies.

pip and uv download each wheel themselves and start over when a connection drops (a CUDA torch stack
is several GB). Here the installer only *plans*: ``uv pip compile --format pylock.toml`` (URL and sha256
of every wheel, uv reads only the metadata) for a fresh venv with uv, else ``pip install --dry-run
--report`` with the environment's own interpreter (exactly what pip would install there, packages
already installed included) when that pip is 25.3 or newer (older ones download every wheel in full
just to plan). :mod:`dlsetup.download.engine` fetches the planned wheels (resumable across
processes, sha256-checked, retried, per-file fallback along mirrors) into a wheelhouse, and the installer
installs them with ``--no-index --find-links <wheelhouse>`` (uv: ``--offline`` too) — no second download.

When a plan cannot be made or has something that is not a wheel for this interpreter (an sdist to build,
a VCS or local path), the caller installs the plain way, and :class:`WheelFetch` says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Alternatives = Callable[[str], list[str]]  # a planned URL → the URLs to try, in order (it first)
PIP_METADATA_ONLY = (25, 3)  # the first pip whose install --dry-run does not download the wheels it plans


@dataclass
class Planned:
    name: str
    version: str
    url: str
    sha256: str | None = None
    size: int | None = None

    @property
    def filename(self) -> str:
        from urllib.parse import unquote

        return unquote(self.url.split("#", 1)[0].rsplit("/", 1)[-1])


@dataclass
class WheelFetch:
    """How the wheels of one install arrived (``CreateResult.wheel_fetch``)."""

    via: str  # "engine" (dlsetup fetched them; the installer ran --no-index) | "pip" | "uv" (the plain path)
    reason: str | None = None  # why the plain path, when it was
    files: int = 0
    from_cache: int = 0
    resumed: int = 0  # files continued from a partial download (an earlier drop or an earlier process)
    fallbacks: int = 0  # files taken from another URL than the planned one
    bytes_total: int = 0
    bytes_transferred: int = 0


@dataclass
class Wheelhouse:
    path: Path
    planned: list[Planned] = field(default_factory=list)

    def pins(self) -> list[str]:
        return [f"{p.name}=={p.version}" for p in self.planned]

    def by_local_uri(self) -> dict[str, Planned]:
        return {(self.path / p.filename).as_uri(): p for p in self.planned}


class PlanImpossible(Exception):
    """The plain install path is the one to take; the message says why (for the result)."""


def engine_wanted() -> bool:
    """``DLSETUP_WHEEL_FETCH=plain`` leaves every download to pip / uv."""
    return os.environ.get("DLSETUP_WHEEL_FETCH", "").strip().lower() not in ("plain", "0", "off", "no")


# --------------------------------------------------------------------------------------------- plan


def _check_wheel(name: str, version: str, url: str | None) -> str:
    if not url:
        raise PlanImpossible(f"{name} {version}: no download URL in the plan")
    bare = url.split("#", 1)[0]
    if not bare.startswith(("http://", "https://")):
        raise PlanImpossible(f"{name} {version}: not from an index ({bare.split(':', 1)[0]})")
    if not bare.endswith(".whl"):
        raise PlanImpossible(f"{name} {version}: no wheel, pip would build {bare.rsplit('/', 1)[-1]}")
    return bare


def from_pip_report(data: dict) -> list[Planned]:
    """``pip install --dry-run --report`` (pip ≥ 22.2; https://pip.pypa.io/en/stable/reference/installation-report/)."""
    out = []
    for item in data.get("install") or []:
        meta = item.get("metadata") or {}
        info = item.get("download_info") or {}
        name, version = str(meta.get("name", "?")), str(meta.get("version", "?"))
        if item.get("is_direct") and "archive_info" not in info:
            raise PlanImpossible(f"{name} {version}: a direct reference (VCS or local directory)")
        url = _check_wheel(name, version, info.get("url"))
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        out.append(Planned(name, version, url, hashes.get("sha256")))
    return out


def plan_with_pip(python: Path, reqfile: Path, index_args: list[str], env: dict[str, str], *,
                  no_deps: bool = False, timeout: float = 1800.0) -> list[Planned]:
    """What ``python -m pip install -r reqfile`` would download, from pip's own resolver (nothing installed)."""
    from dlsetup.output import log
    from dlsetup.util.proc import run
    from dlsetup.util.redact import redact_url

    v = run([str(python), "-m", "pip", "--version"], timeout=120, env=env)
    found = re.match(r"pip (\d+)\.(\d+)", (v.stdout or "").strip()) if v.ok else None
    if found is None:
        raise PlanImpossible("no pip in the environment to plan with")
    if (int(found.group(1)), int(found.group(2))) < PIP_METADATA_ONLY:
        # measured against the tests' loopback index: pip 25.2 fetches the whole wheel during --dry-run
        # even with PEP 658 metadata; 25.3 reads only the .metadata file (pypa/pip#12603, #13482)
        raise PlanImpossible(f"pip {found.group(1)}.{found.group(2)} would download every wheel just to plan "
                             f"(--dry-run reads metadata only from pip 25.3)")
    with tempfile.TemporaryDirectory(prefix="dlsetup-plan-") as tmp:
        report = Path(tmp) / "plan.json"
        argv = [str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--no-input",
                "--disable-pip-version-check", "--report", str(report), *index_args,
                *(["--no-deps"] if no_deps else []), "-r", str(reqfile)]
        log("+ " + redact_url(" ".join(argv)), 1)
        r = run(argv, timeout=timeout, env=env)
        if not r.ok or not report.is_file():
            lines = [ln.strip() for ln in (r.stderr or r.stdout or "").splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("ERROR:")]
            raise PlanImpossible("pip --dry-run: " + redact_url((errors or lines or ["failed"])[-1])[:300])
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PlanImpossible(f"pip --report: {exc}") from None
    return from_pip_report(data)


def interpreter_tags(version: str | None) -> dict[str, int]:
    """Wheel tags an interpreter of ``version`` (X.Y) on *this* machine accepts, best first."""
    from packaging import tags

    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if version is None or ".".join(version.split(".")[:2]) == here:
        ordered = list(tags.sys_tags())
    else:
        major, minor = (int(x) for x in version.split(".")[:2])
        plats = list(tags.platform_tags())
        ordered = list(tags.cpython_tags((major, minor), platforms=plats)) + list(
            tags.compatible_tags((major, minor), f"cp{major}{minor}", platforms=plats))
    return {str(t): i for i, t in enumerate(ordered)}


def from_pylock(text: str, version: str | None) -> list[Planned]:
    """The best wheel of each ``[[packages]]`` entry of a PEP 751 lock for an interpreter of ``version``."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from dlsetup.util import toml
    try:
        doc = toml.loads(text)
    except ValueError as exc:
        raise PlanImpossible(f"pylock.toml: {exc}") from None
    supported = interpreter_tags(version)
    out = []
    for pkg in doc.get("packages") or []:
        name, ver = str(pkg.get("name", "?")), str(pkg.get("version", "?"))
        best = None
        for w in pkg.get("wheels") or []:
            url = str(w.get("url") or "")
            try:
                _, _, _, wtags = parse_wheel_filename(w.get("name") or url.split("#", 1)[0].rsplit("/", 1)[-1])
            except InvalidWheelFilename:
                continue
            rank = min((supported.get(str(t), 10**6) for t in wtags), default=10**6)
            if rank < 10**6 and (best is None or rank < best[0]):
                best = (rank, w)
        if best is None:
            other = "sdist" if pkg.get("sdist") else "vcs" if pkg.get("vcs") else "directory" if pkg.get("directory") \
                else "archive" if pkg.get("archive") else "wheel for another interpreter"
            raise PlanImpossible(f"{name} {ver}: no wheel for this interpreter (the lock has: {other})")
        w = best[1]
        url = _check_wheel(name, ver, w.get("url"))
        size = w.get("size")
        out.append(Planned(name, ver, url, (w.get("hashes") or {}).get("sha256"),
                           size if isinstance(size, int) else None))
    return out


def plan_with_uv(uv: str, python: Path, reqfile: Path, index_args: list[str], env: dict[str, str], *,
                 version: str | None, no_deps: bool = False, timeout: float = 1800.0) -> list[Planned]:
    """``uv pip compile --format pylock.toml --python <the venv's python>``: every wheel with its sha256."""
    from dlsetup.output import log
    from dlsetup.util.proc import run
    from dlsetup.util.redact import redact_url

    with tempfile.TemporaryDirectory(prefix="dlsetup-plan-") as tmp:
        lock = Path(tmp) / "pylock.toml"  # uv insists on this name for the pylock format
        argv = [uv, "pip", "compile", str(reqfile), "--format", "pylock.toml", "-o", str(lock), "--no-header",
                "--quiet", "--python", str(python), *index_args, *(["--no-deps"] if no_deps else [])]
        log("+ " + redact_url(" ".join(argv)), 1)
        r = run(argv, timeout=timeout, env=env, cwd=tmp)
        if not r.ok or not lock.is_file():
            lines = [ln.strip() for ln in (r.stderr or r.stdout or "").splitlines() if ln.strip()]
            raise PlanImpossible("uv pip compile: " + redact_url(" ".join(lines[-2:]) or "failed")[:300])
        text = lock.read_text(encoding="utf-8")
    return from_pylock(text, version)


# -------------------------------------------------------------------------------------------- fetch


def fetch(planned: list[Planned], alternatives: Alternatives | None = None) -> tuple[Wheelhouse, WheelFetch]:
    """Every planned wheel through the engine into a fresh wheelhouse (``remove`` it when done).

    The wheelhouse sits in dlsetup's download cache; the verified files in it are hard links to the
    cache's content-addressed copies, and a transfer cut short stays there as ``.part`` for the next run.
    Raises OperationFailed naming the first wheel that no URL delivered with the right hash.
    """
    from dlsetup.download.engine import FileRequest, cache_root, fetch_all
    from dlsetup.errors import OperationFailed

    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    house = Wheelhouse(Path(tempfile.mkdtemp(prefix="wheels-", dir=root)), list(planned))
    reqs = [FileRequest(p.filename, (alternatives or (lambda u: [u]))(p.url), house.path / p.filename,
                        p.sha256, p.size) for p in planned]
    try:
        res = fetch_all(reqs)
    except BaseException:
        remove(house)
        raise
    if not res.ok:
        remove(house)
        bad = res.failed[0]
        raise OperationFailed("envs.error.wheel_fetch", file=bad.filename, reason=(bad.error or "?")[:400])
    info = WheelFetch(via="engine", files=len(planned), bytes_total=res.bytes_total,
                      bytes_transferred=res.bytes_transferred,
                      from_cache=sum(1 for f in res.files if f.status == "cached"),
                      resumed=sum(1 for f in res.files if f.resumed_from or f.attempts > 1),
                      fallbacks=sum(1 for f in res.files if f.tried))
    return house, info


def remove(house: Wheelhouse) -> None:
    shutil.rmtree(house.path, ignore_errors=True)
