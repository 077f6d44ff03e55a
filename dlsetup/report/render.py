"""Draw the overview for a person: summary, causes (most machines first) with the fix once, machines, bad files.

Every string that came from a snapshot was made printable when the overview was built; here it is also
escaped for rich markup.
"""

from __future__ import annotations

from typing import Any

from dlsetup.i18n import t
from dlsetup.report.model import ERROR, OK, Overview

_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue", OK: "green"}
_MARK = {"error": "✗", "warning": "!", "info": "i"}
_SHOW_NAMES = 12  # machine names listed per cause in text (the JSON and HTML have them all)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOW_NAMES])
    return shown + (f", … (+{len(names) - _SHOW_NAMES})" if len(names) > _SHOW_NAMES else "")


def machines_count(count: int) -> str:
    return t("report.label.machines_count_one") if count == 1 else t("report.label.machines_count", count=count)


def gpu_label(gpus: list[str]) -> str:
    """``8 × NVIDIA H100 80GB HBM3`` for eight equal GPUs; names in order otherwise."""
    from collections import Counter

    counts = Counter(g for g in gpus if g)
    return ", ".join(name if n == 1 else f"{n} × {name}" for name, n in counts.items())


def summary_line(o: Overview) -> str:
    parts = [t("report.summary.ok", count=o.totals.ok)]
    if o.totals.warning:
        parts.append(t("report.summary.warning", count=o.totals.warning))
    parts.append(t("report.summary.error", count=o.totals.error))
    if o.totals.unreadable:
        parts.append(t("report.summary.unreadable", count=o.totals.unreadable))
    return "; ".join(parts)


def render_text(console: Any, o: Overview) -> None:
    from rich.markup import escape

    from dlsetup.output import settings

    console.print(f"[bold]{escape(t('report.header', machines=o.totals.machines, files=o.totals.files))}[/bold]")
    console.print(escape(summary_line(o)))
    console.print()
    if o.causes:
        console.print(f"[bold]{escape(t('report.label.causes'))}[/bold]")
        for c in o.causes:
            if settings.quiet and c.severity != ERROR:
                continue
            style = _STYLE.get(c.severity, "bold")
            console.print(f"  [{style}]{_MARK.get(c.severity, '?')}[/{style}] "
                          f"[bold]{escape(machines_count(c.count))}[/bold]  "
                          f"{escape(c.title)}  [dim]({escape(c.id)})[/dim]")
            console.print(f"      {escape(t('report.label.machines', names=_names(c.machines)))}")
            for v in c.fixes:
                label = t("report.label.fix") if len(c.fixes) == 1 else t("report.label.fix_for",
                                                                            names=_names(v.machines))
                console.print(f"      [bold]{escape(label)}:[/bold] {escape(v.fix)}")
                for kind, line in v.lines():
                    if kind == "note":
                        console.print(f"        [dim]# {escape(line)}[/dim]")
                    else:
                        console.print(f"        [cyan]$ {escape(line)}[/cyan]")
        console.print()
    elif o.machines:
        console.print(f"[green]{escape(t('report.label.no_causes'))}[/green]")
        console.print()
    if not settings.quiet and o.machines:
        console.print(f"[bold]{escape(t('report.label.machine_table'))}[/bold]")
        width = min(40, max(len(r.name) for r in o.machines))
        for r in o.machines:
            style = _STYLE.get(r.status, "")
            gpu = gpu_label(r.gpus) or t("report.none")
            torch = r.torch or "-"
            driver = r.driver or "-"
            ids = " ".join(r.findings) or "-"
            console.print(f"  {escape(r.name.ljust(width))}  [{style}]{escape(t('report.status.' + r.status).ljust(8))}"
                          f"[/{style}] {escape(gpu)} · {escape(t('report.col.driver'))} {escape(driver)} · "
                          f"torch {escape(torch)}  [dim]{escape(ids)}[/dim]")
        console.print()
    if o.unreadable:
        console.print(f"[bold red]{escape(t('report.label.unreadable'))}[/bold red]")
        for u in o.unreadable:
            console.print(f"  {escape(u.path)}: {escape(u.error)}")
        console.print()
    if o.html:
        console.print(escape(t("report.label.html_written", path=o.html)))
