"""verify against an interpreter that is not what it says: events with unknown statuses, missing stage
names, NaN values, escape sequences and ``<!--<script>`` in its strings, and an interpreter that floods
stdout. The fake interpreters are shell scripts in a tmp dir; the event shapes are those of
``dlsetup/verify/suite/dlverify/__main__.py``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PLANTED_HOST = "student-laptop-42"
EVENTS = [
    {"event": "hello", "protocol": 1, "python": "3.11.9\x1b]52;c;ZXZpbA==\x07", "executable": "/opt/<!--<script>/py",
     "pid": 1, "host": PLANTED_HOST, "import_s": 0.1, "ok": True, "error": None, "torch": "2.6.0<!--<script>",
     "torch_cuda": None, "cuda_available": False, "device": "cpu", "device_error": None,
     "device_name": f"CPU on {PLANTED_HOST}", "launcher": None},
    {"event": "start", "stage": "env"},
    {"event": "stage", "stage": "env", "status": "exploded", "duration_s": 0.1, "details": "not a dict",
     "checks": [{"name": "probe<!--<script>", "variant": None, "status": "weird", "value": float("nan")}, 7],
     "message": "</script><!--<script>"},
    {"event": "stage", "status": "pass"},  # no stage name
    [1, 2],
    {"event": "done"},
]


def _fake(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "bin" / "python"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(0o755)
    return p


def test_hostile_events_become_failures_in_a_safe_report(cli, tmp_path, monkeypatch):
    lines = "\n".join(json.dumps(e) for e in EVENTS)
    (tmp_path / "events").write_text(lines + "\n")
    py = _fake(tmp_path, f"cat > /dev/null\ncat {tmp_path / 'events'}")
    monkeypatch.setattr(socket, "gethostname", lambda: PLANTED_HOST)
    report = tmp_path / "r.html"
    r = cli("verify", "--python", str(py), "--only", "env", "--report", str(report))
    assert r.code == 1, r
    assert "internal error" not in r.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", r.stdout), r.stdout
    page = report.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="verify-data">(.*?)</script>', page, re.S)
    doc = json.loads(m.group(1))
    assert doc["status"] == "fail"
    env = next(s for s in doc["stages"] if s["name"] == "env")
    assert env["status"] == "fail"
    assert 'class="meta"' in page[m.end():]  # the footer is outside the data block
    assert "<!--" not in page  # never raw: escaped in HTML, \u003c in the JSON
    assert PLANTED_HOST not in page
    j = cli("verify", "--python", str(py), "--only", "env", "--json")
    assert j.code == 1
    json.loads(j.stdout, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))


@pytest.mark.parametrize("flood", ["lines", "one-endless-line"])
def test_a_flooding_interpreter_is_bounded(tmp_path, flood):
    body = ("exec /usr/bin/yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" if flood == "lines"
            else 'exec /usr/bin/tr "\\0" A < /dev/zero')
    py = _fake(tmp_path, body)
    repo = Path(__file__).resolve().parents[2]
    code = ("import runpy, sys\n"
            f"sys.argv = ['dlsetup', 'verify', '--python', {str(py)!r}, '--only', 'env', '--stage-timeout', 'setup=3']\n"
            "try:\n    runpy.run_module('dlsetup', run_name='__main__')\nexcept SystemExit as e:\n    rc = e.code\n"
            # VmHWM, not getrusage: Linux keeps ru_maxrss across execve, so a pytest worker that imported torch
            # before starting this process would be counted as its peak.
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "print('RSS_KB', hwm, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(repo), env={**__import__("os").environ, "PYTHONPATH": str(repo)})
    rss_kb = int(re.search(r"RSS_KB (\d+)", proc.stderr).group(1))
    assert rss_kb < 200 * 1024, f"verify grew to {rss_kb // 1024} MB"
    assert "FAIL" in proc.stdout and "internal error" not in proc.stderr
