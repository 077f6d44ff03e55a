"""Stage 8, torch.distributed: all-reduce with exact value checks and bandwidth, NCCL on GPUs, gloo on CPU.

Three ways to run:
* under a launcher (torchrun, or Slurm's srun through dlsetup, which maps SLURM_* onto RANK/WORLD_SIZE/...):
  every rank runs the stages on its own device, then this stage joins the process group, checks the
  all-reduce, and gathers every rank's results on rank 0;
* on one machine with several GPUs (or ``--nproc N``): this stage spawns one worker per device that
  runs the all-reduce check only;
* otherwise it is skipped (one device).

Values are exact: rank r contributes (r + 1) * (i mod m), so the sum is (i mod m) * n(n+1)/2 in every
element; m (<= 251) keeps that an integer fp32 represents exactly (fp64 for worlds of thousands). Bandwidth follows nccl-tests: algbw = bytes / time,
busbw = algbw * 2(n-1)/n for all-reduce.
"""

from __future__ import annotations

import inspect
import json
import os
import socket
import tempfile
import time
from datetime import timedelta
from typing import Any

from dlverify.proto import FAIL, check, clean, note, skipped

SIZES = {"cpu": [1 << 10, 1 << 18, 1 << 20], "cuda": [1 << 10, 1 << 20, 1 << 24]}  # float32 elements
TIMED_ITERS = {"cpu": 5, "cuda": 20}


def allreduce_checks(torch: Any, dist: Any, rank: int, world: int, device: Any, group: Any = None) -> dict[str, Any]:
    """The checks one rank makes; every rank must call this (it is collective)."""
    kind = "cuda" if device.type == "cuda" else "cpu"
    checks = []
    factor = world * (world + 1) // 2
    # Keep every sum an exactly representable integer: below 2**24 in fp32, else use fp64.
    dtype = torch.float32 if factor * 2 < 2**24 else torch.float64
    modulus = max(2, min(251, (2**24 if dtype == torch.float32 else 2**53) // (factor * 2)))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for n in SIZES[kind]:
        pattern = (torch.arange(n, device=device) % modulus).to(dtype)
        t = pattern * float(rank + 1)
        dist.all_reduce(t, group=group)
        sync()
        wrong = int((t != pattern * factor).sum().item())
        checks.append(check("all_reduce", f"{n * t.element_size()} B", value=wrong, limit=0, metric="wrong_elements"))
    n = SIZES[kind][-1]
    buf = torch.ones(n, device=device)
    for _ in range(2):
        dist.all_reduce(buf, group=group)
    sync()
    dist.barrier(group=group)
    iters = TIMED_ITERS[kind]
    start = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(buf, group=group)
    sync()
    elapsed = torch.tensor([(time.perf_counter() - start) / iters], dtype=torch.float64, device=device)
    dist.all_reduce(elapsed, op=dist.ReduceOp.MAX, group=group)  # the slowest rank sets the pace
    seconds = float(elapsed.item())
    algbw = n * 4 / seconds / 1e9
    busbw = algbw * 2 * (world - 1) / world
    return {"checks": checks, "bandwidth": {"bytes": n * 4, "time_s": seconds, "algbw_gbs": algbw,
                                            "busbw_gbs": busbw, "iterations": iters}}


def _backend(device: Any) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_worker(rank: int, world: int, port: int, device_type: str, out_dir: str, timeout_s: float) -> None:
    """One spawned process of the single-machine check (module level, so ``spawn`` can import it)."""
    import torch
    import torch.distributed as dist

    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    if device_type == "cuda":
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
    else:
        torch.set_num_threads(1)
        device = torch.device("cpu")
    dist.init_process_group(_backend(device), rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s))
    try:
        result = allreduce_checks(torch, dist, rank, world, device)
        result["rank"] = rank
        result["device"] = str(device)
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w", encoding="utf-8") as fh:
            json.dump(result, fh)
    finally:
        dist.destroy_process_group()


def _merge(results: list[dict[str, Any]], world: int, backend: str, how: str) -> dict[str, Any]:
    """One stage result from every rank's checks: a size fails if any rank saw a wrong element."""
    checks = []
    for i, first in enumerate(results[0]["checks"]):
        wrong = sum(int(r["checks"][i]["value"] or 0) for r in results)
        bad = [r["rank"] for r in results if r["checks"][i]["status"] == FAIL]
        c = check(first["name"], first["variant"], value=wrong, limit=0, metric="wrong_elements")
        if bad:
            c["note"] = note("verify.note.allreduce_wrong", ranks=", ".join(map(str, bad)), wrong=wrong)
        checks.append(c)
    bw = results[0]["bandwidth"]
    details = {"world_size": world, "backend": backend, "how": how, "bandwidth": bw,
               "devices": [r.get("device") for r in results]}
    checks.append(check("bandwidth", f"{bw['bytes']} B", status="info", value=round(bw["busbw_gbs"], 3),
                        metric="busbw_gbs",
                        note=note("verify.note.bandwidth", algbw=round(bw["algbw_gbs"], 3),
                                  busbw=round(bw["busbw_gbs"], 3), world=world)))
    return {"checks": checks, "details": details}


def run(ctx: Any) -> dict[str, Any]:
    if ctx.launcher:
        return _launched(ctx)
    torch = ctx.torch
    nproc = ctx.cfg.get("nproc")
    on_gpu = ctx.device.type == "cuda"
    count = torch.cuda.device_count() if on_gpu else 0
    world = int(nproc) if nproc else (count if on_gpu else 1)
    if world < 2:
        return skipped("verify.note.single_device", devices=max(count, 1))
    if on_gpu and world > count:
        return {"checks": [check("world_size", str(world), status=FAIL,
                                 note=note("verify.note.nproc_too_many", nproc=world, gpus=count))]}
    cpus = _cpus()
    if not on_gpu and world > max(4, cpus):  # each worker imports torch: dozens would swamp a small machine
        return {"checks": [check("world_size", str(world), status=FAIL,
                                 note=note("verify.note.nproc_too_many_cpus", nproc=world, cpus=cpus,
                                           most=max(4, cpus)))]}
    return _local(ctx, world, "cuda" if on_gpu else "cpu")


def _cpus() -> int:
    """CPUs this process may run on (the affinity mask under a batch system or taskset, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _local(ctx: Any, world: int, device_type: str) -> dict[str, Any]:
    import torch.multiprocessing as mp

    timeout_s = float(ctx.cfg.get("dist_timeout_s", 120))
    with tempfile.TemporaryDirectory(prefix="dlverify-dist-") as out_dir:
        mp.start_processes(_local_worker, args=(world, _free_port(), device_type, out_dir, timeout_s),
                           nprocs=world, join=True, start_method="spawn")
        results = []
        for rank in range(world):
            with open(os.path.join(out_dir, f"rank{rank}.json"), encoding="utf-8") as fh:
                results.append(json.load(fh))
    return _merge(results, world, "nccl" if device_type == "cuda" else "gloo", "spawn")


def _all_gather_json(torch: Any, dist: Any, payload: Any, world: int, group: Any) -> list[Any]:
    """Every rank's ``payload`` on every rank, as JSON bytes in CPU uint8 tensors over a gloo group.
    (``gather_object`` pickles through NumPy in some torch releases; the target env may not have it.)"""
    data = json.dumps(clean(payload)).encode("utf-8")
    size = torch.tensor([len(data)], dtype=torch.int64)
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sizes, size, group=group)
    longest = max(int(s.item()) for s in sizes)
    mine = torch.zeros(longest, dtype=torch.uint8)
    mine[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    bufs = [torch.zeros(longest, dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(bufs, mine, group=group)
    return [json.loads(bytes(b[: int(s.item())].tolist()).decode("utf-8")) for b, s in zip(bufs, sizes)]  # noqa: B905 (the suite also runs on Python < 3.10)


def _launched(ctx: Any) -> dict[str, Any]:
    """Under torchrun/srun: join the world, check, and gather every rank's stages on rank 0."""
    torch = ctx.torch
    import torch.distributed as dist

    info = ctx.launcher
    rank, world = info["rank"], info["world_size"]
    backend = _backend(ctx.device)
    timeout = timedelta(seconds=float(ctx.cfg.get("dist_timeout_s", 300)))
    extra = {}
    if backend == "nccl" and "device_id" in inspect.signature(dist.init_process_group).parameters:
        extra["device_id"] = ctx.device  # binds the communicator to this rank's GPU (torch >= 2.3)
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world, timeout=timeout, **extra)
    try:
        mine = allreduce_checks(torch, dist, rank, world, ctx.device)
        payload = {"rank": rank, "local_rank": info["local_rank"], "host": socket.gethostname(),
                   "device": str(ctx.device), "checks": mine["checks"], "bandwidth": mine["bandwidth"],
                   "stages": ctx.results}
        objects = dist.new_group(backend="gloo") if backend == "nccl" else None
        gathered = _all_gather_json(torch, dist, payload, world, objects)
    finally:
        dist.destroy_process_group()
    if rank != 0:
        out = _merge([payload], world, backend, info["launcher"])
        out["details"]["gathered"] = True  # rank 0 has this rank's results
        return out
    ranks = sorted(gathered, key=lambda p: p["rank"])
    ctx.channel.send({"event": "ranks", "ranks": ranks})
    out = _merge(ranks, world, backend, info["launcher"])
    out["details"]["hosts"] = sorted({p["host"] for p in ranks})
    out["details"]["gathered"] = True
    return out
