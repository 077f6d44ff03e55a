"""Rung 5 of the NVIDIA ladder: ``nvidia-smi --query-gpu`` in CSV without a header.

The header text is never parsed (recent drivers renamed "CUDA Version" to "CUDA UMD Version"). A
hang, a crash or output that is not the CSV we asked for is an error in the result, never a crash.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dlsetup.probe._run import run, which
from dlsetup.probe.model import Gpu

FIELDS = "driver_version,name,memory.total,compute_cap"
_DRIVER = re.compile(r"^\d+\.\d+(?:\.\d+)?$")
_CC = re.compile(r"^\d+\.\d+$")


@dataclass
class SmiResult:
    ok: bool
    error: str | None = None  # "not-found" | "timeout" | "failed" | "garbage-output"
    detail: str | None = None
    path: str | None = None
    driver_version: str | None = None
    gpus: list[Gpu] = field(default_factory=list)


def parse_query_csv(text: str, with_cc: bool = True) -> tuple[str | None, list[Gpu]] | None:
    """Parse ``driver, name, memory[, cc]`` lines; None when any line is not in that shape."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    driver = None
    gpus = []
    for index, line in enumerate(lines):
        parts = [p.strip() for p in line.split(",")]
        want = 4 if with_cc else 3
        if len(parts) < want:
            return None
        drv = parts[0]
        cc = parts[-1] if with_cc else None
        mem = parts[-2] if with_cc else parts[-1]
        name = ", ".join(parts[1:-2] if with_cc else parts[1:-1]).strip()
        if not _DRIVER.match(drv) or not name:
            return None
        m = re.match(r"^(\d+)(?:\s*MiB)?$", mem)
        if not m:
            return None
        if cc is not None and not _CC.match(cc):
            if cc.strip("[]").upper() not in ("N/A", "NOT SUPPORTED"):
                return None
            cc = None
        driver = driver or drv
        gpus.append(Gpu(index=index, name=name, memory_total_mib=int(m.group(1)), compute_capability=cc))
    return driver, gpus


def probe_smi(environ: Mapping[str, str] | None = None, timeout: float = 10.0) -> SmiResult:
    env = dict(os.environ if environ is None else environ)
    path = which("nvidia-smi", env.get("PATH", ""))
    if path is None:
        return SmiResult(ok=False, error="not-found", detail="nvidia-smi not on PATH")
    with_cc = True
    proc = run([path, f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits"], timeout=timeout, env=env)
    text = proc.stdout + proc.stderr
    if not proc.timed_out and "compute_cap" in text and "not a valid field" in text:
        # Drivers before ~510 lack compute_cap: ask again without it.
        with_cc = False
        proc = run([path, "--query-gpu=driver_version,name,memory.total", "--format=csv,noheader,nounits"],
                   timeout=timeout, env=env)
    if proc.timed_out:
        return SmiResult(ok=False, error="timeout", detail=f"no answer in {timeout:g} s", path=path)
    if proc.error is not None:
        return SmiResult(ok=False, error="failed", detail=proc.error, path=path)
    first = next((ln.strip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()), "")
    if proc.returncode != 0:
        return SmiResult(ok=False, error="failed", detail=f"exit {proc.returncode}: {first[:200]}", path=path)
    parsed = parse_query_csv(proc.stdout, with_cc=with_cc)
    if parsed is None:
        return SmiResult(ok=False, error="garbage-output", detail=first[:200] or "empty output", path=path)
    driver, gpus = parsed
    return SmiResult(ok=True, path=path, driver_version=driver, gpus=gpus)
