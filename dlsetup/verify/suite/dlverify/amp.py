"""Stage 4, mixed precision: autocast against fp32, and one GradScaler step.

autocast runs a small conv + linear network in bf16 (and fp16 on CUDA); the output must be in the
reduced dtype (autocast really engaged) and within the dtype's limit of the fp32 output. Then one
optimiser step through ``torch.amp.GradScaler``: finite loss and gradients, no inf/NaN found (the scale
stays put), and the parameters moved.
"""

from __future__ import annotations

from typing import Any

from dlverify.common import LIMITS, fp32_precision, generator, precision_mode, rel_err, unsupported
from dlverify.proto import FAIL, SKIP, check, error_text, note


def _model(torch: Any, dev: Any) -> Any:
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                         nn.Linear(256, 10)).to(dev)


def run(ctx: Any) -> dict[str, Any]:
    torch = ctx.torch
    dev = ctx.device
    gen = generator(torch, dev, ctx.seed + 41)
    torch.manual_seed(ctx.seed + 41)
    model = _model(torch, dev)
    x = torch.randn(16, 3, 16, 16, generator=gen, device=dev)
    checks: list[dict[str, Any]] = []
    amp_dtypes = ["bf16"] + (["fp16"] if dev.type == "cuda" else [])
    env = next((r["details"] for r in ctx.results if r["stage"] == "env"), {})
    if dev.type == "cuda" and not env.get("bf16_native", True):
        amp_dtypes.remove("bf16")
    with fp32_precision(torch, precision_mode(ctx, "fp32")), torch.no_grad():
        ref = model(x).double()
    for name in amp_dtypes:
        dtype = torch.bfloat16 if name == "bf16" else torch.float16
        try:
            with torch.autocast(dev.type, dtype=dtype), torch.no_grad():
                out = model(x)
            if out.dtype != dtype:
                checks.append(check("autocast", name, status=FAIL,
                                    note=note("verify.note.autocast_dtype", got=str(out.dtype), want=str(dtype))))
            else:
                checks.append(check("autocast", name, value=rel_err(torch, out, ref), limit=LIMITS[name],
                                    metric="rel_err"))
        except Exception as exc:
            status = SKIP if unsupported(exc) else None
            checks.append(check("autocast", name, status=status, error=error_text(exc)))
    checks.append(_scaler_step(ctx, model, x, amp_dtypes[-1] if amp_dtypes else None))
    return {"checks": checks, "details": {"dtypes": amp_dtypes}}


def _scaler_step(ctx: Any, model: Any, x: Any, amp: str | None) -> dict[str, Any]:
    torch = ctx.torch
    dev = ctx.device
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp or "", torch.bfloat16)
    # A modest initial scale: with the default 65536 an fp16 weight gradient of this small net can overflow
    # on the first step, which GradScaler handles by skipping the step; here a skip would be a false alarm.
    if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3, CPU and CUDA
        make_scaler = lambda: torch.amp.GradScaler(dev.type, init_scale=1024.0)  # noqa: E731
    elif dev.type == "cuda":
        make_scaler = lambda: torch.cuda.amp.GradScaler(init_scale=1024.0)  # noqa: E731
    else:
        return check("grad_scaler", amp, status=SKIP, note=note("verify.note.no_cpu_scaler", torch=torch.__version__))
    try:
        scaler = make_scaler()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        before = [p.detach().clone() for p in model.parameters()]
        target = torch.arange(x.shape[0], device=dev) % 10
        init_scale = scaler.get_scale()
        with torch.autocast(dev.type, dtype=dtype):
            loss = torch.nn.functional.cross_entropy(model(x), target)
        scaler.scale(loss).backward()
        grads_finite = all(torch.isfinite(p.grad).all().item() for p in model.parameters() if p.grad is not None)
        scaler.step(opt)
        scaler.update()
        moved = any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))  # noqa: B905 (the suite also runs on Python < 3.10)
        params_finite = all(torch.isfinite(p).all().item() for p in model.parameters())
        scale = scaler.get_scale()
        problems = []
        if not torch.isfinite(loss).item():
            problems.append("loss")
        if not grads_finite:
            problems.append("gradients")
        if not params_finite:
            problems.append("parameters")
        if scale != init_scale:
            problems.append(f"scale {init_scale:g} -> {scale:g} (inf/NaN found)")
        if not moved:
            problems.append("parameters did not change")
        if problems:
            return check("grad_scaler", amp, status=FAIL, note=note("verify.note.scaler_problem",
                                                                     problems=", ".join(problems)))
        return check("grad_scaler", amp, value=float(loss.item()), metric="loss")
    except Exception as exc:
        return check("grad_scaler", amp, error=error_text(exc))
