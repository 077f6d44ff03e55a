"""Optional stage, --perf: a large bf16 GEMM (TFLOP/s) and a device-to-device copy (GB/s, read + write).

Only measures; dlsetup compares the figures with the GPU's datasheet peak from its data table and warns
below half (MIG slices, power caps and shared GPUs make a hard limit wrong). Timed with CUDA events after
a warm-up, so launch overhead and lazy initialisation are not counted.
"""

from __future__ import annotations

from typing import Any

from dlverify.proto import check, error_text, skipped


def _time_cuda(torch: Any, fn: Any, reps: int) -> float:
    """Seconds per call, from CUDA events around ``reps`` calls (after three warm-up calls)."""
    for _ in range(3):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1000.0 / reps


def _gemm_tflops(torch: Any, dev: Any, dtype: Any, n: int) -> float:
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    c = torch.empty(n, n, device=dev, dtype=dtype)
    seconds = _time_cuda(torch, lambda: torch.matmul(a, b, out=c), 10)
    return 2 * n**3 / seconds / 1e12


def run(ctx: Any) -> dict[str, Any]:
    if ctx.device.type != "cuda":
        return skipped("verify.note.perf_no_gpu")
    torch = ctx.torch
    dev = ctx.device
    props = torch.cuda.get_device_properties(dev)
    free, _total = torch.cuda.mem_get_info(dev)
    checks, details = [], {"device_name": props.name, "cc": f"{props.major}.{props.minor}"}
    dtype = torch.bfloat16 if (props.major >= 8) else torch.float16
    n = 8192 if free > 3 * 8192 * 8192 * 2 * 1.5 else 4096
    try:
        tflops = _gemm_tflops(torch, dev, dtype, n)
        details.update({"gemm_n": n, "gemm_dtype": str(dtype).replace("torch.", ""), "gemm_tflops": round(tflops, 1)})
        checks.append(check("gemm", details["gemm_dtype"], value=round(tflops, 1), metric="tflops", status="info"))
    except Exception as exc:
        checks.append(check("gemm", None, error=error_text(exc)))
    try:
        nbytes = min(1 << 30, int(free // 4))
        src = torch.empty(nbytes // 4, device=dev, dtype=torch.float32)
        dst = torch.empty_like(src)
        seconds = _time_cuda(torch, lambda: dst.copy_(src), 10)
        gbs = 2 * nbytes / seconds / 1e9  # bytes read + bytes written, as bandwidthTest's D2D figure
        details.update({"copy_bytes": nbytes, "copy_gbs": round(gbs, 1)})
        checks.append(check("copy", "d2d", value=round(gbs, 1), metric="gbs", status="info"))
    except Exception as exc:
        checks.append(check("copy", "d2d", error=error_text(exc)))
    return {"checks": checks, "details": details}
