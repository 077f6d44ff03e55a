"""Read many snapshots, diagnose each as ``doctor --snapshot`` does, and group the findings by cause."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from dlsetup import exitcodes
from dlsetup.errors import DlsetupError, UsageError
from dlsetup.report.model import (
    ERROR,
    OK,
    WARNING,
    Cause,
    FixVariant,
    MachineRow,
    Overview,
    Totals,
    Unreadable,
)
from dlsetup.util.textsafe import printable

MAX_SNAPSHOT_MIB = 16  # a real snapshot is a few kB; anything this large is not one
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def expand_inputs(paths: list[str] | tuple[str, ...]) -> list[Path]:
    """Files as given and ``*.json`` directly inside each directory, sorted, each file once.

    A path that does not exist, or directories with no ``*.json`` at all, is a UsageError (exit 2)."""
    files: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = sorted(c for c in p.glob("*.json") if c.is_file())
        elif p.exists():
            found = [p]
        else:
            raise UsageError("report.error.no_such_path", path=printable(raw))
        for f in found:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                files.append(f)
    if not files:
        raise UsageError("report.error.no_snapshots", paths=", ".join(printable(p) for p in paths))
    return files


def _names(files: list[Path]) -> list[str]:
    """The file name without ``.json``; the full path where two files share a name."""
    stems = Counter(f.stem for f in files)
    return [printable(f.stem if stems[f.stem] == 1 else str(f), 200) for f in files]


def _read(path: Path):
    """The diagnosed report of one snapshot, or the one-line reason it could not be read."""
    from dlsetup.doctor.runner import diagnose
    from dlsetup.i18n import t
    from dlsetup.probe.snapshot import load_snapshot

    try:
        if path.stat().st_size > MAX_SNAPSHOT_MIB * 1024 * 1024:
            return None, t("report.error.too_large", limit=MAX_SNAPSHOT_MIB)
        snap = load_snapshot(path)
        return diagnose(snap, source=str(path)), None
    except DlsetupError as exc:
        return None, exc.message()
    except Exception as exc:  # untrusted input: any failure is this file's, not the report's
        return None, t("report.error.unreadable", reason=f"{type(exc).__name__}: {exc}")


def _row(name: str, path: Path, report) -> MachineRow:
    m = report.machine
    gpus = [printable(g.name, 120) for g in m.gpus] or [printable(o, 120) for o in m.other_gpus]
    torch = next((fw.version for fw in m.frameworks if fw.name == "torch"), None)
    c = report.counts
    status = ERROR if c.error else WARNING if c.warning else OK
    return MachineRow(name=name, path=printable(str(path), 500), status=status, os=printable(f"{m.os} {m.arch}", 60),
                      gpus=gpus, driver=printable(m.driver_version, 40) if m.driver_version else None,
                      cuda_driver=printable(m.cuda_driver_version, 20) if m.cuda_driver_version else None,
                      torch=printable(torch, 60) if torch else None, errors=c.error, warnings=c.warning,
                      notes=c.info, findings=[printable(f.id, 80) for f in report.findings])


def _causes(diagnosed: list[tuple[str, object]]) -> list[Cause]:
    by_id: dict[str, dict] = {}
    for name, report in diagnosed:
        for f in report.findings:
            fid = printable(f.id, 80)
            entry = by_id.setdefault(fid, {"severity": f.severity, "group": f.group, "titles": Counter(),
                                           "machines": [], "fixes": {}})
            if _SEVERITY_RANK.get(f.severity, 3) < _SEVERITY_RANK.get(entry["severity"], 3):
                entry["severity"] = f.severity
            entry["titles"][printable(f.title, 400)] += 1
            if name not in entry["machines"]:
                entry["machines"].append(name)
            notes = tuple((n.get("at"), printable(n.get("id"), 80), printable(n.get("text"), 500),
                           tuple(sorted((printable(k, 80), printable(v, 500)) for k, v in n.get("params", {}).items())))
                          for n in f.notes)
            key = (printable(f.fix, 2000), tuple(printable(c, 500) for c in f.commands), notes)
            machines = entry["fixes"].setdefault(key, [])
            if name not in machines:
                machines.append(name)
    causes = [
        Cause(id=fid, severity=e["severity"], group=e["group"], title=e["titles"].most_common(1)[0][0],
              count=len(e["machines"]), machines=e["machines"],
              fixes=sorted((FixVariant(fix=k[0], commands=list(k[1]), machines=v,
                                       notes=[{"at": at, "id": nid, "params": dict(params), "text": text}
                                              for at, nid, text, params in k[2]])
                            for k, v in e["fixes"].items()),
                           key=lambda v: -len(v.machines)))
        for fid, e in by_id.items()
    ]
    causes.sort(key=lambda c: (_SEVERITY_RANK.get(c.severity, 3), -c.count, c.id))
    return causes


def build_report(paths: list[str] | tuple[str, ...], *, strict: bool = False) -> Overview:
    """Diagnose every snapshot under ``paths`` and build the overview (exit code included).

    Exit code: 2 when no file is a readable snapshot; 1 when any machine has an error or any file could not be
    read; 3 with ``strict`` when some machine has warnings (and nothing worse); else 0."""
    from dlsetup.output import status

    files = expand_inputs(paths)
    names = _names(files)
    rows: list[MachineRow] = []
    diagnosed: list[tuple[str, object]] = []
    unreadable: list[Unreadable] = []
    from dlsetup.i18n import t

    with status(t("report.progress", n=len(files))):
        for name, path in zip(names, files, strict=True):
            report, error = _read(path)
            if report is None:
                unreadable.append(Unreadable(name=name, path=printable(str(path), 500), error=printable(error, 500)))
                continue
            rows.append(_row(name, path, report))
            diagnosed.append((name, report))
    totals = Totals(files=len(files), machines=len(rows), ok=sum(r.status == OK for r in rows),
                    warning=sum(r.status == WARNING for r in rows), error=sum(r.status == ERROR for r in rows),
                    unreadable=len(unreadable))
    if not rows:
        code = exitcodes.USAGE
    elif totals.error or unreadable:
        code = exitcodes.FAILED
    elif strict and totals.warning:
        code = exitcodes.WARNINGS
    else:
        code = exitcodes.OK
    return Overview(totals=totals, causes=_causes(diagnosed), machines=rows, unreadable=unreadable, exit_code=code,
                    strict=strict)
