"""Entry point: ``python -m dlverify`` reads its configuration from stdin and runs the requested stages."""

from __future__ import annotations

import importlib
import json
import os
import platform
import signal
import socket
import sys
import time
import warnings
from typing import Any

from dlverify import PROTOCOL
from dlverify.proto import FAIL, Channel, check, error_text, note, traceback_tail, worst

# stage name -> module (imported only when the stage runs)
STAGES = {
    "env": "dlverify.env",
    "ops": "dlverify.ops",
    "autograd": "dlverify.grad",
    "amp": "dlverify.amp",
    "agreement": "dlverify.agree",
    "extension": "dlverify.ext",
    "train": "dlverify.train",
    "frameworks": "dlverify.frameworks",
    "perf": "dlverify.perf",
    "burn": "dlverify.burn",
    "distributed": "dlverify.dist",
}
NEEDS_DEVICE = set(STAGES) - {"env", "frameworks"}


class Context:
    """What every stage gets: the configuration, torch, the device, and the results so far."""

    def __init__(self, cfg: dict[str, Any], channel: Channel, torch: Any, import_s: float) -> None:
        self.cfg = cfg
        self.channel = channel
        self.torch = torch
        self.import_s = import_s
        self.mode: str = cfg.get("mode", "default")
        self.seed: int = int(cfg.get("seed", 0))
        self.requested_device: str = cfg.get("device", "auto")
        self.results: list[dict[str, Any]] = []
        self.launcher = launcher_info() if cfg.get("distributed") else None
        self.cuda_warnings: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.cuda_available = bool(torch.cuda.is_available())
        self.cuda_warnings = [" ".join(str(w.message).split())[:400] for w in caught]
        # Apple silicon: the default macOS arm64 wheel runs on the GPU through MPS (torch.backends.mps)
        mps = getattr(getattr(torch, "backends", None), "mps", None)
        self.mps_available = bool(sys.platform == "darwin" and mps is not None and mps.is_available())
        self.device, self.device_error = self._pick_device()

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def _pick_device(self) -> tuple[Any, dict | None]:
        torch = self.torch
        want = self.requested_device
        if want == "auto":
            want = "cuda" if self.cuda_available else ("mps" if self.mps_available else "cpu")
        if want == "cpu":
            return torch.device("cpu"), None
        if want == "mps":
            if not self.mps_available:
                return None, note("verify.note.mps_unavailable", torch=torch.__version__)
            return torch.device("mps"), None
        if not self.cuda_available:
            reason = "; ".join(self.cuda_warnings) or ("CPU-only build" if not torch.version.cuda else "-")
            return None, note("verify.note.cuda_requested_unavailable", device=want, torch=torch.__version__,
                              reason=reason)
        count = torch.cuda.device_count()
        if want == "cuda":
            index = self.launcher["local_rank"] % count if self.launcher else 0
        else:
            index = int(want.split(":", 1)[1])
        if index >= count:
            return None, note("verify.note.no_such_gpu", device=want, count=count)
        torch.cuda.set_device(index)
        return torch.device("cuda", index), None


def launcher_info() -> dict[str, Any] | None:
    """Rank, world size and rendezvous from torchrun's variables, or from Slurm's (set by dlsetup)."""
    env = os.environ
    if "RANK" in env and "WORLD_SIZE" in env:
        return {"rank": int(env["RANK"]), "world_size": int(env["WORLD_SIZE"]),
                "local_rank": int(env.get("LOCAL_RANK", "0")),
                "local_world_size": int(env.get("LOCAL_WORLD_SIZE", "1")),
                "master": f"{env.get('MASTER_ADDR', '?')}:{env.get('MASTER_PORT', '?')}",
                "launcher": env.get("DLSETUP_LAUNCHER", "torchrun" if "TORCHELASTIC_RUN_ID" in env else "env")}
    return None


def hello(ctx: Context | None, cfg: dict[str, Any], import_s: float, error: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": "hello", "protocol": PROTOCOL, "python": platform.python_version(),
        "executable": sys.executable, "pid": os.getpid(), "host": socket.gethostname(), "import_s": import_s,
        "ok": error is None, "error": error,
    }
    if ctx is not None:
        torch = ctx.torch
        out.update({
            "torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_available": ctx.cuda_available,
            "mps_available": ctx.mps_available,
            "device": str(ctx.device) if ctx.device is not None else None, "device_error": ctx.device_error,
            "device_name": _device_name(ctx), "launcher": ctx.launcher,
        })
    return out


def _device_name(ctx: Context) -> str | None:
    if ctx.device is None:
        return None
    if ctx.device.type == "cuda":
        return ctx.torch.cuda.get_device_name(ctx.device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_stage(ctx: Context, name: str) -> dict[str, Any]:
    torch = ctx.torch
    ctx.channel.send({"event": "start", "stage": name})
    start = time.perf_counter()
    if name in NEEDS_DEVICE and ctx.device is None:
        result: dict[str, Any] = {"status": "not_run", "checks": [], "note": note("verify.note.device_unavailable")}
    else:
        torch.manual_seed(ctx.seed)
        try:
            module = importlib.import_module(STAGES[name])
            result = module.run(ctx)
            if ctx.device is not None and ctx.device.type == "cuda":
                torch.cuda.synchronize(ctx.device)
        except Exception as exc:
            result = {"checks": [check("stage", None, error=error_text(exc))],
                      "details": {"traceback": traceback_tail(exc)}}
    checks = result.get("checks", [])
    status = result.get("status") or worst([c["status"] for c in checks])
    if status not in (FAIL, "not_run") and any(c["status"] == FAIL for c in checks):
        status = FAIL
    event = {"event": "stage", "stage": name, "status": status, "duration_s": round(time.perf_counter() - start, 4),
             "checks": checks, "details": result.get("details", {}), "note": result.get("note")}
    ctx.results.append(event)
    ctx.channel.send(event)
    return event


def main() -> int:
    cfg = json.loads(sys.stdin.read() or "{}")
    channel = Channel()
    if hasattr(signal, "SIGUSR1"):  # dlsetup asks for a stack dump before killing a hung stage
        import faulthandler

        faulthandler.register(signal.SIGUSR1, all_threads=True)
    started = time.perf_counter()
    try:
        import torch
    except BaseException as exc:  # a broken install: report it, never a traceback
        channel.send(hello(None, cfg, round(time.perf_counter() - started, 3), error_text(exc)))
        channel.send({"event": "done"})
        return 0
    import_s = round(time.perf_counter() - started, 3)
    try:
        ctx = Context(cfg, channel, torch, import_s)
    except Exception as exc:
        channel.send(hello(None, cfg, import_s, error_text(exc)))
        channel.send({"event": "done"})
        return 0
    channel.send(hello(ctx, cfg, import_s))
    for name in cfg.get("stages", list(STAGES)):
        if name not in STAGES:
            continue
        run_stage(ctx, name)
    channel.send({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
