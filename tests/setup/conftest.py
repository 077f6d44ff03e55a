"""A lab mirror on 127.0.0.1 for ``dlsetup setup``: a conda channel (``/conda/cloud/conda-forge``), a PyPI simple
index (``/simple/``) and PyTorch wheels in the upstream ``simple`` layout (``/torch/whl/cpu/torch/``), declared
as a custom mirror in the isolated HOME's ``mirrors.toml``. Everything is real protocol: rattler solves and
downloads the channel over HTTP, the environment's own pip installs the wheels, the mirror probe checks them.

The conda packages are the envs tests' stand-ins (a venv-style python that is this interpreter, the real pip,
stub numpy/pandas/matplotlib/opencv). The torch wheel is the one stand-in that matters: a ~200 MB download is
out of reach here, so the wheel (with the version the resolver picks, tagged for this Python and platform)
carries a ``.pth`` file that puts this interpreter's site-packages — and with it the real CPU torch — on the
new environment's path. ``dlsetup verify`` then runs real torch ops in the new environment.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import pytest

from tests.envs import channel_builder as cb
from tests.envs.channel_builder import PY_VER
from tests.mirror.fakemirror import build_wheel

CONDA_STACK = ["numpy", "pandas", "matplotlib", "opencv"]


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    """The served tree without the wheels (those depend on the versions the resolver picks in the test's HOME)."""
    root = tmp_path_factory.mktemp("labmirror")
    pkgs = [cb.venv_python_pkg(), cb.pip_pkg()]
    for v in ("3.10.14", "3.12.7", "3.13.1"):
        if not v.startswith(PY_VER + "."):
            pkgs.append(cb.Pkg("python", v, subdir="linux-64", files={"share/python-stub": (v, 0o644)}))
    for name in CONDA_STACK:
        pkgs.append(cb.Pkg(name, "1.0", noarch="generic", depends=["python"],
                           files={f"share/{name}/stub.txt": (name, 0o644)}))
    cb.build_channel(root / "conda" / "cloud" / "conda-forge", pkgs)
    return root


@pytest.fixture
def isolated_rattler_cache(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "rattler-cache"))
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not any((Path(p) / t).exists() for t in ("conda", "mamba", "micromamba"))]
    monkeypatch.setenv("PATH", os.pathsep.join(path))


def _frameworks(cli) -> list[dict]:
    """What the resolver picks here for the pytorch recipe (CPU: this box has no NVIDIA GPU)."""
    r = cli("setup", "--dry-run", "--json", "--python", PY_VER)
    assert r.code == 0, r
    return r.json()["plan"]["frameworks"]


@pytest.fixture
def lab_mirror(lab_root, tmp_path, isolated_env, isolated_rattler_cache, cli):
    """Serve the lab mirror; write it into the isolated HOME's custom catalogue; yield its URL."""
    root = tmp_path / "served"
    shutil.copytree(lab_root, root, symlinks=True)
    frameworks = _frameworks(cli)
    cpython = f"cp{PY_VER.replace('.', '')}"
    tag = f"{cpython}-{cpython}-manylinux_2_28_{os.uname().machine}"
    real_site = sysconfig.get_paths()["purelib"]
    wheels = []
    for f in frameworks:
        files = {f"{f['name']}_dlsetup_stand_in.pth": real_site + "\n"} if f["name"] == "torch" else None
        wheels.append(build_wheel(tmp_path / "wheels", f["name"], f"{f['version']}+cpu", tag=tag, files=files))
    # what --backend venv takes from PyPI instead of the channel: the recipe's conda part under its PyPI names
    # (stand-ins that add no importable package, so the real numpy behind the torch stand-in stays visible)
    pypi = [cb.make_wheel(tmp_path / "pypi", name, "1.0", modules={f"dlsetup_stand_in_{name.replace('-', '_')}.py": ""})
            for name in ("numpy", "pandas", "matplotlib", "opencv-python")]
    cb.write_simple_index(root, wheels + pypi)  # /simple/ and /files/
    torch_root = root / "torch" / "whl"
    cb.write_simple_index(torch_root, wheels)
    (torch_root / "simple").rename(torch_root / "cpu")  # upstream layout: /whl/cpu/torch/
    with cb.LocalIndex(root) as index:
        base = f"http://127.0.0.1:{index.port}"
        config = isolated_env / ".config" / "dlsetup"
        config.mkdir(parents=True, exist_ok=True)
        (config / "mirrors.toml").write_text(
            "# the test's loopback mirror (tests/setup/conftest.py)\n"
            "[mirror.lab]\n"
            'name = "Lab mirror (loopback)"\n'
            f'pip = "{base}/simple/"\n'
            f'conda = "{base}/conda"\n'
            'conda_channels = ["cloud/conda-forge"]\n'
            "[mirror.lab.torch]\n"
            f'url = "{base}/torch/whl"\n'
            'layout = "simple"\n'
            'variants = ["cpu"]\n', encoding="utf-8")
        yield {"url": base, "frameworks": frameworks,
               "sizes": {f"{f['name']}=={f['version']}": w.stat().st_size for f, w in zip(frameworks, wheels, strict=True)}}
