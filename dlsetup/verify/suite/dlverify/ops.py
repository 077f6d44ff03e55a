"""Stage 2, native ops: each kernel on the device against a float64 reference on the CPU.

The references are written from first principles with other operations (conv and pooling through
``unfold``, the LSTM cell by hand, batch norm and softmax from their formulas), so a broken kernel cannot
also break its own reference. Inputs are made on the device from a fixed seed, rounded to the dtype
under test, and the reference sees exactly those rounded values.
"""

from __future__ import annotations

from typing import Any

from dlverify.common import (
    LIMITS,
    dtype_of,
    fp32_precision,
    generator,
    precision_mode,
    randn,
    rel_err,
    unsupported,
    variants,
)
from dlverify.proto import SKIP, check, error_text, note

# Problem sizes: small on the CPU (seconds matter), larger on a GPU (tiling and tensor-core paths).
SIZES = {
    "cpu": {"mm": 256, "conv": (4, 8, 16, 16, 16), "lstm": (4, 10, 8, 16), "bn": (8, 8, 8, 8), "ce": (64, 10)},
    "cuda": {"mm": 1024, "conv": (16, 32, 28, 28, 64), "lstm": (16, 10, 32, 32), "bn": (32, 32, 14, 14),
             "ce": (256, 100)},
}
# The LSTM stays short on the GPU too: its rounding error grows with steps and width. Simulating bf16
# rounding of the gate GEMMs and of h and c at every step (as cuDNN stores them) against the float64
# reference, 20 steps of width 64 reached up to 1.5e-2 (the bf16 limit is 2e-2); 10 steps of width 32 stayed
# below 8.5e-3 over 30 seeds (fp16: 1e-3, limit 5e-3).
# fp16 on the CPU has no fast kernels (a 2048^3 fp16 matmul took 44 s): only tiny problems, and only these ops.
CPU_FP16 = {"mm": 128, "conv": (2, 4, 8, 8, 8)}


# ---- float64 references -------------------------------------------------------------------------------

def conv2d_ref(torch: Any, x: Any, w: Any, b: Any, padding: int) -> Any:
    F = torch.nn.functional
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), padding=padding)  # n, c*kh*kw, L
    out = torch.matmul(w.reshape(o, -1), cols)
    return out.view(n, o, h + 2 * padding - kh + 1, wd + 2 * padding - kw + 1) + b.view(1, o, 1, 1)


def pool_ref(torch: Any, x: Any, kind: str) -> Any:
    n, c, h, w = x.shape
    cols = torch.nn.functional.unfold(x.reshape(n * c, 1, h, w), 2, stride=2)  # n*c, 4, L
    red = cols.amax(1) if kind == "max" else cols.mean(1)
    return red.view(n, c, h // 2, w // 2)


def lstm_ref(torch: Any, x: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple[Any, Any, Any]:
    """One-layer, batch-first LSTM with PyTorch's gate order (input, forget, cell, output)."""
    batch, steps, _ = x.shape
    hidden = w_hh.shape[1]
    h = x.new_zeros(batch, hidden)
    c = x.new_zeros(batch, hidden)
    outs = []
    for t in range(steps):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1), h, c


def bn_train_ref(torch: Any, x: Any, w: Any, b: Any, rm: Any, rv: Any, momentum: float, eps: float):
    dims = (0, 2, 3)
    count = x.numel() // x.shape[1]
    mean = x.mean(dims)
    var = ((x - mean.view(1, -1, 1, 1)) ** 2).mean(dims)
    out = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)
    new_rm = (1 - momentum) * rm + momentum * mean
    new_rv = (1 - momentum) * rv + momentum * var * count / (count - 1)
    return out, new_rm, new_rv


def bn_eval_ref(torch: Any, x: Any, w: Any, b: Any, rm: Any, rv: Any, eps: float) -> Any:
    v = lambda t: t.view(1, -1, 1, 1)  # noqa: E731
    return (x - v(rm)) / torch.sqrt(v(rv) + eps) * v(w) + v(b)


def log_softmax_ref(torch: Any, x: Any) -> Any:
    shifted = x - x.amax(1, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(1, keepdim=True))


# ---- the checks -------------------------------------------------------------------------------------

class Ops:
    def __init__(self, ctx: Any, variant: str) -> None:
        self.ctx = ctx
        self.torch = ctx.torch
        self.F = ctx.torch.nn.functional
        self.dev = ctx.device
        self.variant = variant
        self.dtype = dtype_of(ctx.torch, variant)
        self.limit = LIMITS[variant]
        self.sizes = SIZES["cuda" if ctx.device.type == "cuda" else "cpu"]
        self.gen = generator(ctx.torch, ctx.device, ctx.seed + 17)
        self.checks: list[dict[str, Any]] = []

    def rnd(self, *shape: int, scale: float = 1.0) -> Any:
        return randn(self.torch, self.gen, shape, self.dev, self.dtype, scale)

    def ref(self, t: Any) -> Any:
        return t.detach().to("cpu", self.torch.float64)

    def add(self, name: str, out: Any, ref: Any, limit: float | None = None) -> None:
        err = rel_err(self.torch, out, ref)
        self.checks.append(check(name, self.variant, value=err, limit=self.limit if limit is None else limit,
                                 metric="rel_err"))

    def guarded(self, name: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            if self.variant in ("bf16", "fp16") and unsupported(exc):
                self.checks.append(check(name, self.variant, status=SKIP, error=error_text(exc),
                                         note=note("verify.note.dtype_unsupported", dtype=self.variant)))
            else:
                self.checks.append(check(name, self.variant, error=error_text(exc)))

    # -- individual ops --
    def matmul(self, n: int) -> None:
        a, b = self.rnd(n, n), self.rnd(n, n)
        self.add("matmul", self.torch.matmul(a, b), self.ref(a) @ self.ref(b))

    def conv2d(self, shape: tuple[int, ...]) -> None:
        torch, F = self.torch, self.F
        n, c, h, w, o = shape
        x = self.rnd(n, c, h, w).requires_grad_()
        wt = self.rnd(o, c, 3, 3, scale=0.2).requires_grad_()
        b = self.rnd(o).requires_grad_()
        g = self.rnd(n, o, h, w)
        y = F.conv2d(x, wt, b, padding=1)
        y.backward(g)
        xr, wr, br = (self.ref(t).requires_grad_() for t in (x, wt, b))
        yr = conv2d_ref(torch, xr, wr, br, 1)
        yr.backward(self.ref(g))
        self.add("conv2d", y, yr)
        self.add("conv2d.grad_input", x.grad, xr.grad)
        self.add("conv2d.grad_weight", wt.grad, wr.grad)
        self.add("conv2d.grad_bias", b.grad, br.grad)

    def pools(self, shape: tuple[int, ...]) -> None:
        n, c, h, w, _ = shape
        x = self.rnd(n, c, h, w)
        # max pooling selects one of the inputs: it must be exact in every dtype
        self.add("max_pool2d", self.F.max_pool2d(x, 2), pool_ref(self.torch, self.ref(x), "max"), limit=0.0)
        self.add("avg_pool2d", self.F.avg_pool2d(x, 2), pool_ref(self.torch, self.ref(x), "avg"))

    def lstm(self, shape: tuple[int, ...]) -> None:
        torch = self.torch
        batch, steps, inp, hidden = shape
        layer = torch.nn.LSTM(inp, hidden, batch_first=True).to(self.dev)
        with torch.no_grad():
            for p in layer.parameters():
                p.copy_(randn(torch, self.gen, tuple(p.shape), self.dev, None, 0.3))
        layer = layer.to(self.dtype)
        x = self.rnd(batch, steps, inp)
        out, (h, c) = layer(x)
        ref_out, ref_h, ref_c = lstm_ref(torch, self.ref(x), self.ref(layer.weight_ih_l0), self.ref(layer.weight_hh_l0),
                                         self.ref(layer.bias_ih_l0), self.ref(layer.bias_hh_l0))
        self.add("lstm", out, ref_out)
        self.add("lstm.cell_state", c[0], ref_c)

    def batch_norm(self, shape: tuple[int, ...]) -> None:
        torch, F = self.torch, self.F
        x = self.rnd(*shape, scale=2.0) + 0.5
        ch = shape[1]
        w, b = self.rnd(ch) * 0.5 + 1, self.rnd(ch) * 0.5
        rm = self.rnd(ch) * 0.1
        rv = (self.rnd(ch) * 0.1).abs() + 1
        rm_ref, rv_ref = self.ref(rm), self.ref(rv)
        out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
        ref_out, ref_rm, ref_rv = bn_train_ref(torch, self.ref(x), self.ref(w), self.ref(b), rm_ref, rv_ref, 0.1, 1e-5)
        self.add("batch_norm.train", out, ref_out)
        self.add("batch_norm.running_stats", torch.cat([rm, rv]), torch.cat([ref_rm, ref_rv]))
        out_eval = F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5)
        self.add("batch_norm.eval", out_eval, bn_eval_ref(torch, self.ref(x), self.ref(w), self.ref(b),
                                                          self.ref(rm), self.ref(rv), 1e-5))

    def softmax_ce(self, shape: tuple[int, ...]) -> None:
        torch, F = self.torch, self.F
        n, k = shape
        x = self.rnd(n, k, scale=3.0)
        ref_x = self.ref(x)
        lsm = log_softmax_ref(torch, ref_x)
        self.add("softmax", F.softmax(x, 1), torch.exp(lsm))
        self.add("log_softmax", F.log_softmax(x, 1), lsm)
        # Large logits: a naive exp() overflows; the kernel must subtract the max first.
        big = self.rnd(n, k, scale=60.0)
        self.add("log_softmax.large", F.log_softmax(big, 1), log_softmax_ref(torch, self.ref(big)))
        target = torch.randint(0, k, (n,), generator=self.gen, device=self.dev)
        logits = x.detach().clone().requires_grad_()
        loss = F.cross_entropy(logits, target)
        loss.backward()
        t_cpu = target.cpu()
        ref_loss = -lsm[torch.arange(n), t_cpu].mean()
        onehot = torch.zeros(n, k, dtype=torch.float64)
        onehot[torch.arange(n), t_cpu] = 1.0
        self.add("cross_entropy", loss.reshape(1), ref_loss.reshape(1))
        self.add("cross_entropy.grad", logits.grad, (torch.exp(lsm) - onehot) / n)


def run(ctx: Any) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    for variant in variants(ctx):
        ops = Ops(ctx, variant)
        with fp32_precision(ctx.torch, precision_mode(ctx, variant)):
            if ctx.device.type == "cpu" and variant == "fp16":
                ops.guarded("matmul", ops.matmul, CPU_FP16["mm"])
                ops.guarded("conv2d", ops.conv2d, CPU_FP16["conv"])
            else:
                s = ops.sizes
                ops.guarded("matmul", ops.matmul, s["mm"])
                ops.guarded("conv2d", ops.conv2d, s["conv"])
                ops.guarded("pool2d", ops.pools, s["conv"])
                ops.guarded("lstm", ops.lstm, s["lstm"])
                ops.guarded("batch_norm", ops.batch_norm, s["bn"])
                ops.guarded("softmax", ops.softmax_ce, s["ce"])
        checks.extend(ops.checks)
    return {"checks": checks, "details": {"variants": variants(ctx), "limits": {v: LIMITS[v] for v in variants(ctx)}}}
