"""Fault injection for the verify tests: Python imports this at start-up when this directory is on PYTHONPATH.

Nothing happens unless DLVERIFY_FAULT names a fault (and, with DLVERIFY_FAULT_RANK, only on that rank).
The patch is applied when the suite package ``dlverify`` is first imported, i.e. only inside the suite
process, never in dlsetup itself. The faults emulate broken kernels, toolchains and hangs from the test
side; dlsetup's product code has no switch for them.
"""

import os
import sys

FAULT = os.environ.get("DLVERIFY_FAULT")
ONLY_RANK = os.environ.get("DLVERIFY_FAULT_RANK")


def _conv_backward(torch, mode):
    """F.conv2d whose weight gradient is zeroed or sign-flipped (forward and input gradient stay right)."""
    orig = torch.nn.functional.conv2d

    class FaultyConv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b, stride, padding, dilation, groups):
            ctx.save_for_backward(x, w, b)
            ctx.args = (stride, padding, dilation, groups)
            return orig(x, w, b, stride, padding, dilation, groups)

        @staticmethod
        def backward(ctx, grad):
            x, w, b = ctx.saved_tensors
            with torch.enable_grad():
                leaves = [t.detach().requires_grad_() if t is not None else None for t in (x, w, b)]
                out = orig(leaves[0], leaves[1], leaves[2], *ctx.args)
                wanted = [t for t in leaves if t is not None]
                grads = list(torch.autograd.grad(out, wanted, grad))
            gx, gw = grads[0], grads[1]
            gb = grads[2] if b is not None else None
            gw = gw * 0.0 if mode == "zero" else -gw
            return gx, gw, gb, None, None, None, None

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return FaultyConv.apply(input, weight, bias, stride, padding, dilation, groups)

    torch.nn.functional.conv2d = conv2d


def _conv_noise(torch):
    """F.conv2d whose output carries 1 % multiplicative noise (a silently wrong forward kernel)."""
    orig = torch.nn.functional.conv2d

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        out = orig(input, weight, bias, stride, padding, dilation, groups)
        noise = torch.randn(out.shape, dtype=torch.float32, device=out.device).to(out.dtype)
        return out * (1 + 0.01 * noise)

    torch.nn.functional.conv2d = conv2d


def _ext_wrong(torch):
    """The compiled extension returns one wrong element."""
    import torch.utils.cpp_extension as cpp

    orig = cpp.load

    class Wrong:
        def __init__(self, module):
            self._module = module

        def axpy_cpu(self, x, y, a):
            out = self._module.axpy_cpu(x, y, a)
            out[7] += 1.0
            return out

    cpp.load = lambda *a, **k: Wrong(orig(*a, **k))


def _hang_amp(torch):
    """GradScaler never comes back (like a wedged device sync), right at the start of its step."""
    import time

    def init(self, *args, **kwargs):
        time.sleep(3600)

    torch.amp.GradScaler.__init__ = init


def _crash_softmax(torch):
    def softmax(*args, **kwargs):
        os.abort()

    torch.nn.functional.softmax = softmax


def _allreduce_wrong(torch):
    import torch.distributed as dist

    orig = dist.all_reduce

    def all_reduce(tensor, *args, **kwargs):
        work = orig(tensor, *args, **kwargs)
        if tensor.dtype == torch.float32:
            tensor.add_(1.0)
        return work

    dist.all_reduce = all_reduce


def _matmul_flaky(torch):
    """torch.matmul returns one wrong element in every third result (a GPU whose memory flips bits now and
    then): the same product, asked for repeatedly, does not always come back the same."""
    orig = torch.matmul
    calls = [0]

    def matmul(a, b, *args, **kwargs):
        out = orig(a, b, *args, **kwargs)
        calls[0] += 1
        if calls[0] % 3 == 0 and out.is_floating_point() and out.dim() == 2:
            out = out.clone()
            out[0, 0] += 0.5
        return out

    torch.matmul = matmul


def apply(torch):
    if FAULT == "conv_grad_zero":
        _conv_backward(torch, "zero")
    elif FAULT == "conv_grad_flip":
        _conv_backward(torch, "flip")
    elif FAULT == "conv_noise":
        _conv_noise(torch)
    elif FAULT == "ext_wrong":
        _ext_wrong(torch)
    elif FAULT == "hang_amp":
        _hang_amp(torch)
    elif FAULT == "crash_softmax":
        _crash_softmax(torch)
    elif FAULT == "allreduce_wrong":
        _allreduce_wrong(torch)
    elif FAULT == "matmul_flaky":
        _matmul_flaky(torch)
    else:
        raise SystemExit(f"unknown DLVERIFY_FAULT {FAULT!r}")


class _WhenSuiteLoads:
    """Applies the fault the first time the suite package is imported."""

    def find_spec(self, name, path=None, target=None):
        if name == "dlverify":
            sys.meta_path.remove(self)
            import torch

            apply(torch)
        return None


if FAULT and (ONLY_RANK is None or ONLY_RANK == os.environ.get("RANK")):
    sys.meta_path.insert(0, _WhenSuiteLoads())
