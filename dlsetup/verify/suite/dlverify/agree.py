"""Stage 5, CPU vs GPU agreement: one training step of a small network on both, same seeded inputs.

Inputs and weights are made on the CPU and copied, so both sides start from identical values. The GPU
forward output and every parameter gradient must match the CPU fp32 run within twice the fp32 limit with
TF32 forced off, and within twice the TF32 limit with TF32 on (where the GPU has TF32): each side may be
off the exact result by up to the limit (the ops stage holds each device to it against float64), so two
correct devices can differ by twice that. Measured on the CPU, two fp32 code paths (oneDNN and the
native channels-last kernels) already differ by up to 3.8e-6 in the first conv's weight gradient,
which batch norm's backward amplifies.
"""

from __future__ import annotations

import copy
from typing import Any

from dlverify.common import LIMITS, fp32_precision, rel_err
from dlverify.proto import check, error_text, skipped

# Two results, each within LIMITS of the exact one, agree within twice that (see the module docstring).
AGREEMENT_FACTOR = 2.0


def _net(torch: Any) -> Any:
    """Smooth activations and average pooling only: with ReLU or max pooling, values within TF32 rounding of
    a kink or a tie would send gradients down different paths on the two devices (a false alarm). The conv
    before batch norm has no bias: batch norm removes it, so its gradient is exactly zero and only rounding
    noise would be compared (a relative error of order 1, a false alarm on every GPU)."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.SiLU(), nn.AvgPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.SiLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(128, 10))


def _step(torch: Any, model: Any, x: Any, t: Any) -> tuple[Any, list[Any]]:
    model.zero_grad(set_to_none=True)
    out = model(x)
    torch.nn.functional.cross_entropy(out, t).backward()
    return out.detach(), [p.grad.detach() for p in model.parameters()]


def run(ctx: Any) -> dict[str, Any]:
    if ctx.device.type != "cuda":
        return skipped("verify.note.no_gpu")
    torch = ctx.torch
    gen = torch.Generator().manual_seed(ctx.seed + 53)
    torch.manual_seed(ctx.seed + 53)
    cpu_model = _net(torch)
    x = torch.randn(32, 3, 16, 16, generator=gen)
    t = torch.randint(0, 10, (32,), generator=gen)
    ref_out, ref_grads = _step(torch, cpu_model, x, t)
    env = next((r["details"] for r in ctx.results if r["stage"] == "env"), {})
    modes = [("fp32", "ieee")] + ([("tf32", "tf32")] if env.get("tf32_capable") else [])
    checks = []
    for variant, mode in modes:
        try:
            gpu_model = copy.deepcopy(cpu_model).to(ctx.device)
            with fp32_precision(torch, mode):
                out, grads = _step(torch, gpu_model, x.to(ctx.device), t.to(ctx.device))
            limit = AGREEMENT_FACTOR * LIMITS[variant]
            checks.append(check("forward", variant, value=rel_err(torch, out, ref_out), limit=limit, metric="rel_err"))
            worst = max(rel_err(torch, g, r) for g, r in zip(grads, ref_grads))  # noqa: B905 (the suite also runs on Python < 3.10)
            checks.append(check("gradients", variant, value=worst, limit=limit, metric="rel_err"))
        except Exception as exc:
            checks.append(check("forward", variant, error=error_text(exc)))
    return {"checks": checks, "details": {"device": str(ctx.device)}}
