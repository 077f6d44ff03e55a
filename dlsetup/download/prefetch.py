"""Fetch a solved environment's conda packages through the download engine before rattler links them.

rattler downloads each package archive itself and starts over when a connection drops. Here every
archive that rattler's package cache does not already hold is fetched by :mod:`dlsetup.download.engine`
first (resumable, sha256-checked against the repodata, retried), and the record handed to rattler points
at that verified local copy. Afterwards the environment's ``conda-meta/*.json`` get their real channel
URLs back, so ``env export`` and locks never see the temporary ``file://`` paths.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _cached(pkgs_dir: Path, record) -> bool:
    stem = f"{record.name.normalized}-{record.version}-{record.build}"
    return (pkgs_dir / stem / "info").is_dir()


def is_local(name: str, version: str, build: str, sha256: str | None, pkgs_dir: Path) -> bool:
    """Whether installing this conda package downloads nothing: rattler's package cache holds it extracted, or
    the engine's store holds its verified archive (``<cache>/downloads/blobs/<sha256>``)."""
    if (pkgs_dir / f"{name}-{version}-{build}" / "info").is_dir():
        return True
    if sha256:
        from dlsetup.download.engine import cache_root

        return (cache_root() / "blobs" / sha256.lower()).is_file()
    return False


@contextmanager
def local_copies(records: list, pkgs_dir: Path) -> Iterator:
    """Point http(s) records at engine-fetched local copies; yields ``restore(prefix)`` for conda-meta."""
    from dlsetup.download.engine import FileRequest, fetch_all
    from dlsetup.paths import cache_dir

    todo = [r for r in records if str(r.url).startswith(("http://", "https://")) and not _cached(pkgs_dir, r)]
    if not todo:
        yield lambda prefix: None
        return
    root = cache_dir() / "downloads"
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="conda-", dir=root))
    original: dict[str, str] = {}
    try:
        reqs = []
        for r in todo:
            sha = getattr(r, "sha256", None)
            md5 = getattr(r, "md5", None)
            reqs.append(FileRequest(r.file_name, [str(r.url)], tmp / r.file_name, sha.hex() if sha else None,
                                    getattr(r, "size", None), md5.hex() if md5 else None))
        res = fetch_all(reqs)
        for r, f in zip(todo, res.files, strict=True):
            if f.status != "failed":  # a failed one stays with rattler, which reports its own error
                local = (tmp / r.file_name).as_uri()
                original[local] = str(r.url)
                r.url = local

        def restore(prefix: Path) -> None:
            meta = Path(prefix) / "conda-meta"
            for p in meta.glob("*.json") if meta.is_dir() else []:
                try:
                    doc = json.loads(p.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if isinstance(doc, dict) and doc.get("url") in original:
                    doc["url"] = original[doc["url"]]
                    p.write_text(json.dumps(doc, indent=2), encoding="utf-8")

        yield restore
    finally:
        for r in todo:
            if str(r.url) in original:
                r.url = original[str(r.url)]
        shutil.rmtree(tmp, ignore_errors=True)
