"""--check-index against a real HTTP index on 127.0.0.1 serving tiny fake wheel files.

The server speaks PEP 503 (HTML simple pages), PEP 691 (JSON, chosen by the Accept header) and a flat
find-links page (torch_stable.html), like download.pytorch.org. Wheel files are a few bytes: only their
names and the pages' data-requires-python matter to the check.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dlsetup.resolve import Machine, Package
from dlsetup.resolve.check_index import check_packages

WHEELS = {
    "torch": [
        ("torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl", ">=3.10"),
        ("torch-2.14.1+cu126-cp312-cp312-manylinux_2_28_x86_64.whl", ">=3.10"),
        ("torch-2.14.1+cu126-cp311-cp311-win_amd64.whl", ">=3.10"),
        ("torch-2.15.0+cu132-cp311-cp311-manylinux_2_28_x86_64.whl", ">=3.11"),
    ],
    "torchvision": [("torchvision-0.29.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl", ">=3.10")],
}
FLAT = ["torch-1.10.2+cu113-cp39-cp39-linux_x86_64.whl", "torch-1.10.2+cu102-cp39-cp39-linux_x86_64.whl"]


class Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in WHEELS:
            files = WHEELS[parts[1]]
            if "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", ""):
                body = json.dumps({"meta": {"api-version": "1.1"}, "name": parts[1], "files": [
                    {"filename": f, "url": f"/files/{f}", "hashes": {}, "requires-python": rp} for f, rp in files
                ]}).encode()
                return self._send(body, "application/vnd.pypi.simple.v1+json")
            links = "".join(f'<a href="/files/{f.replace("+", "%2B")}" data-requires-python="{rp.replace(">", "&gt;")}">{f}</a><br>'
                            for f, rp in files)
            return self._send(f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html")
        if len(parts) == 2 and parts[0] == "simple":
            self.send_error(404)
            return None
        return super().do_GET()

    def _send(self, body: bytes, ctype: str):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def index(tmp_path: Path):
    files = tmp_path / "files"
    files.mkdir()
    for name in [f for v in WHEELS.values() for f, _ in v] + FLAT:
        (files / name).write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: a wheel only by name
    links = "".join(f'<a href="files/{n.replace("+", "%2B")}">{n}</a>\n' for n in FLAT)
    (tmp_path / "torch_stable.html").write_text(f"<html><body>{links}</body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def machine(**kw) -> Machine:
    base = dict(os="linux", arch="x86_64", python="3.11", glibc="2.35")
    base.update(kw)
    return Machine(**base)


def pkg(req: str, url: str, kind: str = "index-url") -> Package:
    name = req.split("=")[0]
    return Package(name=name, version=req.split("==")[1], variant="cu126", index_url=url, requirement=req, index_kind=kind)


def test_simple_index_finds_the_wheel_for_this_python_and_platform(index):
    res = check_packages([pkg("torch==2.14.1", f"{index}/simple"), pkg("torchvision==0.29.1", f"{index}/simple")],
                         machine())
    assert [r["found"] for r in res] == [True, True], res
    assert res[0]["file"] == "torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl"
    assert res[0]["index"] == f"{index}/simple"


@pytest.mark.parametrize(
    "kw,req,found",
    [
        (dict(python="3.9"), "torch==2.14.1", False),  # no cp39 wheel
        (dict(glibc="2.17"), "torch==2.14.1", False),  # manylinux_2_28 needs glibc 2.28
        (dict(os="windows"), "torch==2.14.1", True),  # win_amd64 wheel
        (dict(os="windows", python="3.12"), "torch==2.14.1", False),
        (dict(arch="aarch64"), "torch==2.14.1", False),
        (dict(python="3.12"), "torch==2.14.1", True),
        (dict(), "torch==2.15.0", True),
        (dict(), "torch==2.13.0", False),
    ],
)
def test_tags_python_and_version_must_all_match(index, kw, req, found):
    res = check_packages([pkg(req, f"{index}/simple")], machine(**kw))
    assert res[0]["found"] is found, res
    if not found:
        assert res[0]["error"] and "no wheel for" in res[0]["error"]


def test_requires_python_on_the_page_is_honoured(index, monkeypatch):
    # A cp311 wheel whose page says Requires-Python >=3.12 must not count for Python 3.11.
    monkeypatch.setitem(WHEELS, "torch", [("torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl", ">=3.12")])
    res = check_packages([pkg("torch==2.14.1", f"{index}/simple")], machine())
    assert res[0]["found"] is False


def test_json_and_html_forms_agree(index):
    import httpx

    from dlsetup.resolve.check_index import list_files

    with httpx.Client() as client:
        via_json = list_files(client, f"{index}/simple", "simple", "torch")
        html = client.get(f"{index}/simple/torch/", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    from dlsetup.resolve.check_index import _files_from_html

    via_html = _files_from_html(html.text, f"{index}/simple/torch/")
    assert sorted(f["filename"] for f in via_json) == sorted(f["filename"] for f in via_html)
    assert {f["requires_python"] for f in via_html} == {">=3.10", ">=3.11"}


def test_flat_find_links_page_with_local_versions(index):
    page = f"{index}/torch_stable.html"
    ok = check_packages([pkg("torch==1.10.2+cu113", page, "find-links")], machine(python="3.9"))
    assert ok[0]["found"] and ok[0]["file"] == "torch-1.10.2+cu113-cp39-cp39-linux_x86_64.whl"
    missing = check_packages([pkg("torch==1.10.2+cu111", page, "find-links")], machine(python="3.9"))
    assert missing[0]["found"] is False


def test_unknown_project_and_dead_server_are_reported_not_raised(index):
    res = check_packages([pkg("nosuch==1.0", f"{index}/simple")], machine())
    assert res[0]["found"] is False and "404" in res[0]["error"]
    res = check_packages([pkg("torch==2.14.1", "http://127.0.0.1:9/simple")], machine())
    assert res[0]["found"] is False and res[0]["error"]


def test_cli_check_index_against_the_local_index(cli, index):
    args = ["resolve", "torch", "--gpu-cc", "6.1", "--driver", "580.95.05", "--python", "3.11", "--os", "linux",
            "--arch", "x86_64", "--glibc", "2.35", "--check-index", "--index-url", f"{index}/simple", "--json"]
    r = cli(*args)
    assert r.code == 0, r
    doc = r.json()
    assert doc["check_index"] == [{"requirement": "torch==2.14.1", "index": f"{index}/simple", "found": True,
                                   "file": "torch-2.14.1+cu126-cp311-cp311-manylinux_2_28_x86_64.whl", "error": None,
                                   "status": "found"}]
    r = cli(*[a if a != "3.11" else "3.9" for a in args if a != "--json"])
    # Python 3.9: torch 2.x resolution is 2.8 (py3.9) whose wheel the fake index lacks -> exit 1 and says so
    assert r.code == 1
    assert "Resolved, but the index lacks some of the files" in r.stdout
    assert "Index check" in r.stdout and "missing" in r.stdout
