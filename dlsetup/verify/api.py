"""``dlsetup verify`` as a function: plan -> run the suite (and dcgmi) -> a :class:`VerifyResult`."""

from __future__ import annotations

import datetime as _dt
import os
import time
from typing import Any

from dlsetup.errors import UsageError
from dlsetup.i18n import t
from dlsetup.verify.judge import judge
from dlsetup.verify.launch import SUITE_ROOT, launcher_world, suite_environ
from dlsetup.verify.model import (
    FAIL,
    INFO,
    NOT_RUN,
    PASS,
    SKIP,
    WARN,
    Check,
    RankOutcome,
    Stage,
    VerifyResult,
    worst,
)
from dlsetup.verify.plan import Plan
from dlsetup.verify.runner import SuiteOutcome, run_suite


def verify(plan: Plan, python: str, *, report: str | None = None, machine: bool | None = None) -> VerifyResult:
    """Run the plan in ``python``. ``report``: write the HTML page there (rank 0 only).
    ``machine``: add the probe's machine summary (default: only when writing a report)."""
    from dlsetup.output import log, status

    start = time.perf_counter()
    if report:
        from dlsetup.verify.report import check_writable

        check_writable(report)
    extra_env: dict[str, str] = {}
    world: dict[str, Any] | None = None
    if plan.distributed:
        found = launcher_world()
        if found is None:
            raise UsageError("verify.error.no_launcher")
        extra_env, world = found
    if plan.ext_root is None:
        from dlsetup.paths import cache_dir

        plan.ext_root = os.path.abspath(cache_dir() / "torch_extensions")
    env = suite_environ(python, extra_env)
    total = len(plan.stages)
    is_rank0 = world is None or world.get("rank") == 0

    with status(t("verify.progress.start", python=python)) as spinner:
        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "start":
                index = plan.stages.index(event["stage"]) + 1 if event["stage"] in plan.stages else 0
                text = t("verify.progress.stage", stage=_title(event["stage"]), index=index, total=total)
                if spinner is not None:
                    spinner.update(text)
            elif event.get("event") == "stage":
                log(f"dlsetup: verify: {event['stage']} {event.get('status')} {event.get('duration_s', 0):.2f} s", 1)

        outcome = run_suite(plan, python, env, cwd=str(SUITE_ROOT), on_event=on_event)
        host_events: dict[str, dict[str, Any]] = {}
        if "dcgm" in plan.stages and outcome.fatal is None:
            if world is None or os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0")) == "0":
                from dlsetup.verify.dcgm import run_dcgm

                if spinner is not None:
                    spinner.update(t("verify.progress.stage", stage=_title("dcgm"), index=total, total=total))
                host_events["dcgm"] = run_dcgm(plan.timeouts["dcgm"])
            else:  # one dcgmi run per node is enough (it checks every GPU of the node)
                host_events["dcgm"] = {"stage": "dcgm", "status": SKIP, "checks": [], "duration_s": 0.0,
                                       "note": {"key": "verify.note.dcgm_other_rank", "params": {}}}

    result = assemble(plan, python, outcome, host_events, world)
    result.total_s = round(time.perf_counter() - start, 3)
    if (machine or (machine is None and report)) and is_rank0:
        result.machine = machine_summary()
    if report and is_rank0:
        from dlsetup.verify.report import write_report

        result.report = os.path.abspath(report)
        write_report(result, report)
    return result


def _title(stage: str) -> str:
    return t(f"verify.stage.{stage}")


def _message(note: dict[str, Any] | None) -> tuple[str | None, str | None]:
    if not note or not note.get("key"):
        return None, None
    key = note["key"]
    try:
        return t(key, **(note.get("params") or {})), key
    except KeyError:
        return key, key


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def to_check(raw: dict[str, Any]) -> Check:
    message, code = _message(raw.get("note"))
    return Check(name=raw.get("name", "?"), status=raw.get("status", FAIL), variant=raw.get("variant"),
                 value=raw.get("value"), limit=raw.get("limit"), metric=raw.get("metric"), message=message,
                 code=code, error=raw.get("error"))


def check_summary(c: Check) -> str:
    """One line for a check that did not pass: what, and by how much or why."""
    label = c.name + (f" [{c.variant}]" if c.variant else "")
    if c.message:
        return f"{label}: {c.message}"
    if c.error:
        return f"{label}: {c.error}"
    if c.value is not None and c.limit is not None:
        return f"{label}: " + t("verify.label.value_vs_limit", value=_fmt(c.value), limit=_fmt(c.limit))
    return label


def pass_summary(stage: str, checks: list[Check], details: dict[str, Any]) -> str:
    """The Details line of a stage that passed: what was shown, in a few words."""
    judged = [c for c in checks if c.status in (PASS, WARN, FAIL)]
    if stage == "env":
        bits = [f"torch {details.get('torch')}"]
        if details.get("torch_cuda"):
            bits.append(f"CUDA {details['torch_cuda']}" + (f", cuDNN {details['cudnn']}" if details.get("cudnn") else ""))
        gpus = details.get("gpus") or []
        bits += [f"{g['name']} (CC {g['cc']})" for g in gpus[:2]] + ([f"+{len(gpus) - 2} GPUs"] if len(gpus) > 2 else [])
        if not gpus and details.get("cpu_capability"):
            bits.append(f"CPU {details['cpu_capability']}")
        cxx = details.get("cxx") or {}
        if cxx.get("version"):
            bits.append(f"{cxx.get('kind') or 'c++'} {cxx['version']}")
        return ", ".join(bits)
    ratios = [c.value / c.limit for c in judged
              if isinstance(c.value, (int, float)) and isinstance(c.limit, (int, float)) and c.limit > 0
              and c.metric == "rel_err"]
    if stage in ("ops", "amp", "agreement") and ratios:
        variants = sorted({c.variant for c in judged if c.variant}, key=lambda v: ["fp32", "tf32", "bf16", "fp16"].index(v)
                          if v in ("fp32", "tf32", "bf16", "fp16") else 9)
        return t("verify.label.within_tolerance", count=len(judged), variants=", ".join(variants),
                 percent=f"{100 * max(ratios):.0f}")
    if stage == "autograd":
        return t("verify.label.gradcheck_passed", count=len(judged),
                 how=t("verify.label.fast_mode" if details.get("fast_mode") else "verify.label.full_mode"))
    with_message = [c.message for c in checks if c.message and c.status in (PASS, INFO)]
    if stage == "distributed":
        exact = [c for c in judged if c.name == "all_reduce"]
        return t("verify.label.sep").join([t("verify.label.allreduce_exact", count=len(exact))] + with_message[:1])
    if stage == "extension" and with_message:
        exact = [c for c in judged if c.metric == "wrong_elements"]
        return with_message[0] + (t("verify.label.sep") + t("verify.label.exact", count=len(exact)) if exact else "")
    if with_message:
        return t("verify.label.sep").join(with_message[:2])
    return t("verify.label.checks_passed", passed=sum(c.status == PASS for c in judged), total=len(judged))


def to_stage(event: dict[str, Any], plan: Plan) -> Stage:
    checks = [to_check(c) for c in event.get("checks") or []]
    message, code = _message(event.get("note"))
    status = event.get("status", FAIL)
    if message is None:
        bad = [c for c in checks if c.status == status and status in (FAIL, WARN)]
        if bad:
            message = t("verify.label.sep").join(check_summary(c) for c in bad[:3])
            if len(bad) > 3:
                message += " " + t("verify.label.more", count=len(bad) - 3)
        elif checks:
            message = pass_summary(event["stage"], checks, event.get("details") or {})
    details = dict(event.get("details") or {})
    for key in ("timed_out", "crashed"):
        if event.get(key):
            details[key] = True
    return Stage(name=event["stage"], title=_title(event["stage"]), status=status, duration_s=event.get("duration_s"),
                 timeout_s=plan.timeouts.get(event["stage"]), message=message, code=code, checks=checks, details=details)


def _fatal_stage(plan: Plan, python: str, fatal: dict[str, Any]) -> dict[str, Any]:
    kind = fatal.get("kind")
    if kind == "import":
        note = {"key": "verify.note.torch_import", "params": {"python": python, "error": fatal.get("error") or "?"}}
    elif kind == "setup_timeout":
        note = {"key": "verify.note.setup_timeout", "params": {"python": python, "seconds": fatal.get("seconds")}}
    else:
        note = {"key": "verify.note.python_start", "params": {"python": python, "error": fatal.get("error") or "?"}}
    details = {k: v for k, v in fatal.items() if k == "stack"}
    if fatal.get("stderr"):
        details["stderr_tail"] = fatal["stderr"]  # shown with -v, like a crashed stage's output
    return {"event": "stage", "stage": "env", "status": FAIL, "duration_s": None, "checks": [], "note": note,
            "details": details}


def assemble(plan: Plan, python: str, outcome: SuiteOutcome, host_events: dict[str, dict[str, Any]],
             world: dict[str, Any] | None) -> VerifyResult:
    from dlsetup import __version__

    stages: list[Stage] = []
    for name in plan.stages:
        event = outcome.events.get(name) or host_events.get(name)
        if event is None and outcome.fatal is not None and name == "env":
            event = _fatal_stage(plan, python, outcome.fatal)
        if event is None:
            if outcome.fatal is not None:  # the environment stage says why nothing could run
                event = {"stage": name, "status": NOT_RUN, "checks": [], "note": {"key": "verify.note.blocked"}}
            else:  # asked for, never ran, and nothing else explains it: never a silent pass
                event = {"stage": name, "status": FAIL, "checks": [], "note": {"key": "verify.note.not_reached"},
                         "details": {"stderr_tail": outcome.stderr_tail[-15:]}}
        stages.append(to_stage(judge(event), plan))

    hello = outcome.hello or {}
    env_details = next((s.details for s in stages if s.name == "env"), {})
    ext = next((s for s in stages if s.name == "extension"), None)
    result = VerifyResult(
        status=PASS, mode=plan.mode, python=python, python_version=hello.get("python"),
        torch=hello.get("torch"), torch_cuda=hello.get("torch_cuda"), device=hello.get("device"),
        device_name=hello.get("device_name"), stages=stages,
        extension_cached=ext.details.get("cached") if ext is not None else None,
        created=_dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        dlsetup_version=__version__,
    )
    if not result.device_name and env_details.get("gpus"):
        result.device_name = env_details["gpus"][0].get("name")
    if world is not None:
        result.distributed = {"launcher": world.get("launcher"), "world_size": world.get("world_size"),
                              "rank": world.get("rank"), "master": world.get("master"), "ranks": []}
        dist_stage = result.stage("distributed")
        if dist_stage is not None:
            result.distributed["backend"] = dist_stage.details.get("backend")
        for payload in outcome.ranks or []:
            rank_stages = [judge(dict(ev)) for ev in payload.get("stages") or []]
            statuses = [ev.get("status", FAIL) for ev in rank_stages] + [c.get("status") for c in payload.get("checks") or []]
            failed = [ev["stage"] for ev in rank_stages if ev.get("status") == FAIL]
            if any(c.get("status") == FAIL for c in payload.get("checks") or []):
                failed.append("distributed")
            result.distributed["ranks"].append(RankOutcome(
                rank=payload.get("rank", -1), host=payload.get("host", "?"), device=payload.get("device", "?"),
                status=FAIL if failed else worst([s for s in statuses if s != SKIP]) or PASS, failed_stages=failed))
    failed = any(s.status == FAIL for s in stages)
    if result.distributed and any(r.status == FAIL for r in result.distributed["ranks"]):
        failed = True
    result.status = FAIL if failed else PASS
    return result


def machine_summary() -> dict[str, Any] | None:
    """A few lines about the machine from dlsetup's probe (system and NVIDIA driver), for the report."""
    try:
        from dlsetup.probe import probe_machine

        snap = probe_machine(parts={"system", "nvidia"})
    except Exception:
        return None
    sysinfo, nv = snap.system, snap.nvidia
    return {
        "host": sysinfo.hostname,
        "os": " ".join(x for x in (sysinfo.distro, sysinfo.distro_version) if x) or sysinfo.os,
        "kernel": sysinfo.kernel,
        "arch": sysinfo.arch,
        "cpu": sysinfo.cpu_model,
        "cpus": sysinfo.cpu_count,
        "memory_gib": round(sysinfo.memory_total_bytes / 2**30, 1) if sysinfo.memory_total_bytes else None,
        "container": sysinfo.container,
        "wsl": sysinfo.wsl,
        "driver": nv.driver_version,
        "driver_cuda": nv.cuda_driver_version,
        "gpus": [{"index": g.index, "name": g.name, "memory_mib": g.memory_total_mib, "cc": g.compute_capability}
                 for g in nv.gpus],
    }
