"""``dlsetup setup`` as a function: doctor → resolve → mirror → plan (ask once) → create → lock → verify → report.

Every step's outcome lands in one :class:`SetupResult`. Finished steps are recorded in the state file with
a hash of their inputs; a second run skips those whose inputs and outputs are unchanged, so an interrupted
setup continues where it stopped. Nothing but caches (the solve's repodata, the mirror probe's results) is
written before the plan is confirmed (``--yes``, or the one question), and ``--dry-run`` writes nothing at all.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlsetup import exitcodes
from dlsetup.errors import DlsetupError, UsageError
from dlsetup.i18n import t
from dlsetup.setup import steps as S
from dlsetup.setup.model import (
    BLOCKED,
    CACHED,
    DECLINED,
    DONE,
    FAILED,
    NEEDS_CONFIRMATION,
    NOT_RUN,
    OK,
    PLAN_ONLY,
    PLANNED,
    SKIPPED,
    STEPS,
    SetupResult,
    Step,
)
from dlsetup.setup.state import State, inputs_hash, state_file

VERIFY_MODES = ("quick", "default", "full", "none")


@dataclass
class Options:
    recipe: str = "pytorch"
    env: str = "dl"
    backend: str | None = None  # None: the user did not choose (steps.choose_backend decides and says why)
    mirror: str = "none"
    yes: bool = False
    dry_run: bool = False
    offline: bool = False
    snapshot: str | None = None
    python: str | None = None
    verify: str = "quick"
    out: str | None = None  # where the lock file and the report go (default: the state dir)
    shell: str | None = None  # the shell printed commands are for (default: doctor's choice)


def _progress(step: str):
    from dlsetup.output import status

    return status(t(f"setup.progress.{step}"))


class _Run:
    def __init__(self, opts: Options, result: SetupResult) -> None:
        self.opts = opts
        self.result = result

    def set(self, name: str, status: str, summary: str = "", data: dict[str, Any] | None = None,
            started: float | None = None) -> Step:
        step = self.result.step(name)
        assert step is not None
        step.status, step.summary, step.data = status, summary, data or {}
        if started is not None:
            step.duration_s = round(time.perf_counter() - started, 3)
        return step

    def stop(self, outcome: str, code: int) -> SetupResult:
        for s in self.result.steps:
            if s.status == "":
                s.status = NOT_RUN
        self.result.outcome = outcome
        self.result.exit_code = code
        return self.result


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def run_setup(opts: Options, confirm=None) -> SetupResult:
    """Run (or with ``dry_run`` only plan) setup. ``confirm(result) -> bool`` asks the one question."""
    if opts.verify not in VERIFY_MODES:
        raise UsageError("setup.error.bad_verify", mode=opts.verify, known=", ".join(VERIFY_MODES))
    if opts.snapshot and not opts.dry_run:
        raise UsageError("setup.error.snapshot_needs_dry_run")
    backend, backend_source, backend_why = S.choose_backend(opts.backend)
    opts = dataclasses.replace(opts, backend=backend)
    prefix = S.env_prefix(opts.env)
    out_dir = Path(opts.out).expanduser().resolve() if opts.out else state_file(opts.env).parent / opts.env
    result = SetupResult(env=opts.env, prefix=str(prefix), recipe=opts.recipe, backend=opts.backend,
                         dry_run=opts.dry_run, outcome="", steps=[Step(name, "") for name in STEPS],
                         state_file=str(state_file(opts.env)))
    run = _Run(opts, result)
    state = State.load(opts.env)

    # 1. doctor: stop with its fixes when the driver, the GPU or the CUDA loader is broken
    t0 = time.perf_counter()
    with _progress("doctor"):
        report = S.run_doctor(opts.snapshot, opts.shell)
    result.shell = report.shell
    blockers = S.driver_steps(report)
    counts = {"error": report.counts.error, "warning": report.counts.warning, "info": report.counts.info}
    if blockers:
        run.set("doctor", BLOCKED, t("setup.doctor.blocked", count=len(blockers)),
                {"counts": counts, "blocking": blockers}, t0)
        for b in blockers:
            base = len(result.next_steps)
            result.next_notes += [{**n, "at": base + n["at"]} for n in b["notes"]]
            result.next_steps += b["commands"]
        reboot = any(b["reboot"] for b in blockers)
        result.add_note("setup.next.again_after_reboot" if reboot else "setup.next.again")
        return run.stop(BLOCKED, exitcodes.FAILED)
    run.set("doctor", DONE, t("setup.doctor.ok", errors=counts["error"], warnings=counts["warning"],
                                notes=counts["info"]), {"counts": counts, "findings": [f.id for f in report.findings]}, t0)

    # 2. resolve: which framework build, CUDA line and Python fit this machine
    t0 = time.perf_counter()
    try:
        with _progress("resolve"):
            spec, rplan = S.resolve_stack(opts.recipe, snapshot=opts.snapshot, python=opts.python, backend=backend)
    except DlsetupError as exc:
        if exc.exit_code == exitcodes.USAGE:
            raise
        run.set("resolve", FAILED, exc.message(), {"error": exc.key}, t0)
        return run.stop(FAILED, exitcodes.FAILED)
    from dlsetup.result import to_jsonable

    frameworks = [{"name": f.get("name"), "version": f.get("version"), "variant": f.get("variant"),
                   "requirement": f.get("requirement"), "index_url": f.get("index_url")} for f in rplan.frameworks]
    stack = ", ".join(f"{f['name']} {f['version']}" for f in frameworks)
    run.set("resolve", DONE, t("setup.resolve.ok", stack=stack, variant=rplan.variant or "-", python=rplan.python),
            {"recipe": to_jsonable(rplan)}, t0)

    # 3. mirror: none, the one named, or the fastest that serves this machine's artifacts
    t0 = time.perf_counter()
    with _progress("mirror"):
        choice = S.choose_mirror(opts.mirror, variant=rplan.variant, offline=opts.offline, save=not opts.dry_run)
        choice.files = S.mirror_files(choice)
    mirror_data = to_jsonable(choice)
    mirror_digest = inputs_hash({"mirror": choice.mirror})
    if not choice.mirror:
        run.set("mirror", SKIPPED, choice.why, mirror_data, t0)
    elif not choice.files:  # the configuration already points there (an earlier run, or the user)
        run.set("mirror", CACHED, choice.why, mirror_data, t0)
    else:
        run.set("mirror", PLANNED if opts.dry_run else "", choice.why, mirror_data, t0)

    # 4. plan: everything that will be written, downloaded and why; ask once
    t0 = time.perf_counter()
    lock_path = out_dir / S.lock_format(backend)[1]
    report_path = out_dir / "setup-report.html"
    # what decides the environment's content, as it will be fetched (through the mirror when there is one)
    create_inputs = {"recipe": opts.recipe, "conda": spec.conda, "pip": spec.pip,
                     "channels": S.mirrored_channels(spec.channels, choice.mirror),
                     "index": choice.torch_index or spec.pip_index_url, "backend": opts.backend, "prefix": str(prefix),
                     "mirror": choice.mirror, "python": opts.python}
    create_digest = inputs_hash(create_inputs)
    create_done = state.finished("create", create_digest) is not None and S.env_exists(prefix)
    if not create_done and os.path.lexists(prefix):
        if state.steps.get("create"):  # made by an earlier setup whose inputs (backend, versions, mirror) changed
            raise UsageError("setup.error.env_changed", prefix=str(prefix), env=opts.env)
        raise UsageError("setup.error.env_exists", prefix=str(prefix), env=opts.env)
    plan = {
        "machine_text": rplan.machine_text,
        "driver": report.machine.driver_version, "cuda_driver": report.machine.cuda_driver_version,
        "variant": rplan.variant, "cuda": rplan.cuda, "cudnn": rplan.cudnn, "python": rplan.python,
        "frameworks": [{**f, "index_url": choice.torch_index or f["index_url"]} for f in frameworks],
        "reasons": rplan.reasons, "warnings": rplan.warnings,
        "backend": {"name": backend, "source": backend_source, "why": backend_why},
        "mirror": {"id": choice.mirror, "why": choice.why, "files": choice.files},
        "conda": {"specs": spec.conda, "channels": S.mirrored_channels(spec.channels, choice.mirror)},
        "download": S.download_plan(spec, backend, choice),
        "writes": [{"what": "env", "path": str(prefix)}, {"what": "lock", "path": str(lock_path)},
                   {"what": "report", "path": str(report_path)}, {"what": "state", "path": result.state_file},
                   *({"what": "mirror", "path": p} for p in choice.files)],
        "verify": opts.verify,
    }
    result.plan = plan
    if not create_done and not opts.dry_run:
        if backend != "venv":  # a venv has no conda part to solve; its wheels are measured below
            try:
                with _progress("solve"):
                    preview = S.preview_env(opts.env, spec, rplan, backend=backend, offline=opts.offline,
                                            choice=choice)
            except DlsetupError as exc:
                return _failed(run, "plan", exc, t0)
            if not preview.solved:  # a channel out of reach: say so now rather than ask about a plan that cannot work
                run.set("plan", FAILED, preview.solve_error or "", {"error": "envs.error.channel_unreachable"}, t0)
                result.add_note("setup.next.retry")
                return run.stop(FAILED, exitcodes.FAILED)
            plan["download"].update(S.conda_download(preview.packages))
        sizes = S.pip_download_bytes(plan["download"]["pip"], plan["download"]["pip_index_url"], rplan.python)
        plan["download"].update(pip_bytes=sizes, known=True)
        plan["download"]["total_bytes"] = S.total_bytes(plan["download"])
    if opts.dry_run:
        run.set("plan", DONE, t("setup.plan.dry_run"), {}, t0)
        for name in ("create", "lock", "verify", "report"):
            run.set(name, PLANNED if not (name == "create" and create_done) else CACHED)
        if opts.verify == "none":
            run.set("verify", SKIPPED)
        return run.stop(PLAN_ONLY, exitcodes.OK)
    if not create_done and not opts.yes:
        pending = [s for s in result.steps if s.status == ""]
        if confirm is None or not _interactive():
            run.set("plan", NOT_RUN, t("setup.plan.needs_yes"), {}, t0)
            return run.stop(NEEDS_CONFIRMATION, exitcodes.USAGE)
        for s in pending:
            s.status = PLANNED  # shown with the question
        answer = confirm(result)
        for s in pending:
            s.status = ""
        if not answer:
            run.set("plan", NOT_RUN, t("setup.plan.declined"), {}, t0)
            return run.stop(DECLINED, exitcodes.FAILED)
    run.set("plan", DONE, t("setup.plan.confirmed" if not create_done else "setup.plan.nothing_new"), {}, t0)

    # 3b. apply the mirror (after the question: nothing is written before it)
    mirror_step = result.step("mirror")
    if choice.mirror and mirror_step is not None and mirror_step.status == "":
        t0 = time.perf_counter()
        written = S.apply_mirror(choice)
        state.record("mirror", mirror_digest, {"files": written})
        run.set("mirror", DONE, choice.why, {**mirror_data, "written": written}, t0)

    # 5. create the environment (solve, download, link, pip) — all or nothing
    t0 = time.perf_counter()
    if create_done:
        run.set("create", CACHED, t("setup.create.cached", prefix=str(prefix)), state.finished("create", create_digest))
    else:
        state.forget("create", "lock", "verify", "report")
        try:
            with _progress("create"):
                created = S.create_env(opts.env, opts.recipe, backend=opts.backend, offline=opts.offline,
                                       python=opts.python, torch_index=choice.torch_index)
        except DlsetupError as exc:
            return _failed(run, "create", exc, t0)
        data = {"prefix": created.prefix, "conda_packages": len(created.packages),
                "pip_packages": [f"{p.name}=={p.version}" for p in created.pip_packages],
                "duration_s": created.duration_s, "activate": created.activate}
        state.record("create", create_digest, data)
        key = "setup.create.done_venv" if backend == "venv" else "setup.create.done"
        run.set("create", DONE, t(key, prefix=str(prefix), conda=len(created.packages), pip=len(created.pip_packages)),
                data, t0)
    result.activate_steps = S.activate_steps(opts.env, prefix, backend)
    result.activate = S.activate_line(result.activate_steps, result.shell)

    # 6. the lock file
    t0 = time.perf_counter()
    lock_digest = inputs_hash({"create": create_digest, "path": str(lock_path)})
    if state.finished("lock", lock_digest) is not None and lock_path.is_file():
        run.set("lock", CACHED, t("setup.lock.cached", path=str(lock_path)), {"path": str(lock_path)}, t0)
    else:
        try:
            with _progress("lock"):
                written = S.write_lock(opts.env, lock_path, backend=opts.backend)
        except DlsetupError as exc:
            return _failed(run, "lock", exc, t0)
        state.record("lock", lock_digest, {"path": written})
        run.set("lock", DONE, t("setup.lock.done", path=written), {"path": written}, t0)
    result.lock = str(lock_path)

    # 7. verify in the new environment, 8. the report (verify's page plus the decisions)
    verify_digest = inputs_hash({"create": create_digest, "mode": opts.verify, "report": str(report_path)})
    if opts.verify == "none":
        run.set("verify", SKIPPED, t("setup.verify.skipped"))
        run.set("report", SKIPPED, t("setup.verify.skipped"))
        return _finish(run, result)
    cached = state.finished("verify", verify_digest)
    if cached is not None and report_path.is_file():
        run.set("verify", CACHED, cached.get("summary", ""), cached)
        run.set("report", CACHED, t("setup.report.done", path=str(report_path)), {"path": str(report_path)})
        result.report = str(report_path)
        if cached.get("status") == "fail":
            return run.stop(FAILED, exitcodes.FAILED)
        return _finish(run, result)
    t0 = time.perf_counter()
    try:
        with _progress("verify"):
            vres = S.run_verify(prefix, opts.verify)
    except DlsetupError as exc:
        return _failed(run, "verify", exc, t0)
    passed = sum(1 for st in vres.stages for c in st.checks if c.status == "pass")
    total = sum(len(st.checks) for st in vres.stages)
    summary = t("setup.verify.done", status=vres.status, passed=passed, total=total, torch=vres.torch or "-",
                device=vres.device or "-")
    vdata = {"status": vres.status, "summary": summary, "torch": vres.torch, "device": vres.device,
             "stages": [{"name": st.name, "status": st.status} for st in vres.stages]}
    run.set("verify", DONE if vres.status != "fail" else FAILED, summary, vdata, t0)
    t0 = time.perf_counter()
    from dlsetup.setup.render import decisions_html

    run.set("report", DONE, t("setup.report.done", path=str(report_path)), {"path": str(report_path)})  # on the page
    try:
        written = S.write_report(vres, decisions_html(result), report_path)
    except DlsetupError as exc:
        return _failed(run, "report", exc, t0)
    result.report = written
    run.set("report", DONE, t("setup.report.done", path=written), {"path": written}, t0)
    state.record("verify", verify_digest, vdata)
    if vres.status == "fail":
        result.next_steps.append(S.command_line(["dlsetup", "verify", "--env", opts.env], result.shell))
        return run.stop(FAILED, exitcodes.FAILED)
    return _finish(run, result)


def _failed(run: _Run, step: str, exc: DlsetupError, started: float) -> SetupResult:
    """A step that failed: bad input (exit 2) stays a one-line error; an operation that failed (a channel out of
    reach, a solve, a download) is recorded on its step, and the run stops with exit 1. Finished steps stay
    recorded, so the next run continues here."""
    if exc.exit_code == exitcodes.USAGE:
        raise exc
    run.set(step, FAILED, exc.message(), {"error": exc.key}, started)
    run.result.add_note("setup.next.retry")
    return run.stop(FAILED, exitcodes.FAILED)


def _finish(run: _Run, result: SetupResult) -> SetupResult:
    if result.activate:
        result.next_steps.append(result.activate)
    return run.stop(OK, exitcodes.OK)
