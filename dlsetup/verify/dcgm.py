"""The ``dcgm`` stage: run NVIDIA DCGM's ``dcgmi diag -r 1 -j`` when it is installed and fold its verdict in.

Level 1 takes seconds and checks the software deployment (denylist, NVML and CUDA libraries, permissions,
persistence mode, environment variables, page retirement, graphics processes, inforom). dlsetup does not
re-implement DCGM; it only reads the JSON. The schema changed over releases: DCGM 4 writes
``{"DCGM Diagnostic": {"test_categories": [{"category", "tests": [{"name", "results": [{"status", "warnings"}]}]}]}}``
(NVIDIA/DCGM nvvs/include/NvvsJsonStrings.h), older releases used the top-level key "DCGM GPU Diagnostic"
and upper-case statuses; both are read.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from dlsetup.util.proc import run
from dlsetup.verify.model import FAIL, PASS, SKIP, WARN, worst

_STATUS = {"pass": PASS, "fail": FAIL, "warn": WARN, "warning": WARN, "skip": SKIP, "not run": SKIP, "notrun": SKIP}


def _json_in(text: str) -> Any:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None


def _warnings(result: dict[str, Any]) -> list[str]:
    out = []
    for w in result.get("warnings") or []:
        text = w.get("warning") if isinstance(w, dict) else str(w)
        if text:
            out.append(" ".join(str(text).split()))
    return out


def parse(doc: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Checks (one per DCGM test) and metadata from a ``dcgmi diag -j`` document."""
    body = doc.get("DCGM Diagnostic") or doc.get("DCGM GPU Diagnostic") or doc if isinstance(doc, dict) else {}
    checks: list[dict[str, Any]] = []
    for category in body.get("test_categories") or []:
        for test in category.get("tests") or []:
            results = test.get("results") or []
            statuses = [_STATUS.get(str(r.get("status", "")).strip().lower(), WARN) for r in results]
            summary = (test.get("test_summary") or {}).get("status")
            if summary:
                statuses.append(_STATUS.get(str(summary).strip().lower(), WARN))
            status = worst(statuses) if statuses else SKIP
            messages = [m for r in results for m in _warnings(r)]
            checks.append({"name": test.get("name", "?"), "variant": category.get("category"), "status": status,
                           "value": None, "limit": None, "metric": "dcgm",
                           "note": None, "error": "; ".join(messages[:3]) if status in (FAIL, WARN) and messages else None})
    if body.get("runtime_error"):
        checks.append({"name": "runtime_error", "variant": None, "status": FAIL, "value": None, "limit": None,
                       "metric": "dcgm", "note": None, "error": str(body["runtime_error"])})
    meta = body.get("metadata") or doc.get("metadata") or {}
    return checks, meta if isinstance(meta, dict) else {}


def run_dcgm(timeout: float, level: int = 1) -> dict[str, Any]:
    """The stage event (same shape as the suite's) for ``dcgmi diag -r LEVEL -j``."""
    path = shutil.which("dcgmi")
    event: dict[str, Any] = {"event": "stage", "stage": "dcgm", "checks": [], "details": {}, "note": None}
    if not path:
        event.update(status=SKIP, duration_s=0.0, note={"key": "verify.note.no_dcgmi", "params": {}})
        return event
    res = run([path, "diag", "-r", str(level), "-j"], timeout=timeout)
    event["duration_s"] = round(res.duration_s, 3)
    event["details"] = {"command": f"dcgmi diag -r {level} -j", "exit_code": res.returncode}
    if res.timed_out:
        event.update(status=FAIL, timed_out=True,
                     note={"key": "verify.note.stage_timeout", "params": {"stage": "dcgm", "seconds": f"{timeout:g}"}})
        return event
    doc = _json_in(res.stdout)
    if doc is None:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        event["checks"] = [{"name": "dcgmi", "variant": None, "status": FAIL, "value": None, "limit": None,
                            "metric": "dcgm", "note": {"key": "verify.note.dcgm_unreadable",
                                                       "params": {"code": res.returncode}},
                            "error": " | ".join(tail) or res.error}]
        event["status"] = FAIL
        return event
    checks, meta = parse(doc)
    event["details"]["metadata"] = meta
    if res.returncode not in (0, None) and not any(c["status"] == FAIL for c in checks):
        checks.append({"name": "dcgmi", "variant": None, "status": FAIL, "value": res.returncode, "limit": 0,
                       "metric": "exit_code", "note": {"key": "verify.note.dcgm_exit", "params": {"code": res.returncode}},
                       "error": None})
    event["checks"] = checks
    event["status"] = worst([c["status"] for c in checks]) if checks else SKIP
    return event
