"""The compat refresh tool (issue 15): generated data = what the tool makes from recorded index answers; the index
client's range reads, ETag cache, retries and User-Agent against a loopback server; hand-kept vs generated.

Recordings: tests/compat/index_recordings/pypi-2026-12-07.jsonl.gz holds real answers of https://pypi.org/simple/
<project>/ (PEP 691 JSON) and the wheels' METADATA (read with HTTP range requests from files.pythonhosted.org),
recorded with ``python -m dlsetup.compat.refresh --record``; reduced (no hashes, METADATA headers only).
"""

from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dlsetup.compat import crosscheck, refresh
from dlsetup.compat import generated as gen
from dlsetup.compat.index import IndexClient, IndexFetchError, ReplayTransport, load_recordings

RECORDINGS = Path(__file__).parent / "index_recordings" / "pypi-2026-12-07.jsonl.gz"


@pytest.fixture(autouse=True)
def _fresh_generated():
    """Generated data is cached per process: a test that installs a refreshed copy must not leak it."""
    gen.load_group.cache_clear()
    yield
    gen.load_group.cache_clear()


def _strip(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "generated"}


# --- generated files = the tool's output from the recordings ------------------------------------------------

@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    transport = ReplayTransport(RECORDINGS)
    result = refresh.run(out, cache=None, transport=transport, concurrency=4)
    return out, result, transport


def test_shipped_generated_files_are_what_the_refresh_makes_from_the_recordings(replayed):
    out, result, _ = replayed
    made = sorted(p.name for p in out.glob("*.json"))
    shipped = sorted(p.name for p in gen.SHIPPED_DIR.glob("*.json"))
    assert made == shipped and len(made) >= 15
    for name in made:
        mine = json.loads((out / name).read_text())
        theirs = json.loads((gen.SHIPPED_DIR / name).read_text())
        assert _strip(mine) == _strip(theirs), f"{name} differs from a refresh over the recordings: rerun the refresh"


def test_the_replay_touched_only_recorded_answers(replayed):
    _, result, transport = replayed
    recorded = load_recordings(RECORDINGS)
    assert transport.seen and all(url in recorded for url in transport.seen)
    assert result["stats"]["retries"] == 0


def test_generated_rows_name_their_sources():
    torch = gen.project("torch")
    assert torch["index"] == "https://pypi.org/simple/torch/"
    meta = gen.release("torch", "2.15.0")["meta"]["linux-x86_64"]
    assert meta["file"].startswith("torch-2.15.0-") and meta["file"].endswith("_x86_64.whl")
    # the index build's pins, from Requires-Dist of that wheel's METADATA
    assert meta["pins"]["cuda"] == "cuda-toolkit==13.2.2" or meta["pins"]["cuda"].startswith("cuda-toolkit")
    assert meta["pins"]["cudnn"] == "nvidia-cudnn-cu13==9.26.0.51"
    assert gen.release("torchvision", "0.29.2")["meta"]["linux-x86_64"]["requires"]["torch"] == ">=2.14.0"


def test_facts_the_issue_names_come_out_of_the_index():
    ta = gen.release("torchaudio", "2.11.1")
    assert ta["wheels"]["linux-x86_64"] == {"py3": "2.28"} and ta["requires_python"] == ">=3.10"
    assert ta["meta"]["linux-x86_64"]["requires"] == {"torch": ">=2.11"}
    assert gen.release("onnxruntime", "1.20.2") is None
    assert gen.wheel_floor(gen.release("tensorflow", "2.8.0"), "linux-x86_64", "3.9") == "2.12"
    tf221 = gen.release("tensorflow", "2.21.0")["meta"]["linux-x86_64"]["pins"]
    assert tf221["cudnn"].startswith("nvidia-cudnn-cu12") and ">=9.3.0.75" in tf221["cudnn"]  # a floor, not a pin
    assert gen.wheel_floor(gen.release("paddlepaddle", "3.0.0"), "linux-x86_64", "3.13") is not None
    assert gen.wheel_floor(gen.release("paddlepaddle", "3.0.0"), "linux-aarch64", "3.12") is not None


# --- hand-kept vs generated -------------------------------------------------------------------------------------

def test_no_hand_kept_row_contradicts_the_index():
    facts = crosscheck.compare()
    s = crosscheck.summary(facts)
    assert s["facts"] > 700
    assert not s["disagree"], crosscheck.render(facts)
    assert set(s["by_kind"]) >= {"release", "python", "glibc", "companion", "cudnn", "cuda", "newest"}


def test_the_crosscheck_catches_a_release_the_index_does_not_have(tmp_path):
    # Drop onnxruntime 1.20.1 and jax 0.12.1 from a copy of the generated data: the hand-kept rows that name them
    # now contradict it, and a newer index release than the tables know would be flagged as stale.
    for p in gen.SHIPPED_DIR.glob("*.json"):
        (tmp_path / p.name).write_text(p.read_text())
    doc = json.loads((tmp_path / "onnxruntime.json").read_text())
    del doc["projects"]["onnxruntime"]["releases"]["1.20.1"]
    doc["projects"]["onnxruntime"]["releases"]["9.0.0"] = {"date": "2030-01-01", "wheels": {"any": {"py3": ""}}}
    (tmp_path / "onnxruntime.json").write_text(refresh.dumps(doc))
    bad = crosscheck.summary(crosscheck.compare(tmp_path))["disagree"]
    kinds = {(f.kind, f.subject) for f in bad}
    assert ("release", "onnxruntime 1.20.1") in kinds
    assert ("newest", "onnxruntime") in kinds
    assert gen.release("onnxruntime", "1.20.1") is not None  # the shipped data is back afterwards


# --- wheel names ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tag,want", [
    ("manylinux1_x86_64", ("linux-x86_64", "2.5")),
    ("manylinux2010_x86_64", ("linux-x86_64", "2.12")),
    ("manylinux2014_aarch64", ("linux-aarch64", "2.17")),
    ("manylinux_2_28_x86_64", ("linux-x86_64", "2.28")),
    ("macosx_11_0_arm64", ("macos-arm64", "11.0")),
    ("win_amd64", ("windows-x86_64", "")),
    ("musllinux_1_2_x86_64", None),
    ("win32", None),
])
def test_platform_tags(tag, want):
    assert refresh.platform_of(tag) == want


@pytest.mark.parametrize("interp,abi,want", [("cp39", "cp39", "3.9"), ("cp313", "cp313t", "3.13t"),
                                             ("cp39", "abi3", "abi3:3.9"), ("py3", "none", "py3"),
                                             ("pp39", "pypy39_pp73", None)])
def test_python_tags(interp, abi, want):
    assert refresh.python_of(interp, abi) == want


# --- the index client against a loopback server ----------------------------------------------------------------

class _Server:
    """A loopback HTTP server: serves ``files`` (path -> bytes) with Range and ETag support, records requests."""

    def __init__(self, files: dict[str, bytes], etags: dict[str, str] | None = None, fail_first: int = 0):
        self.files, self.etags, self.fail_left = files, etags or {}, fail_first
        self.log: list[dict] = []
        self.bytes_sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.log.append({"path": self.path, "headers": dict(self.headers)})
                if outer.fail_left > 0:
                    outer.fail_left -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = outer.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = outer.etags.get(self.path)
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                rng = self.headers.get("Range")
                if rng:
                    start, end = rng.split("=", 1)[1].split("-")
                    start, end = int(start), min(int(end), len(body) - 1)
                    chunk = body[start:end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
                else:
                    chunk = body
                    self.send_response(200)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                self.wfile.write(chunk)
                outer.bytes_sent += len(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


METADATA = """Metadata-Version: 2.1
Name: torchaudio
Version: 2.11.1
Requires-Python: >=3.10
Requires-Dist: torch>=2.11

Long description that the tool does not need.
"""


def _wheel(size_mb: int = 4) -> bytes:
    """A wheel-shaped zip (made up here): a big incompressible member, then the dist-info files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("torchaudio/lib/libtorchaudio.so", os.urandom(size_mb * 1024 * 1024))
        zf.writestr("torchaudio-2.11.1.dist-info/METADATA", METADATA)
        zf.writestr("torchaudio-2.11.1.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
    return buf.getvalue()


def test_metadata_is_read_with_range_requests_not_the_whole_wheel(tmp_path):
    wheel = _wheel()
    name = "torchaudio-2.11.1-py3-none-manylinux_2_28_x86_64.whl"
    with _Server({f"/{name}": wheel}) as srv:
        client = IndexClient(tmp_path / "cache", concurrency=2, backoff=0.01)
        entry = {"filename": name, "url": f"{srv.url}/{name}", "size": len(wheel)}
        text, how = client.wheel_metadata(entry)
        assert how == "range" and "Requires-Dist: torch>=2.11" in text
        assert srv.bytes_sent < len(wheel) / 4, "read far more than the zip's directory and one member"
        assert any(e["path"] == f"/{name}.metadata" for e in srv.log)  # PEP 658 first
        assert all(e["headers"].get("User-Agent", "").startswith("dlsetup-compat-refresh/") for e in srv.log)
        # Second time: the cache answers (wheel metadata never changes), no request.
        before = len(srv.log)
        assert client.wheel_metadata(entry) == (text, "range")
        assert len(srv.log) == before
        client.close()


def test_pep658_metadata_is_used_when_the_index_has_it(tmp_path):
    name = "x-1.0-py3-none-any.whl"
    with _Server({f"/{name}.metadata": METADATA.encode()}) as srv:
        with IndexClient(tmp_path / "cache") as client:
            text, how = client.wheel_metadata({"filename": name, "url": f"{srv.url}/{name}", "size": 10,
                                               "core-metadata": True})
        assert how == "pep658" and text.startswith("Metadata-Version")
        assert [e["path"] for e in srv.log] == [f"/{name}.metadata"]


def test_pages_are_revalidated_with_their_etag(tmp_path):
    page = json.dumps({"meta": {"api-version": "1.1"}, "name": "x", "files": []}).encode()
    with _Server({"/simple/x/": page}, etags={"/simple/x/": '"abc"'}) as srv:
        with IndexClient(tmp_path / "cache") as client:
            first = client.get_text(f"{srv.url}/simple/x/", accept="application/vnd.pypi.simple.v1+json")
            second = client.get_text(f"{srv.url}/simple/x/", accept="application/vnd.pypi.simple.v1+json")
            assert first["body"] == second["body"] and client.stats["not_modified"] == 1
        assert srv.log[0]["headers"]["Accept"] == "application/vnd.pypi.simple.v1+json"
        assert srv.log[1]["headers"].get("If-None-Match") == '"abc"'
        with IndexClient(tmp_path / "cache", revalidate=False) as offline:
            assert offline.get_text(f"{srv.url}/simple/x/")["body"] == first["body"]
        assert len(srv.log) == 2


def test_retries_with_backoff_then_gives_up(tmp_path):
    with _Server({"/simple/x/": b"{}"}, fail_first=2) as srv:
        with IndexClient(None, retries=3, backoff=0.01) as client:
            assert client.get_text(f"{srv.url}/simple/x/")["body"] == "{}"
            assert client.stats["retries"] == 2
    with _Server({}, fail_first=10) as srv:
        with IndexClient(None, retries=2, backoff=0.01) as client, pytest.raises(IndexFetchError):
            client.get_text(f"{srv.url}/simple/y/")
        assert len(srv.log) == 3


def test_the_refresh_command_line_writes_generated_files_from_its_cache(tmp_path, capsys):
    # Fill a cache from the recordings, then run the tool offline over it (as a maintainer re-running it would).
    cache = tmp_path / "cache"
    refresh.run(tmp_path / "first", only=["torchaudio"], cache=cache, transport=ReplayTransport(RECORDINGS))
    code = refresh.main(["--out", str(tmp_path / "out"), "--only", "torchaudio", "--cache", str(cache), "--offline"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stats"]["requests"] == 0 and report["stats"]["cached"] > 0
    doc = json.loads((tmp_path / "out" / "torchaudio.json").read_text())
    assert doc["generated"] and "2.11.1" in doc["projects"]["torchaudio"]["releases"]


# --- users: dlsetup compat refresh / resolve --refresh -----------------------------------------------------------

class _RecordedIndex(_Server):
    """The recorded answers served over loopback HTTP, as the index and files host would (file URLs rewritten)."""

    def __init__(self, drop: dict[str, list[str]] | None = None):
        super().__init__({})
        from urllib.parse import urlsplit

        for url, entry in load_recordings(RECORDINGS).items():
            body = entry["body"].replace("https://files.pythonhosted.org", self.url)
            path = urlsplit(url).path
            if path.startswith("/simple/") and drop:
                page = json.loads(body)
                project = path.split("/")[2]
                page["files"] = [f for f in page["files"]
                                 if not any(f"-{v}-" in f["filename"] for v in drop.get(project, []))]
                body = json.dumps(page)
            self.files[path] = body.encode()


def test_compat_refresh_installs_verified_data_that_resolve_then_uses(cli, monkeypatch):
    with _RecordedIndex() as srv:
        monkeypatch.setenv("DLSETUP_INDEX_SIMPLE_URL", f"{srv.url}/simple")
        r = cli("compat", "refresh", "--json")
    assert r.code == 0, r.stdout
    doc = r.json()
    assert doc["command"] == "compat refresh" and doc["ok"] and doc["projects"] >= 25 and not doc["problems"]
    target = Path(doc["target"])
    manifest = json.loads((target / "manifest.json").read_text())
    assert set(manifest["files"]) == set(doc["files"]) and manifest["schema"] == gen.SCHEMA
    from dlsetup.compat.update import installed_manifest

    assert installed_manifest(target) == manifest
    # resolve now says it used the refreshed copy
    res = cli("resolve", "jax", "--no-gpu", "--python", "3.12", "--json").json()
    data = [x for x in res["reasons"] if "package-index data" in x["text"]]
    assert data and str(target) in data[0]["text"]


def test_a_refresh_that_lost_releases_is_not_installed(cli, monkeypatch):
    with _RecordedIndex(drop={"onnxruntime": ["1.20.1"]}) as srv:
        monkeypatch.setenv("DLSETUP_INDEX_SIMPLE_URL", f"{srv.url}/simple")
        r = cli("compat", "refresh", "--json")
    assert r.code == 1
    doc = r.json()
    assert not doc["ok"] and any("onnxruntime" in p and "1.20.1" in p for p in doc["problems"])
    assert not (gen.user_dir() / "manifest.json").exists()


def test_compat_refresh_without_the_index_is_a_one_line_error(cli, monkeypatch):
    monkeypatch.setenv("DLSETUP_INDEX_SIMPLE_URL", "http://127.0.0.1:9/simple")
    r = cli("compat", "refresh", "--dry-run")
    assert r.code == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("dlsetup: error: cannot refresh from the package index")


def test_resolve_warns_when_the_index_knows_a_newer_release_than_the_tables(monkeypatch):
    # A refreshed copy (with its manifest) that knows a jax release the hand-kept tables do not.
    from dlsetup.resolve import Machine, Request, resolve
    from dlsetup.resolve.specs import parse_specs

    user = gen.user_dir()
    user.mkdir(parents=True)
    doc = json.loads((gen.SHIPPED_DIR / "jax.json").read_text())
    doc["generated"] = "2099-01-01T00:00:00Z"
    doc["projects"]["jax"]["releases"]["0.13.0"] = {"date": "2099-01-01", "requires_python": ">=3.12",
                                                    "wheels": {"any": {"py3": ""}}}
    (user / "jax.json").write_text(refresh.dumps(doc))
    (user / "manifest.json").write_text("{}")
    gen.load_group.cache_clear()
    try:
        m = Machine(os="linux", arch="x86_64", python="3.12", glibc="2.35", no_gpu=True, source="test")
        res = resolve(Request(specs=parse_specs(["jax"]), machine=m))
        assert any("jax 0.13.0 is on the package index" in w and "0.12.1" in w for w in res.warnings)
        assert res.ok and res.packages[0].version == "0.12.1"
    finally:
        gen.load_group.cache_clear()


def test_resolve_refresh_fetches_first_then_answers(cli, monkeypatch):
    with _RecordedIndex() as srv:
        monkeypatch.setenv("DLSETUP_INDEX_SIMPLE_URL", f"{srv.url}/simple")
        r = cli("resolve", "torch", "torchaudio", "--cuda", "13.2", "--gpu-cc", "8.9", "--driver", "595.45.04",
                "--python", "3.12", "--refresh", "--json")
    assert r.code == 0, r.stderr
    doc = r.json()
    # the cu132 pair the package index serves: torch 2.15.0 and torchaudio 2.11.1, one index
    assert [(p["name"], p["version"], p["index_url"]) for p in doc["packages"]] == [
        ("torch", "2.15.0", None), ("torchaudio", "2.11.1", None)]
    assert (gen.user_dir() / "manifest.json").is_file()
    assert any(str(gen.user_dir()) in x["text"] for x in doc["reasons"] if "package-index data" in x["text"])


def test_a_damaged_user_copy_falls_back_to_the_shipped_data(cli):
    user = gen.user_dir()
    user.mkdir(parents=True)
    (user / "manifest.json").write_text("{}")
    (user / "torch.json").write_text('{"schema": 1, "generated": "2099-01-01T00:00:00Z", '
                                     '"projects": {"torch": {"releases": {"9.0.0": "oops"}}}}')
    r = cli("resolve", "torch", "--no-gpu", "--python", "3.12", "--json")
    assert r.code == 0 and "Traceback" not in r.stderr
    text = [x["text"] for x in r.json()["reasons"] if "package-index data" in x["text"]]
    assert text and "shipped with dlsetup" in text[0]
