"""A small, polite client for the Python package index, for the compat refresh tool.

What it reads: the PEP 691 JSON project pages (``/simple/NAME/``) and each wheel's core metadata: the PEP 658
``<wheel URL>.metadata`` file, or, where the index has none, the ``*.dist-info/METADATA`` member read out of the
wheel with HTTP range requests (the zip's end record, its central directory and the one member; never the
whole wheel, which can be gigabytes).

Every answer is cached on disk, keyed by URL (ETag-aware for the pages, which change; wheel metadata never
changes because the wheel URL holds its hash). Requests carry a User-Agent, run through a bounded thread pool,
and are retried with exponential backoff on 429/5xx and transport errors.

``transport`` replaces the network (tests replay recorded answers through it); ``record`` names a folder where
each answer used is also written as one gzip JSON file (the format the replay transport serves).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from dlsetup import __version__

SIMPLE_BASE = "https://pypi.org/simple"
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
USER_AGENT = f"dlsetup-compat-refresh/{__version__} (+https://github.com/dlsetup/dlsetup)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class IndexFetchError(Exception):
    """The index did not answer usefully (after retries)."""


def simple_base() -> str:
    """The PEP 691 index to read: ``DLSETUP_INDEX_SIMPLE_URL`` (a mirror that serves the JSON form) or pypi.org."""
    import os

    return (os.environ.get("DLSETUP_INDEX_SIMPLE_URL") or SIMPLE_BASE).rstrip("/")


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def _write_gz(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{threading.get_ident()}")
    # mtime=0: the same answer gives the same bytes (recordings diff cleanly).
    with open(tmp, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    tmp.replace(path)


def read_entry(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (OSError, ValueError, EOFError):
        return None


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over a URL, read with HTTP range requests in blocks (for :mod:`zipfile`)."""

    BLOCK = 256 * 1024

    def __init__(self, client: IndexClient, url: str, size: int) -> None:
        self._client, self._url, self._size, self._pos = client, url, size, 0
        self._blocks: dict[int, bytes] = {}
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _fetch(self, start: int, end: int) -> None:
        """Fetch blocks covering [start, end) in one request."""
        first, last = start // self.BLOCK, (end - 1) // self.BLOCK
        missing = [b for b in range(first, last + 1) if b not in self._blocks]
        if not missing:
            return
        lo = missing[0] * self.BLOCK
        hi = min(self._size, (missing[-1] + 1) * self.BLOCK) - 1
        data = self._client.get_range(self._url, lo, hi)
        self.requests += 1
        for i, b in enumerate(range(missing[0], missing[-1] + 1)):
            self._blocks[b] = data[i * self.BLOCK:(i + 1) * self.BLOCK]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._size - self._pos
        end = min(self._size, self._pos + n)
        if end <= self._pos:
            return b""
        self._fetch(self._pos, end)
        out = bytearray()
        pos = self._pos
        while pos < end:
            b, off = divmod(pos, self.BLOCK)
            chunk = self._blocks[b][off:off + (end - pos)]
            if not chunk:
                break
            out += chunk
            pos += len(chunk)
        self._pos = pos
        return bytes(out)

    def readinto(self, buf) -> int:  # type: ignore[override]
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


class IndexClient:
    """Cached, bounded, retrying GETs against the package index."""

    def __init__(self, cache_dir: Path | None, *, transport: httpx.BaseTransport | None = None,
                 record: Path | None = None, concurrency: int = 8, retries: int = 4, backoff: float = 0.5,
                 revalidate: bool = True, timeout: float = 60.0) -> None:
        self.cache_dir = cache_dir
        self.record = record
        self.retries = retries
        self.backoff = backoff
        self.revalidate = revalidate
        self._sem = threading.BoundedSemaphore(max(1, concurrency))
        self.concurrency = max(1, concurrency)
        self.stats = {"requests": 0, "cached": 0, "not_modified": 0, "range_requests": 0, "retries": 0}
        self._lock = threading.Lock()
        self._client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=True,
                                    headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        delay = self.backoff
        last: Exception | None = None
        tries = self.retries + 1
        for attempt in range(self.retries + 1):
            if attempt >= tries:
                break
            if attempt:
                self._count("retries")
                time.sleep(delay)
                delay *= 2
            try:
                with self._sem:
                    self._count("requests")
                    resp = self._client.get(url, headers=headers)
            except httpx.TransportError as exc:
                last = exc
                if isinstance(exc, httpx.ConnectError):
                    tries = min(tries, 2)  # nothing listens there: one more try, not a minute of backoff
                continue
            if resp.status_code in RETRY_STATUS:
                last = IndexFetchError(f"{url}: HTTP {resp.status_code}")
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.isascii() and retry_after.isdigit():
                    delay = max(delay, min(float(retry_after), 30.0))
                continue
            return resp
        raise IndexFetchError(str(last))

    def _cache_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.json.gz"

    def _store(self, key: str, entry: dict[str, Any]) -> None:
        path = self._cache_path(key)
        if path is not None:
            _write_gz(path, entry)
        if self.record is not None:
            _write_gz(self.record / f"{key}.json.gz", entry)

    # ------------------------------------------------------------ API

    def get_text(self, url: str, accept: str | None = None, immutable: bool = False) -> dict[str, Any] | None:
        """``{"url", "status", "etag", "body"}`` for ``url`` (None for a 404). Cached; a cached page is revalidated
        with its ETag unless ``immutable`` (or the client was made with ``revalidate=False``)."""
        key = url_key(url)
        path = self._cache_path(key)
        cached = read_entry(path) if path is not None and path.is_file() else None
        if cached is not None and (immutable or not self.revalidate):
            self._count("cached")
            if self.record is not None:
                _write_gz(self.record / f"{key}.json.gz", cached)
            return cached if cached.get("status") == 200 else None
        headers = {"Accept": accept} if accept else {}
        if cached is not None and cached.get("etag"):
            headers["If-None-Match"] = cached["etag"]
        resp = self._send(url, headers)
        if resp.status_code == 304 and cached is not None:
            self._count("not_modified")
            if self.record is not None:
                _write_gz(self.record / f"{key}.json.gz", cached)
            return cached
        if resp.status_code == 404:
            entry = {"url": url, "status": 404, "etag": None, "body": ""}
            self._store(key, entry)
            return None
        if resp.status_code != 200:
            raise IndexFetchError(f"{url}: HTTP {resp.status_code}")
        entry = {"url": url, "status": 200, "etag": resp.headers.get("etag"), "body": resp.text}
        self._store(key, entry)
        return entry

    def project_page(self, project: str) -> dict[str, Any] | None:
        """The PEP 691 JSON page of ``project`` (parsed), or None when the index has no such project."""
        url = f"{simple_base()}/{project}/"
        entry = self.get_text(url, accept=JSON_ACCEPT)
        if entry is None:
            return None
        try:
            page = json.loads(entry["body"])
        except ValueError as exc:
            raise IndexFetchError(f"{url}: not JSON ({exc})") from exc
        page["_url"] = url
        return page

    def get_range(self, url: str, start: int, end: int) -> bytes:
        headers = {"Range": f"bytes={start}-{end}"}
        resp = self._send(url, headers)
        self._count("range_requests")
        if resp.status_code == 206:
            return resp.content
        if resp.status_code == 200 and len(resp.content) > end:
            return resp.content[start:end + 1]  # a server without range support (tests' tiny wheels only)
        raise IndexFetchError(f"{url}: range request answered HTTP {resp.status_code}")

    def wheel_metadata(self, file: dict[str, Any]) -> tuple[str, str] | None:
        """``(METADATA text, how)`` for one file entry of a project page; ``how`` is ``"pep658"`` or ``"range"``.

        The answer is cached under the PEP 658 URL (``<wheel URL>.metadata``) either way: the metadata of a
        wheel never changes, so it is read at most once.
        """
        url = file["url"]
        meta_url = url + ".metadata"
        key = url_key(meta_url)
        path = self._cache_path(key)
        cached = read_entry(path) if path is not None and path.is_file() else None
        if cached is not None and cached.get("status") == 200:
            self._count("cached")
            if self.record is not None:
                _write_gz(self.record / f"{key}.json.gz", cached)
            return cached["body"], cached.get("how", "pep658")
        declared = file.get("core-metadata") or file.get("data-dist-info-metadata")
        text = None
        how = "pep658"
        if declared or cached is None:
            resp = self._send(meta_url, {})
            if resp.status_code == 200:
                text = resp.text
        if text is None:
            size = file.get("size")
            if not size:
                return None
            text = self._metadata_by_range(url, int(size), file["filename"])
            how = "range"
            if text is None:
                return None
        self._store(key, {"url": meta_url, "status": 200, "etag": None, "body": text, "how": how})
        return text, how

    def _metadata_by_range(self, url: str, size: int, filename: str) -> str | None:
        raw = RangeFile(self, url, size)
        try:
            with zipfile.ZipFile(io.BufferedReader(raw, buffer_size=64 * 1024)) as zf:
                dist = filename.split("-")[0].lower()
                names = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
                names.sort(key=lambda n: not n.lower().startswith(dist))
                if not names:
                    return None
                return zf.read(names[0]).decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise IndexFetchError(f"{url}: cannot read the wheel's METADATA ({exc})") from exc


def _reduce(entry: dict[str, Any]) -> dict[str, Any]:
    """A recorded answer reduced to what the refresh tool reads: project pages keep their wheel entries without
    hashes; METADATA keeps its header block (the long description is dropped)."""
    body = entry.get("body") or ""
    if entry.get("url", "").endswith(".metadata"):
        head = body.split("\n\n", 1)[0]
        return {**entry, "body": head + "\n"}
    if entry.get("url", "").startswith(SIMPLE_BASE):
        try:
            page = json.loads(body)
        except ValueError:
            return entry
        page["files"] = [{k: v for k, v in f.items() if k != "hashes"} for f in page.get("files", [])
                         if str(f.get("filename", "")).endswith(".whl")]
        page["versions"] = []
        return {**entry, "body": json.dumps(page, separators=(",", ":"), sort_keys=True)}
    return entry


def pack_recordings(folder: Path, dest: Path, note: str = "") -> int:
    """Pack the answers recorded into ``folder`` (``IndexClient(record=...)``) into one gzip JSON-lines file,
    reduced (see :func:`_reduce`); returns the number of answers."""
    entries = [e for e in (read_entry(p) for p in sorted(Path(folder).glob("*.json.gz"))) if e]
    entries.sort(key=lambda e: e["url"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write((json.dumps({"note": note}) + "\n").encode("utf-8"))
        for e in entries:
            gz.write((json.dumps(_reduce(e), sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
    return len(entries)


def load_recordings(path: Path) -> dict[str, dict[str, Any]]:
    """URL -> recorded answer, from a :func:`pack_recordings` file or a folder of ``*.json.gz`` entries."""
    path = Path(path)
    out: dict[str, dict[str, Any]] = {}
    if path.is_dir():
        for p in path.glob("*.json.gz"):
            e = read_entry(p)
            if e:
                out[e["url"]] = e
        return out
    for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
        e = json.loads(line)
        if "url" in e:
            out[e["url"]] = e
    return out


class ReplayTransport(httpx.BaseTransport):
    """Answers requests from recorded answers (:func:`load_recordings`); 404 for anything not recorded."""

    def __init__(self, recordings: Path | dict[str, dict[str, Any]]) -> None:
        self.entries = recordings if isinstance(recordings, dict) else load_recordings(recordings)
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        entry = self.entries.get(url)
        if entry is None or entry.get("status") != 200:
            return httpx.Response(404, request=request)
        headers = {"content-type": "text/plain; charset=utf-8"}
        if entry.get("etag"):
            headers["etag"] = entry["etag"]
            if request.headers.get("if-none-match") == entry["etag"]:
                return httpx.Response(304, headers=headers, request=request)
        return httpx.Response(200, headers=headers, content=entry["body"].encode("utf-8"), request=request)
