"""Stage 3, autograd: ``torch.autograd.gradcheck`` in float64 on the device.

gradcheck compares each analytical backward with finite differences of the forward, so it catches
wrong backward kernels that training with Adam can hide (a gradient scaled by 0.5 still trains).
Small shapes, default tolerances (eps 1e-6, atol 1e-5, rtol 1e-3); ``fast_mode`` in --quick.
TF32 does not apply to float64, so the GPU runs the same checks.
"""

from __future__ import annotations

import re
from typing import Any

from dlverify.common import generator
from dlverify.proto import check

# Names of each case's inputs, so "with respect to input 1" can say which tensor that is.
INPUTS = {
    "conv2d": ("input", "weight", "bias"), "max_pool2d": ("input",), "conv2d+avg_pool2d": ("input", "weight"),
    "lstm": ("input", "weight_ih", "weight_hh", "bias_ih", "bias_hh"), "batch_norm.train": ("input", "weight", "bias"),
    "cross_entropy": ("logits",),
}


def short_error(name: str, exc: BaseException) -> str:
    """GradcheckError's first sentence (it goes on to print both Jacobians), naming the input."""
    text = " ".join(str(exc).split("numerical:")[0].split()).rstrip(",")
    m = re.search(r"with respect to input (\d+)", text)
    names = INPUTS.get(name, ())
    if m and int(m.group(1)) < len(names):
        text += f" ({names[int(m.group(1))]})"
    return f"{type(exc).__name__}: {text}"[:400]


def _cases(torch: Any, dev: Any, gen: Any) -> list[tuple[str, Any, tuple[Any, ...]]]:
    F = torch.nn.functional
    f64 = torch.float64

    def r(*shape: int, scale: float = 1.0) -> Any:
        return (torch.randn(*shape, generator=gen, device=dev, dtype=f64) * scale).requires_grad_()

    hidden = 4

    def lstm_fn(x: Any, *weights: Any) -> Any:
        # the op nn.LSTM runs (torch._VF.lstm), with the weights passed in so gradcheck perturbs them
        zeros = x.new_zeros(1, x.shape[0], hidden)
        out, h, c = torch.lstm(x, (zeros, zeros), list(weights), True, 1, 0.0, True, False, True)
        return out, h, c

    # weight_ih (4h, in), weight_hh (4h, h), bias_ih (4h), bias_hh (4h)
    lstm_weights = (r(4 * hidden, 3, scale=0.5), r(4 * hidden, hidden, scale=0.5), r(4 * hidden, scale=0.5),
                    r(4 * hidden, scale=0.5))
    target = torch.randint(0, 10, (5,), generator=gen, device=dev)
    return [
        ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1), (r(2, 3, 6, 6), r(4, 3, 3, 3), r(4))),
        ("max_pool2d", lambda x: F.max_pool2d(x, 2), (r(2, 2, 6, 6),)),
        ("conv2d+avg_pool2d", lambda x, w: F.avg_pool2d(F.conv2d(x, w), 2), (r(2, 2, 6, 6), r(3, 2, 3, 3))),
        ("lstm", lstm_fn, (r(2, 5, 3), *lstm_weights)),
        ("batch_norm.train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         (r(4, 3, 4, 4), r(3), r(3))),
        ("cross_entropy", lambda x: F.cross_entropy(x, target), (r(5, 10),)),
    ]


def run(ctx: Any) -> dict[str, Any]:
    torch = ctx.torch
    gen = generator(torch, ctx.device, ctx.seed + 29)
    fast = ctx.quick
    # cuDNN may pick non-deterministic (atomic-add) backward kernels: allow float64 rounding-level
    # differences between two backward runs on the GPU, far below gradcheck's atol of 1e-5.
    nondet = 1e-10 if ctx.device.type == "cuda" else 0.0
    checks = []
    for name, fn, inputs in _cases(torch, ctx.device, gen):
        try:
            torch.autograd.gradcheck(fn, inputs, fast_mode=fast, nondet_tol=nondet)
            checks.append(check(name, "fp64", metric="gradcheck"))
        except Exception as exc:  # GradcheckError: "Jacobian mismatch for output 0 with respect to input 1..."
            checks.append(check(name, "fp64", metric="gradcheck", error=short_error(name, exc)))
    if ctx.full:
        for name, fn, inputs in _cases(torch, ctx.device, gen):
            if name not in ("conv2d", "batch_norm.train", "cross_entropy"):
                continue
            try:
                torch.autograd.gradgradcheck(fn, inputs, nondet_tol=nondet)
                checks.append(check(name + ".second_order", "fp64", metric="gradgradcheck"))
            except Exception as exc:
                checks.append(check(name + ".second_order", "fp64", metric="gradgradcheck",
                                    error=short_error(name, exc)))
    return {"checks": checks, "details": {"fast_mode": fast}}
