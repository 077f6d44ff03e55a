"""Optional stage, --burn SECONDS: repeat one GEMM and require the same answer every time.

gpu-burn and DCGM's ``diagnostic`` plugin do this: any element that differs from the first result by more
than 1e-3 (fp32) is a faulty element, and any NaN fails. TF32 is off so the GEMM is plain fp32. Results
that differ by less than the limit (but not bit for bit) are reported as a warning.
"""

from __future__ import annotations

import time
from typing import Any

from dlverify.common import fp32_precision, precision_mode
from dlverify.proto import FAIL, WARN, check, note

EPSILON = 1e-3  # gpu-burn / DCGM compare.cu, fp32


def run(ctx: Any) -> dict[str, Any]:
    torch = ctx.torch
    dev = ctx.device
    seconds = float(ctx.cfg.get("burn_s") or 10.0)
    n = 4096 if dev.type == "cuda" else 512
    gen = torch.Generator(device=dev)
    gen.manual_seed(ctx.seed + 83)
    a = torch.randn(n, n, generator=gen, device=dev)
    b = torch.randn(n, n, generator=gen, device=dev)
    faulty = torch.zeros((), dtype=torch.int64, device=dev)
    nans = torch.zeros((), dtype=torch.int64, device=dev)
    max_diff = torch.zeros((), device=dev)
    iterations = 0
    start = time.perf_counter()
    with fp32_precision(torch, precision_mode(ctx, "fp32")):
        first = torch.matmul(a, b)
        while iterations == 0 or time.perf_counter() - start < seconds:  # at least one repeat, however short
            for _ in range(8 if dev.type == "cuda" else 1):
                out = torch.matmul(a, b)
                diff = (out - first).abs()
                faulty += (diff > EPSILON).sum()
                nans += torch.isnan(out).sum()
                max_diff = torch.maximum(max_diff, diff.nan_to_num(0.0).amax())
                iterations += 1
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
    elapsed = time.perf_counter() - start
    faulty_n, nan_n, worst = int(faulty.item()), int(nans.item()), float(max_diff.item())
    details = {"iterations": iterations, "seconds": round(elapsed, 2), "n": n,
               "gflops": round(2 * n**3 * iterations / elapsed / 1e9, 1), "max_abs_diff": worst}
    if faulty_n or nan_n:
        c = check("repeat_gemm", "fp32", status=FAIL, value=faulty_n + nan_n, limit=0, metric="faulty_elements",
                  note=note("verify.note.burn_faulty", faulty=faulty_n, nans=nan_n, iterations=iterations))
    elif worst > 0:
        c = check("repeat_gemm", "fp32", status=WARN, value=worst, metric="max_abs_diff",
                  note=note("verify.note.burn_not_identical", diff=worst, iterations=iterations))
    else:
        c = check("repeat_gemm", "fp32", value=0, limit=0, metric="faulty_elements",
                  note=note("verify.note.burn_ok", iterations=iterations, seconds=round(elapsed, 1)))
    return {"checks": [c], "details": details}
