"""Installed frameworks from metadata and version files only — variants, installers, retired ones, conda mixes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlsetup.probe.frameworks import catalog, probe_frameworks
from tests.probe.hwkit import build_site


def site(tmp_path, packages, files=None, conda_meta=()):
    dirs, prefix = build_site(tmp_path, {"prefix": "/env", "packages": packages, "files": files or {},
                                         "conda_meta": list(conda_meta)})
    return probe_frameworks([str(d) for d in dirs], prefix=str(prefix), python="/env/bin/python")


def torch(version, cuda=None, hip=None, installer="pip"):
    c = f"'{cuda}'" if cuda else "None"
    h = f"'{hip}'" if hip else "None"
    return {"dist": "torch", "version": version, "installer": installer, "files": {
        "torch/version.py": f"__version__ = '{version}'\ndebug = False\ncuda: Optional[str] = {c}\nhip: Optional[str] = {h}\n"}}


@pytest.mark.parametrize("pkg,variant,cuda", [
    (torch("2.6.0+cpu"), "cpu", None),
    (torch("2.7.1+cu126", cuda="12.6"), "cu126", "12.6"),
    (torch("2.14.1", cuda="13.0"), "cu130", "13.0"),  # package-index wheel: no local tag, CUDA build
    (torch("2.9.1"), "cpu", None),  # macOS/Windows package-index wheel
    (torch("2.7.1+rocm6.3", hip="6.3.42131-fa1d09cbd"), "rocm6.3", None),
    (torch("2.8.0+xpu"), "xpu", None),
])
def test_torch_variants(tmp_path, pkg, variant, cuda):
    info = site(tmp_path, [pkg])
    (fw,) = info.items
    assert (fw.name, fw.version, fw.variant, fw.cuda, fw.installer) == ("torch", pkg["version"], variant, cuda, "pip")
    assert fw.location and fw.location.endswith("site-packages")


def test_tensorflow_build_info(tmp_path):
    build = ("# generated\nimport collections\nbuild_info = {'cpu_compiler': '/usr/lib/llvm-18/bin/clang', "
             "'cuda_compute_capabilities': ['sm_60', 'sm_70', 'sm_80', 'sm_89', 'compute_90'], "
             "'cuda_version': '12.5.1', 'cudnn_version': '9', 'is_cuda_build': True, 'is_rocm_build': False, "
             "'is_tensorrt_build': False}\n")
    info = site(tmp_path, [{"dist": "tensorflow", "version": "2.20.0", "installer": "pip",
                            "files": {"tensorflow/python/platform/build_info.py": build}}])
    (fw,) = info.items
    assert (fw.variant, fw.cuda) == ("cu125", "12.5")
    assert fw.extra["build_info"]["cudnn_version"] == "9"


def test_tensorflow_gpu_and_cpu_distributions(tmp_path):
    info = site(tmp_path, [{"dist": "tensorflow-gpu", "version": "2.10.1", "installer": "pip"},
                           {"dist": "tensorflow-cpu", "version": "2.15.0", "installer": "pip"}])
    names = {(fw.extra.get("dist"), fw.variant) for fw in info.items}
    assert names == {("tensorflow-gpu", "gpu"), ("tensorflow-cpu", "cpu")}


def test_jaxlib_variant_comes_from_the_cuda_plugin(tmp_path):
    info = site(tmp_path, [{"dist": "jax", "version": "0.7.2", "installer": "pip"},
                           {"dist": "jaxlib", "version": "0.7.2", "installer": "pip"},
                           {"dist": "jax-cuda12-plugin", "version": "0.7.2", "installer": "pip"},
                           {"dist": "jax-cuda12-pjrt", "version": "0.7.2", "installer": "pip"}])
    jaxlib = next(fw for fw in info.items if fw.name == "jaxlib")
    assert jaxlib.variant == "cuda12" and jaxlib.extra["plugins"] == ["jax-cuda12-pjrt", "jax-cuda12-plugin"]
    assert info.packages["jax-cuda12-plugin"] == "0.7.2"


def test_paddle_gpu_version_file(tmp_path):
    text = ("full_version    = '3.0.0'\nmajor = '3'\ncuda_version    = '12.6'\ncudnn_version   = '9.5.1'\n"
            "xpu_version = 'False'\nistaged = True\nwith_mkl = 'ON'\n")
    info = site(tmp_path, [{"dist": "paddlepaddle-gpu", "version": "3.0.0", "installer": "pip",
                            "files": {"paddle/version/__init__.py": text}}])
    (fw,) = info.items
    assert (fw.name, fw.variant, fw.cuda, fw.extra["cudnn"]) == ("paddlepaddle", "cu126", "12.6", "9.5.1")


def test_onnxruntime_gpu_and_mindspore(tmp_path):
    info = site(tmp_path, [{"dist": "onnxruntime-gpu", "version": "1.22.0", "installer": "pip"},
                           {"dist": "mindspore", "version": "2.6.0", "installer": "pip"}])
    got = {(fw.name, fw.variant) for fw in info.items}
    assert got == {("onnxruntime", "gpu"), ("mindspore", None)}


def test_retired_frameworks_are_flagged(tmp_path):
    info = site(tmp_path, [{"dist": "mxnet-cu112", "version": "1.9.1", "installer": "pip"},
                           {"dist": "Theano", "version": "1.0.5", "kind": "egg-info"},
                           {"dist": "cntk-gpu", "version": "2.7", "installer": "pip"},
                           {"dist": "chainer", "version": "7.8.1", "installer": "pip"}],
                files={"caffe/__init__.py": "", "caffe/_caffe.so": ""})
    by = {fw.name: fw for fw in info.items}
    assert set(by) == {"mxnet", "theano", "cntk", "caffe"}
    assert all(fw.retired for fw in by.values())
    assert by["mxnet"].variant == "cu112" and by["mxnet"].extra["dist"] == "mxnet-cu112"
    assert by["theano"].version == "1.0.5" and by["theano"].installer is None
    assert by["caffe"].location and by["caffe"].version is None
    assert info.packages["chainer"] == "7.8.1"  # the doctor's retired list also covers notable packages


def test_the_doctor_s_retired_list_knows_every_framework_the_probe_flags():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from pathlib import Path

    import dlsetup

    path = Path(dlsetup.__file__).parent / "doctor" / "data" / "retired.toml"
    if not path.exists():
        pytest.skip("doctor's retired.toml not present")
    text = path.read_text(encoding="utf-8")
    tomllib.loads(text)
    for fw in catalog()["framework"]:
        if fw.get("retired"):
            assert fw["name"] in text, fw["name"]


def test_keras_is_not_retired(tmp_path):
    info = site(tmp_path, [{"dist": "keras", "version": "3.11.3", "installer": "pip"}])
    assert info.items[0].retired is False


def test_pip_torch_over_conda_pytorch_and_cpuonly(tmp_path):
    info = site(tmp_path, [torch("2.5.1+cu124", cuda="12.4")],
                conda_meta=["pytorch-2.1.0-py3.11_cuda12.1_cudnn8.9.2_0", "cpuonly-2.0-0", "pytorch-mutex-1.0-cpu",
                            "python-3.11.9-h955ad1f_0", "zlib-1.2.13-h5eee18b_1"])
    (fw,) = info.items
    assert fw.installer == "pip" and fw.extra["conda"] == {"pytorch": "2.1.0 py3.11_cuda12.1_cudnn8.9.2_0"}
    assert info.conda_packages == ["cpuonly", "python", "pytorch", "pytorch-mutex"]
    assert info.conda_records["pytorch-mutex"] == "1.0 cpu"


def test_conda_installed_torch_without_installer_file(tmp_path):
    info = site(tmp_path, [torch("2.5.1", cuda="12.4", installer=None)],
                conda_meta=["pytorch-2.5.1-py3.11_cuda12.4_cudnn9.1.0_0"])
    assert info.items[0].installer == "conda"


def test_stale_second_dist_info_is_reported(tmp_path):
    dirs, prefix = build_site(tmp_path, {"prefix": "/env", "packages": [torch("2.5.1+cu124", cuda="12.4")]})
    (dirs[0] / "torch-2.1.0.dist-info").mkdir()
    info = probe_frameworks([str(d) for d in dirs], prefix=str(prefix))
    (fw,) = info.items
    assert [x["version"] for x in fw.extra["also_found"]] in (["2.1.0"], ["2.5.1+cu124"])


def test_notable_packages_including_deprecated_pynvml(tmp_path):
    info = site(tmp_path, [{"dist": "pynvml", "version": "13.0.1", "installer": "pip"},
                           {"dist": "nvidia-ml-py", "version": "13.580.65", "installer": "pip"},
                           {"dist": "nvidia-cudnn-cu12", "version": "9.10.2.21", "installer": "pip"},
                           {"dist": "requests", "version": "2.32.3", "installer": "pip"}])
    assert info.packages == {"pynvml": "13.0.1", "nvidia-ml-py": "13.580.65", "nvidia-cudnn-cu12": "9.10.2.21"}
    assert info.items == []


def test_nothing_installed(tmp_path):
    info = site(tmp_path, [])
    assert info.items == [] and info.packages == {} and info.conda_packages == []


def test_the_live_torch_is_read_without_importing_it():
    code = ("import sys, json; from dlsetup.probe import probe_machine; s = probe_machine(parts={'frameworks'}); "
            "t = [f for f in s.frameworks.items if f.name == 'torch']; "
            "print(json.dumps([t[0].version, t[0].variant, t[0].cuda, 'torch' in sys.modules] if t else None))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    data = json.loads(out.stdout)
    if data is None:
        pytest.skip("torch is not installed in this interpreter")
    version, variant, cuda, imported = data
    assert version.startswith("2.") and imported is False
    assert variant == ("cpu" if "+cpu" in version else variant) and (cuda is None) == (variant == "cpu")
