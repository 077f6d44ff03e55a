"""Pieces of the suite that only a GPU runs end to end, checked here on the CPU with the real torch:
the CPU-vs-GPU network is well conditioned for a relative comparison, and the extension cache is keyed by
the GPU architectures the CUDA kernel is built for."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dlsetup" / "verify" / "suite"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agreement_network_gradients_are_all_comparable(seed):
    # The agreement stage compares each parameter's gradient relative to its own size. A parameter whose
    # gradient is structurally zero (a conv bias right before batch norm) gives rounding noise on both
    # devices and a "relative error" around 1 (2.9e9 against float64): a false failure on every GPU. Here
    # the same step in fp32 and in float64 on the CPU must agree within the fp32 limit for every parameter
    # (the GPU side is then held to twice that: two correct results may each be off by the limit).
    import torch
    from dlverify.agree import AGREEMENT_FACTOR, _net, _step
    from dlverify.common import LIMITS, rel_err

    gen = torch.Generator().manual_seed(seed + 53)
    torch.manual_seed(seed + 53)
    model = _net(torch)
    x = torch.randn(32, 3, 16, 16, generator=gen)
    target = torch.randint(0, 10, (32,), generator=gen)
    out32, grads32 = _step(torch, model, x, target)
    out64, grads64 = _step(torch, copy.deepcopy(model).double(), x.double(), target)
    names = [name for name, _ in model.named_parameters()]
    errors = {name: rel_err(torch, a, b) for name, a, b in zip(names, grads32, grads64, strict=True)}
    assert rel_err(torch, out32, out64) <= LIMITS["fp32"]
    assert max(errors.values()) <= LIMITS["fp32"], errors
    assert all(g.abs().max() > 1e-6 for g in grads64), "a parameter has no gradient to compare"
    assert AGREEMENT_FACTOR == 2.0


def test_extension_cache_key_names_the_gpu_architectures(monkeypatch):
    import torch
    from dlverify.ext import cache_key, cuda_archs

    cxx = {"kind": "gcc", "version": "12.2.0"}
    nvcc = {"version": "12.6"}
    a100 = cache_key(torch, cxx, nvcc, "8.0")
    h100 = cache_key(torch, cxx, nvcc, "9.0")
    mixed = cache_key(torch, cxx, nvcc, "8.0+9.0")
    assert len({a100, h100, mixed}) == 3 and "-sm9.0-" in h100 and "nvcc12.6" in h100
    assert "-sm" not in cache_key(torch, cxx, None)  # the C++-only build does not depend on the GPU

    # TORCH_CUDA_ARCH_LIST, when set, is what cpp_extension compiles for (either separator)
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX")
    assert cuda_archs(torch) == "8.0+9.0+PTX"
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "7.5 8.6")
    assert cuda_archs(torch) == "7.5+8.6"
    assert cache_key(torch, cxx, nvcc, cuda_archs(torch)).count("/") == 0
