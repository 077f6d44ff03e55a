"""What doctor computes: findings and the report the command renders as text or JSON.

A :class:`Finding` is one problem (or one note) with the facts that show it, the cause and the exact
fix. Its texts (title, evidence, cause, fix, each note's ``text``) follow ``--lang`` (the catalog is
``dlsetup/messages/doctor.*.json``); everything else (id, severity, data, commands, notes' ids and
parameters) is the same in every language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlsetup.i18n import t

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first: the render order

# Output groups, in render order.
GROUP_DRIVER = "driver"  # Driver & GPU (also containers and WSL)
GROUP_CUDA = "cuda"  # CUDA toolkits, libraries, loader path, CUDA_* variables
GROUP_PYTHON = "python"  # interpreters, pip/conda, package indexes, disk space
GROUP_FRAMEWORKS = "frameworks"  # installed frameworks and their builds
GROUPS = (GROUP_DRIVER, GROUP_CUDA, GROUP_PYTHON, GROUP_FRAMEWORKS)


@dataclass
class Finding:
    """One diagnosis. ``id`` is stable (scripts and tests match on it); texts follow ``--lang``."""

    id: str
    severity: str
    group: str
    title: str
    evidence: list[str]
    cause: str
    fix: str
    # The exact commands of the fix, in order: checks give argument lists (Cmd) and shell steps (Step);
    # doctor.runner.render_commands turns them into lines for the user's shell before anything prints.
    commands: list[Any] = field(default_factory=list)
    # Remarks between the commands ("if that fails: ..."): {"at": i, "id": key, "params": {...}, "text": ...},
    # shown before commands[i]; only "text" is translated.
    notes: list[dict[str, Any]] = field(default_factory=list)
    check: str = ""  # the check that produced it (``module.function``)
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable facts behind the texts


def finding(
    id: str,
    severity: str,
    group: str,
    /,
    *,
    evidence: list[str],
    commands: list[Any] | tuple[Any, ...] = (),
    fix_key: str | None = None,
    cause_key: str | None = None,
    data: dict[str, Any] | None = None,
    **params: object,
) -> Finding:
    """Build a finding whose title, cause and fix come from ``doctor.f.<id>.{title,cause,fix}``.

    ``fix_key``/``cause_key`` pick a variant (``doctor.f.<id>.<fix_key>``) when one finding id has
    several fixes (e.g. per platform). ``params`` fill the templates and are kept in ``data``.
    """
    base = f"doctor.f.{id}"
    return Finding(
        id=id,
        severity=severity,
        group=group,
        title=t(f"{base}.title", **params),
        evidence=[e for e in evidence if e],
        cause=t(f"{base}.{cause_key or 'cause'}", **params),
        fix=t(f"{base}.{fix_key or 'fix'}", **params),
        commands=[c for c in commands if c],
        data={**{k: v for k, v in params.items() if isinstance(v, (str, int, float, bool, list)) or v is None},
              **(data or {})},
    )


def ev(key: str, /, **params: object) -> str:
    """One line of evidence from ``doctor.ev.<key>`` (a multi-line value, e.g. a warning torch printed, is
    folded onto the line)."""
    return t(f"doctor.ev.{key}", **{k: _one_line(v) for k, v in params.items()})


def _one_line(value: object) -> object:
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        return " ".join(value.split())
    return value


@dataclass
class GpuSummary:
    index: int
    name: str
    compute_capability: str | None = None
    memory_mib: int | None = None


@dataclass
class DeepSummary:
    """What importing the framework showed (``--deep``)."""

    ok: bool
    timed_out: bool = False
    error: str | None = None
    cuda_available: bool | None = None
    device_count: int | None = None
    cuda_version: str | None = None
    cudnn_version: int | None = None
    arch_list: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    skipped_because: str | None = None  # a companion (torchvision) not tried because torch failed


@dataclass
class FrameworkSummary:
    name: str
    version: str | None
    variant: str | None  # "cpu", "cu126", "rocm6.2", ...
    cuda: str | None
    installer: str | None
    location: str | None
    deep: DeepSummary | None = None


@dataclass
class MachineSummary:
    """The few facts a person wants above the findings."""

    os: str
    arch: str
    distro: str | None
    kernel: str | None
    wsl: bool
    container: str | None
    python: str  # "3.11.7"
    python_executable: str
    driver_version: str | None
    cuda_driver_version: str | None  # newest CUDA the driver supports
    driver_rung: str | None  # which probe rung found the driver ("nvml", "procfs", ...)
    gpus: list[GpuSummary] = field(default_factory=list)
    other_gpus: list[str] = field(default_factory=list)
    nvidia_unusable: bool = False  # an NVIDIA device is on the bus (or the driver is loaded) but NVML lists no GPU
    toolkits: list[str] = field(default_factory=list)  # "13.0 (/usr/local/cuda-13.0)"
    nvcc: str | None = None
    frameworks: list[FrameworkSummary] = field(default_factory=list)


@dataclass
class Counts:
    error: int = 0
    warning: int = 0
    info: int = 0


@dataclass
class RungAttempt:
    rung: str
    ok: bool
    duration_ms: float
    error: str | None = None


@dataclass
class DoctorReport:
    """Everything ``dlsetup doctor`` prints, as one object (the JSON document is this, field by field)."""

    machine: MachineSummary
    findings: list[Finding]
    counts: Counts
    exit_code: int
    source: str  # "live" or the snapshot file that was diagnosed
    origin: str  # the snapshot's own note on where it comes from
    deep: bool
    strict: bool
    checks_run: list[str]
    rungs: list[RungAttempt]  # the NVIDIA detection ladder, in the order tried
    probe_timings_ms: dict[str, float]
    probe_ms: float
    checks_ms: float
    saved_snapshot: str | None = None
    shell: str = "bash"  # the shell the fix commands are written for
