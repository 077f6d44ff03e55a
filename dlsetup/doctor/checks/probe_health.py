"""The probe itself: a part that crashed or timed out is reported, never hidden (doctor still runs)."""

from __future__ import annotations

from dlsetup.doctor.model import (
    GROUP_CUDA,
    GROUP_DRIVER,
    GROUP_FRAMEWORKS,
    GROUP_PYTHON,
    WARNING,
    Finding,
    ev,
    finding,
)
from dlsetup.probe.model import Snapshot

_GROUP = {"nvidia": GROUP_DRIVER, "system": GROUP_DRIVER, "cuda": GROUP_CUDA, "frameworks": GROUP_FRAMEWORKS,
          "deep": GROUP_FRAMEWORKS}


def probe_errors(snap: Snapshot) -> list[Finding]:
    out: list[Finding] = []
    for a in snap.probe_errors:
        part = a.rung or "?"
        out.append(finding(
            "probe.part_failed", WARNING, _GROUP.get(part, GROUP_PYTHON),
            evidence=[ev("probe_error", part=part, error=a.error or "?", detail=(a.detail or "")[:300])],
            commands=["dlsetup doctor -v", "dlsetup doctor --save-snapshot doctor-snapshot.json"],
            part=part, error=a.error or "?",
        ))
    return out


CHECKS = [probe_errors]
