"""The download engine against a loopback server that drops, lags, lies and ignores Range."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from dlsetup.download.engine import FileRequest, Options, fetch_all, mirror_urls, sha256_file
from tests.download.server import Faults, FlakyServer, PatternBlob, WheelBlob

MiB = 1 << 20
FAST = Options(backoff_s=0.01, backoff_max_s=0.05, read_timeout_s=10)


def _req(srv: FlakyServer, path: str, dest: Path, bases: list[str] | None = None) -> FileRequest:
    return FileRequest(filename=path.rsplit("/", 1)[-1], urls=mirror_urls(path, bases or [srv.url]),
                       dest=dest / path.rsplit("/", 1)[-1], sha256=srv.sha256(path), size=srv.size(path))


def test_256mib_wheel_through_repeated_drops(tmp_path):
    blob = WheelBlob("bigpkg", "1.0", 256 * MiB, seed=1)
    with FlakyServer(Faults(drop_every=48 * MiB)) as srv:
        srv.add("files/bigpkg-1.0-py3-none-any.whl", blob)
        t0 = time.perf_counter()
        res = fetch_all([_req(srv, "files/bigpkg-1.0-py3-none-any.whl", tmp_path)], FAST)
        took = time.perf_counter() - t0
        ranges = [r[1] for r in srv.requests]
    f = res.files[0]
    assert res.ok, f
    assert f.status == "downloaded" and f.size == blob.size
    assert sha256_file(tmp_path / f.filename) == blob.sha256
    with zipfile.ZipFile(tmp_path / f.filename) as zf:  # a real wheel, intact
        assert zf.getinfo("bigpkg/payload.bin").file_size > 255 * MiB
    # six drops → six resumed requests, each continuing where the last stopped; nothing fetched twice
    assert ranges[0] is None and ranges[1:] == [f"bytes={k * 48 * MiB}-" for k in range(1, 6)]
    assert f.bytes_transferred == blob.size
    assert took < 60


def test_drops_at_odd_offsets_keep_every_received_byte(tmp_path):
    blob = PatternBlob(5 * MiB + 12345, seed=9)
    every = 1_234_567  # not a multiple of any buffer size: bytes received before a drop must reach the disk
    with FlakyServer(Faults(drop_every=every)) as srv:
        srv.add("f/odd.bin", blob)
        res = fetch_all([_req(srv, "f/odd.bin", tmp_path)], FAST)
        ranges = [r[1] for r in srv.requests]
    assert res.ok and res.files[0].bytes_transferred == blob.size
    assert ranges == [None] + [f"bytes={k * every}-" for k in range(1, len(ranges))]
    assert sha256_file(tmp_path / "odd.bin") == blob.sha256


def test_server_ignoring_range_restarts_without_corruption(tmp_path):
    blob = PatternBlob(6 * MiB, seed=2)
    with FlakyServer(Faults(drop_every=4 * MiB, ignore_range=True)) as srv:
        srv.add("f/x.bin", blob)
        res = fetch_all([_req(srv, "f/x.bin", tmp_path)], Options(backoff_s=0.01, retries=1))
    f = res.files[0]
    # every answer is a 200 from byte 0 that dies at 4 MiB: the file can never be completed, and the
    # partial bytes were truncated each time rather than appended to (no 8 MiB, no wrong-hash file)
    assert f.status == "failed"
    assert not (tmp_path / "x.bin").exists()
    part = Path(os.environ["DLSETUP_CACHE_DIR"]) / "downloads" / "partial" / f"{blob.sha256}.part"
    assert part.stat().st_size == 4 * MiB


def test_server_ignoring_range_then_healthy_completes(tmp_path):
    blob = PatternBlob(3 * MiB, seed=3)
    cache = Path(os.environ["DLSETUP_CACHE_DIR"]) / "downloads" / "partial"
    cache.mkdir(parents=True)
    # a partial file from an earlier run (first MiB), and a server that answers 200 regardless of Range
    (cache / f"{blob.sha256}.part").write_bytes(b"".join(blob.read(0, MiB)))
    (cache / f"{blob.sha256}.part.json").write_text(json.dumps({"sha256": blob.sha256, "size": 3 * MiB}))
    with FlakyServer(Faults(ignore_range=True)) as srv:
        srv.add("f/y.bin", blob)
        res = fetch_all([_req(srv, "f/y.bin", tmp_path)], FAST)
        assert srv.requests[0][1] == f"bytes={MiB}-" and srv.requests[0][2] == 200
    assert res.ok and res.files[0].resumed_from == MiB
    assert sha256_file(tmp_path / "y.bin") == blob.sha256  # not 4 MiB of appended garbage


def test_wrong_hash_on_first_mirror_is_fetched_from_second(tmp_path):
    data = os.urandom(300_000)
    with FlakyServer(Faults(corrupt={"pkgs/a.whl"})) as bad, FlakyServer() as good:
        bad.add("pkgs/a.whl", data)
        sha = good.add("pkgs/a.whl", data)
        req = FileRequest("a.whl", mirror_urls("pkgs/a.whl", [bad.url, good.url]), tmp_path / "a.whl", sha, len(data))
        res = fetch_all([req], FAST)
    f = res.files[0]
    assert res.ok and f.url == f"{good.url}/pkgs/a.whl"
    assert f.tried and "sha256 mismatch" in f.tried[0]["reason"] and f.tried[0]["url"].startswith(bad.url)
    assert (tmp_path / "a.whl").read_bytes() == data


def test_404_on_one_mirror_falls_back_and_a_5xx_is_retried(tmp_path):
    data = os.urandom(100_000)
    with FlakyServer(Faults(missing={"p/b.conda"})) as m1, FlakyServer(Faults(fail_5xx=2)) as m2:
        m1.add("p/b.conda", data)
        sha = m2.add("p/b.conda", data)
        req = FileRequest("b.conda", mirror_urls("p/b.conda", [m1.url, m2.url]), tmp_path / "b.conda", sha, len(data))
        res = fetch_all([req], FAST)
        statuses = [r[2] for r in m2.requests]
    f = res.files[0]
    assert res.ok and f.tried == [{"url": f"{m1.url}/p/b.conda", "reason": "HTTP 404"}]
    assert statuses == [503, 503, 200]


def test_no_mirror_has_the_right_bytes_fails_and_leaves_nothing(tmp_path):
    data = os.urandom(50_000)
    with FlakyServer(Faults(corrupt={"x.whl"})) as m1, FlakyServer(Faults(missing={"x.whl"})) as m2:
        sha = m1.add("x.whl", data)
        m2.add("x.whl", data)
        req = FileRequest("x.whl", mirror_urls("x.whl", [m1.url, m2.url]), tmp_path / "x.whl", sha, len(data))
        res = fetch_all([req], FAST)
    assert not res.ok and res.failed[0].error and "sha256 mismatch" in res.failed[0].error
    assert not (tmp_path / "x.whl").exists()


def test_second_request_is_served_from_the_verified_cache(tmp_path):
    data = os.urandom(10_000)
    with FlakyServer() as srv:
        srv.add("c.whl", data)
        first = fetch_all([_req(srv, "c.whl", tmp_path / "one")], FAST)
        second = fetch_all([_req(srv, "c.whl", tmp_path / "two")], FAST)
        assert len(srv.requests) == 1
    assert first.files[0].status == "downloaded" and second.files[0].status == "cached"
    assert (tmp_path / "two" / "c.whl").read_bytes() == data


def test_parallel_with_a_per_host_limit(tmp_path):
    with FlakyServer(Faults(rate=2 * MiB)) as srv:
        reqs = []
        for i in range(6):
            srv.add(f"f/{i}.bin", PatternBlob(MiB, seed=10 + i))
            reqs.append(_req(srv, f"f/{i}.bin", tmp_path))
        t0 = time.perf_counter()
        res = fetch_all(reqs, Options(per_host=3, max_workers=8))
        took = time.perf_counter() - t0
    assert res.ok and len(res.files) == 6
    # 6 files × 0.5 s each at 2 MiB/s per connection: 3 at a time → about 1 s (sequential would be 3 s)
    assert 0.9 < took < 2.6


def test_killed_download_resumes_in_a_new_process(tmp_path):
    blob = PatternBlob(24 * MiB, seed=4)
    with FlakyServer(Faults(rate=8 * MiB)) as srv:
        srv.add("files/slow.whl", blob)
        req = _req(srv, "files/slow.whl", tmp_path)
        code = (
            "import sys; from pathlib import Path\n"
            "from dlsetup.download.engine import FileRequest, fetch_all\n"
            f"fetch_all([FileRequest('slow.whl', [{req.urls[0]!r}], Path({str(req.dest)!r}), {req.sha256!r}, {req.size})])\n"
        )
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
        part = Path(os.environ["DLSETUP_CACHE_DIR"]) / "downloads" / "partial" / f"{blob.sha256}.part"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 6 * MiB):
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        have = part.stat().st_size
        assert 6 * MiB < have < 24 * MiB
        assert json.loads(part.with_name(part.name + ".json").read_text())["sha256"] == blob.sha256
        srv.faults.rate = None
        res = fetch_all([req], FAST)
        assert srv.requests[-1][1] == f"bytes={have}-"
    f = res.files[0]
    assert res.ok and f.resumed_from == have and f.bytes_transferred == 24 * MiB - have
    assert sha256_file(req.dest) == blob.sha256
    assert not part.exists()


def test_partial_for_a_different_file_is_not_resumed(tmp_path):
    blob = PatternBlob(2 * MiB, seed=5)
    part_dir = Path(os.environ["DLSETUP_CACHE_DIR"]) / "downloads" / "partial"
    part_dir.mkdir(parents=True)
    (part_dir / f"{blob.sha256}.part").write_bytes(b"x" * 1000)
    (part_dir / f"{blob.sha256}.part.json").write_text(json.dumps({"sha256": blob.sha256, "size": 999}))
    with FlakyServer() as srv:
        srv.add("z.bin", blob)
        res = fetch_all([_req(srv, "z.bin", tmp_path)], FAST)
        assert srv.requests[0][1] is None
    assert res.ok and res.files[0].resumed_from == 0


@pytest.mark.parametrize("scheme", ["file"])
def test_local_file_urls(tmp_path, scheme):
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc" * 1000)
    sha = sha256_file(src)
    res = fetch_all([FileRequest("src.bin", [src.as_uri()], tmp_path / "out" / "src.bin", sha, 3000)])
    assert res.ok and (tmp_path / "out" / "src.bin").read_bytes() == b"abc" * 1000
