"""Hostile tools on PATH: programs that hang (and leave a background child holding the pipe), flood
stdout, print bytes that are not UTF-8 (with an OSC 52 escape), or crash. All are tiny shell scripts
in a tmp dir; the names are the ones doctor and env list really run (``<tool> --version``,
``nvidia-smi --query-gpu=...``, ``gcc -dumpfullversion``, ``conda info --envs --json``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlsetup.util import proc

TOOLS = ["nvidia-smi", "nvcc", "gcc", "conda", "mamba", "micromamba", "pip", "pip3", "uv", "pixi", "ldconfig"]
BEHAVIOUR = {
    "hang": "/bin/sleep 300 &\nexec /bin/sleep 300",
    "flood": "exec /usr/bin/yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "invalid-utf8": 'printf "\\377\\376\\033]52;c;Y3VybCBldmlsfHNo\\007 1.0\\n"; printf "\\377\\n" >&2',
    "crash": "kill -SEGV $$",
}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _tools(d: Path, body: str, names=TOOLS) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name in names:
        p = d / name
        p.write_text(f"#!/bin/sh\n{body}\n")
        p.chmod(0o755)
    return d


def _sleepers(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def test_a_flood_is_capped_and_stopped(tmp_path):
    t = time.monotonic()
    r = proc.run(["/usr/bin/yes", "A" * 100], timeout=30, max_output=64 * 1024)
    assert time.monotonic() - t < 5
    assert r.truncated and not r.ok and len(r.stdout) <= 64 * 1024


def test_invalid_utf8_is_replaced_not_raised(tmp_path):
    tool = _tools(tmp_path / "bin", BEHAVIOUR["invalid-utf8"], ["x"]) / "x"
    r = proc.run([str(tool)])
    assert r.returncode == 0 and "\ufffd" in r.stdout and "\ufffd" in r.stderr


def test_a_hang_is_killed_with_its_background_children(tmp_path):
    marker = f"/bin/sleep 3{os.getpid() % 100:02d}"
    tool = _tools(tmp_path / "bin", f"{marker} &\nexec {marker}", ["x"]) / "x"
    t = time.monotonic()
    r = proc.run([str(tool)], timeout=1)
    assert r.timed_out and time.monotonic() - t < 4
    time.sleep(0.2)
    assert _sleepers(marker) == []


def test_a_background_child_holding_the_pipe_does_not_stall_a_finished_tool(tmp_path):
    marker = f"/bin/sleep 4{os.getpid() % 100:02d}"
    tool = _tools(tmp_path / "bin", f"{marker} &\necho 1.0", ["x"]) / "x"
    t = time.monotonic()
    r = proc.run([str(tool)], timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "1.0"
    assert time.monotonic() - t < 3
    time.sleep(0.2)
    assert _sleepers(marker) == []


def test_a_crash_is_a_result():
    tool = ["/bin/sh", "-c", "kill -SEGV $$"]
    r = proc.run(tool)
    assert r.returncode == -11 and not r.ok


def test_the_budget_bounds_runs_in_every_thread():
    import threading

    results = []
    t = time.monotonic()
    with proc.budget(1.0):
        threads = [threading.Thread(target=lambda: results.append(proc.run(["/bin/sleep", "30"], timeout=60)))
                   for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        late = proc.run(["/bin/echo", "x"], timeout=60)  # the budget is spent: nothing more runs
    assert time.monotonic() - t < 4
    assert all(r.timed_out for r in results) and late.timed_out
    assert proc.remaining_budget() is None  # restored after the block


@pytest.mark.parametrize("mode", sorted(BEHAVIOUR))
def test_doctor_with_every_tool_hostile_answers_within_10_s(tmp_path, mode, cli_subprocess):
    fake = _tools(tmp_path / "bin", BEHAVIOUR[mode])
    t = time.monotonic()
    r = cli_subprocess("doctor", env={"PATH": str(fake)}, timeout=60)
    elapsed = time.monotonic() - t
    assert r.code in (0, 1), r
    assert elapsed <= 10.0, f"doctor took {elapsed:.1f} s with every tool {mode}"
    assert not _CONTROL.search(r.stdout) and "Traceback" not in r.stderr


def test_env_list_with_a_hung_conda_answers_within_10_s(tmp_path, cli_subprocess):
    fake = _tools(tmp_path / "bin", BEHAVIOUR["hang"], ["conda"])
    t = time.monotonic()
    r = cli_subprocess("env", "list", "--backend", "conda", env={"PATH": f"{fake}:/usr/bin:/bin"}, timeout=60)
    elapsed = time.monotonic() - t
    assert elapsed <= 10.0, f"env list took {elapsed:.1f} s with a hung conda"
    assert r.code in (1, 2) and r.stderr.count("\n") == 1, r


def test_the_windows_lock_fallback_raises_dlsetups_timeout(tmp_path, monkeypatch):
    """Where fcntl is missing the filelock library is used; its Timeout must not escape as a foreign type."""
    from dlsetup.util import lock

    path = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import filelock,sys,time; l=filelock.FileLock(sys.argv[1]); l.acquire(); print('held', flush=True); "
        "time.sleep(30)"), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(lock, "fcntl", None)
        fl = lock.FileLock(path)
        with pytest.raises(lock.Timeout):
            fl.acquire(timeout=0.2)
    finally:
        holder.kill()
        holder.wait()
