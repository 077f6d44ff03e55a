"""Draw a :class:`DoctorReport` for a person: machine summary, findings grouped and sorted by severity,
summary line last. Only ``rich.console``/``rich.markup`` are used (no tables) to keep start-up fast.
"""

from __future__ import annotations

from typing import Any

from dlsetup.doctor.model import ERROR, GROUPS, INFO, WARNING, DoctorReport, Finding
from dlsetup.i18n import t

_STYLE = {ERROR: "bold red", WARNING: "bold yellow", INFO: "bold blue"}
_INDENT = "        "


def render_text(console: Any, report: DoctorReport) -> None:
    from rich.markup import escape

    from dlsetup.output import settings

    quiet, verbose = settings.quiet, settings.verbose
    if not quiet:
        _machine(console, report, escape)
        console.print()
    by_group: dict[str, list[Finding]] = {g: [] for g in GROUPS}
    for f in report.findings:
        by_group.setdefault(f.group, []).append(f)
    for group, items in by_group.items():
        shown = [f for f in items if not quiet or f.severity == ERROR]
        if quiet and not shown:
            continue
        title = t(f"doctor.group.{group}")
        if not shown:
            console.print(f"[bold]{escape(title)}[/bold]  [green]{escape(t('doctor.label.no_problems'))}[/green]")
            continue
        console.print(f"[bold]{escape(title)}[/bold]")
        for f in shown:
            _finding(console, f, escape, verbose, report.shell)
        console.print()
    if verbose and not quiet:
        _details(console, report, escape)
    console.print(_summary(report), highlight=False)


def _machine(console: Any, report: DoctorReport, escape) -> None:
    m = report.machine
    head = [f"{m.os} {m.arch}"]
    if m.distro:
        head.append(m.distro)
    if m.wsl:
        head.append("WSL2")
    if m.container:
        head.append(t("doctor.label.container", kind=m.container))
    source = t("doctor.label.source_live") if report.source == "live" else t("doctor.label.source_file",
                                                                           path=report.source)
    console.print(f"[bold]dlsetup doctor[/bold] · {escape(' · '.join(head))}  [dim]({escape(source)})[/dim]")
    rows: list[tuple[str, str]] = [(t("doctor.label.python"), f"{m.python}  {m.python_executable}")]
    if m.nvidia_unusable:
        rows.append((t("doctor.label.gpu"), t("doctor.label.gpu_unusable")))
    if m.gpus:
        for g in m.gpus:
            mem = f"  {g.memory_mib / 1024:.0f} GiB" if g.memory_mib else ""
            cc = f"  sm_{g.compute_capability.replace('.', '')}" if g.compute_capability else ""
            rows.append((t("doctor.label.gpu"), f"{g.index}: {g.name or '?'}{cc}{mem}"))
    elif not m.nvidia_unusable:
        rows.append((t("doctor.label.gpu"), t("doctor.label.no_nvidia_gpu")))
    for other in m.other_gpus:
        rows.append((t("doctor.label.other_gpu"), other))
    if m.driver_version:
        driver = t("doctor.label.driver_value", version=m.driver_version, cuda=m.cuda_driver_version or "?",
                   rung=m.driver_rung or "?")
    else:
        driver = t("doctor.label.none")
    rows.append((t("doctor.label.driver"), driver))
    rows.append((t("doctor.label.toolkit"), ", ".join(m.toolkits) if m.toolkits else t("doctor.label.none")))
    if not m.frameworks:
        rows.append((t("doctor.label.frameworks"), t("doctor.label.none")))
    for fw in m.frameworks:
        rows.append((t("doctor.label.frameworks"), _framework_line(fw)))
    _label_rows(console, [(k, v, "") for k, v in rows], indent=2, escape=escape)


def _framework_line(fw) -> str:
    text = f"{fw.name} {fw.version or '?'}"
    if fw.variant and fw.variant not in (fw.version or ""):
        text += f" [{fw.variant}]"
    if fw.installer:
        by = t("doctor.label.installed_by", installer=fw.installer)
        text += by if by.startswith("（") else " " + by  # a full-width bracket carries its own space
    d = fw.deep
    if d is not None:
        if d.ok:
            cuda = t("doctor.label.yes") if d.cuda_available else t("doctor.label.no")
            text += " · " + t("doctor.label.deep_ok", seconds=f"{d.duration_s:.1f}", cuda=cuda)
        elif d.timed_out:
            text += " · " + t("doctor.label.deep_hung")
        elif d.skipped_because:
            text += " · " + t("doctor.label.deep_skipped", name=d.skipped_because)
        else:
            text += " · " + t("doctor.label.deep_failed")
    return text


def _cells(text: str) -> int:
    """Terminal cells: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _label_rows(console: Any, rows: list[tuple[str, str, str]], indent: int, escape,
                label_style: str = "dim") -> None:
    """``label  value`` lines. On a terminal long values wrap under themselves (a rich grid); otherwise
    (pipes, files, CI logs) each row is one plain line that never wraps."""
    if not getattr(console, "soft_wrap", True):
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style=label_style, no_wrap=True)
        grid.add_column()
        for label, value, style in rows:
            grid.add_row(label, Text(value, style=style))
        console.print(Padding(grid, (0, 0, 0, indent)))
        return
    width = max(_cells(label) for label, _, _ in rows)
    for label, value, style in rows:
        pad = " " * (width - _cells(label))
        body = f"[{style}]{escape(value)}[/{style}]" if style else escape(value)
        console.print(f"{' ' * indent}[{label_style}]{escape(label)}[/{label_style}]{pad}  {body}", highlight=False)


def _finding(console: Any, f: Finding, escape, verbose: int, shell: str = "bash") -> None:
    from dlsetup.platform.shell import comment

    label = t(f"doctor.severity.{f.severity}")
    _label_rows(console, [(label, f"{f.title}  [{f.id}]", "bold")], indent=2, escape=escape,
                label_style=_STYLE[f.severity])
    rows: list[tuple[str, str, str]] = []
    for i, e in enumerate(f.evidence):
        rows.append((t("doctor.label.evidence") if i == 0 else "", e, ""))
    rows.append((t("doctor.label.cause"), f.cause, ""))
    rows.append((t("doctor.label.fix"), f.fix, ""))
    for i in range(len(f.commands) + 1):
        rows += [("", comment(n["text"], shell), "dim") for n in f.notes if n.get("at") == i]  # REM in cmd
        if i < len(f.commands):
            rows.append(("", "$ " + f.commands[i], "cyan"))
    if verbose:
        rows.append(("", t("doctor.label.check", check=f.check), "dim"))
    _label_rows(console, rows, indent=len(_INDENT), escape=escape)


def _details(console: Any, report: DoctorReport, escape) -> None:
    console.print(f"[bold]{escape(t('doctor.label.rungs'))}[/bold]")
    if not report.rungs:
        console.print(f"  {escape(t('doctor.label.none'))}")
    for a in report.rungs:
        state = t("doctor.label.ok") if a.ok else (a.error or t("doctor.label.failed"))
        console.print(f"  {escape(a.rung)}: {escape(state)}  [dim]{a.duration_ms:.1f} ms[/dim]", highlight=False)
    if report.probe_timings_ms:
        parts = ", ".join(f"{k} {v:.0f} ms" for k, v in report.probe_timings_ms.items())
        console.print(f"[bold]{escape(t('doctor.label.timings'))}[/bold]  {escape(parts)}", highlight=False)
    console.print(f"[bold]{escape(t('doctor.label.checks_run'))}[/bold]  {len(report.checks_run)}: "
                  f"{escape(', '.join(report.checks_run))}", highlight=False)
    if report.origin and report.source != "live":
        console.print(f"[bold]{escape(t('doctor.label.origin'))}[/bold]  {escape(report.origin)}", highlight=False)
    console.print()


def _summary(report: DoctorReport) -> str:
    from rich.markup import escape

    c = report.counts
    style = "bold red" if c.error else ("bold yellow" if c.warning else "bold green")
    text = t("doctor.summary", errors=c.error, warnings=c.warning, infos=c.info, checks=len(report.checks_run),
             ms=f"{report.probe_ms + report.checks_ms:.0f}")
    if report.saved_snapshot:
        text += " · " + t("doctor.label.saved", path=report.saved_snapshot)
    verdict = t("doctor.verdict.errors") if c.error else (
        t("doctor.verdict.warnings") if c.warning else t("doctor.verdict.ok"))
    sep = "" if verdict.endswith("：") else " "  # a full-width colon carries its own space
    return f"[{style}]{escape(verdict)}[/{style}]{sep}{escape(text)}"
