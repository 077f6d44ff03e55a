"""Fake package mirrors served on 127.0.0.1 for the mirror tests and benchmark.

Everything here is real protocol, built by the tests themselves (no recorded fixtures):

* wheels: valid ``.whl`` zip files (``METADATA``, ``WHEEL``, ``RECORD`` with sha256) written with
  ``zipfile``, installable by real pip and uv;
* a PEP 503 simple index (``/simple/<project>/`` with ``#sha256=`` links to ``/packages/<file>``);
* a conda channel tree (``/anaconda/cloud/conda-forge/<subdir>/repodata.json``, ``pkgs/main``);
* PyTorch wheel locations in the three mirror layouts (``/torch/whl/<variant>/torch/`` simple,
  ``/torch-flat/<variant>/`` flat, ``/torch-stable.html``);
* a Hugging Face API endpoint (``/hf/api/models/<repo>``).

Behaviours: ``good``; ``slow`` (every answer after ``delay`` seconds); ``404`` (everything 404);
``soft404`` (an HTML page with status 200 for every path); ``badbytes`` (index pages fine, files are
garbage); ``hang`` (accepts the connection, never answers). Each server keeps an access log.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

SUBDIRS = ("linux-64", "noarch", "linux-aarch64", "osx-arm64", "win-64")


# ------------------------------------------------------------------------------------------- wheels


def build_wheel(out_dir: Path, name: str, version: str, tag: str = "py3-none-any",
                files: dict[str, str] | None = None) -> Path:
    """Write a minimal valid wheel (PEP 427) and return its path."""
    dist = name.replace("-", "_")
    filename = f"{dist}-{version}-{tag}.whl"
    distinfo = f"{dist}-{version}.dist-info"
    files = dict(files or {f"{dist}/__init__.py": f'__version__ = "{version}"\n'})
    files[f"{distinfo}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: dlsetup test wheel\n"
    files[f"{distinfo}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: dlsetup-tests\nRoot-Is-Purelib: true\n"
                                  + "".join(f"Tag: {t}\n" for t in _expand_tag(tag)))
    record_lines = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{distinfo}/RECORD,,")
    files[f"{distinfo}/RECORD"] = "\n".join(record_lines) + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / filename
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return target


def _expand_tag(tag: str) -> list[str]:
    py, abi, plat = tag.split("-")
    return [f"{p}-{a}-{pl}" for p in py.split(".") for a in abi.split(".") for pl in plat.split(".")]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------- content


@dataclass
class Content:
    """What a good mirror serves: files by URL path."""

    files: dict[str, bytes] = field(default_factory=dict)  # "/packages/x.whl" -> bytes
    pages: dict[str, str] = field(default_factory=dict)  # "/simple/x/" -> html
    json: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def build(cls, wheel_dir: Path, python_tag: str, platform_tag: str = "manylinux_2_28_x86_64",
              packages: dict[str, list[str]] | None = None, torch_versions: dict[str, list[str]] | None = None) -> Content:
        c = cls()
        packages = packages or {"dlsetup-probe-pkg": ["1.0.0", "1.1.0"]}
        torch_versions = torch_versions or {"cpu": ["2.6.0"], "cu126": ["2.6.0", "2.7.0"]}
        for project, versions in packages.items():
            links = []
            for v in versions:
                whl = build_wheel(wheel_dir, project, v)
                c.files[f"/packages/{whl.name}"] = whl.read_bytes()
                links.append(f'<a href="../../packages/{whl.name}#sha256={_sha256(whl)}">{whl.name}</a><br/>')
            c.pages[f"/simple/{project}/"] = _simple_page(project, links)
        c.pages["/simple/"] = "<html><body>" + "".join(f'<a href="{p}/">{p}</a>' for p in packages) + "</body></html>"
        flat_all = []
        for variant, versions in torch_versions.items():
            links = []
            for v in versions:
                tag = f"{python_tag}-{python_tag}-{platform_tag}"
                whl = build_wheel(wheel_dir / variant, "torch", f"{v}+{variant}", tag,
                                  files={"torch/__init__.py": f'__version__ = "{v}+{variant}"\n'})
                data = whl.read_bytes()
                quoted = whl.name.replace("+", "%2B")
                c.files[f"/torch/whl/{variant}/{quoted}"] = data
                c.files[f"/torch-flat/{variant}/{quoted}"] = data
                links.append(f'<a href="../{quoted}#sha256={_sha256(whl)}">{html.escape(whl.name)}</a><br/>')
                flat_all.append(f'<a href="torch-flat/{variant}/{quoted}">{variant}/{html.escape(whl.name)}</a><br/>')
            c.pages[f"/torch/whl/{variant}/torch/"] = _simple_page("torch", links)
            c.pages[f"/torch-flat/{variant}/"] = "<html><body>" + "".join(
                ln.replace("../", "") for ln in links) + "</body></html>"
        c.pages["/torch-stable.html"] = "<html><body>" + "".join(flat_all) + "</body></html>"
        for channel in ("cloud/conda-forge", "cloud/bioconda", "pkgs/main", "pkgs/r"):
            for subdir in SUBDIRS:
                repodata = {"info": {"subdir": subdir}, "packages": {}, "packages.conda": {}, "removed": [],
                            "repodata_version": 1}
                c.json[f"/anaconda/{channel}/{subdir}/repodata.json"] = json.dumps(repodata).encode()
        c.json["/hf/api/models/openai-community/gpt2"] = json.dumps({"id": "openai-community/gpt2",
                                                                     "modelId": "openai-community/gpt2"}).encode()
        c.json["/hf/api/models/test/tiny"] = json.dumps({"id": "test/tiny"}).encode()
        return c


def _simple_page(project: str, links: list[str]) -> str:
    return (f"<!DOCTYPE html><html><head><title>Links for {project}</title></head><body>"
            f"<h1>Links for {project}</h1>" + "".join(links) + "</body></html>")


SOFT404 = b"<!DOCTYPE html><html><head><title>Mirror</title></head><body><h1>Welcome!</h1>Nothing here.</body></html>"


# ------------------------------------------------------------------------------------------ server


@dataclass
class Hit:
    method: str
    path: str
    user_agent: str
    range: str | None
    status: int


class FakeMirror:
    def __init__(self, content: Content, mode: str = "good", delay: float = 0.0) -> None:
        self.content, self.mode, self.delay = content, mode, delay
        self.log: list[Hit] = []
        self._stop = threading.Event()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self._serve(head=True)

            def do_GET(self):
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                if mirror.mode == "hang":
                    mirror.log.append(Hit(self.command, self.path, self.headers.get("User-Agent", ""),
                                          self.headers.get("Range"), 0))
                    mirror._stop.wait(60)
                    self.close_connection = True
                    return
                if mirror.delay:
                    time.sleep(mirror.delay)
                status, ctype, body = mirror.resolve(self.path)
                rng = self.headers.get("Range")
                headers = {}
                if status == 200 and rng and rng.startswith("bytes=") and ctype == "application/octet-stream":
                    start_s, _, end_s = rng[6:].partition("-")
                    start = int(start_s or 0)
                    end = min(int(end_s) if end_s else len(body) - 1, len(body) - 1)
                    headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
                    body = body[start : end + 1]
                    status = 206
                mirror.log.append(Hit(self.command, self.path, self.headers.get("User-Agent", ""), rng, status))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if not head:
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def resolve(self, raw_path: str) -> tuple[int, str, bytes]:
        path = raw_path.split("?", 1)[0]
        if self.mode == "404":
            return 404, "text/html", b"<html><body>404 Not Found</body></html>"
        if self.mode == "soft404":
            return 200, "text/html; charset=utf-8", SOFT404
        c = self.content
        for key in (path, unquote(path)):
            if key in c.pages:
                return 200, "text/html; charset=utf-8", c.pages[key].encode()
            if key in c.json:
                return 200, "application/json", c.json[key]
            if key in c.files or key.replace("+", "%2B") in c.files:
                data = c.files.get(key) or c.files[key.replace("+", "%2B")]
                if self.mode == "badbytes":
                    data = b"\x00garbage" * (len(data) // 8 + 1)
                return 200, "application/octet-stream", data
        if path.endswith("/") is False and path + "/" in c.pages:
            return 200, "text/html; charset=utf-8", c.pages[path + "/"].encode()
        return 404, "text/html", b"<html><body>404 Not Found</body></html>"

    def start(self) -> FakeMirror:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [h.path for h in self.log]

    def toml(self, name: str, *, torch_layout: str = "simple", variants: tuple[str, ...] = ("cpu", "cu126"),
             hf: bool = True, python_install: bool = False) -> str:
        """A [mirror.<name>] entry for dlsetup's custom mirrors file pointing at this server."""
        torch_url = {"simple": f"{self.url}/torch/whl", "flat": f"{self.url}/torch-flat",
                     "stable_html": f"{self.url}/torch-stable.html"}[torch_layout]
        lines = [
            f"[mirror.{name}]",
            f'name = "Loopback test mirror ({self.mode})"',
            f'pip = "{self.url}/simple"',
            f'conda = "{self.url}/anaconda"',
            'conda_channels = ["pkgs/main", "pkgs/r", "cloud/conda-forge", "cloud/bioconda"]',
        ]
        if hf:
            lines.append(f'hf = "{self.url}/hf"')
        if python_install:
            lines.append(f'python_install = "{self.url}/python-build-standalone"')
        lines += [f"[mirror.{name}.torch]", f'url = "{torch_url}"', f'layout = "{torch_layout}"',
                  "variants = [" + ", ".join(f'"{v}"' for v in variants) + "]", ""]
        return "\n".join(lines)
