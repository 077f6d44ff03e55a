"""A loopback file server with a bad network on demand: the tests' (and the benchmark's) "mirror".

One :class:`FlakyServer` is one mirror on 127.0.0.1 (a random free port). It serves

* files registered with :meth:`FlakyServer.add` (bytes, a file on disk, or a :class:`PatternBlob` — a
  large file generated on the fly, so a 256 MiB or 1 GiB "wheel" costs no disk and no memory);
* a PEP 503 (HTML) and PEP 691 (JSON, by ``Accept``) simple index of the ``.whl`` files under
  ``/simple/<project>/``, with ``#sha256=`` fragments / ``hashes`` (the layout pip and uv read), and each
  wheel's METADATA at ``<wheel URL>.metadata`` (PEP 658 / PEP 714, as PyPI serves it: planners read it
  instead of the wheel) unless ``core_metadata=False``;
* a conda channel: any ``<subdir>/repodata.json`` added with :meth:`add_channel`;

and misbehaves as told: drop the connection every ``drop_every`` bytes of a response, wait ``lag_s``
before answering, answer 404 or send wrong bytes (same length) for chosen paths, ignore ``Range``
(answer 200 with the whole file), cap each connection at ``rate`` bytes/s. It counts the body bytes it
sent. Bounded: it stops after ``max_seconds`` or ``max_requests``, whichever comes first.

The wire behaviour follows RFC 9110 §14 (Range / 206 / Content-Range / 416); the index formats are
PEP 503 and PEP 691 (https://peps.python.org/pep-0691/). Made for these tests, not copied from anywhere.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import random
import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 1 << 20


class _Streamed:
    """A generated file read in chunks (``read(start, end)``, ``size``); its sha256 computed once, on demand."""

    _sha256: str | None = None

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            h = hashlib.sha256()
            for chunk in self.read(0, self.size):
                h.update(chunk)
            self._sha256 = h.hexdigest()
        return self._sha256


class PatternBlob(_Streamed):
    """``size`` deterministic bytes: a 1 MiB random block (seeded) repeated, each MiB stamped with its index."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self._block = random.Random(seed).randbytes(BLOCK)
        self._sha256: str | None = None

    def _mib(self, i: int) -> bytes:
        return i.to_bytes(8, "little") + self._block[8:]

    def read(self, start: int, end: int):
        """Yield the bytes in [start, end) in chunks."""
        pos = start
        while pos < end:
            i, off = divmod(pos, BLOCK)
            n = min(BLOCK - off, end - pos)
            yield self._mib(i)[off:off + n]
            pos += n


class WheelBlob(_Streamed):
    """A real, installable wheel of about ``size`` bytes, generated on the fly (no disk, little memory).

    A PEP 427 wheel is a zip: the dist-info files (METADATA, WHEEL, RECORD) plus one STORED member
    ``<name>/payload.bin`` whose bytes are a :class:`PatternBlob`. The zip headers are written here by
    hand (the layout of PKWARE's APPNOTE.TXT §4.3: local header, data, central directory, end record) so
    the 1 GiB body never has to exist anywhere; its CRC-32 and sha256 are computed once, streaming.
    """

    def __init__(self, name: str, version: str, size: int, seed: int = 0) -> None:
        import base64
        import struct
        import zlib

        dist = name.replace("-", "_")
        self.filename = f"{dist}-{version}-py3-none-any.whl"
        payload = PatternBlob(max(0, size - 4096), seed)
        crc, h = 0, hashlib.sha256()
        for chunk in payload.read(0, payload.size):
            crc = zlib.crc32(chunk, crc)
            h.update(chunk)
        info = f"{dist}-{version}.dist-info"
        small = {
            f"{dist}/__init__.py": f"__version__ = {version!r}\n".encode(),
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: dlsetup-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()  # noqa: E731
        self.metadata = small[f"{info}/METADATA"]
        record = [f"{k},sha256={b64(hashlib.sha256(v).digest())},{len(v)}" for k, v in small.items()]
        record.append(f"{dist}/payload.bin,sha256={b64(h.digest())},{payload.size}")
        record.append(f"{info}/RECORD,,")
        entries: list[tuple[str, bytes | None, int, int]] = [(k, v, zlib.crc32(v), len(v)) for k, v in small.items()]
        entries.append((f"{dist}/payload.bin", None, crc, payload.size))
        rec = ("\n".join(record) + "\n").encode()
        entries.append((f"{info}/RECORD", rec, zlib.crc32(rec), len(rec)))
        self._segments: list[bytes | PatternBlob] = []
        central = b""
        offset = 0
        for fname, data, c, n in entries:
            fn = fname.encode()
            local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, c, n, n, len(fn), 0) + fn
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, c, n, n, len(fn),
                                   0, 0, 0, 0, 0o644 << 16, offset) + fn
            self._segments += [local, payload if data is None else data]
            offset += len(local) + n
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), offset, 0)
        self._segments += [central, end]
        self.size = offset + len(central) + len(end)
        self._sha256: str | None = None

    def read(self, start: int, end: int):
        pos = 0
        for seg in self._segments:
            n = seg.size if isinstance(seg, PatternBlob) else len(seg)
            lo, hi = max(start, pos), min(end, pos + n)
            if lo < hi:
                if isinstance(seg, PatternBlob):
                    yield from seg.read(lo - pos, hi - pos)
                else:
                    yield seg[lo - pos:hi - pos]
            pos += n


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()

    @property
    def metadata(self) -> bytes | None:
        """A wheel's ``*.dist-info/METADATA`` (what PEP 658 serves next to the wheel), else None."""
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
                name = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
                return zf.read(name)
        except (zipfile.BadZipFile, StopIteration):
            return None

    def read(self, start: int, end: int):
        for pos in range(start, end, BLOCK):
            yield self.data[pos:min(end, pos + BLOCK)]


@dataclass
class Faults:
    drop_every: int | None = None  # close the connection after this many body bytes of one response
    drop_suffixes: tuple[str, ...] = ()  # only drop responses for paths ending so (default: every file)
    lag_s: float = 0.0
    missing: set[str] = field(default_factory=set)  # paths answered with 404
    corrupt: set[str] = field(default_factory=set)  # paths whose bytes are wrong (same length)
    ignore_range: bool = False
    rate: float | None = None  # bytes per second per connection
    fail_5xx: int = 0  # the first N file requests get 503


class FlakyServer:
    def __init__(self, faults: Faults | None = None, max_seconds: float = 300, max_requests: int = 5000,
                 core_metadata: bool = True) -> None:
        self.faults = faults or Faults()
        self.core_metadata = core_metadata
        self.files: dict[str, object] = {}
        self.bytes_sent = 0
        self.requests: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self.max_requests = max_requests
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002
                pass

            def do_HEAD(self):  # noqa: N802
                self._serve(head=True)

            def do_GET(self):  # noqa: N802
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                server._handle(self, head)

        class _Srv(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = _Srv(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._timer = threading.Timer(max_seconds, self.close)
        self._timer.daemon = True

    # -- content
    def add(self, path: str, content: bytes | Path | PatternBlob) -> str:
        """Serve ``content`` at ``/path``; returns its sha256."""
        if isinstance(content, Path):
            content = _Bytes(content.read_bytes())
        elif isinstance(content, bytes):
            content = _Bytes(content)
        self.files[path.lstrip("/")] = content
        return content.sha256  # type: ignore[union-attr]

    def add_tree(self, root: Path, under: str = "") -> None:
        """Serve every file below ``root`` (e.g. a conda channel built by ``channel_builder``)."""
        for p in sorted(root.rglob("*")):
            if p.is_file():
                self.add(f"{under.strip('/')}/{p.relative_to(root).as_posix()}".lstrip("/"), p)

    def sha256(self, path: str) -> str:
        return self.files[path.lstrip("/")].sha256  # type: ignore[attr-defined]

    def size(self, path: str) -> int:
        return self.files[path.lstrip("/")].size  # type: ignore[attr-defined]

    # -- lifecycle
    def __enter__(self) -> FlakyServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the index
    def _simple(self, project: str | None, want_json: bool) -> tuple[bytes, str] | None:
        wheels: dict[str, list[str]] = {}
        for path in self.files:
            if path.endswith(".whl"):
                name = re.sub(r"[-_.]+", "-", path.rsplit("/", 1)[-1].split("-")[0]).lower()
                wheels.setdefault(name, []).append(path)
        if project is None:
            if want_json:
                doc = {"meta": {"api-version": "1.0"}, "projects": [{"name": n} for n in sorted(wheels)]}
                return json.dumps(doc).encode(), "application/vnd.pypi.simple.v1+json"
            links = "".join(f'<a href="{n}/">{n}</a>\n' for n in sorted(wheels))
            return f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html"
        if project not in wheels:
            return None
        files = sorted(wheels[project])
        meta = {p: hashlib.sha256(m).hexdigest() for p in files if (m := self._metadata(p)) is not None}
        if want_json:
            doc = {"meta": {"api-version": "1.1"}, "name": project,
                   "files": [{"filename": p.rsplit("/", 1)[-1], "url": f"/{p}", "hashes": {"sha256": self.sha256(p)},
                              **({"core-metadata": {"sha256": meta[p]}, "data-dist-info-metadata": {"sha256": meta[p]}}
                                 if p in meta else {})} for p in files]}
            return json.dumps(doc).encode(), "application/vnd.pypi.simple.v1+json"

        def attrs(p: str) -> str:
            return f' data-core-metadata="sha256={meta[p]}" data-dist-info-metadata="sha256={meta[p]}"' if p in meta else ""

        links = "".join(f'<a href="/{p}#sha256={self.sha256(p)}"{attrs(p)}>{p.rsplit("/", 1)[-1]}</a><br/>\n'
                        for p in files)
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode(), "text/html"

    def _metadata(self, path: str) -> bytes | None:
        if not self.core_metadata:
            return None
        return getattr(self.files.get(path), "metadata", None)

    # -- one request
    def _handle(self, h: http.server.BaseHTTPRequestHandler, head: bool) -> None:
        f = self.faults
        path = h.path.split("?", 1)[0].lstrip("/")
        rng = h.headers.get("Range")
        with self._lock:
            if len(self.requests) >= self.max_requests:
                h.send_error(503)
                return
            n_file_requests = sum(1 for r in self.requests if r[0] in self.files)
        if f.lag_s:
            time.sleep(f.lag_s)
        if path == "simple" or path.startswith("simple/"):
            project = path[len("simple"):].strip("/") or None
            want_json = "application/vnd.pypi.simple.v1+json" in (h.headers.get("Accept") or "")
            page = self._simple(project, want_json)
            status = 200 if page else 404
            self._log(path, rng, status)
            if page is None:
                self._send_empty(h, 404)
                return
            body, ctype = page
            h.send_response(200)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if not head:
                h.wfile.write(body)
            return
        if path.endswith(".whl.metadata") and path[:-9] in self.files and path[:-9] not in f.missing:
            body = self._metadata(path[:-9])
            if body is not None:
                self._log(path, rng, 200)
                h.send_response(200)
                h.send_header("Content-Type", "application/octet-stream")
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                if not head:
                    h.wfile.write(body)
                return
        blob = self.files.get(path)
        if blob is None or path in f.missing:
            self._log(path, rng, 404)
            self._send_empty(h, 404)
            return
        if f.fail_5xx and n_file_requests < f.fail_5xx:
            self._log(path, rng, 503)
            self._send_empty(h, 503)
            return
        size = blob.size  # type: ignore[attr-defined]
        start, end, status = 0, size, 200
        if rng and not f.ignore_range:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if m:
                start = int(m.group(1))
                end = min(size, int(m.group(2)) + 1) if m.group(2) else size
                if start >= size:
                    self._log(path, rng, 416)
                    h.send_response(416)
                    h.send_header("Content-Range", f"bytes */{size}")
                    h.send_header("Content-Length", "0")
                    h.end_headers()
                    return
                status = 206
        self._log(path, rng, status)
        h.send_response(status)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(end - start))
        h.send_header("Accept-Ranges", "none" if f.ignore_range else "bytes")
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        h.end_headers()
        if head:
            return
        sent = 0
        t0 = time.perf_counter()
        drop = f.drop_every if not f.drop_suffixes or path.endswith(f.drop_suffixes) else None
        try:
            for chunk in blob.read(start, end):  # type: ignore[attr-defined]
                if path in f.corrupt:
                    chunk = bytes(b ^ 0x5A for b in chunk[:16]) + chunk[16:]
                for piece in _pieces(chunk, 64 * 1024):
                    if drop is not None and sent + len(piece) > drop:
                        piece = piece[:drop - sent]
                        h.wfile.write(piece)
                        self._count(len(piece))
                        h.wfile.flush()
                        h.connection.shutdown(socket.SHUT_RDWR)
                        h.close_connection = True
                        return
                    h.wfile.write(piece)
                    sent += len(piece)
                    self._count(len(piece))
                    if f.rate:
                        ahead = sent / f.rate - (time.perf_counter() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True

    def _send_empty(self, h, status: int) -> None:
        h.send_response(status)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n

    def _log(self, path: str, rng: str | None, status: int) -> None:
        with self._lock:
            self.requests.append((path, rng, status))


def _pieces(chunk: bytes, n: int):
    if len(chunk) <= n:
        yield chunk
        return
    view = memoryview(chunk)
    for i in range(0, len(chunk), n):
        yield view[i:i + n]
