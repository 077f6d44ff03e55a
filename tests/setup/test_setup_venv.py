"""``dlsetup setup --backend venv`` end to end through the lab mirror on 127.0.0.1 (conftest.py): real uv makes the
virtual environment from the mirror's PyPI index and its PyTorch index, ``pylock.toml`` (PEP 751) is the lock,
``dlsetup verify`` runs real CPU torch in the new environment (the torch stand-in wheel's ``.pth`` puts this
interpreter's torch on its path), the report is written, and a second run skips every finished step."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlsetup.util import toml
from tests.envs.channel_builder import PY_VER
from tests.setup.test_setup import statuses

pytestmark = pytest.mark.timeout(600)




def test_setup_backend_venv_end_to_end(cli, lab_mirror, isolated_env, uv_isolated):
    r = cli("setup", "--backend", "venv", "--yes", "--mirror", "lab", "--python", PY_VER, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["backend"] == "venv" and doc["outcome"] == "ok"
    assert statuses(doc) == {"doctor": "done", "resolve": "done", "mirror": "done", "plan": "done", "create": "done",
                             "lock": "done", "verify": "done", "report": "done"}
    plan = doc["plan"]
    assert plan["backend"] == {"name": "venv", "source": "option", "why": "venv, as asked (--backend)"}
    # a virtual environment, not a conda one, where conda's envs are (one name space)
    prefix = Path(doc["prefix"])
    assert prefix == isolated_env / ".conda" / "envs" / "dl"
    assert (prefix / "pyvenv.cfg").is_file() and not (prefix / "conda-meta").exists()
    versions = {f["name"]: f["version"] for f in lab_mirror["frameworks"]}
    create = next(s for s in doc["steps"] if s["name"] == "create")
    got = dict(p.split("==") for p in create["data"]["pip_packages"])
    assert {n: got[n] for n in versions} == {n: f"{v}+cpu" for n, v in versions.items()}  # from the torch index
    assert got["opencv-python"] == "1.0" and create["data"]["conda_packages"] == 0  # the recipe's part, PyPI names
    assert create["summary"] == f"{prefix}: a virtual environment with {len(got)} pip packages"
    # the download: no conda solve; the framework wheels measured on the mirror's index before anything was
    # written; what uv resolves from the PyPI index (the recipe's other packages) said to be not counted
    d = plan["download"]
    assert d["known"] and d["conda_packages"] is None and d["pip_bytes"] == lab_mirror["sizes"]
    assert d["total_bytes"] == sum(lab_mirror["sizes"].values())
    uncounted = {n["what"]: n["items"] for n in d["not_counted"]}
    assert uncounted["pip_unpinned"] == ["numpy", "pandas", "matplotlib", "opencv-python"]
    # the lock is PEP 751 pylock.toml with the versions installed
    lock = Path(doc["lock"])
    assert lock.name == "pylock.toml"
    data = toml.loads(lock.read_text(encoding="utf-8"))
    assert data["lock-version"] == "1.0" and data["tool"]["dlsetup"]["python"].startswith(PY_VER)
    locked = {p["name"]: p["version"] for p in data["packages"]}
    assert locked["torch"] == f"{versions['torch']}+cpu" and locked["opencv-python"] == "1.0"
    # verify ran in the venv, real torch on the CPU; the report has the decisions on top
    verify = next(s for s in doc["steps"] if s["name"] == "verify")
    assert verify["data"]["status"] == "pass" and verify["data"]["device"] == "cpu"
    page = Path(doc["report"]).read_text(encoding="utf-8")
    assert 'data-step="create" data-status="done"' in page and "pylock.toml" in page and 'id="verify-data"' in page
    # the one line: the venv's bin first on PATH, in the user's shell (the tests pin bash)
    shown = subprocess.run(["bash", "-c", doc["activate"] + '; command -v python'], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"}, timeout=30).stdout.strip()
    assert shown == f"{prefix}/bin/python" and doc["next_steps"] == [doc["activate"]]

    # again: nothing new to confirm, every step that wrote something is skipped, the venv is untouched
    cfg = (prefix / "pyvenv.cfg").stat().st_mtime_ns
    again = cli("setup", "--backend", "venv", "--mirror", "lab", "--python", PY_VER, "--json")
    assert again.code == 0, again
    assert statuses(again.json()) == {"doctor": "done", "resolve": "done", "mirror": "cached", "plan": "done",
                                      "create": "cached", "lock": "cached", "verify": "cached", "report": "cached"}
    assert (prefix / "pyvenv.cfg").stat().st_mtime_ns == cfg
    # the same name with the default backend: not silently replaced; the message says an earlier setup made it
    other = cli("setup", "--yes", "--mirror", "lab", "--python", PY_VER, "--offline")
    assert other.code == 2 and "was made by an earlier dlsetup setup with other inputs" in other.stderr
    assert (prefix / "pyvenv.cfg").stat().st_mtime_ns == cfg
