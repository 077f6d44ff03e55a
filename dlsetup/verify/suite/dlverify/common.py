"""Shared by the numeric stages: tolerances, the error metric, seeded inputs, the TF32 switch."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

# Normalised max error limits, max|out - ref| / max|ref| against a float64 reference
#: fp32 with TF32 off 1e-5, TF32 5e-3 (PyTorch's own
# tf32_on_and_off(0.005)), bf16 2e-2 (assert_close bf16 rtol 1.6e-2), fp16 5e-3.
LIMITS = {"fp32": 1e-5, "tf32": 5e-3, "bf16": 2e-2, "fp16": 5e-3}


def dtype_of(torch: Any, variant: str) -> Any:
    return {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[variant]


def variants(ctx: Any) -> list[str]:
    """The precisions the device runs natively: CPU fp32/bf16 (+ tiny fp16); CUDA fp32, TF32, bf16, fp16."""
    if ctx.device.type == "cpu":
        return ["fp32", "bf16", "fp16"]
    env = next((r["details"] for r in ctx.results if r["stage"] == "env"), {})
    cap = ctx.torch.cuda.get_device_capability(ctx.device)
    out = ["fp32"]
    if env.get("tf32_capable", cap[0] >= 8):
        out.append("tf32")
    if env.get("bf16_native", cap[0] >= 8):
        out.append("bf16")
    out.append("fp16")
    return out


def rel_err(torch: Any, out: Any, ref: Any) -> float:
    """max|out - ref| / max|ref|, computed in float64 on the CPU (absolute error when ref is all zero)."""
    out = out.detach().to("cpu", torch.float64)
    ref = ref.detach().to("cpu", torch.float64)
    if out.shape != ref.shape:
        return float("inf")
    scale = ref.abs().max().item() if ref.numel() else 0.0
    err = (out - ref).abs().max().item() if ref.numel() else 0.0
    return err / scale if scale > 0 else err


def randn(torch: Any, gen: Any, shape: tuple[int, ...], device: Any, dtype: Any = None, scale: float = 1.0) -> Any:
    """Seeded normal values made on ``device`` in float32, then rounded to ``dtype``."""
    x = torch.randn(*shape, generator=gen, device=device) * scale
    return x.to(dtype) if dtype is not None else x


def generator(torch: Any, device: Any, seed: int) -> Any:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


@contextmanager
def fp32_precision(torch: Any, mode: str | None):
    """Run with TF32 forced off (``"ieee"``) or on (``"tf32"``) for cuBLAS matmul, cuDNN conv and RNN."""
    if mode is None:
        yield
        return
    b = torch.backends
    if hasattr(b.cuda.matmul, "fp32_precision"):
        knobs = [b.cuda.matmul, b.cudnn.conv] + ([b.cudnn.rnn] if hasattr(b.cudnn, "rnn") else [])
        saved = [k.fp32_precision for k in knobs]
        try:
            for k in knobs:
                k.fp32_precision = mode
            yield
        finally:
            for k, v in zip(knobs, saved):  # noqa: B905 (the suite also runs on Python < 3.10)
                k.fp32_precision = v
    else:
        saved_legacy = (b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32)
        try:
            b.cuda.matmul.allow_tf32 = b.cudnn.allow_tf32 = mode == "tf32"
            yield
        finally:
            b.cuda.matmul.allow_tf32, b.cudnn.allow_tf32 = saved_legacy


def precision_mode(ctx: Any, variant: str) -> str | None:
    """TF32 knob setting for a variant: fp32 on CUDA means TF32 forced off, tf32 means forced on."""
    if ctx.device.type != "cuda":
        return None
    return {"fp32": "ieee", "tf32": "tf32"}.get(variant)


def unsupported(exc: BaseException) -> bool:
    """The op has no kernel for this dtype here (a capability gap, not a wrong result)."""
    text = str(exc).lower()
    return isinstance(exc, NotImplementedError) or "not implemented for" in text or "not supported" in text
