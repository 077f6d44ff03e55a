"""The download engine: parallel, resumable, verified, with per-file fallback along mirrors.

One :func:`fetch_all` call takes a list of :class:`FileRequest` (a file name, the candidate URLs in
order — the user's mirror, other mirrors, upstream — and the sha256/size the index, lock or repodata
promise) and returns a :class:`DownloadResult`. For every file:

* a finished copy already in the cache (``<cache>/downloads/blobs/<sha256>``) is reused without a
  request;
* otherwise bytes go into ``<cache>/downloads/partial/<key>.part`` next to a sidecar
  ``<key>.part.json`` (url, expected size and sha256). A later attempt — in this process or a new one —
  asks for the rest with ``Range: bytes=N-``; a server that answers ``200`` instead of ``206`` is read
  from the start again (the partial file is truncated, never appended to);
* connection resets, timeouts and 5xx answers are retried on the same URL with exponential backoff
  (the retry count resets whenever an attempt made progress, so a link that drops every few MiB still
  finishes); 404/403/410 and a hash mismatch move on to the next URL;
* a file is only handed out (linked/copied to ``dest``) after its sha256 matched. A file whose hash
  does not match is deleted and never used.

Transfers run in threads (httpx's blocking client), at most ``per_host`` at a time to one host and
``max_workers`` in all. Progress goes to stderr: a rich display on a TTY, one line per file otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 1 << 20
GIVE_UP_STATUS = {401, 403, 404, 410}


@dataclass
class FileRequest:
    """One file to fetch: ``urls`` are tried in order; ``dest`` is where the verified file ends up."""

    filename: str
    urls: list[str]
    dest: Path
    sha256: str | None = None
    size: int | None = None
    md5: str | None = None  # conda repodata without sha256 (old channels) still has md5


@dataclass
class FileResult:
    filename: str
    path: str
    status: str  # "downloaded", "cached", "failed"
    url: str | None = None  # the URL the verified bytes came from
    sha256: str | None = None
    size: int = 0
    bytes_transferred: int = 0
    resumed_from: int = 0
    attempts: int = 0
    tried: list[dict] = field(default_factory=list)  # [{"url", "reason"}] for URLs that failed
    error: str | None = None


@dataclass
class DownloadResult:
    files: list[FileResult]
    bytes_total: int = 0
    bytes_transferred: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(f.status != "failed" for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def to_dict(self) -> dict:
        from dlsetup.result import to_jsonable

        return {"ok": self.ok, "bytes_total": self.bytes_total, "bytes_transferred": self.bytes_transferred,
                "elapsed_s": round(self.elapsed_s, 3),
                "files": [to_jsonable(f) for f in self.files]}


@dataclass
class Options:
    per_host: int = 4
    max_workers: int = 8
    retries: int = 5  # attempts in a row without progress on one URL before moving on
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    connect_timeout_s: float = 15.0
    read_timeout_s: float = 30.0
    cache: Path | None = None


class _HashMismatch(Exception):
    pass


class _GiveUp(Exception):
    """This URL will not deliver the file (404, 403, …): try the next one."""


def cache_root(opts: Options | None = None) -> Path:
    if opts and opts.cache:
        return opts.cache
    from dlsetup.paths import cache_dir

    return cache_dir() / "downloads"


def mirror_urls(path: str, bases: list[str]) -> list[str]:
    """``path`` (relative, e.g. ``files/x.whl`` or ``linux-64/pkg.conda``) under each base URL, in order."""
    path = path.lstrip("/")
    return list(dict.fromkeys(b.rstrip("/") + "/" + path for b in bases if b))


def sha256_file(path: Path, h=None) -> str:
    h = h or hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(CHUNK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _key(req: FileRequest) -> str:
    if req.sha256:
        return req.sha256.lower()
    return "url-" + hashlib.sha256("\n".join(req.urls).encode()).hexdigest()[:32]


def _place(blob: Path, dest: Path) -> None:
    """Put the verified cache copy at ``dest`` (hard link when possible, else copy), atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and os.path.samefile(blob, dest):
        return
    tmp = dest.with_name(f".{dest.name}.dlsetup-tmp")
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    try:
        os.link(blob, tmp)
    except OSError:
        shutil.copyfile(blob, tmp)
    os.replace(tmp, dest)


class _Progress:
    """Per-file and total progress on stderr (rich on a TTY; one line per finished file otherwise)."""

    def __init__(self, total_bytes: int | None, nfiles: int) -> None:
        from dlsetup import output

        self.lock = threading.Lock()
        self.rich = None
        self.lines = not output.settings.quiet
        if output.progress_enabled():
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            from dlsetup.i18n import t

            self.rich = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(),
                                 console=output.make_console(stderr=True), transient=True)
            self.total = self.rich.add_task(t("download.progress.total", n=nfiles), total=total_bytes or None)
            self.rich.start()
            self.lines = False
        self.tasks: dict[str, int] = {}

    def start(self, name: str, size: int | None, done: int) -> None:
        """A file's transfer (re)starts with ``done`` bytes already on disk."""
        if self.rich:
            with self.lock:
                if name in self.tasks:
                    self.rich.update(self.tasks[name], total=size, completed=done)
                else:
                    self.tasks[name] = self.rich.add_task(name, total=size, completed=done)

    def advance(self, name: str, n: int) -> None:
        if self.rich and name in self.tasks:
            self.rich.advance(self.tasks[name], n)
            self.rich.advance(self.total, n)

    def finish(self, res: FileResult, seconds: float) -> None:
        if self.rich and res.filename in self.tasks:
            self.rich.remove_task(self.tasks.pop(res.filename))
        if self.lines:
            import sys

            from dlsetup.i18n import t
            from dlsetup.util.redact import redact_url

            if res.status == "failed":
                line = t("download.line.failed", file=res.filename, error=res.error or "?")
            else:
                host = urlsplit(res.url or "").netloc or "cache"
                line = t("download.line." + res.status, file=res.filename, mib=f"{res.size / 2**20:.1f}",
                         host=redact_url(host), seconds=f"{seconds:.1f}")
            with self.lock:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()

    def close(self) -> None:
        if self.rich:
            self.rich.stop()


class Engine:
    def __init__(self, opts: Options | None = None, on_bytes: Callable[[int], None] | None = None) -> None:
        self.opts = opts or Options()
        self.root = cache_root(self.opts)
        self.blobs = self.root / "blobs"
        self.partial = self.root / "partial"
        self._host_sems: dict[str, threading.Semaphore] = {}
        self._lock = threading.Lock()
        self._client = None
        self._progress: _Progress | None = None
        self.on_bytes = on_bytes
        self._cancel = threading.Event()

    # -- plumbing
    def _sem(self, url: str) -> threading.Semaphore:
        host = urlsplit(url).netloc
        with self._lock:
            if host not in self._host_sems:
                self._host_sems[host] = threading.Semaphore(max(1, self.opts.per_host))
            return self._host_sems[host]

    def _http(self):
        import httpx

        with self._lock:
            if self._client is None:
                self._client = self._make_client(httpx)
            return self._client

    def _make_client(self, httpx):
        t = httpx.Timeout(self.opts.read_timeout_s, connect=self.opts.connect_timeout_s)
        limits = httpx.Limits(max_connections=self.opts.max_workers * 2, max_keepalive_connections=self.opts.max_workers)
        return httpx.Client(timeout=t, limits=limits, follow_redirects=True, trust_env=True,
                            headers={"User-Agent": "dlsetup-download", "Accept-Encoding": "identity"})

    # -- public
    def fetch_all(self, requests: list[FileRequest]) -> DownloadResult:
        t0 = time.perf_counter()
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.partial.mkdir(parents=True, exist_ok=True)
        sizes = [r.size for r in requests]
        total = sum(s for s in sizes if s) if all(sizes) else None
        self._progress = _Progress(total, len(requests))
        results: list[FileResult | None] = [None] * len(requests)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(len(requests)):
            todo.put(i)

        def worker() -> None:
            while not self._cancel.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                results[i] = self._one(requests[i])

        # daemon threads, not a ThreadPoolExecutor: Ctrl-C (or SIGTERM) must not wait for a stalled socket
        workers = [threading.Thread(target=worker, name=f"dlsetup-dl-{n}", daemon=True)
                   for n in range(max(1, min(self.opts.max_workers, len(requests))))]
        try:
            for t in workers:
                t.start()
            for t in workers:
                while t.is_alive():
                    t.join(0.1)
        except BaseException:
            self._cancel.set()  # the partial files stay for a later run to resume
            raise
        finally:
            self._progress.close()
            if self._client is not None and not self._cancel.is_set():
                self._client.close()
            self._client = None
        files = [r if r is not None else FileResult(filename=q.filename, path=str(q.dest), status="failed",
                                                    error="not started")
                 for r, q in zip(results, requests, strict=True)]
        return DownloadResult(files=files, bytes_total=sum(r.size for r in files),
                              bytes_transferred=sum(r.bytes_transferred for r in files),
                              elapsed_s=time.perf_counter() - t0)

    def _one(self, req: FileRequest) -> FileResult:
        t0 = time.perf_counter()
        res = FileResult(filename=req.filename, path=str(req.dest), status="failed")
        try:
            self._fetch(req, res)
        except Exception as exc:  # noqa: BLE001 - one file's failure never stops the others
            res.status = "failed"
            res.error = res.error or f"{type(exc).__name__}: {exc}"
        if self._progress:
            self._progress.finish(res, time.perf_counter() - t0)
        return res

    def _fetch(self, req: FileRequest, res: FileResult) -> None:
        key = _key(req)
        if req.sha256:
            blob = self.blobs / key
            if blob.exists() and (req.size is None or blob.stat().st_size == req.size):
                if sha256_file(blob) == key:
                    _place(blob, req.dest)
                    res.status, res.sha256, res.size = "cached", key, blob.stat().st_size
                    return
                blob.unlink()
        part = self.partial / f"{key}.part"
        side = self.partial / f"{key}.part.json"
        for url in req.urls:
            try:
                self._from_url(req, url, part, side, res)
            except (_GiveUp, _HashMismatch) as exc:
                res.tried.append({"url": _safe(url), "reason": str(exc)})
                continue
            # verified: move into the blob store (content-addressed) and place at dest
            digest = res.sha256 or ""
            blob = self.blobs / digest
            os.replace(part, blob)
            side.unlink(missing_ok=True)
            _place(blob, req.dest)
            res.status, res.url = "downloaded", _safe(url)
            return
        res.status = "failed"
        res.error = "; ".join(f"{t['url']}: {t['reason']}" for t in res.tried) or "no URL"

    def _from_url(self, req: FileRequest, url: str, part: Path, side: Path, res: FileResult) -> None:
        import httpx

        if urlsplit(url).scheme == "file":
            return self._from_file(req, url, part, side, res)
        # a partial file from an earlier run is only resumed when its sidecar describes the same file
        have = 0
        if part.exists():
            meta = _read_json(side)
            if meta.get("sha256") == req.sha256 and meta.get("size") == req.size and (req.sha256 or meta.get("url") == url):
                have = part.stat().st_size
            else:
                part.unlink()
        if req.size is not None and have > req.size:
            part.unlink()
            have = 0
        side.write_text(json.dumps({"url": _safe(url), "size": req.size, "sha256": req.sha256, "filename": req.filename}))
        res.resumed_from = max(res.resumed_from, have)
        fails = 0
        best = have
        fresh = have == 0  # bytes from an earlier run or another mirror may be the bad ones: one clean retry
        while True:
            res.attempts += 1
            try:
                with self._sem(url):
                    self._attempt(req, url, part, have, res)
                have = part.stat().st_size
                return self._verify(req, part, res)
            except _GiveUp:
                raise
            except _HashMismatch:
                part.unlink(missing_ok=True)
                if fresh:
                    raise
                fresh, have, best, fails = True, 0, 0, 0
                continue
            except (httpx.TransportError, _Retry) as exc:
                have = part.stat().st_size if part.exists() else 0
                # progress means a longer partial file than ever before (a server that ignores Range
                # and drops at the same point again is not progress)
                if have > best:
                    fails, best = 0, have
                else:
                    fails += 1
                if fails > self.opts.retries:
                    raise _GiveUp(f"{type(exc).__name__}: {exc}") from None
                if fails and self._cancel.wait(min(self.opts.backoff_max_s, self.opts.backoff_s * 2 ** (fails - 1))):
                    raise _GiveUp("cancelled") from None

    def _attempt(self, req: FileRequest, url: str, part: Path, have: int, res: FileResult) -> bool:
        headers = {"Range": f"bytes={have}-"} if have else {}
        got = 0
        with self._http().stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416 and have and req.size is not None and have == req.size:
                return False  # the partial file is already complete
            if resp.status_code == 416:
                part.unlink(missing_ok=True)
                raise _Retry("416 range not satisfiable; restarting")
            if resp.status_code in GIVE_UP_STATUS:
                raise _GiveUp(f"HTTP {resp.status_code}")
            if resp.status_code >= 500 or resp.status_code == 429:
                raise _Retry(f"HTTP {resp.status_code}")
            if resp.status_code not in (200, 206):
                raise _GiveUp(f"HTTP {resp.status_code}")
            mode = "ab"
            if resp.status_code == 206 and have:
                start = _content_range_start(resp.headers.get("content-range"))
                if start != have:
                    part.unlink(missing_ok=True)
                    raise _Retry(f"unexpected Content-Range {resp.headers.get('content-range')!r}")
            else:  # 200: the server sent the whole file (it ignores Range): start over, never append
                mode, have = "wb", 0
            length = resp.headers.get("content-length")
            if req.size is None and length and resp.status_code == 200:
                req.size = int(length)
            if self._progress:
                self._progress.start(req.filename, req.size, have)
            with open(part, mode) as fh:
                for chunk in resp.iter_raw():  # as received: a 1 MiB buffer would lose its bytes on a drop
                    if self._cancel.is_set():
                        raise _GiveUp("cancelled")
                    fh.write(chunk)
                    got += len(chunk)
                    res.bytes_transferred += len(chunk)
                    if self.on_bytes:
                        self.on_bytes(len(chunk))
                    if self._progress:
                        self._progress.advance(req.filename, len(chunk))
                    if req.size is not None and have + got > req.size:
                        raise _HashMismatch(f"more bytes than the expected {req.size}")
        return got > 0

    def _from_file(self, req: FileRequest, url: str, part: Path, side: Path, res: FileResult) -> None:
        src = Path(unquote(urlsplit(url).path))
        if not src.is_file():
            raise _GiveUp("no such file")
        res.attempts += 1
        shutil.copyfile(src, part)
        try:
            self._verify(req, part, res)
        except _HashMismatch:
            part.unlink(missing_ok=True)
            raise

    def _verify(self, req: FileRequest, part: Path, res: FileResult) -> None:
        size = part.stat().st_size
        if req.size is not None and size != req.size:
            raise _Retry(f"short file ({size} of {req.size} bytes)")
        digest = sha256_file(part)
        if req.sha256 and digest != req.sha256.lower():
            raise _HashMismatch(f"sha256 mismatch (got {digest[:12]}…, expected {req.sha256[:12]}…)")
        if not req.sha256 and req.md5:
            if hashlib.md5(part.read_bytes(), usedforsecurity=False).hexdigest() != req.md5.lower():
                raise _HashMismatch("md5 mismatch")
        res.sha256, res.size = digest, size


class _Retry(Exception):
    """Worth another try on the same URL (5xx, a short file, a confused range answer)."""


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-199/200"
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _safe(url: str) -> str:
    from dlsetup.util.redact import redact_url

    return redact_url(url)


def fetch_all(requests: list[FileRequest], opts: Options | None = None,
              on_bytes: Callable[[int], None] | None = None) -> DownloadResult:
    """Fetch every request (see the module docstring); never raises for one file's failure."""
    return Engine(opts, on_bytes=on_bytes).fetch_all(requests)
