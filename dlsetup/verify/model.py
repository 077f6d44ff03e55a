"""What ``dlsetup verify`` found: stages, their checks, and (for a distributed run) every rank's outcome.

Statuses: ``pass``; ``warn`` (works, but look); ``fail``; ``skip`` (does not apply here, e.g. CPU vs GPU
agreement without a GPU: never counted as a pass); ``not_run`` (an earlier failure made it impossible);
``info`` (a figure, not a verdict). The run fails when any stage fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, WARN, FAIL, SKIP, NOT_RUN, INFO = "pass", "warn", "fail", "skip", "not_run", "info"
_SEVERITY = {INFO: 0, SKIP: 0, NOT_RUN: 0, PASS: 1, WARN: 2, FAIL: 3}


def worst(statuses: list[str]) -> str:
    """The combined status of several checks: fail > warn > pass; only skips -> skip; nothing -> pass."""
    if not statuses:
        return PASS
    top = max(statuses, key=lambda s: _SEVERITY.get(s, 0))
    if _SEVERITY.get(top, 0) > 0:
        return top
    if NOT_RUN in statuses:
        return NOT_RUN
    return SKIP if SKIP in statuses else PASS


@dataclass
class Check:
    """One comparison inside a stage, e.g. ``conv2d`` in ``bf16``: error ``value`` against ``limit``."""

    name: str
    status: str
    variant: str | None = None
    value: Any = None
    limit: float | None = None
    metric: str | None = None  # "rel_err", "wrong_elements", "accuracy", "gradcheck", "tflops", ...
    message: str | None = None  # translated explanation (and the fix, where there is one)
    code: str | None = None  # the message's catalog key, stable for scripts
    error: str | None = None  # the exception text when the operation itself failed


@dataclass
class Stage:
    name: str
    title: str
    status: str
    duration_s: float | None = None
    timeout_s: float | None = None
    message: str | None = None
    code: str | None = None
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]


@dataclass
class RankOutcome:
    """One rank of a distributed run, as rank 0 saw it."""

    rank: int
    host: str
    device: str
    status: str
    failed_stages: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    status: str  # "pass" or "fail"
    mode: str  # "quick" | "default" | "full"
    python: str  # the interpreter the suite ran in
    python_version: str | None = None
    torch: str | None = None
    torch_cuda: str | None = None
    device: str | None = None
    device_name: str | None = None
    stages: list[Stage] = field(default_factory=list)
    total_s: float = 0.0
    extension_cached: bool | None = None
    distributed: dict[str, Any] | None = None  # world size, launcher, backend, ranks
    machine: dict[str, Any] | None = None  # summary for the report (probe)
    report: str | None = None  # path of the HTML report written
    created: str | None = None
    dlsetup_version: str | None = None

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.stages:
            out[s.status] = out.get(s.status, 0) + 1
        return out
