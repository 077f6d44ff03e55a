"""Run the suite in the target interpreter and read its events, with a time limit on every stage.

A stage that does not finish in time is a failure, never a frozen terminal: the suite is asked for a stack
dump (SIGUSR1, faulthandler), killed with its whole process group (compilers and workers included), and a
fresh suite process carries on with the stages after it. A crash (segfault, abort, out of memory) is
handled the same way. Only a failure to start or to import torch ends the run.

The suite runs in its own session (so a hang can be killed with everything it started), which also means
the terminal's Ctrl-C does not reach it: whenever dlsetup leaves early (Ctrl-C, SIGTERM from a launcher
such as torchrun, SIGHUP, an error), the suite's process group is killed on the way out, never orphaned.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dlsetup.verify.plan import Plan

_EOF = object()
# Longest single wait on the suite's output; a longer stage limit is waited out in steps of this (a huge
# --stage-timeout must not overflow the lock's timeout).
_POLL_S = 60.0


@dataclass
class SuiteOutcome:
    """Everything the suite processes said, merged: the first hello, one event per stage, rank results."""

    hello: dict[str, Any] | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    ranks: list[dict[str, Any]] | None = None
    fatal: dict[str, Any] | None = None  # {"kind": "start"|"import"|"setup_timeout", ...}: nothing ran
    restarts: int = 0
    stderr_tail: list[str] = field(default_factory=list)


MAX_LINE = 1024 * 1024  # one event; a longer line (a flooding interpreter) is cut and the rest skipped
_QUEUE_MAX = 1000  # a reader waits (and the suite's pipe fills) rather than memory growing


def _reader(stream: Any, out: queue.Queue, tail: deque | None) -> None:
    try:
        skipping = False
        for line in iter(lambda: stream.readline(MAX_LINE), ""):
            whole = line.endswith("\n")
            if skipping:  # the rest of an over-long line
                skipping = not whole
                continue
            skipping = not whole and len(line) >= MAX_LINE
            if tail is None:
                if not skipping:
                    out.put(line)
            else:
                tail.append(line.rstrip("\n")[:2000])
    except (OSError, ValueError):
        pass
    finally:
        if tail is None:
            out.put(_EOF)


def _kill(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass


def _stack_dump(proc: subprocess.Popen, tail: deque, wait_s: float = 1.0) -> list[str]:
    """Ask the suite (faulthandler on SIGUSR1) where it is stuck; the innermost frames, innermost first."""
    if not hasattr(signal, "SIGUSR1"):
        return []
    mark = len(tail)
    try:
        os.kill(proc.pid, signal.SIGUSR1)
    except OSError:
        return []
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(0.05)
        lines = list(tail)[mark:] if len(tail) >= mark else list(tail)
        if any(ln.strip().startswith("File ") for ln in lines):
            time.sleep(0.1)
            break
    lines = list(tail)[mark:] if len(tail) >= mark else list(tail)
    frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
    return frames[:8]


@contextmanager
def _exit_on_termination():
    """Turn SIGTERM and SIGHUP into SystemExit while the suite runs, so the ``finally`` that kills the
    suite's process group runs (Python's default for these signals is to die on the spot)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:  # e.g. nohup: keep ignoring
            try:
                saved[sig] = signal.signal(sig, leave)
            except (OSError, ValueError):
                pass
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def run_suite(plan: Plan, python: str, env: dict[str, str], cwd: str,
              on_event: Callable[[dict[str, Any]], None] | None = None) -> SuiteOutcome:
    """Run ``plan.suite_stages`` in ``python``; restart after a hang or crash; return what was reported."""
    outcome = SuiteOutcome()
    remaining = list(plan.suite_stages)
    with _exit_on_termination():
        while remaining:
            ran = _one_process(plan, python, env, cwd, remaining, outcome, on_event)
            if outcome.fatal is not None:
                break
            remaining = [s for s in remaining if s not in outcome.events]
            if remaining and not ran:
                break  # the process made no progress at all: do not loop
            if remaining:
                outcome.restarts += 1
    return outcome


def _one_process(plan: Plan, python: str, env: dict[str, str], cwd: str, stages: list[str],
                 outcome: SuiteOutcome, on_event: Callable[[dict[str, Any]], None] | None) -> bool:
    """One suite process over ``stages``. Returns True when at least one stage got a result."""
    argv = [python, "-u", "-m", "dlverify"]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd=cwd, text=True, encoding="utf-8", errors="replace",
                                start_new_session=True)
    except OSError as exc:
        outcome.fatal = {"kind": "start", "error": f"{type(exc).__name__}: {exc}"}
        return False
    try:
        return _follow(plan, proc, stages, outcome, on_event)
    finally:
        if proc.poll() is None:  # dlsetup is leaving early (Ctrl-C, SIGTERM, an error): take the suite along
            _kill(proc)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _follow(plan: Plan, proc: subprocess.Popen, stages: list[str], outcome: SuiteOutcome,
            on_event: Callable[[dict[str, Any]], None] | None) -> bool:
    """Read one suite process's events until it ends, enforcing each stage's time limit."""
    lines: queue.Queue = queue.Queue(maxsize=_QUEUE_MAX)
    tail: deque = deque(maxlen=400)
    threads = [threading.Thread(target=_reader, args=(proc.stdout, lines, None), daemon=True),
               threading.Thread(target=_reader, args=(proc.stderr, lines, tail), daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.stdin.write(json.dumps(plan.suite_config(stages)))
        proc.stdin.close()
    except OSError:
        pass

    progressed = False
    current = "setup"
    started_at = time.monotonic()
    deadline = started_at + plan.timeouts["setup"]
    saw_hello = False
    done = False
    while True:
        try:
            item = lines.get(timeout=min(_POLL_S, max(0.05, deadline - time.monotonic())))
        except queue.Empty:
            item = None
        if item is None or (item is not _EOF and time.monotonic() >= deadline):  # a flood must not outrun the limit
            if time.monotonic() < deadline:
                continue
            frames = _stack_dump(proc, tail)
            _kill(proc)
            if current == "between":  # stuck after one stage ended and before the next began
                current = next((s for s in stages if s not in outcome.events), "setup")
            limit = plan.timeouts.get(current, plan.timeouts["setup"])
            if current == "setup" or not saw_hello:
                outcome.fatal = {"kind": "setup_timeout", "seconds": f"{limit:g}", "stack": frames}
            else:
                outcome.events[current] = {
                    "event": "stage", "stage": current, "status": "fail", "timed_out": True,
                    "duration_s": round(time.monotonic() - started_at, 3), "checks": [],
                    "details": {"stack": frames, "stderr_tail": list(tail)[-15:]},
                    "note": {"key": "verify.note.stage_timeout", "params": {"stage": current, "seconds": f"{limit:g}"}},
                }
                progressed = True
            break
        if item is _EOF:
            break
        try:
            event = _sane(json.loads(item))
        except (ValueError, RecursionError):
            continue  # not ours (the suite routes everything else to stderr, but be tolerant)
        if event is None:
            continue
        kind = event.get("event")
        if kind == "hello":
            saw_hello = True
            if outcome.hello is None:
                outcome.hello = event
            if not event.get("ok"):
                outcome.fatal = {"kind": "import", "error": event.get("error")}
            current, deadline = "between", time.monotonic() + plan.timeouts["setup"]
        elif kind == "start":
            current = event.get("stage", "?")
            started_at = time.monotonic()
            deadline = started_at + plan.timeouts.get(current, plan.timeouts["setup"])
        elif kind == "stage":
            outcome.events[event["stage"]] = event
            progressed = True
            current, deadline = "between", time.monotonic() + plan.timeouts["setup"]
        elif kind == "ranks":
            outcome.ranks = event.get("ranks")
        elif kind == "done":
            done = True
        if on_event is not None:
            on_event(event)

    try:
        code = proc.wait(timeout=10 if done else 5)
    except subprocess.TimeoutExpired:
        _kill(proc)
        code = proc.wait()
    for t in threads:
        t.join(timeout=2)
    outcome.stderr_tail = list(tail)[-30:]
    if outcome.fatal is None and not done and current not in ("between", "setup") and current not in outcome.events:
        # The process died inside a stage (segfault, abort, killed by the OOM killer...).
        outcome.events[current] = {
            "event": "stage", "stage": current, "status": "fail", "crashed": True,
            "duration_s": round(time.monotonic() - started_at, 3), "checks": [],
            "details": {"exit_code": code, "stderr_tail": list(tail)[-15:]},
            "note": {"key": "verify.note.stage_crashed", "params": {"stage": current, "code": _describe_exit(code)}},
        }
        progressed = True
    elif outcome.fatal is None and not saw_hello:
        outcome.fatal = {"kind": "start", "error": _describe_exit(code), "stderr": list(tail)[-15:]}
    return progressed


_STATUSES = {"pass", "warn", "fail", "skip", "not_run", "info"}


def _sane(event: Any) -> dict[str, Any] | None:
    """An event from the tested interpreter, made safe to use: the interpreter is not dlsetup's, so a stage
    without a name is dropped, and a status dlsetup does not know is a failure (kept in the report, never
    a crash)."""
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    if event["event"] in ("start", "stage") and not (isinstance(event.get("stage"), str) and event["stage"]):
        return None
    if event["event"] != "stage":
        return event
    if event.get("status") not in _STATUSES:
        event["unknown_status"] = str(event.get("status"))[:100]
        event["status"] = "fail"
    checks = event.get("checks")
    event["checks"] = [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []
    for c in event["checks"]:
        if c.get("status") not in _STATUSES:
            c["unknown_status"] = str(c.get("status"))[:100]
            c["status"] = "fail"
        if not isinstance(c.get("name"), str):
            c["name"] = str(c.get("name"))
    if not isinstance(event.get("details"), dict):
        event["details"] = {}
    return event


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "?"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
