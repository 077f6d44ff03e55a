"""Where the suite runs: the target interpreter, its environment variables, and the launcher's world.

dlsetup never imports torch itself. The suite (``dlsetup/verify/suite/dlverify``) runs as
``<python> -m dlverify`` with ``PYTHONPATH`` pointing at ``dlsetup/verify/suite`` and nothing else of
dlsetup's, so the target environment needs only torch.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from dlsetup.errors import UsageError

SUITE_ROOT = Path(__file__).resolve().parent / "suite"


def target_python(python: str | None = None, env_name: str | None = None, *,
                  env_python: Callable[[str], Path] | None = None) -> str:
    """The interpreter to verify: ``--python PATH``, the one of ``--env NAME``, or this one.

    ``env_python`` maps an environment name to its interpreter; the command layer passes the envs
    capability's answer in (verify does not import envs)."""
    if python and env_name:
        raise UsageError("verify.error.python_and_env")
    if env_name:
        if env_python is None:
            raise ValueError("target_python(env_name=...) needs env_python")
        candidate = Path(env_python(env_name))
        if not candidate.exists():
            raise UsageError("verify.error.env_no_python", env=env_name, path=str(candidate))
        return os.path.abspath(candidate)
    if python:
        found = Path(python).expanduser()
        if not found.exists() and os.sep not in python:
            which = shutil.which(python)
            found = Path(which) if which else found
        if not found.exists():
            raise UsageError("verify.error.python_not_found", path=python)
        if not found.is_file() or not os.access(found, os.X_OK):
            raise UsageError("verify.error.python_not_executable", path=str(found))
        return os.path.abspath(found)  # not resolved: a venv's python is a symlink that must stay one
    return sys.executable


def suite_environ(python: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The suite's environment: this one, plus the suite on PYTHONPATH (first) and the interpreter's bin
    directory on PATH (pip puts ninja there; torch's extension build looks for it on PATH)."""
    env = dict(os.environ)
    # The suite runs with its own directory as cwd (so nothing in the user's cwd can shadow torch), so the
    # user's relative PYTHONPATH entries are made absolute here.
    user = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(SUITE_ROOT)] + user)
    env["PATH"] = os.pathsep.join([os.path.dirname(python), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    if extra:
        env.update(extra)
    return env


# ---- launchers ------------------------------------------------------------------------------------------

def launcher_world(environ: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, object]] | None:
    """Variables to give the suite and a description of the world, under torchrun or Slurm; else None.

    torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT itself. Under ``srun`` dlsetup
    maps Slurm's variables onto those: SLURM_PROCID -> RANK, SLURM_STEP_NUM_TASKS (else SLURM_NTASKS) ->
    WORLD_SIZE, SLURM_LOCALID -> LOCAL_RANK, the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST ->
    MASTER_ADDR, and a port derived from SLURM_JOB_ID (so every task of the job agrees) unless MASTER_PORT is
    set. A batch script's own shell also has SLURM_PROCID and SLURM_NTASKS (the allocation's task count) but
    is not one of several tasks: only a task ``srun`` started (SLURM_STEP_ID / SLURM_STEP_NUM_TASKS set)
    counts, otherwise rank 0 would wait for ranks that never start.
    """
    env = dict(os.environ if environ is None else environ)
    if "RANK" in env and "WORLD_SIZE" in env:
        launcher = "torchrun" if "TORCHELASTIC_RUN_ID" in env else "env"
        return {}, {"launcher": launcher, "rank": _int(env["RANK"]), "world_size": _int(env["WORLD_SIZE"]),
                    "master": f"{env.get('MASTER_ADDR', '?')}:{env.get('MASTER_PORT', '?')}"}
    in_step = "SLURM_STEP_ID" in env or "SLURM_STEP_NUM_TASKS" in env  # started by srun, not the batch shell
    if "SLURM_PROCID" in env and "SLURM_NTASKS" in env and in_step:
        nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or ""
        master = env.get("MASTER_ADDR") or first_host(nodelist) or "127.0.0.1"
        port = env.get("MASTER_PORT") or str(10000 + _int(env.get("SLURM_JOB_ID", "0")) % 20000)
        per_node = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE") or "1"
        mapped = {
            "RANK": env["SLURM_PROCID"], "WORLD_SIZE": env.get("SLURM_STEP_NUM_TASKS") or env["SLURM_NTASKS"],
            "LOCAL_RANK": env.get("SLURM_LOCALID", "0"),
            "LOCAL_WORLD_SIZE": str(tasks_on_node(per_node, _int(env.get("SLURM_NODEID", "0")))),
            "MASTER_ADDR": master, "MASTER_PORT": port, "DLSETUP_LAUNCHER": "slurm",
        }
        return mapped, {"launcher": "slurm", "rank": _int(mapped["RANK"]), "world_size": _int(mapped["WORLD_SIZE"]),
                        "master": f"{master}:{port}"}
    return None


def tasks_on_node(spec: str, node: int) -> int:
    """Tasks on node number ``node`` from Slurm's compressed per-node counts: ``"4(x2),3"`` -> 4, 4, 3."""
    counts: list[int] = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:\(x(\d+)\))?\s*", part)
        if not m:
            return 1
        counts += [int(m.group(1))] * int(m.group(2) or 1)
    return counts[node] if 0 <= node < len(counts) else (counts[-1] if counts else 1)


def first_host(nodelist: str) -> str | None:
    """The first host of a Slurm host list: ``"gpu[03-05,9],cpu1"`` -> ``"gpu03"``."""
    nodelist = nodelist.strip()
    if not nodelist:
        return None
    if shutil.which("scontrol"):
        from dlsetup.util.proc import run

        res = run(["scontrol", "show", "hostnames", nodelist], timeout=10)
        if res.ok and res.stdout.strip():
            return res.stdout.split()[0]
    m = re.match(r"([^,\[]*)(?:\[([^\]]*)\])?", nodelist)
    if not m:
        return None
    prefix, ranges = m.group(1), m.group(2)
    if not ranges:
        return prefix or None
    first = ranges.split(",")[0].split("-")[0]
    return prefix + first


def _int(value: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0
