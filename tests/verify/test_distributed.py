"""torch.distributed with gloo across local processes: under torchrun (the real launcher from the venv) and
under Slurm's variables (each process gets what ``srun`` sets; Slurm itself is not installed here)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.verify.conftest import FAULTS, check, stage

# The shared session fixtures (a cold C++ build, one default run) may land in any test's setup.
pytestmark = [pytest.mark.torch, pytest.mark.timeout(900)]

TORCHRUN = Path(sys.executable).parent / "torchrun"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(nproc: int, args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    argv = [str(TORCHRUN), "--nnodes", "1", "--nproc-per-node", str(nproc), "--rdzv-backend", "c10d",
            "--rdzv-endpoint", f"127.0.0.1:{free_port()}", "--max-restarts", "0", "-m", "dlsetup", "verify",
            "--distributed", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=420)


def one_json_document(stdout: str) -> dict:
    try:
        doc = json.loads(stdout)  # fails if other ranks wrote anything to stdout
    except json.JSONDecodeError as exc:
        raise AssertionError(f"stdout is not one JSON document ({exc}): {stdout[-3000:]!r}") from None
    assert doc["command"] == "verify"
    return doc


@pytest.mark.parametrize("nproc", [2, 4])
def test_torchrun_gloo_allreduce(nproc):
    proc = torchrun(nproc, ["--only", "distributed", "--json"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = one_json_document(proc.stdout)
    assert doc["status"] == "pass"
    dist = stage(doc, "distributed")
    assert dist["status"] == "pass" and dist["details"]["backend"] == "gloo"
    assert dist["details"]["world_size"] == nproc and dist["details"]["how"] == "torchrun"
    assert all(c["value"] == 0 for c in dist["checks"] if c["name"] == "all_reduce")
    bw = dist["details"]["bandwidth"]
    assert bw["busbw_gbs"] == pytest.approx(bw["algbw_gbs"] * 2 * (nproc - 1) / nproc)
    world = doc["distributed"]
    assert world["launcher"] == "torchrun" and world["world_size"] == nproc and world["rank"] == 0
    assert [r["rank"] for r in world["ranks"]] == list(range(nproc))
    assert all(r["status"] == "pass" and r["device"] == "cpu" for r in world["ranks"])


def test_torchrun_rank_failure_is_reported_by_rank_0(tmp_path):
    # Rank 1's all-reduce results come back corrupted; rank 0 must say so and fail.
    proc = torchrun(2, ["--only", "ops,distributed", "--quick", "--json", "--report", str(tmp_path / "r.html")],
                    {"PYTHONPATH": str(FAULTS), "DLVERIFY_FAULT": "allreduce_wrong", "DLVERIFY_FAULT_RANK": "1"})
    context = f"exit {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-5000:]}"
    assert proc.returncode != 0, context
    doc = one_json_document(proc.stdout)
    assert doc["status"] == "fail" and doc["exit_code"] == 1, context
    ranks = {r["rank"]: r for r in doc["distributed"]["ranks"]}
    assert ranks[0]["status"] == "pass" and ranks[1]["status"] == "fail", ranks
    assert ranks[1]["failed_stages"] == ["distributed"], ranks
    allreduce = check(stage(doc, "distributed"), "all_reduce", "4096 B")
    assert allreduce["status"] == "fail" and "rank(s) 1" in allreduce["message"]
    assert stage(doc, "ops")["status"] == "pass", stage(doc, "ops")  # every rank ran the other stages too
    # (rank 1 also says "rank 1 failed: distributed" on stderr, unless torchrun has already stopped it
    # because rank 0 exited 1 first: rank 0's combined result is the contract, not that line)
    assert (tmp_path / "r.html").exists()  # rank 0 wrote the report


def test_slurm_variables_are_mapped(tmp_path):
    port = str(free_port())
    procs = []
    for rank in range(2):
        env = dict(os.environ)
        for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
            env.pop(name, None)
        env.update({"SLURM_PROCID": str(rank), "SLURM_NTASKS": "2", "SLURM_LOCALID": str(rank),
                    "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "2", "SLURM_NODEID": "0",
                    "SLURM_JOB_ID": "4242", "SLURM_JOB_NODELIST": "localhost", "SLURM_TASKS_PER_NODE": "2",
                    "MASTER_PORT": port, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
        procs.append(subprocess.Popen([sys.executable, "-m", "dlsetup", "verify", "--distributed", "--only",
                                       "distributed", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env))
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    doc = one_json_document(outs[0][0])
    assert outs[1][0] == ""  # other ranks stay quiet on stdout
    assert doc["distributed"]["launcher"] == "slurm" and doc["distributed"]["master"] == f"localhost:{port}"
    assert stage(doc, "distributed")["status"] == "pass"
    assert len(doc["distributed"]["ranks"]) == 2


def test_torchrun_two_nodes_with_c10d_rendezvous():
    # Two torchrun agents as two "nodes" (--nnodes 2, one process each) meeting at one c10d rendezvous
    # endpoint, the way a lab starts one agent per machine; here both machines are this one.
    port = free_port()
    procs = []
    for _ in range(2):
        argv = [str(TORCHRUN), "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d",
                "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "dlsetup-verify-test", "--max-restarts", "0",
                "-m", "dlsetup", "verify", "--distributed", "--only", "distributed", "--json"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=dict(os.environ)))
    outs = [p.communicate(timeout=420) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-3000:] for o in outs]
    printed = [o[0] for o in outs if o[0].strip()]
    assert len(printed) == 1, outs  # only global rank 0 prints, whichever node it landed on
    doc = one_json_document(printed[0])
    assert doc["status"] == "pass" and doc["distributed"]["launcher"] == "torchrun"
    assert doc["distributed"]["world_size"] == 2 and [r["rank"] for r in doc["distributed"]["ranks"]] == [0, 1]
    dist = stage(doc, "distributed")
    assert dist["status"] == "pass" and all(c["value"] == 0 for c in dist["checks"] if c["name"] == "all_reduce")
