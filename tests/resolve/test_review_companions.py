"""Review fixes: torchaudio 2.11.0 as the stable-ABI companion of later torch releases, a GPU newer than its driver
branch, data notes in Chinese, and the conda-forge route's Python check.

Facts (each test names its source):
- torchaudio 2.11.0's METADATA has no ``Requires-Dist: torch`` (2.9.0/2.9.1/2.10.0 pin ``torch==<same>``), read from
  the package-index wheels; pytorch/audio docs/source/installation.rst: "TorchAudio 2.11 works with PyTorch 2.11 and
  with every future PyTorch release"; pytorch/audio src/torchaudio/_extension/utils.py ``_check_cuda_version``
  raises when torch and torchaudio were built for different CUDA major.minor; pytorch/audio#4194 and
  pytorch/pytorch#193651: no cu132 torchaudio.
- NVIDIA cuDNN support matrix (Blackwell rows need >= 570.26) and NVIDIA/cloud-native-docs#184 (HGX B200 needs
  570.133.20 or later): no driver older than R570 drives a Blackwell GPU.
"""

from __future__ import annotations

import re

import pytest

from dlsetup.compat.tables import rows
from dlsetup.resolve import Machine, Request, apply_overrides, resolve
from dlsetup.resolve.specs import parse_specs


def _machine(**overrides):
    m = Machine(os="linux", arch="x86_64", python="3.12", glibc="2.35", source="test")
    return apply_overrides(m, **overrides)


def _resolve(packages, **overrides):
    return resolve(Request(specs=parse_specs(packages), machine=_machine(**overrides)))


# ---------------------------------------------------------------- torchaudio


def test_torchaudio_follows_the_newest_torch_on_a_cuda_line_it_was_built_for(cli):
    r = cli("resolve", "torch", "torchaudio", "--gpu-cc", "8.9", "--driver", "575.57.08", "--python", "3.12", "--json")
    assert r.code == 0, r.stdout
    doc = r.json()
    got = {p["name"]: (p["version"], p["variant"], p["index_url"]) for p in doc["packages"]}
    assert got["torch"] == ("2.14.1", "cu126", "https://download.pytorch.org/whl/cu126")
    assert got["torchaudio"] == ("2.11.0", "cu126", "https://download.pytorch.org/whl/cu126")  # one index for both
    assert doc["commands"]["pip"] == ("python -m pip install torch==2.14.1 torchaudio==2.11.0 "
                                      "--index-url https://download.pytorch.org/whl/cu126")
    abi = [x for x in doc["reasons"] if "stable ABI" in x["text"]]
    assert abi and "pytorch/audio:docs/source/installation.rst" in abi[0]["source"]


def test_torchaudio_refuses_torch_builds_of_a_cuda_line_it_has_no_build_for():
    # driver R595: torch 2.15.0+cu132 is the package-index default, and torchaudio 2.11.1 on the package index is
    # its cu132 companion; torchaudio 2.11.0 has no cu132 build, and no torchaudio has a cu134 one.
    res = _resolve(["torch", "torchaudio"], gpu_cc=["9.0"], driver="595.45.04")
    got = {p.name: (p.version, p.variant) for p in res.packages}
    assert got == {"torch": ("2.15.0", "cu132"), "torchaudio": ("2.11.1", "cu132")}
    assert res.commands["pip"] == "python -m pip install torch==2.15.0 torchaudio==2.11.1"  # one index
    cu134 = [r for r in res.rejected if r.candidate == "torch 2.15.0+cu134"]
    assert cu134 and cu134[0].rule == "companion" and "no cu134 build" in cu134[0].detail
    assert "pytorch/audio#4194" in cu134[0].source
    # torch alone still gets the package-index build
    alone = _resolve(["torch"], gpu_cc=["9.0"], driver="595.45.04")
    assert [(p.version, p.variant) for p in alone.packages] == [("2.15.0", "cu132")]


def test_torchaudio_before_2_11_still_pins_its_own_torch_release():
    res = _resolve(["torch==2.9.*", "torchaudio"], gpu_cc=["8.6"], driver="570.124.06")
    got = {p.name: p.version for p in res.packages}
    assert got == {"torch": "2.9.1", "torchaudio": "2.9.1"}
    assert not any("stable ABI" in r.text for r in res.reasons)


def test_torchaudio_2_11_0_has_no_python_3_15_wheels_but_2_11_1_does():
    # torchaudio 2.11.0 wheels are cp310-cp314; 2.11.1 (the cu132 companion) is one py3 wheel, Requires-Python >=3.10
    res = _resolve(["torch", "torchaudio"], gpu_cc=["9.0"], driver="595.45.04", python="3.15")
    got = {p.name: (p.version, p.variant) for p in res.packages}
    assert got == {"torch": ("2.15.0", "cu132"), "torchaudio": ("2.11.1", "cu132")}
    cu130 = [r for r in res.rejected if r.candidate == "torch 2.15.0+cu130"]
    assert cu130 and cu130[0].rule == "python" and "Python 3.10–3.14" in cu130[0].detail


def test_cpu_torch_gets_the_cpu_torchaudio():
    res = _resolve(["torch", "torchaudio"], no_gpu=True)
    got = {p.name: (p.version, p.variant) for p in res.packages}
    assert got == {"torch": ("2.15.0", "cpu"), "torchaudio": ("2.11.0", "cpu")}


# ---------------------------------------------------------------- a GPU newer than the driver


@pytest.mark.parametrize("package", ["torch", "tensorflow", "jax", "onnxruntime", "paddlepaddle"])
def test_a_blackwell_gpu_on_a_pre_r570_driver_gets_no_build(package):
    res = _resolve([package], gpu_cc=["12.0"], driver="550.127.05")
    assert not res.ok and res.packages == [] and res.commands["pip"] is None
    assert [r.rule for r in res.rejected] == ["gpu_driver_old"]
    assert "R570" in res.rejected[0].detail and "R550" in res.rejected[0].detail
    assert "cloud-native-docs#184" in res.rejected[0].source
    assert any("R570" in h.text for h in res.hints)


def test_the_gpu_driver_rule_is_exit_1_with_a_hint_in_json_and_chinese(cli):
    r = cli("resolve", "--gpu-cc", "12.0", "--driver", "560.35.03", "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["rejected"][0]["rule"] == "gpu_driver_old" and doc["exit_code"] == 1
    zh = cli("resolve", "--gpu-cc", "12.0", "--driver", "560.35.03", "--lang", "zh")
    assert zh.code == 1
    assert "R570 或更新分支" in zh.stdout and "R570" in zh.stdout


def test_a_blackwell_gpu_on_r570_is_fine():
    res = _resolve(["torch"], gpu_cc=["12.0"], driver="570.124.06")
    assert res.ok and res.packages[0].variant in ("cu128", "cu129")


# ---------------------------------------------------------------- notes in Chinese, conda route and Python

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SHOWN = {"pytorch": ("release",), "tensorflow": ("release",), "jax": ("release", "variant"),
          "paddle": ("release", "variant"), "onnxruntime": ("release", "variant")}


@pytest.mark.parametrize("table", sorted(_SHOWN))
def test_every_note_the_resolver_prints_has_a_chinese_text(table):
    for key in _SHOWN[table]:
        for row in rows(table, key):
            if row.get("note"):
                assert _CJK.search(row.get("note_zh", "")), (table, key, row.get("line"), row.get("name"))
            assert not row.get("note_zh") or row.get("note"), (table, row.get("line"))
            assert "[[" not in row.get("note", ""), (table, row.get("line"))  # no TOML table names for users


def test_chinese_output_prints_the_chinese_note(cli):
    r = cli("resolve", "--no-gpu", "--python", "3.12", "--lang", "zh")
    assert r.code == 0
    line = next(x for x in r.stdout.splitlines() if "关于 2.15 的说明" in x)
    assert "不再支持 Python 3.10" in line and "Python 3.10 dropped" not in line
    en = cli("resolve", "--no-gpu", "--python", "3.12")
    assert "Python 3.10 dropped" in en.stdout


def test_conda_forge_route_needs_a_python_the_torch_release_supports():
    # pip has no sm_120 wheel for 2.6; conda-forge's 2.6 build has 9.0 PTX, but not for Python 3.14
    ok = _resolve(["torch==2.6.*"], gpu_cc=["12.0"], driver="575.64.03", python="3.12")
    assert ok.ok and ok.packages[0].name == "pytorch" and ok.commands["conda"]
    bad = _resolve(["torch==2.6.*"], gpu_cc=["12.0"], driver="575.64.03", python="3.14")
    assert not bad.ok and bad.packages == [] and bad.commands["conda"] is None


# ---------------------------------------------------------------- cuDNN vs the GPU


def test_cudnn_floor_reads_exact_versions_and_open_ranges():
    from dlsetup.compat import cudnn_cc_floor

    assert cudnn_cc_floor("9.10.2.21")["min_cc"] == "5.0"  # the last cuDNN with Maxwell/Pascal/Volta
    assert cudnn_cc_floor("9.20.0.48")["min_cc"] == "7.5"
    assert cudnn_cc_floor("8.9.7.29")["min_cc"] == "5.0"
    assert cudnn_cc_floor("8.7.0.84") is None and cudnn_cc_floor("7.6.5") is None  # not in the table
    # pip installs the newest 9.x for these
    for spec in (">=9.3.0.75,<10", "9", "~=9.0", ">=9.8,<10"):
        got = cudnn_cc_floor(spec)
        assert got["open_ended"] and got["min_cc"] == "7.5", spec
    assert cudnn_cc_floor("9.3.0.75")["open_ended"] is False


def test_pre_turing_gpus_get_a_cudnn_pin_where_pip_would_take_the_newest_cudnn():
    res = _resolve(["tensorflow"], gpu_cc=["7.0"], driver="580.95.05")
    assert res.ok and res.packages[0].version == "2.21.0"
    assert res.commands["pip"] == "python -m pip install 'tensorflow[and-cuda]==2.21.0' 'nvidia-cudnn-cu12<9.11'"
    assert any("nvidia-cudnn-cu12<9.11" in r.text and "immich-app/immich#23110" in r.source for r in res.reasons)
    # Turing and newer: no pin
    res = _resolve(["tensorflow"], gpu_cc=["7.5"], driver="580.95.05")
    assert res.commands["pip"] == "python -m pip install 'tensorflow[and-cuda]==2.21.0'"
    # TF 2.19 pins cuDNN 9.3.0.75 exactly: nothing to add
    res = _resolve(["tensorflow==2.19.*"], gpu_cc=["6.1"], driver="580.95.05")
    assert res.commands["pip"] == "python -m pip install 'tensorflow[and-cuda]==2.19.1'"


def test_a_cudnn_without_kernels_for_the_gpu_rejects_the_build():
    # torch 2.4+ bring cuDNN 9 (no Kepler): a K80 stops at 2.3.1 (cuDNN 8.7.0.84)
    res = _resolve(["torch==2.4.*"], gpu_cc=["3.7"], driver="470.82.01", python="3.8")
    assert not res.ok
    cu118 = [r for r in res.rejected if r.candidate == "torch 2.4.1+cu118"]
    assert cu118 and cu118[0].rule == "cudnn_arch" and "cuDNN 9.1.0.70" in cu118[0].detail
    assert "v9.0.0/reference/support-matrix" in cu118[0].source
    ok = _resolve(["torch"], gpu_cc=["3.7"], driver="470.82.01", python="3.8")
    assert [(p.version, p.variant) for p in ok.packages] == [("2.3.1", "cu118")]


def test_the_conda_route_pins_cudnn_for_pre_turing_gpus():
    res = _resolve(["torch"], gpu_cc=["6.1", "12.0"], driver="580.95.05")  # no pip wheel serves both
    assert res.ok and res.commands["pip"] is None
    assert "'cudnn<9.11'" in res.commands["conda"] and "'cudnn<9.11'" in res.commands["pixi"]
    res = _resolve(["torch"], gpu_cc=["8.6"], driver="580.95.05")
    assert "cudnn" not in (res.commands["conda"] or "")
