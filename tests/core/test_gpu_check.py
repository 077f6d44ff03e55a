"""benchmarks/gpu_check.sh: the plan it prints here, and its mechanics run for real on a few CPU-safe steps.

The script is meant for a lent NVIDIA machine (issue 18); CI has no GPU, so the GPU steps themselves are
only planned here. What can break without a GPU — the step table, the time budget, the install from the
tree without network, the outputs the device tool can bring back — is checked for real.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"

# What issue 18 asks the one call to run.
REQUIRED = {
    "doctor_json": ["doctor --json"],
    "doctor_deep": ["doctor --deep --json"],
    "snapshot": ["doctor --save-snapshot"],
    "resolve_torch": ["resolve torch", "--explain --json"],
    "resolve_tensorflow": ["resolve tensorflow", "--explain --json"],
    "resolve_jax": ["resolve jax", "--explain --json"],
    "verify": ["verify --json", "--perf", "--report"],
    "verify_distributed": ["--nproc-per-node=1", "verify --distributed --json"],
    "bench_verify": ["benchmarks/bench_verify.py"],
}


def _plan(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict[str, tuple[int, str]], int]:
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run", str(out)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=30)
    steps = {m.group(1): (int(m.group(2)), m.group(3))
             for m in re.finditer(r"^step (\S+)\s+limit\s+(\d+)s\s+(.*)$", proc.stdout, re.M)}
    budget = int(re.search(r"budget (\d+)s", proc.stdout).group(1))
    assert not out.exists(), "--dry-run must write nothing"
    return proc, steps, budget


def test_script_parses() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0


def test_dry_run_plans_every_required_step_within_one_call(tmp_path: Path) -> None:
    proc, steps, budget = _plan(tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name, parts in REQUIRED.items():
        assert name in steps, f"step {name} missing from the plan"
        for part in parts:
            assert part in steps[name][1], f"step {name} should run {part!r}: {steps[name][1]}"
    # One device call is at most 600 s, and a second run must still fit a 15-minute lease with start-ups.
    assert budget <= 360
    assert all(0 < limit <= budget for limit, _ in steps.values())
    assert list(steps)[0] == "install", "dlsetup is installed before anything runs"
    # At most 8 files come back from the device, no deeper than two folders, with plain names.
    outputs = re.search(r"^outputs: (.*)$", proc.stdout, re.M).group(1).split()
    assert 0 < len(outputs) <= 8
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in outputs)


def test_dry_run_honours_step_selection(tmp_path: Path) -> None:
    proc, steps, _ = _plan(tmp_path, GPU_CHECK_STEPS="install,doctor_json")
    assert proc.returncode == 0
    assert list(steps) == ["install", "doctor_json"]


def test_usage_error_without_outdir() -> None:
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--dry-run" in proc.stderr


@pytest.mark.slow
def test_cpu_safe_steps_run_for_real(tmp_path: Path, isolated_env: Path) -> None:
    """Install from the tree without network, doctor, the snapshot and a resolve: the same code as on the GPU."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path),
           "GPU_CHECK_STEPS": "install,doctor_json,snapshot,resolve_torch", "PIP_NO_INDEX": "1"}
    proc = subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["results.tar.gz", "snapshot.json", "summary.json", "summary.txt"]
    summary = json.loads((out / "summary.json").read_text())
    assert [s["step"] for s in summary["steps"]] == ["install", "doctor_json", "snapshot", "resolve_torch"]
    assert all(s["rc"] == 0 for s in summary["steps"]), summary["steps"]
    # The snapshot is a real, loadable one: the teacher's side reads it back.
    check = subprocess.run([sys.executable, "-m", "dlsetup", "doctor", "--snapshot", str(out / "snapshot.json"),
                            "--json"], capture_output=True, text=True, timeout=60)
    assert check.returncode in (0, 1, 3), check.stderr
    assert json.loads(check.stdout)["schema_version"]
    # The work folder is removed; nothing is left in TMPDIR but the outputs.
    assert not list(tmp_path.glob("gpu_check.*"))
