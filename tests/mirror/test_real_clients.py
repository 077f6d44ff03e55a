"""After `dlsetup mirror <loopback mirror>`, the real clients use it, and nothing else.

Real pip (`python -m pip download/install`), real uv (`uv pip install` into a fresh venv) and real
huggingface_hub (in a shell that sourced dlsetup's snippet) run as subprocesses. Every non-loopback
request from them goes to a proxy on 127.0.0.1:9 that refuses, so a config that leaked to PyPI would
fail the test instead of quietly downloading from the internet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mirror.conftest import client_env

UV = str(Path(sys.executable).parent / "uv")


@pytest.fixture
def mirror(serve, custom_mirrors, cli):
    s = serve("good")
    custom_mirrors(s.toml("loop", variants=("cpu", "cu126")))
    # not --offline: dlsetup checks the loopback mirror for real before writing
    r = cli("mirror", "loop", "--tools", "pip,uv,torch,hf", "--variant", "cpu", "--package", "dlsetup-probe-pkg")
    assert r.code == 0, r
    s.log.clear()
    return s


def _run(argv, env, timeout=180, cwd=None):
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)


def test_real_pip_downloads_and_installs_from_the_mirror_only(mirror, home, tmp_path):
    pip_conf = (home / ".config/pip/pip.conf").read_text()
    assert f"index-url = {mirror.url}/simple" in pip_conf
    assert "trusted-host = 127.0.0.1:" in pip_conf  # http mirror → trusted-host, as pip requires
    env = client_env()
    out = _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "dl"),
                "dlsetup-probe-pkg==1.1.0"], env)
    assert out.returncode == 0, out.stderr
    assert f"Looking in indexes: {mirror.url}/simple" in out.stdout
    assert (tmp_path / "dl" / "dlsetup_probe_pkg-1.1.0-py3-none-any.whl").exists()
    paths = mirror.paths()
    assert "/simple/dlsetup-probe-pkg/" in paths
    assert "/packages/dlsetup_probe_pkg-1.1.0-py3-none-any.whl" in paths
    assert all(h.user_agent.startswith("pip/") for h in mirror.log)

    target = tmp_path / "target"
    out = _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), "dlsetup-probe-pkg"], env)
    assert out.returncode == 0, out.stderr
    check = _run([sys.executable, "-c", "import dlsetup_probe_pkg as m; print(m.__version__)"],
                 dict(env, PYTHONPATH=str(target)))
    assert check.stdout.strip() == "1.1.0"


def test_real_pip_takes_torch_variant_from_the_mirror_wheel_index(mirror, home, tmp_path):
    assert f"extra-index-url = {mirror.url}/torch/whl/cpu" in (home / ".config/pip/pip.conf").read_text()
    out = _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "dl"), "torch==2.6.0"],
               client_env())
    assert out.returncode == 0, out.stderr
    wheels = [p.name for p in (tmp_path / "dl").iterdir()]
    assert len(wheels) == 1 and wheels[0].startswith("torch-2.6.0+cpu-")
    assert any(p.startswith("/torch/whl/cpu/torch") for p in mirror.paths())


def test_real_uv_installs_from_the_mirror_only(mirror, home, tmp_path):
    uv_toml = (home / ".config/uv/uv.toml").read_text()
    assert f'url = "{mirror.url}/simple"' in uv_toml and "default = true" in uv_toml
    env = client_env({"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never"})
    venv = tmp_path / "venv"
    out = _run([UV, "venv", str(venv), "--python", sys.executable], env)
    assert out.returncode == 0, out.stderr
    py = venv / "bin" / "python"
    out = _run([UV, "pip", "install", "--python", str(py), "dlsetup-probe-pkg==1.1.0", "torch==2.6.0"], env)
    assert out.returncode == 0, out.stderr
    check = _run([str(py), "-c", "import dlsetup_probe_pkg, torch; print(dlsetup_probe_pkg.__version__, torch.__version__)"],
                 env)
    assert check.stdout.split() == ["1.1.0", "2.6.0+cpu"]
    uv_hits = [h for h in mirror.log if h.user_agent.startswith("uv/")]
    assert {"/simple/dlsetup-probe-pkg/", "/torch/whl/cpu/torch/"} <= {h.path for h in uv_hits}


def test_huggingface_hub_sees_the_endpoint_from_the_sourced_snippet(mirror, home, tmp_path):
    snippet = Path(os.environ["DLSETUP_CONFIG_DIR"]) / "hf-endpoint.sh"
    assert snippet.exists()
    code = ("import huggingface_hub.constants as c; from huggingface_hub import HfApi; "
            "print(c.ENDPOINT); print(HfApi().model_info('test/tiny').id)")
    env = client_env({"HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf")})
    out = _run(["bash", "-c", f'source "{snippet}" && "{sys.executable}" -c "{code}"'], env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == f"{mirror.url}/hf" and lines[1] == "test/tiny"
    assert "/hf/api/models/test/tiny" in mirror.paths()
    # and without sourcing it, huggingface_hub is back on its default endpoint
    out = _run([sys.executable, "-c", "import huggingface_hub.constants as c; print(c.ENDPOINT)"], client_env())
    assert out.stdout.strip() != f"{mirror.url}/hf"


def test_restore_puts_the_clients_back(mirror, home, cli, tmp_path):
    assert cli("mirror", "restore").code == 0
    assert not (home / ".config/pip/pip.conf").exists() and not (home / ".config/uv/uv.toml").exists()
    out = _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "dl"), "--retries", "0",
                "--timeout", "2", "dlsetup-probe-pkg"], client_env())
    assert out.returncode != 0 and "Looking in indexes" not in out.stdout  # back to PyPI (refused by the proxy)
    assert mirror.log == []
