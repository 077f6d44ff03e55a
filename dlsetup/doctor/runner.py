"""Run every check on a snapshot and build the :class:`DoctorReport` (exit code included).

A check that raises becomes a warning naming the check; the probe failing as a whole becomes a
warning on a minimal snapshot. Either way the user gets a report, never a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

from dlsetup import exitcodes
from dlsetup.doctor import facts
from dlsetup.doctor.checks import registered
from dlsetup.doctor.model import (
    ERROR,
    GROUP_PYTHON,
    GROUPS,
    INFO,
    SEVERITIES,
    WARNING,
    Counts,
    DeepSummary,
    DoctorReport,
    Finding,
    FrameworkSummary,
    GpuSummary,
    MachineSummary,
    RungAttempt,
    ev,
    finding,
)
from dlsetup.probe.model import ProbeAttempt, Snapshot


def run_checks(snap: Snapshot) -> tuple[list[Finding], list[str]]:
    """(findings sorted by group then severity, names of the checks that ran)."""
    findings: list[Finding] = []
    names: list[str] = []
    for name, fn in registered():
        names.append(name)
        try:
            produced = list(fn(snap) or [])
        except Exception as exc:  # boundary: a bug in one check must not hide the others; reported as dlsetup's
            from dlsetup.output import settings

            if settings.verbose:
                import traceback

                traceback.print_exc()
            produced = [finding("doctor.check_failed", WARNING, _group_of(name), evidence=[
                ev("exception", error=f"{type(exc).__name__}: {exc}"[:300])], check_id=name,
                commands=["dlsetup doctor --save-snapshot doctor-snapshot.json"])]
        for f in produced:
            f.check = f.check or name
            findings.append(f)
    return sort_findings(drop_explained_symptoms(dedupe(findings))), names


# Errors about one framework that explain "<framework> sees no GPU" (besides any driver or CUDA error).
_EXPLAINS = {
    "torch": ("torch.", "python.torch_twice", "python.cpuonly_pin"),
    "tensorflow": ("tensorflow.",),
}


def _explains(cause: Finding, symptom: Finding) -> bool:
    from dlsetup.doctor.model import GROUP_CUDA, GROUP_DRIVER

    if cause.group in (GROUP_DRIVER, GROUP_CUDA):
        return True  # a machine-level error: every framework is affected
    name = symptom.data.get("name")
    return cause.data.get("name") == name or cause.id.startswith(_EXPLAINS.get(str(name), ("\0",)))


def drop_explained_symptoms(findings: list[Finding]) -> list[Finding]:
    """A symptom finding (e.g. "torch sees no GPU") is dropped when another error explains it: a driver or CUDA
    error, or an error about the same framework (an unrelated TensorFlow error does not hide torch's symptom)."""
    causes = [f for f in findings if f.severity == ERROR and not f.data.get("symptom")]
    return [f for f in findings if not (f.data.get("symptom") and any(_explains(c, f) for c in causes))]


def _group_of(check: str) -> str:
    from dlsetup.doctor.model import GROUP_CUDA, GROUP_DRIVER, GROUP_FRAMEWORKS

    module = check.split(".", 1)[0]
    if module in ("gpu", "driver", "container", "wsl"):
        return GROUP_DRIVER
    if module in ("env_vars", "cuda_toolkit"):
        return GROUP_CUDA
    if module in ("torch_build", "tensorflow", "frameworks", "retired"):
        return GROUP_FRAMEWORKS
    return GROUP_PYTHON


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple] = set()
    out = []
    for f in findings:
        key = (f.id, f.title, tuple(f.evidence))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Group order (Driver & GPU, CUDA, Python & packages, Frameworks), then errors, warnings, info."""
    g = {name: i for i, name in enumerate(GROUPS)}
    s = {name: i for i, name in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (g.get(f.group, len(g)), s.get(f.severity, len(s))))


def count(findings: list[Finding]) -> Counts:
    c = Counts()
    for f in findings:
        if f.severity == ERROR:
            c.error += 1
        elif f.severity == WARNING:
            c.warning += 1
        elif f.severity == INFO:
            c.info += 1
    return c


def exit_code_for(counts: Counts, strict: bool) -> int:
    """1 when any error; 3 for warnings only under --strict; else 0 (info never fails)."""
    if counts.error:
        return exitcodes.FAILED
    if strict and counts.warning:
        return exitcodes.WARNINGS
    return exitcodes.OK


def machine_summary(snap: Snapshot) -> MachineSummary:
    sysinfo, nv = snap.system, snap.nvidia
    cuda_driver = nv.cuda_driver_version
    if not cuda_driver and nv.driver_version:
        from dlsetup import compat

        cuda_driver = compat.cuda_for_driver(nv.driver_version)  # the branch table, when the driver did not say
    toolkits = [f"{tk.version or '?'} ({tk.path})" for tk in snap.cuda.toolkits]
    fws = []
    for fw in snap.frameworks.items:
        d = fw.deep
        deep = None if d is None else DeepSummary(
            ok=d.ok, timed_out=d.timed_out, error=d.error, cuda_available=d.cuda_available,
            device_count=d.device_count, cuda_version=d.cuda_version, cudnn_version=d.cudnn_version,
            arch_list=list(d.arch_list), duration_s=d.duration_s,
            skipped_because=str(d.details["skipped_because"]) if d.details.get("skipped_because") else None)
        fws.append(FrameworkSummary(name=fw.name, version=fw.version, variant=facts.variant_of(fw),
                                    cuda=facts.cuda_of(fw), installer=fw.installer, location=fw.location, deep=deep))
    others = [_other_gpu_label(g) for g in nv.other_gpus if str(g.get("vendor", "")).lower() != "nvidia" or not nv.gpus]
    return MachineSummary(
        os=sysinfo.os, arch=sysinfo.arch, distro=sysinfo.distro_name or " ".join(
            x for x in (sysinfo.distro, sysinfo.distro_version) if x) or None,
        kernel=sysinfo.kernel, wsl=sysinfo.wsl, container=sysinfo.container,
        python=snap.tooling.python.version, python_executable=snap.tooling.python.executable,
        driver_version=nv.driver_version, cuda_driver_version=cuda_driver, driver_rung=nv.rung,
        gpus=[GpuSummary(g.index, g.name, g.compute_capability, g.memory_total_mib) for g in nv.gpus],
        other_gpus=others, toolkits=toolkits,
        nvidia_unusable=not (nv.gpus and not nv.nvml_error) and facts.has_nvidia_hardware(snap),
        nvcc=snap.cuda.nvcc_version, frameworks=fws,
    )


def render_commands(findings: list[Finding], shell: str, snapshot_file: str | None = None) -> None:
    """The one place fix commands become text: argument lists and shell steps, for ``shell``; the remarks
    between them become notes (their key and parameters, with the text in the language shown)."""
    from dlsetup.i18n import t
    from dlsetup.platform.shell import render_with_notes

    for f in findings:
        f.commands, notes = render_with_notes(f.commands, shell, snapshot_file=snapshot_file)
        f.notes = [{**n, "text": t(n["id"], **n["params"])} for n in notes]


def diagnose(snap: Snapshot, *, strict: bool = False, source: str = "live", probe_ms: float = 0.0,
             shell: str | None = None) -> DoctorReport:
    """Run every check on ``snap`` and build the report (fix commands written for ``shell``: by default the
    user's shell, or PowerShell for a Windows snapshot read elsewhere)."""
    from dlsetup.platform.shell import shell_for

    t0 = time.perf_counter()
    findings, names = run_checks(snap)
    shell = shell or shell_for(snap.system.os)
    render_commands(findings, shell, snapshot_file=None if source == "live" else source)
    checks_ms = (time.perf_counter() - t0) * 1000
    counts = count(findings)
    return DoctorReport(
        machine=machine_summary(snap),
        findings=findings,
        counts=counts,
        exit_code=exit_code_for(counts, strict),
        source=source,
        origin=snap.origin,
        deep=snap.frameworks.deep,
        strict=strict,
        checks_run=names,
        rungs=[RungAttempt(a.rung, a.ok, round(a.duration_ms, 2), a.error) for a in snap.nvidia.attempts],
        probe_timings_ms=dict(snap.timings_ms),
        probe_ms=round(probe_ms, 2),
        checks_ms=round(checks_ms, 2),
        shell=shell,
    )


def probe(*, deep: bool = False, python: str | None = None, deep_timeout: float = 120.0) -> Snapshot:
    """The live probe. A bad ``--python`` is a UsageError; any other failure is recorded in the snapshot."""
    from dlsetup.errors import DlsetupError

    try:
        from dlsetup.probe import probe_machine

        return probe_machine(deep=deep, python=python, deep_timeout=deep_timeout)
    except DlsetupError:
        raise
    except Exception as exc:  # the probe promises not to raise; if it does, diagnose what we can
        snap = _minimal_snapshot()
        snap.probe_errors.append(ProbeAttempt(rung="probe", ok=False, error=type(exc).__name__,
                                              detail=str(exc)[:300]))
        return snap


def _minimal_snapshot() -> Snapshot:
    import platform
    import sys

    from dlsetup.probe.model import PythonInfo, SystemInfo, ToolingInfo

    os_name = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(platform.system(), platform.system())
    return Snapshot(
        system=SystemInfo(os=os_name, arch=platform.machine()),
        tooling=ToolingInfo(python=PythonInfo(executable=sys.executable, version=platform.python_version())),
    )


DOCTOR_BUDGET_S = 7.0  # the whole live probe, however many tools hang (doctor must answer within 10 s)


def run_doctor(*, deep: bool = False, python: str | None = None, strict: bool = False,
               snapshot_path: str | None = None, save_path: str | None = None, redact: bool = True,
               deep_timeout: float = 120.0, shell: str | None = None) -> DoctorReport:
    """What ``dlsetup doctor`` does: probe (or load a snapshot), optionally save it, diagnose."""
    from dlsetup.i18n import t
    from dlsetup.output import status

    t0 = time.perf_counter()
    if snapshot_path:
        from dlsetup.probe.snapshot import load_snapshot

        snap = load_snapshot(snapshot_path)
        source = str(snapshot_path)
    else:
        from dlsetup.util.proc import budget

        # every tool on PATH may hang or flood: the whole probe has one time budget (the deep imports get theirs)
        with status(t("doctor.status.deep") if deep else t("doctor.status.probing")), \
                budget(DOCTOR_BUDGET_S + (deep_timeout if deep else 0.0)):
            snap = probe(deep=deep, python=python, deep_timeout=deep_timeout)
        source = "live"
    probe_ms = (time.perf_counter() - t0) * 1000
    saved = None
    if save_path:
        from dlsetup.probe.snapshot import save_snapshot

        saved = str(save_snapshot(snap, Path(save_path), redact=redact))
    report = diagnose(snap, strict=strict, source=source, probe_ms=probe_ms, shell=shell)
    report.saved_snapshot = saved
    return report


def _other_gpu_label(g: dict) -> str:
    """"NVIDIA GeForce RTX 3090 (10de:2204)" (a name from the GPU database says its vendor), "ASPEED: AST2500"."""
    label, name, pid = facts.vendor_label(g.get("vendor")), g.get("name"), g.get("pci_id")
    if not name and pid:  # a Windows adapter without its driver: named from dlsetup's GPU database
        from dlsetup.hw.db import name_for_pci_id

        name = name_for_pci_id(pid)
    if not name:
        return f"{label}: {pid or '?'}"
    text = name if name.lower().startswith(label.lower()) else f"{label}: {name}"
    return f"{text} ({pid})" if pid else text

