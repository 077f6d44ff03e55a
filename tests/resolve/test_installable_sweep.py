"""Never an uninstallable answer (issue 15): every resolver answer, on every platform and Python 3.9-3.15, names
only wheels the package index has.

The facts come from ``dlsetup/compat/data/generated/*.json``, which ``tests/compat/test_refresh.py`` proves equal
to what the refresh tool makes from the recorded index answers (tests/compat/index_recordings/). The check here
is written from the data directly, not through :mod:`dlsetup.resolve.wheels`.
"""

from __future__ import annotations

import re

import pytest

from dlsetup.compat import generated as gen
from dlsetup.compat.tables import version_tuple
from dlsetup.resolve import Machine, Request, apply_overrides, resolve
from dlsetup.resolve.specs import parse_specs

PLATFORMS = [("linux", "x86_64"), ("linux", "aarch64"), ("windows", "x86_64"), ("macos", "arm64"),
             ("macos", "x86_64")]
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
FRAMEWORKS = [["torch"], ["torch", "torchvision", "torchaudio"], ["tensorflow"], ["jax"], ["onnxruntime"],
              ["paddlepaddle"], ["mindspore"]]
PLAT_KEY = {("linux", "x86_64"): "linux-x86_64", ("linux", "aarch64"): "linux-aarch64",
            ("windows", "x86_64"): "windows-x86_64", ("macos", "arm64"): "macos-arm64",
            ("macos", "x86_64"): "macos-x86_64"}


def _machine(os, arch, python, gpu, glibc="2.35"):
    m = Machine(os="linux", arch="x86_64", python="3.12", glibc=glibc, source="sweep")
    over = dict(os=os, arch=arch, python=python)
    if gpu:
        over.update(gpu_cc=["8.6"], driver="580.95.05")
    return apply_overrides(m, **over)


def _wheel_exists(name: str, version: str, plat: str, python: str, glibc: str | None) -> bool:
    row = gen.releases(name).get(version)
    if row is None:
        return False
    for p in (plat, "any"):
        for tag, floor in row.get("wheels", {}).get(p, {}).items():
            ok_tag = (tag == python or tag == "py3"
                      or (tag.startswith("abi3:") and version_tuple(python) >= version_tuple(tag[5:])))
            if not ok_tag:
                continue
            if tag in ("py3",) or tag.startswith("abi3:"):
                rp = row.get("requires_python") or ""
                m = re.search(r">=\s*(\d+\.\d+)", rp)
                if m and version_tuple(python) < version_tuple(m.group(1)):
                    continue
            if floor and p.startswith("linux") and glibc and version_tuple(glibc) < version_tuple(floor):
                continue
            return True
    return False


def _pins(name: str, version: str, extras: set[str], plat: str) -> dict[str, str]:
    """Dependencies the index build pins exactly for these extras (jaxlib, plugins)."""
    row = gen.releases(name).get(version) or {}
    meta = (row.get("meta") or {}).get(plat) or (row.get("meta") or {}).get("any") or {}
    out = {}
    for key, spec in (meta.get("requires") or {}).items():
        extra, _, dep = key.rpartition(":")
        if extra and extra not in extras:
            continue
        m = re.fullmatch(r"==([\w.]+)|<=([\w.]+),>=\2|>=([\w.]+),<=\3", spec)
        if m and gen.project(dep) is not None:
            out[dep] = next(g for g in m.groups() if g)
    return out


CASES = [(os, arch, py, tuple(fw), gpu, "2.35") for (os, arch) in PLATFORMS for py in PYTHONS for fw in FRAMEWORKS
         for gpu in ((False, True) if os != "macos" else (False,))]
# An old glibc (CentOS 7 / manylinux2014 hosts): only wheels whose manylinux tag it meets may be named.
CASES += [("linux", arch, py, tuple(fw), gpu, "2.17") for arch in ("x86_64", "aarch64") for py in PYTHONS[:4]
          for fw in FRAMEWORKS for gpu in (False, True)]


@pytest.mark.parametrize("os_,arch,python,frameworks,gpu,glibc", CASES,
                         ids=[f"{c[0]}-{c[1]}-py{c[2]}-{'+'.join(c[3])}-{'gpu' if c[4] else 'cpu'}-glibc{c[5]}"
                              for c in CASES])
def test_every_answer_names_only_wheels_the_index_has(os_, arch, python, frameworks, gpu, glibc):
    machine = _machine(os_, arch, python, gpu, glibc)
    res = resolve(Request(specs=parse_specs(list(frameworks)), machine=machine))
    plat = PLAT_KEY[(os_, arch)]
    for pkg in res.packages:
        m = re.match(r"^([\w.-]+)(?:\[([^\]]*)\])?==([^+\s]+)", pkg.requirement)
        if not m:
            continue
        name, extras, version = m.group(1), set((m.group(2) or "").split(",")) - {""}, m.group(3)
        if gen.project(name) is None:
            continue  # a distribution only a vendor index serves (paddlepaddle-gpu from Paddle's index)
        if pkg.index_url is None:  # from the package index itself: the exact wheel must exist
            assert _wheel_exists(name, version, plat, python, machine.glibc), (
                f"{pkg.requirement}: no wheel for {plat} Python {python} (glibc {machine.glibc})")
            for dep, dver in _pins(name, version, {e.replace("_", "-") for e in extras}, plat).items():
                assert _wheel_exists(dep, dver, plat, python, machine.glibc), (
                    f"{pkg.requirement} pins {dep}=={dver}: no wheel for {plat} Python {python}")
        else:  # a vendor-index build: the index builds of the same release cover this Python where they cover the OS
            row = gen.releases(name).get(version)
            if row and row.get("wheels", {}).get(plat):
                assert _wheel_exists(name, version, plat, python, None), (
                    f"{pkg.requirement} from {pkg.index_url}: the release has no {plat} wheel for Python {python}")


def test_the_sweep_gets_answers_not_only_refusals():
    # A sweep where everything is refused would pass trivially: most combinations must get an answer.
    answered = 0
    for os_, arch, py, fw, gpu, glibc in CASES:
        res = resolve(Request(specs=parse_specs(list(fw)), machine=_machine(os_, arch, py, gpu, glibc)))
        answered += bool(res.ok)
    assert answered > len(CASES) * 0.6, f"{answered} of {len(CASES)} answered"


# --- the classes of error issue 15 lists, as the index tells them ------------------------------------------

def _resolve(packages, cuda=None, **over):
    m = Machine(os="linux", arch="x86_64", python="3.12", glibc="2.35", source="test")
    return resolve(Request(specs=parse_specs(packages), cuda=cuda, machine=apply_overrides(m, **over)))


def _got(res):
    return {p.name: (p.version, p.variant) for p in res.packages}


def test_torch_2_5_has_python_3_13_only_on_linux_x86_64():
    assert gen.wheel_floor(gen.release("torch", "2.5.0"), "linux-x86_64", "3.13") is not None
    for plat in ("linux-aarch64", "windows-x86_64", "macos-arm64"):
        assert gen.wheel_floor(gen.release("torch", "2.5.0"), plat, "3.13") is None, plat
    res = _resolve(["torch==2.5.*"], os="windows", python="3.13")
    assert not res.ok and any(r.rule == "python" for r in res.rejected)
    assert _got(_resolve(["torch==2.5.*"], python="3.13", no_gpu=True))["torch"][0].startswith("2.5")


def test_torchvision_0_20_has_no_python_3_13_wheels():
    res = _resolve(["torch==2.5.*", "torchvision"], python="3.13", no_gpu=True)
    assert not res.ok
    assert any("torchvision 0.20" in r.detail for r in res.rejected)


def test_onnxruntime_1_20_2_does_not_exist_but_the_gpu_build_does():
    from dlsetup.resolve import wheels

    assert gen.release("onnxruntime", "1.20.2") is None and gen.release("onnxruntime-gpu", "1.20.2") is not None
    m = _machine("linux", "x86_64", "3.12", False)
    found = wheels.check(m, "onnxruntime==1.20.2", "onnxruntime 1.20.2")
    assert [f.rule for f in found] == ["wheel"] and "not on the package index" in found[0].text
    assert "https://pypi.org/simple/onnxruntime/" in found[0].source
    assert _got(_resolve(["onnxruntime==1.20.*"], no_gpu=True))["onnxruntime"] == ("1.20.1", "cpu")
    assert _got(_resolve(["onnxruntime==1.20.*"], gpu_cc=["8.6"], driver="580.95.05"))["onnxruntime-gpu"][0] == "1.20.2"


def test_jax_0_4_38_cuda12_has_no_aarch64_plugin():
    rows = gen.releases("jax-cuda12-plugin")
    assert "linux-aarch64" not in rows["0.4.38"]["wheels"] and "linux-x86_64" in rows["0.4.38"]["wheels"]
    res = _resolve(["jax==0.4.38"], arch="aarch64", gpu_cc=["9.0"], driver="580.65.06")
    assert "jax[cuda12]==0.4.38" not in (res.commands["pip"] or "")
    ok = _resolve(["jax==0.4.38"], gpu_cc=["9.0"], driver="580.65.06")
    assert ok.ok and "jax[cuda12]==0.4.38" in ok.commands["pip"]


def test_jax_3_14_and_3_15_follow_the_index():
    assert gen.wheel_floor(gen.release("jaxlib", "0.7.1"), "linux-x86_64", "3.14") is not None
    for v in ("0.4.31", "0.4.33"):
        assert gen.wheel_floor(gen.release("jaxlib", v), "linux-x86_64", "3.13") is None, v
    res = _resolve(["jax"], python="3.15", no_gpu=True)
    assert res.ok and version_tuple(_got(res)["jax"][0]) >= (0, 11, 1)


def test_tensorflow_2_4_to_2_8_wheels_are_manylinux2010():
    for v in ("2.4.0", "2.8.0"):
        assert gen.wheel_floor(gen.release("tensorflow", v), "linux-x86_64", "3.8") == "2.12", v


# --- MindSpore (mindspore-ai/docs install/mindspore_gpu_install_pip_en.md; the index's mindspore / mindspore-gpu) --

def test_mindspore_2_x_is_the_unified_index_wheel_with_system_cuda():
    res = _resolve(["mindspore"], gpu_cc=["8.6"], driver="535.104.05", python="3.11")
    assert res.ok and _got(res) == {"mindspore": ("2.10.0", "cuda11.6")}
    assert res.commands["pip"] == "python -m pip install mindspore==2.10.0"
    assert res.cudnn == "8.5"
    assert any("mindspore-ai/docs:install/mindspore_gpu_install_nightly_en.md" in r.source for r in res.reasons)


def test_mindspore_1_x_gpu_is_the_mindspore_gpu_distribution():
    res = _resolve(["mindspore==1.10.*"], gpu_cc=["8.6"], driver="535.104.05", python="3.9")
    assert _got(res) == {"mindspore-gpu": ("1.10.0", "cuda11.1")}
    # 1.0/1.1 had only cp37 wheels on the index
    res = _resolve(["mindspore==1.1.*"], gpu_cc=["7.0"], driver="470.82.01", python="3.8")
    assert not res.ok and any(h.text.startswith("use Python 3.7") for h in res.hints)


def test_mindspore_python_and_platforms_follow_the_index():
    res = _resolve(["mindspore"], python="3.13", no_gpu=True)
    assert not res.ok and any("Python 3.12" in h.text for h in res.hints)
    assert _got(_resolve(["mindspore"], os="windows", python="3.12", no_gpu=True)) == {"mindspore": ("2.10.0", "cpu")}
    # no GPU build on Windows: the CPU answer needs --no-gpu, a GPU machine is refused
    assert not _resolve(["mindspore"], os="windows", python="3.12", gpu_cc=["8.6"], driver="580.95.05").ok


def test_tensorflow_2_21_and_cuda_sets_floors_so_the_answer_says_what_pip_installs_today():
    res = _resolve(["tensorflow"], gpu_cc=["8.6"], driver="580.95.05", python="3.12")
    assert _got(res) == {"tensorflow": ("2.21.0", "and-cuda")}
    # METADATA: nvidia-cuda-runtime-cu12<13.0,>=12.5.82; the newest such wheel on the index is 12.9.79
    assert res.cuda == "12.9"
    floor = [r for r in res.reasons if "sets only floors" in r.text]
    assert floor and "12.9.79" in floor[0].text and "9.28.0.42" in floor[0].text
    assert "tensorflow-2.21.0-" in floor[0].source
    # 2.19 pins exactly: what the table says is what gets installed
    res = _resolve(["tensorflow==2.19.*"], gpu_cc=["8.6"], driver="580.95.05", python="3.12")
    assert res.cuda == "12.5" and not [r for r in res.reasons if "sets only floors" in r.text]
