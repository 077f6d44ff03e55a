"""New releases without a new dlsetup: refresh the generated data into the user's cache, verified and versioned.

``refresh_user_data()`` runs the refresh tool into a scratch folder, checks the result (every file parses with
this dlsetup's schema, every project is there, no release the shipped data knows has vanished), writes a
``manifest.json`` (schema, time, dlsetup version, SHA-256 of each file), and only then swaps it in for
``<cache>/compat/generated/``. The shipped data stays the offline fallback: :mod:`dlsetup.compat.generated`
prefers the user's copy only when it is valid and newer.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.compat import generated as gen


@dataclass
class UpdateResult:
    ok: bool
    dry_run: bool
    target: str
    generated: str | None = None
    files: list[str] = field(default_factory=list)
    projects: int = 0
    releases: int = 0
    new_releases: list[dict[str, str]] = field(default_factory=list)  # newer than the shipped data knows
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(folder: Path) -> tuple[list[str], list[dict[str, str]], int, int]:
    """``(problems, new releases, projects, releases)`` of a freshly generated folder against the shipped data."""
    from dlsetup.compat.refresh import PROJECTS

    problems: list[str] = []
    new: list[dict[str, str]] = []
    n_proj = n_rel = 0
    for p in PROJECTS:
        group = p.group or p.name
        path = folder / f"{group}.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        if doc.get("schema") != gen.SCHEMA or not isinstance(doc.get("projects"), dict):
            problems.append(f"{path.name}: not schema {gen.SCHEMA}")
            continue
        proj = doc["projects"].get(p.name)
        if not proj or not proj.get("releases"):
            problems.append(f"{path.name}: no releases of {p.name}")
            continue
        n_proj += 1
        n_rel += len(proj["releases"])
        shipped = gen._read(gen.SHIPPED_DIR / f"{group}.json") or {"projects": {}}
        known = (shipped["projects"].get(p.name) or {}).get("releases", {})
        lost = sorted(set(known) - set(proj["releases"]))
        if lost:
            problems.append(f"{p.name}: releases missing from the index answer: {', '.join(lost[:5])}")
        for v in proj["releases"]:
            if v not in known:
                new.append({"project": p.name, "version": v, "date": proj["releases"][v].get("date") or ""})
    return problems, new, n_proj, n_rel


def refresh_user_data(*, dry_run: bool = False, transport=None, progress=None, target: Path | None = None,
                      concurrency: int = 8) -> UpdateResult:
    """Fetch the generated part from the package index into the user cache (see the module doc)."""
    from dlsetup import __version__
    from dlsetup.compat.refresh import default_cache, run

    dest = Path(target) if target is not None else gen.user_dir()
    scratch = dest.parent / f".{dest.name}.new-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result = UpdateResult(ok=False, dry_run=dry_run, target=str(dest), generated=stamp)
    try:
        ran = run(scratch, cache=default_cache(), transport=transport, concurrency=concurrency, stamp=stamp,
                  progress=progress)
        result.seconds = ran["seconds"]
        result.requests = ran["stats"]["requests"]
        problems, new, result.projects, result.releases = verify(scratch)
        result.problems = problems
        result.new_releases = sorted(new, key=lambda r: (r["project"], r["date"]))
        result.files = sorted(p.name for p in scratch.glob("*.json"))
        if problems:
            return result
        manifest = {"schema": gen.SCHEMA, "generated": stamp, "dlsetup": __version__,
                    "files": {name: _sha256(scratch / name) for name in result.files}}
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        result.ok = True
        if dry_run:
            return result
        old = dest.parent / f".{dest.name}.old-{os.getpid()}"
        if dest.exists():
            dest.rename(old)
        scratch.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
        gen.load_group.cache_clear()
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def refresh_checked(*, dry_run: bool = False, transport=None, progress=None) -> UpdateResult:
    """:func:`refresh_user_data` with network and disk errors as a one-line :class:`OperationFailed` (exit 1)."""
    import httpx

    from dlsetup.compat.index import IndexFetchError
    from dlsetup.errors import OperationFailed

    try:
        return refresh_user_data(dry_run=dry_run, transport=transport, progress=progress)
    except (IndexFetchError, httpx.HTTPError) as exc:
        raise OperationFailed("compat.error.network", error=str(exc) or type(exc).__name__) from exc
    except OSError as exc:
        raise OperationFailed("compat.error.write", error=str(exc)) from exc


def installed_manifest(folder: Path | None = None) -> dict[str, Any] | None:
    """The manifest of the user's refreshed data (None when there is none or it does not match its files)."""
    folder = folder or gen.user_dir()
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for name, digest in manifest["files"].items():
            if _sha256(folder / name) != digest:
                return None
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return None
