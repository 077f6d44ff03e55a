"""Recipes: a stack fitted to this machine (CPU here) or to a GPU snapshot by the resolver, then created.

A stand-in "conda-forge" channel (small real packages with the names the recipes use, built by
``channel_builder``) is reached the way a mirror would be: through ``channel_alias`` in ``.condarc``.
GPU machines come from snapshot fixtures in ``tests/fixtures/snapshots/`` (each says what it
was built from in its ``origin``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.envs import channel_builder as cb
from tests.envs.channel_builder import PY_VER

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
STACK = ["numpy", "scipy", "pandas", "matplotlib", "opencv", "scikit-learn", "jupyterlab", "ipykernel", "pillow", "tqdm"]


@pytest.fixture(scope="session")
def fake_forge(tmp_path_factory) -> Path:
    """``<root>/conda-forge``: venv-style python (this interpreter), real pip, stub scientific stack, and
    stub pythons for other versions (solvable, not runnable: the plan for 3.12 must solve here too)."""
    root = tmp_path_factory.mktemp("alias")
    pkgs = [cb.venv_python_pkg(), cb.pip_pkg()]
    for v in ("3.10.14", "3.12.7", "3.13.1"):
        if not v.startswith(PY_VER + "."):
            pkgs.append(cb.Pkg("python", v, subdir="linux-64", files={"share/python-stub": (v, 0o644)}))
    for name in STACK:
        pkgs.append(cb.Pkg(name, "1.0", noarch="generic", depends=["python"],
                           files={f"share/{name}/stub.txt": (name, 0o644)}))
    cb.build_channel(root / "conda-forge", pkgs)
    return root


@pytest.fixture
def forge(fake_forge, isolated_env) -> Path:
    (isolated_env / ".condarc").write_text(f"channel_alias: {fake_forge.as_uri()}\n")
    return fake_forge


def test_every_recipe_is_valid_and_names_known_frameworks():
    from dlsetup.envs import recipes
    from dlsetup.resolve.specs import FAMILIES

    assert recipes.names() == ["course", "cpu-minimal", "paddle", "pytorch", "tensorflow"]
    for name in recipes.names():
        r = recipes.load(name)
        assert r["frameworks"] and all(f in FAMILIES for f in r["frameworks"]), name
        assert r["source"] and r["description"]
        assert not any(any(c in s for c in "=<>") for s in r["conda"] + r["pip"] + r["frameworks"]), \
            f"recipe {name} pins a version: recipes name a stack, the resolver picks versions"
    assert "scipy" in recipes.load("course")["conda"] and "numpy" in recipes.load("course")["conda"]
    assert {"numpy", "pandas", "matplotlib", "opencv"} <= set(recipes.load("pytorch")["conda"])


def test_pytorch_dry_run_here_is_a_cpu_plan(cli, forge, envs_dir):
    r = cli("--json", "create", "env", "demo", "--recipe", "pytorch", "--dry-run")
    assert r.code == 0, r
    doc = r.json()
    plan = doc["recipe"]
    assert plan["recipe"] == "pytorch" and plan["variant"] == "cpu" and plan["cuda"] is None
    assert "no NVIDIA GPU" in plan["machine_text"]
    assert [f["name"] for f in plan["frameworks"]] == ["torch", "torchvision"]
    assert doc["pip"] == [f["requirement"] for f in plan["frameworks"]]
    assert doc["pip_index_url"] == plan["frameworks"][0]["index_url"]
    assert doc["specs"][0] == f"python={plan['python']}" and "opencv" in doc["specs"] and doc["specs"][-1] == "pip"
    assert doc["channels"] == [f"{forge.as_uri()}/conda-forge"]  # conda-forge through channel_alias
    assert doc["solved"] is True and {"numpy", "pandas", "matplotlib", "opencv", "pip", "python"} <= \
        {p["name"] for p in doc["packages"]}
    assert not any(v.startswith("__cuda") for v in doc["virtual_packages"])
    assert not envs_dir.exists() or not any(envs_dir.iterdir())
    text = cli("create", "env", "demo", "--recipe", "pytorch", "--dry-run").stdout
    assert "Would create" in text and "recipe pytorch for" in text and "[cpu]" in text


@pytest.mark.parametrize("snapshot", ["h100-r580", "rtx4090-torch-cpu", "wsl2-rtx4070"])
def test_pytorch_dry_run_for_a_gpu_snapshot(cli, forge, snapshot):
    path = SNAPSHOTS / f"{snapshot}.json"
    snap = json.loads(path.read_text())
    r = cli("--json", "create", "env", "demo", "--recipe", "pytorch", "--dry-run", "--snapshot", str(path))
    assert r.code == 0, r
    doc = r.json()
    plan = doc["recipe"]
    assert plan["snapshot"] == str(path)
    assert plan["variant"].startswith("cu") and plan["cuda"] and plan["variant"] == "cu" + plan["cuda"].replace(".", "")
    assert all(f["variant"] == plan["variant"] for f in plan["frameworks"])
    # from the variant's own index, or from the default index when that serves this variant (index_url None)
    assert all(f["index_url"] is None or plan["variant"] in f["index_url"] for f in plan["frameworks"])
    assert snap["nvidia"]["gpus"][0]["name"] in plan["machine_text"]
    # the solve used the snapshot's virtual packages, not this machine's
    assert f"__cuda={snap['nvidia']['cuda_driver_version']}=0" in doc["virtual_packages"]
    assert f"__glibc={snap['system']['glibc']}=0" in doc["virtual_packages"]
    # the CUDA runtime the plan picked can run on that driver (minor-version compatibility, compat data)
    from dlsetup import compat

    assert compat.driver_meets(snap["nvidia"]["driver_version"], compat.runtime_driver_floor(plan["cuda"]))


def test_plan_is_all_chinese_with_lang_zh(cli, forge):
    r = cli("--lang", "zh", "create", "env", "demo", "--recipe", "pytorch", "--dry-run",
            "--snapshot", str(SNAPSHOTS / "h100-r580.json"))
    assert r.code == 0, r
    head = r.stdout.splitlines()[:2]
    assert head[0].startswith("将创建 ") and "配方 pytorch，适配 linux x86_64，" in head[1] and "驱动 580" in head[1], head
    assert "driver" not in head[1] and "Would" not in head[0]
    r = cli("--lang", "zh", "create", "env", "demo", "--recipe", "pytorch", "--dry-run")
    assert r.code == 0 and "没有 NVIDIA GPU" in r.stdout and "no NVIDIA GPU" not in r.stdout, r


def test_cpu_minimal_is_cpu_even_on_a_gpu_machine(cli, forge):
    r = cli("--json", "create", "env", "m", "--recipe", "cpu-minimal", "--dry-run",
            "--snapshot", str(SNAPSHOTS / "h100-r580.json"))
    assert r.code == 0, r
    plan = r.json()["recipe"]
    assert plan["variant"] == "cpu" and [f["name"] for f in plan["frameworks"]] == ["torch"]
    assert "CPU only" in plan["machine_text"]


def test_other_recipes_plan(cli, forge):
    for recipe in ("tensorflow", "paddle", "course"):
        r = cli("--json", "create", "env", "x", "--recipe", recipe, "--dry-run", "--python", PY_VER,
                "--snapshot", str(SNAPSHOTS / "h100-r580.json"))
        assert r.code == 0, (recipe, r)
        doc = r.json()
        assert doc["recipe"]["python"] == PY_VER and doc["specs"][0] == f"python={PY_VER}"
        assert doc["pip"], recipe


def test_no_fitting_gpu_build_is_an_error_not_a_silent_cpu_fallback(cli, forge):
    r = cli("create", "env", "x", "--recipe", "pytorch", "--dry-run", "--snapshot",
            str(SNAPSHOTS / "gtx1080ti-r590.json"))
    assert r.code == 1
    assert r.stderr.startswith("dlsetup: error: recipe pytorch: no torch, torchvision build fits")


def test_recipe_usage_errors(cli, forge, tmp_path):
    r = cli("create", "env", "x", "--recipe", "nosuch")
    assert r.code == 2 and "unknown recipe 'nosuch'; available: course, cpu-minimal, paddle, pytorch, tensorflow" in r.stderr
    r = cli("create", "env", "x", "--recipe", "pytorch", "--snapshot", str(SNAPSHOTS / "h100-r580.json"))
    assert r.code == 2 and "add --dry-run" in r.stderr
    r = cli("create", "env", "x", "--recipe", "pytorch", "-f", str(tmp_path / "e.yml"))
    assert r.code == 2 and "not both" in r.stderr


def test_recipe_creates_the_env_with_the_resolved_framework(cli, forge, tmp_path, envs_dir):
    plan = cli("--json", "create", "env", "dl", "--recipe", "pytorch", "--python", PY_VER, "--dry-run").json()["recipe"]
    # a local index standing in for the PyTorch index, serving wheels with the versions the resolver chose
    wheels = [cb.make_wheel(tmp_path / "w", f["name"], f["version"],
                            modules={f"{f['name']}/__init__.py": f"__version__ = {f['version']!r}\nvariant = 'fake'\n"})
              for f in plan["frameworks"]]
    cb.write_simple_index(tmp_path / "index", wheels)
    with cb.LocalIndex(tmp_path / "index") as index:
        r = cli("--json", "create", "env", "dl", "--recipe", "pytorch", "--python", PY_VER, "--pip-index-url", index.url)
    assert r.code == 0, r
    doc = r.json()
    prefix = envs_dir / "dl"
    assert {(p["name"], p["version"]) for p in doc["pip_packages"]} == {(f["name"], f["version"]) for f in plan["frameworks"]}
    out = subprocess.run([str(prefix / "bin" / "python"), "-c", "import torch, sys; print(torch.__version__, sys.prefix)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [plan["frameworks"][0]["version"], str(prefix)]
    assert (prefix / "share/opencv/stub.txt").is_file()
    hist = (prefix / "conda-meta/history").read_text()
    assert f"# update specs: ['python={PY_VER}', 'numpy', 'pandas', 'matplotlib', 'opencv', 'pip']" in hist
