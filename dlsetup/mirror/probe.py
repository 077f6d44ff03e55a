"""Measure mirrors: do they serve what *this* user needs, and how fast?

Per mirror, in parallel (bounded pool, one httpx client, ``User-Agent: dlsetup/<version>``), each check
under its own deadline and byte cap:

* pip   — the simple page for the package (``torch`` by default) must be 200 HTML with links to its
  files (a 200 page without them is a soft 404) and, if asked, the wanted version; then the first
  bytes of one file (Range request) must start with the right magic (``PK\\x03\\x04`` for wheels).
* conda — ``<channel>/<subdir>/repodata.json`` (Range-capped): not HTML, and JSON that parses (or,
  when capped, a JSON object that starts with a repodata key).
* torch — the exact wheel for the variant (``torch-X+cu126-cp311-...-manylinux..._x86_64.whl``),
  found on the mirror's page in its layout, then its magic bytes.
* hf    — ``<endpoint>/api/models/<repo>`` answers a JSON object.

Only mirrors whose checks all pass are ranked (by the time the checks took); the others are listed
with the reason. Results are cached with a timestamp in ``cache_dir()/mirror/probe.json``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.mirror import machine
from dlsetup.mirror.catalog import Mirror

DEFAULT_TIMEOUT = 8.0
DEFAULT_MAX_BYTES = 1 << 20  # 1 MiB per file check
PAGE_MAX_BYTES = 8 << 20  # simple pages (torch's is large)
DEFAULT_JOBS = 32
DEFAULT_HF_REPO = "openai-community/gpt2"
_REPODATA_START = re.compile(rb'^\s*\{\s*"(info|packages|packages\.conda|repodata_version|removed|signatures)"\s*:')
MAGIC = {".whl": b"PK\x03\x04", ".zip": b"PK\x03\x04", ".conda": b"PK\x03\x04", ".tar.gz": b"\x1f\x8b",
         ".tgz": b"\x1f\x8b", ".tar.bz2": b"BZh"}


@dataclass
class Check:
    tool: str  # "pip" | "conda" | "torch" | "hf"
    what: str  # what was checked, e.g. "torch simple page", "linux-64/repodata.json", a wheel name
    url: str
    ok: bool = False
    code: str = "ok"  # ok | http-status | soft-404 | html | bad-magic | not-json | no-version | no-files | no-wheel |
    #                   timeout | connect | tls | error
    status: int | None = None
    latency_ms: float | None = None  # request sent → response headers
    elapsed_ms: float | None = None  # the whole check (page + file)
    bytes: int = 0
    throughput_bps: float | None = None
    detail: str = ""  # translated reason when not ok
    redirected_to: str | None = None


@dataclass
class MirrorProbe:
    mirror: str
    name: str
    ok: bool = False
    checks: list[Check] = field(default_factory=list)
    latency_ms: float | None = None
    throughput_bps: float | None = None
    total_ms: float | None = None
    rank: int | None = None
    reason: str | None = None


@dataclass
class ProbeReport:
    created: str
    created_unix: float
    package: str
    version: str | None
    variant: str | None
    variant_source: str
    subdir: str
    python_tag: str
    tools: list[str]
    mirrors: list[MirrorProbe] = field(default_factory=list)
    fastest: str | None = None
    duration_ms: float = 0.0
    cached: bool = False
    cache_file: str | None = None


@dataclass
class ProbeOptions:
    package: str = "torch"
    version: str | None = None
    variant: str | None = None
    variant_source: str = "option"
    torch_version: str | None = None
    subdir: str | None = None
    python: str | None = None
    tools: tuple[str, ...] = ("pip", "conda", "torch", "hf")
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    jobs: int = DEFAULT_JOBS
    hf_repo: str = DEFAULT_HF_REPO


class _Fail(Exception):
    def __init__(self, _code: str, _key: str, _status: int | None = None, **params: Any) -> None:
        self.code, self.key, self.status, self.params = _code, _key, _status, params
        super().__init__(_code)


def user_agent() -> str:
    from dlsetup import __version__

    return f"dlsetup/{__version__}"


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name."""
    from dlsetup.util.names import canonical_name

    return canonical_name(name)


# ---------------------------------------------------------------------------------------- fetching


@dataclass
class _Got:
    status: int
    content_type: str
    body: bytes
    latency: float
    elapsed: float
    transfer: float
    final_url: str
    complete: bool


async def _get(client, url: str, max_bytes: int, ranged: bool, accept: str | None = None) -> _Got:
    headers = {}
    if ranged:
        headers["Range"] = f"bytes=0-{max_bytes - 1}"
    if accept:
        headers["Accept"] = accept
    t0 = time.perf_counter()
    async with client.stream("GET", url, headers=headers) as resp:
        t_head = time.perf_counter()
        body = bytearray()
        complete = True
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) >= max_bytes:
                complete = False
                break
        t_end = time.perf_counter()
        if resp.status_code == 206:
            total = resp.headers.get("content-range", "").rsplit("/", 1)[-1]
            complete = total.isascii() and total.isdigit() and int(total) <= len(body)
        return _Got(resp.status_code, resp.headers.get("content-type", ""), bytes(body[:max_bytes]), t_head - t0,
                    t_end - t0, t_end - t_head, str(resp.url), complete)


def _is_html(got: _Got) -> bool:
    head = got.body[:512].lstrip().lower()
    return "text/html" in got.content_type.lower() or head.startswith((b"<!doctype", b"<html"))


def _anchors(html: str, base: str) -> list[tuple[str, str]]:
    """(filename, absolute URL) for every link on a simple / flat / find-links page."""
    from dlsetup.toolconfig.index import files_from_html

    return [(f.filename, f.url) for f in files_from_html(html, base)]


def _file_version(filename: str, project: str) -> str | None:
    from dlsetup.toolconfig.index import file_version

    return file_version(filename, project)


def _same_version(found: str, wanted: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        f, w = Version(found), Version(wanted)
    except InvalidVersion:
        return found == wanted
    return f == w or (w.local is None and f.public == w.public)


def _magic_for(name: str) -> bytes | None:
    for ext, magic in MAGIC.items():
        if name.endswith(ext):
            return magic
    return None


async def _file_check(client, check: Check, name: str, url: str, opts: ProbeOptions) -> None:
    got = await _get(client, url, opts.max_bytes, ranged=True)
    check.bytes = len(got.body)
    if got.transfer > 0 and len(got.body) >= 1024:
        check.throughput_bps = len(got.body) / got.transfer
    if got.status not in (200, 206):
        raise _Fail("http-status", "mirror.probe.fail.http_status", got.status, status=got.status, url=url)
    magic = _magic_for(name)
    if _is_html(got):
        raise _Fail("html", "mirror.probe.fail.html_for_binary", got.status, url=url)
    if magic and not got.body.startswith(magic):
        raise _Fail("bad-magic", "mirror.probe.fail.bad_magic", got.status, name=name,
                    got=got.body[:4].hex() or "-", want=magic.hex())


# ------------------------------------------------------------------------------------------- checks


async def _check_pip(client, m: Mirror, opts: ProbeOptions, check: Check) -> None:
    project = normalize_name(opts.package)
    url = check.url
    check.what = f"{project} simple page"
    got = await _get(client, url, PAGE_MAX_BYTES, ranged=False, accept="text/html")
    check.status, check.latency_ms = got.status, got.latency * 1000
    if got.final_url.split("/")[2:3] != url.split("/")[2:3]:
        check.redirected_to = got.final_url
    if got.status != 200:
        raise _Fail("http-status", "mirror.probe.fail.http_status", got.status, status=got.status, url=url)
    if "html" not in got.content_type.lower():
        raise _Fail("html", "mirror.probe.fail.content_type", got.status, content_type=got.content_type or "-", url=url)
    files = [(n, u) for n, u in _anchors(got.body.decode("utf-8", "replace"), got.final_url)
             if _file_version(n, project) is not None]
    if not files:
        raise _Fail("soft-404", "mirror.probe.fail.no_files", got.status, package=project, url=url)
    if opts.version:
        files = [(n, u) for n, u in files if _same_version(_file_version(n, project) or "", opts.version)]
        if not files:
            raise _Fail("no-version", "mirror.probe.fail.no_version", got.status, package=project, version=opts.version)
    wheels = [f for f in files if f[0].endswith(".whl")]
    name, file_url = (wheels or files)[-1]
    check.what = f"{project} simple page + {name}"
    await _file_check(client, check, name, file_url, opts)


def _conda_channel(m: Mirror) -> str | None:
    for ch in ("cloud/conda-forge", "pkgs/main"):
        if m.carries(ch):
            return ch
    return m.conda_channels[0] if m.conda_channels else None


async def _check_conda(client, m: Mirror, opts: ProbeOptions, check: Check) -> None:
    subdir = opts.subdir or machine.conda_subdir()
    channel = _conda_channel(m)
    url = check.url
    check.what = f"{channel}/{subdir}/repodata.json"
    got = await _get(client, url, opts.max_bytes, ranged=True)
    check.status, check.latency_ms, check.bytes = got.status, got.latency * 1000, len(got.body)
    if got.transfer > 0 and len(got.body) >= 1024:
        check.throughput_bps = len(got.body) / got.transfer
    if got.final_url.split("/")[2:3] != url.split("/")[2:3]:
        check.redirected_to = got.final_url
    if got.status not in (200, 206):
        raise _Fail("http-status", "mirror.probe.fail.http_status", got.status, status=got.status, url=url)
    if _is_html(got):
        raise _Fail("html", "mirror.probe.fail.html_for_json", got.status, url=url)
    if got.complete:
        try:
            data = json.loads(got.body)
        except ValueError:
            raise _Fail("not-json", "mirror.probe.fail.not_json", got.status, url=url) from None
        if not isinstance(data, dict) or not ({"packages", "packages.conda", "info"} & set(data)):
            raise _Fail("not-json", "mirror.probe.fail.not_repodata", got.status, url=url)
    elif not _REPODATA_START.match(got.body):
        raise _Fail("not-json", "mirror.probe.fail.not_repodata", got.status, url=url)


def _torch_page(m: Mirror, variant: str) -> str:
    t = m.torch
    assert t is not None
    if t.layout == "simple":
        return f"{t.url.rstrip('/')}/{variant}/torch/"
    return t.url_for(variant)


def _pick_wheel(anchors: list[tuple[str, str]], variant: str, opts: ProbeOptions) -> tuple[str, str] | None:
    from packaging.version import Version

    from dlsetup.toolconfig.index import wheel

    tag = machine.python_tag(opts.python)
    best: tuple[Version, str, str] | None = None
    for name, url in anchors:
        parsed = wheel(name)
        if parsed is None or parsed[0] != "torch":
            continue
        _, v, tags = parsed
        if v.local != variant or not any(t.interpreter == tag and machine.platform_matches(t.platform) for t in tags):
            continue
        if opts.torch_version and v.public != Version(opts.torch_version).public:
            continue
        if best is None or v > best[0]:
            best = (v, name, url)
    return (best[1], best[2]) if best else None


async def _check_torch(client, m: Mirror, opts: ProbeOptions, check: Check) -> None:
    variant = opts.variant or "cpu"
    page = check.url
    check.what = f"torch {variant} wheel"
    got = await _get(client, page, PAGE_MAX_BYTES, ranged=False, accept="text/html")
    check.status, check.latency_ms = got.status, got.latency * 1000
    if got.status != 200:
        raise _Fail("http-status", "mirror.probe.fail.http_status", got.status, status=got.status, url=page)
    anchors = _anchors(got.body.decode("utf-8", "replace"), got.final_url)
    if not any(n.startswith("torch-") for n, _ in anchors):
        raise _Fail("soft-404", "mirror.probe.fail.no_files", got.status, package="torch", url=page)
    picked = _pick_wheel(anchors, variant, opts)
    if picked is None:
        raise _Fail("no-wheel", "mirror.probe.fail.no_wheel", got.status, variant=variant,
                    python=machine.python_tag(opts.python), platform=machine.conda_subdir())
    name, url = picked
    check.what, check.url = name, url
    await _file_check(client, check, name, url, opts)


async def _check_hf(client, m: Mirror, opts: ProbeOptions, check: Check) -> None:
    url = check.url
    check.what = f"api/models/{opts.hf_repo}"
    got = await _get(client, url, opts.max_bytes, ranged=False, accept="application/json")
    check.status, check.latency_ms, check.bytes = got.status, got.latency * 1000, len(got.body)
    if got.status != 200:
        raise _Fail("http-status", "mirror.probe.fail.http_status", got.status, status=got.status, url=url)
    try:
        data = json.loads(got.body)
    except ValueError:
        code = "html" if _is_html(got) else "not-json"
        raise _Fail(code, "mirror.probe.fail.not_json", got.status, url=url) from None
    if not isinstance(data, dict) or not ({"id", "modelId"} & set(data)):
        raise _Fail("not-json", "mirror.probe.fail.not_model", got.status, url=url)


_CHECKS = {"pip": _check_pip, "conda": _check_conda, "torch": _check_torch, "hf": _check_hf}


def applicable(m: Mirror, tool: str, opts: ProbeOptions) -> bool:
    if tool == "pip":
        return bool(m.pip)
    if tool == "conda":
        return bool(m.conda and m.conda_channels)
    if tool == "torch":
        return bool(m.torch and m.torch.layout in ("simple", "flat", "stable_html")
                    and (opts.variant or "cpu") in m.torch.variants)
    if tool == "hf":
        return bool(m.hf)
    return False


async def _run_check(client, sem: asyncio.Semaphore, tool: str, m: Mirror, opts: ProbeOptions, progress) -> Check:
    import httpx

    from dlsetup.i18n import t

    async with sem:
        t0 = time.perf_counter()
        check = Check(tool, tool, _check_url(tool, m, opts))
        try:
            await asyncio.wait_for(_CHECKS[tool](client, m, opts, check), timeout=opts.timeout)
            check.ok, check.code = True, "ok"
        except _Fail as f:
            check.ok, check.code, check.status = False, f.code, f.status if f.status is not None else check.status
            check.detail = t(f.key, **f.params)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            check.ok, check.code = False, "timeout"
            check.detail = t("mirror.probe.fail.timeout", seconds=f"{opts.timeout:g}")
        except httpx.ConnectError as exc:
            tls = "ssl" in str(exc).lower() or "certificate" in str(exc).lower()
            check.ok, check.code = False, "tls" if tls else "connect"
            check.detail = t("mirror.probe.fail.tls" if tls else "mirror.probe.fail.connect", error=_short(exc))
        except (httpx.HTTPError, OSError, ValueError) as exc:
            check.ok, check.code = False, "error"
            check.detail = t("mirror.probe.fail.error", error=_short(exc))
        check.elapsed_ms = (time.perf_counter() - t0) * 1000
        _redact_check(check)
        if progress is not None:
            progress()
        return check


def _redact_check(check: Check) -> None:
    """A custom mirror's URL may carry credentials: never let them reach the report, the table or the cache."""
    from dlsetup.util.redact import redact_url

    check.url = redact_url(check.url)
    check.detail = redact_url(check.detail)
    if check.redirected_to:
        check.redirected_to = redact_url(check.redirected_to)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]


def _check_url(tool: str, m: Mirror, opts: ProbeOptions) -> str:
    if tool == "pip":
        return f"{m.pip.rstrip('/')}/{normalize_name(opts.package)}/"
    if tool == "conda":
        return f"{m.conda.rstrip('/')}/{_conda_channel(m)}/{opts.subdir or machine.conda_subdir()}/repodata.json"
    if tool == "torch":
        return _torch_page(m, opts.variant or "cpu")
    return f"{(m.hf or '').rstrip('/')}/api/models/{opts.hf_repo}"


_SSL_CONTEXT = None


def _ssl_context():
    """httpx's default verifying context (certifi CAs), built once per process: loading the CA bundle
    costs ~0.1 s, which would otherwise be paid again by every probe run."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        import ssl

        import certifi

        _SSL_CONTEXT = ssl.create_default_context(cafile=certifi.where())
    return _SSL_CONTEXT


async def _probe_async(mirrors: list[Mirror], opts: ProbeOptions, on_progress=None) -> list[MirrorProbe]:
    import httpx

    sem = asyncio.Semaphore(max(1, opts.jobs))
    limits = httpx.Limits(max_connections=max(1, opts.jobs), max_keepalive_connections=max(1, opts.jobs))
    timeout = httpx.Timeout(opts.timeout, connect=min(opts.timeout, 5.0))
    async with httpx.AsyncClient(headers={"User-Agent": user_agent()}, follow_redirects=True, timeout=timeout,
                                 limits=limits, verify=_ssl_context()) as client:
        tasks = []
        plan: list[tuple[Mirror, list[str]]] = []
        for m in mirrors:
            tools = [tool for tool in opts.tools if applicable(m, tool, opts)]
            plan.append((m, tools))
            for tool in tools:
                tasks.append(_run_check(client, sem, tool, m, opts, on_progress))
        results = await asyncio.gather(*tasks)
    out: list[MirrorProbe] = []
    i = 0
    for m, tools in plan:
        checks = list(results[i : i + len(tools)])
        i += len(tools)
        out.append(_summarise(m, checks))
    return out


def _summarise(m: Mirror, checks: list[Check]) -> MirrorProbe:
    from statistics import median

    from dlsetup.i18n import t

    mp = MirrorProbe(m.id, m.name, checks=checks)
    if not checks:
        mp.reason = t("mirror.probe.fail.nothing_to_check")
        return mp
    failed = [c for c in checks if not c.ok]
    mp.ok = not failed
    lat = [c.latency_ms for c in checks if c.latency_ms is not None]
    thr = [c.throughput_bps for c in checks if c.throughput_bps]
    mp.latency_ms = median(lat) if lat else None
    mp.throughput_bps = median(thr) if thr else None
    mp.total_ms = max((c.elapsed_ms or 0.0) for c in checks)
    if failed:
        mp.reason = f"{failed[0].tool}: {failed[0].detail}"
    return mp


def rank(results: list[MirrorProbe]) -> list[MirrorProbe]:
    """Passing mirrors first, fastest first; failing ones after, in the order given."""
    passing = sorted((r for r in results if r.ok), key=lambda r: (r.total_ms or 0.0, -(r.throughput_bps or 0.0)))
    for i, r in enumerate(passing, 1):
        r.rank = i
    failing = [r for r in results if not r.ok]
    for r in failing:
        r.rank = None
    return passing + failing


def probe_mirrors(mirrors: list[Mirror], opts: ProbeOptions, on_progress=None, cache: bool = True) -> ProbeReport:
    """Run every applicable check on every mirror in parallel; rank; cache (unless told not to); return it."""
    t0 = time.perf_counter()
    results = asyncio.run(_probe_async(mirrors, opts, on_progress))
    ranked = rank(results)
    report = ProbeReport(
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), created_unix=time.time(), package=opts.package,
        version=opts.version, variant=opts.variant, variant_source=opts.variant_source,
        subdir=opts.subdir or machine.conda_subdir(), python_tag=machine.python_tag(opts.python),
        tools=list(opts.tools), mirrors=ranked,
        fastest=next((r.mirror for r in ranked if r.ok), None), duration_ms=(time.perf_counter() - t0) * 1000,
    )
    if cache:
        save_cache(report)
    return report


def count_checks(mirrors: list[Mirror], opts: ProbeOptions) -> int:
    return sum(1 for m in mirrors for tool in opts.tools if applicable(m, tool, opts))


# ---------------------------------------------------------------------------------------------- cache


def cache_file() -> Path:
    from dlsetup.paths import cache_dir

    return cache_dir() / "mirror" / "probe.json"


def save_cache(report: ProbeReport) -> None:
    from dlsetup.util.atomic import write_text_atomic

    try:
        write_text_atomic(cache_file(), json.dumps(asdict(report), ensure_ascii=False, indent=1))
        report.cache_file = str(cache_file())
    except OSError:
        pass  # a cache that cannot be written is not an error


def load_cache() -> ProbeReport | None:
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
        mirrors = [MirrorProbe(**{**m, "checks": [Check(**c) for c in m.get("checks", [])]})
                   for m in data.pop("mirrors", [])]
        report = ProbeReport(**{**data, "mirrors": mirrors})
    except (OSError, ValueError, TypeError):
        return None
    report.cached = True
    report.cache_file = str(cache_file())
    return report
