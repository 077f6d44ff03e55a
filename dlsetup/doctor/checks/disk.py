"""Free disk space where environments, wheels and caches go: a CUDA framework install needs ~10 GB."""

from __future__ import annotations

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import GROUP_PYTHON, WARNING, Finding, ev, finding
from dlsetup.i18n import t
from dlsetup.probe.model import Snapshot

# A CUDA build of PyTorch is a ~2-3 GB download that unpacks to ~6-8 GB with its nvidia-* wheels, and pip
# keeps a cached copy; 10 GiB free is the least that lets one install finish.
MIN_FREE_BYTES = 10 * 1024**3


def _purpose(purpose: str) -> str:
    """The probe's purpose label ("pip cache") in the output language; an unknown label is shown as it is."""
    from dlsetup.i18n import has

    key = "doctor.disk." + purpose.replace(" ", "_").replace("-", "_")
    return t(key) if has(key) else purpose


def low_disk(snap: Snapshot) -> list[Finding]:
    """< 10 GiB free on a filesystem that holds environments or package caches."""
    low = [d for d in snap.system.disks if d.free_bytes < MIN_FREE_BYTES]
    if not low:
        return []
    # Several purposes usually share one filesystem: one line per filesystem (same free and total bytes).
    by_fs: dict[tuple[int, int], list] = {}
    for d in low:
        by_fs.setdefault((d.free_bytes, d.total_bytes), []).append(d)
    evidence = [ev("disk_free", purpose=t("doctor.disk.sep").join(
                       t("doctor.disk.place", purpose=_purpose(d.purpose), path=d.path) for d in group),
                   free=facts.gib(free), total=facts.gib(total)) for (free, total), group in by_fs.items()]
    commands = []
    purposes = {d.purpose for d in low}
    tools = {t.name for t in snap.tooling.tools if t.found}
    if "pip" in tools or "pip cache" in purposes:
        commands.append(remedies.pip(snap, "cache", "purge"))
    if tools & {"conda", "mamba", "micromamba"}:
        commands.append("conda clean --all")
    if "uv" in tools:
        commands.append("uv cache clean")
    if remedies.is_windows(snap):
        # No du on Windows: pip reports its own cache (%LOCALAPPDATA%\pip\Cache) and its size.
        commands.append(remedies.pip(snap, "cache", "info"))
    else:
        commands.append("du -sh ~/.cache/* 2>/dev/null | sort -h | tail")
    return [finding("disk.low", WARNING, GROUP_PYTHON, evidence=evidence, commands=commands,
                    free=facts.gib(min(d.free_bytes for d in low)), need=facts.gib(MIN_FREE_BYTES))]


CHECKS = [low_disk]
