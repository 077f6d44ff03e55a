"""--deep: each framework imported in a child interpreter; crashes, hangs and ImportErrors become data."""

from __future__ import annotations

import os
import sys

from dlsetup.probe.deep import deep_import, import_group, parse_child
from dlsetup.probe.model import Framework


def fake_packages(tmp_path, packages):
    site = tmp_path / "fake-site"
    for name, body in packages.items():
        pkg = site / name
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(body)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site)
    return env


FAKE_TORCH = """
import warnings
__version__ = '2.6.0+cu124'
__file__ = __file__
class version:
    cuda = '12.4'
    hip = None
class _Cuda:
    def is_available(self):
        warnings.warn('CUDA initialization: The NVIDIA driver on your system is too old (found version 11040).')
        return False
    def device_count(self): return 0
    def get_arch_list(self): return []
cuda = _Cuda()
class backends:
    class cudnn:
        @staticmethod
        def version(): return 90100
    class mps:
        @staticmethod
        def is_built(): return False
        @staticmethod
        def is_available(): return False
"""


def test_fake_torch_answers_every_field(tmp_path):
    env = fake_packages(tmp_path, {"torch": FAKE_TORCH})
    out = import_group(sys.executable, "torch", "torch", [], timeout=60, environ=env)
    d = out["torch"]
    assert d.ok and d.cuda_available is False and d.device_count == 0 and d.cuda_version == "12.4"
    assert d.cudnn_version == 90100 and d.arch_list == []
    assert any("driver on your system is too old" in w for w in d.warnings)
    assert d.details["version"] == "2.6.0+cu124" and d.details["mps_built"] is False


def test_import_error_is_recorded(tmp_path):
    env = fake_packages(tmp_path, {"torch": "from . import _C  # the compiled part is missing\n"})
    d = import_group(sys.executable, "torch", "torch", [], timeout=60, environ=env)["torch"]
    assert d.ok is False and "ImportError" in d.error and not d.timed_out


def test_crash_during_import_is_recorded(tmp_path):
    env = fake_packages(tmp_path, {"tensorflow": "import os\nos.abort()\n"})
    d = import_group(sys.executable, "tensorflow", "tensorflow", [], timeout=60, environ=env)["tensorflow"]
    assert d.ok is False and "signal 6" in d.error and "tensorflow" in d.error


def test_hang_during_import_is_a_timeout(tmp_path):
    env = fake_packages(tmp_path, {"jax": "import time\ntime.sleep(120)\n"})
    d = import_group(sys.executable, "jax", "jax", [], timeout=2, environ=env)["jax"]
    assert d.ok is False and d.timed_out is True and "did not finish in 2 s" in d.error


def test_torchvision_crash_after_torch_keeps_torch_facts(tmp_path):
    env = fake_packages(tmp_path, {"torch": FAKE_TORCH,
                                   "torchvision": "raise RuntimeError('operator torchvision::nms does not exist')\n"})
    out = import_group(sys.executable, "torch", "torch", ["torchvision"], timeout=60, environ=env)
    assert out["torch"].ok is True and out["torch"].cuda_version == "12.4"
    assert out["torchvision"].ok is False and "torchvision::nms" in out["torchvision"].error


def test_companions_are_skipped_not_failed_when_torch_itself_fails(tmp_path):
    # torch's import raises: torchvision was never tried, so it gets no error of its own (doctor reports torch once)
    env = fake_packages(tmp_path, {"torch": "from . import _C  # the compiled part is missing\n",
                                   "torchvision": "__version__ = '0.21.0'\n"})
    out = import_group(sys.executable, "torch", "torch", ["torchvision"], timeout=60, environ=env)
    assert out["torch"].ok is False and "ImportError" in out["torch"].error
    assert out["torchvision"].ok is False and out["torchvision"].details == {"skipped_because": "torch"}
    # the same when torch kills the interpreter
    env = fake_packages(tmp_path / "crash", {"torch": "import os\nos.abort()\n", "torchvision": ""})
    out = import_group(sys.executable, "torch", "torch", ["torchvision"], timeout=60, environ=env)
    assert "signal 6" in out["torch"].error and out["torchvision"].details == {"skipped_because": "torch"}


def test_deep_import_fills_frameworks_and_skips_retired(tmp_path):
    env = fake_packages(tmp_path, {"torch": FAKE_TORCH, "onnxruntime": (
        "__version__ = '1.22.0'\ndef get_available_providers(): return ['CUDAExecutionProvider', 'CPUExecutionProvider']\n"
        "def get_device(): return 'GPU'\n")})
    fws = [Framework(name="torch", version="2.6.0+cu124"), Framework(name="onnxruntime", version="1.22.0"),
           Framework(name="theano", version="1.0.5", retired=True)]
    deep_import(fws, sys.executable, timeout=60, environ=env)
    assert fws[0].deep.ok and fws[0].deep.cuda_version == "12.4"
    assert fws[1].deep.cuda_available is True and fws[1].deep.details["providers"][0] == "CUDAExecutionProvider"
    assert fws[2].deep is None


def test_parse_child_ignores_noise():
    out = parse_child('hello\nDLSETUP-DEEP {"name": "jax", "ok": true}\nDLSETUP-DEEP {broken\n')
    assert list(out) == ["jax"]
