"""Draw a :class:`SetupResult` for a person (steps, the plan, what to do next), and the decisions section of
the HTML report."""

from __future__ import annotations

import html
from typing import Any

from dlsetup.i18n import t
from dlsetup.setup.model import SetupResult

_MARK = {"done": ("✓", "green"), "cached": ("✓", "green"), "planned": ("·", "cyan"), "blocked": ("✗", "bold red"),
         "failed": ("✗", "bold red"), "not_run": ("-", "dim"), "skipped": ("-", "dim"), "": ("-", "dim")}


def size_text(n: int | None) -> str:
    if n is None:
        return t("setup.label.unknown_size")
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def plan_lines(r: SetupResult) -> list[tuple[str, str]]:
    """(label, value) rows of the plan, in the order a person reads them."""
    p = r.plan
    if not p:
        return []
    rows = [(t("setup.label.machine"), p["machine_text"])]
    if p.get("driver"):
        rows.append((t("setup.label.driver"), f"{p['driver']}" + (f" (CUDA {p['cuda_driver']})" if p.get("cuda_driver")
                                                                    else "")))
    fw = ", ".join(f"{f['name']} {f['version']}" for f in p["frameworks"])
    rows.append((t("setup.label.stack"), t("setup.label.stack_value", frameworks=fw, variant=p.get("variant") or "-",
                                           cuda=p.get("cuda") or "-", python=p.get("python") or "-")))
    for reason in p.get("reasons", [])[:4]:
        rows.append((t("setup.label.why"), reason.get("text", "")))
    if p.get("backend"):
        rows.append((t("setup.label.backend"), p["backend"]["why"]))
    rows.append((t("setup.label.mirror"), p["mirror"]["why"]))
    if (p.get("backend") or {}).get("name") != "venv":  # a venv has no conda part
        rows.append((t("setup.label.channels"), ", ".join(p["conda"]["channels"]) or "-"))
    rows += [(t("setup.label.download"), line) for line in download_lines(p["download"], p.get("backend") or {})]
    for w in p["writes"]:
        rows.append((t(f"setup.label.write.{w['what']}"), w["path"]))
    rows.append((t("setup.label.verify"), t(f"setup.verify_mode.{p['verify']}")))
    return rows


def download_lines(d: dict[str, Any], backend: dict[str, Any]) -> list[str]:
    """The conda part (counted by the solve, less what is already here), the measured wheels, the total, and
    what is not counted."""
    parts = []
    if backend.get("name") != "venv":
        if d.get("conda_packages") is not None:
            conda = t("setup.label.download_conda", count=d["conda_packages"], size=size_text(d.get("conda_bytes")))
            if d.get("conda_cached"):
                conda += t("setup.label.download_conda_cached", count=d["conda_cached"],
                           size=size_text(d.get("conda_cached_bytes")))
        else:
            conda = t("setup.label.download_conda_unsolved")
        parts.append(conda)
    sizes = d.get("pip_bytes") or {}
    if d.get("pip"):
        packages = ", ".join(f"{r} ({size_text(sizes[r])})" if sizes.get(r) is not None else r for r in d["pip"])
        parts.append(t("setup.label.download_pip", packages=packages, index=d.get("pip_index_url") or "PyPI"))
    lines = ["; ".join(parts)] if parts else []
    if d.get("total_bytes") is not None:
        lines.append(t("setup.label.download_total", size=size_text(d["total_bytes"])))
    for item in d.get("not_counted") or []:
        lines.append(t(f"setup.label.not_counted.{item['what']}", items=", ".join(item.get("items") or [])))
    return lines


def render_text(console: Any, r: SetupResult) -> None:
    from rich.markup import escape

    console.print(f"[bold]{escape(t('setup.header', env=r.env, recipe=r.recipe, backend=r.backend))}[/bold]"
                  + (f"  [dim]({escape(t('setup.label.dry_run'))})[/dim]" if r.dry_run else ""))
    width = max(len(t(f"setup.step.{s.name}")) for s in r.steps)
    for s in r.steps:
        mark, style = _MARK.get(s.status, ("?", ""))
        label = t(f"setup.step.{s.name}").ljust(width)
        status = t(f"setup.status.{s.status or 'not_run'}")
        line = f"  [{style}]{mark}[/{style}] {escape(label)}  [{style}]{escape(status)}[/{style}]"
        if s.summary:
            line += f"  {escape(s.summary)}"
        console.print(line)
        if s.name == "doctor" and s.status == "blocked":
            for b in s.data.get("blocking", []):
                console.print(f"      [bold red]{escape(b['title'])}[/bold red]  [dim]({escape(b['id'])})[/dim]")
                console.print(f"      {escape(b['fix'])}")
    rows = plan_lines(r)
    if rows:
        console.print()
        console.print(f"[bold]{escape(t('setup.label.plan'))}[/bold]")
        lw = max(len(label) for label, _ in rows)
        for label, value in rows:
            console.print(f"  {escape(label.ljust(lw))}  {escape(str(value))}")
    if r.next_steps or r.next_notes:
        console.print()
        console.print(f"[bold]{escape(t('setup.label.next'))}[/bold]")
        for i in range(len(r.next_steps) + 1):
            for n in r.next_notes:
                if n.get("at") == i:
                    console.print(f"  [dim]# {escape(str(n.get('text') or ''))}[/dim]")
            if i < len(r.next_steps):
                console.print(f"  [cyan]{escape(r.next_steps[i])}[/cyan]")
    if r.outcome:  # empty while the plan is shown with the question
        console.print()
        console.print(escape(t(f"setup.outcome.{r.outcome}", env=r.env)))


def confirm_text(r: SetupResult) -> str:
    return t("setup.label.confirm", env=r.env)


def decisions_html(r: SetupResult) -> str:
    """A section for the top of the report page: what setup decided and why (every string escaped)."""
    e = lambda v: html.escape("" if v is None else str(v), quote=True)  # noqa: E731
    out = [f'<section id="setup-decisions"><h2>{e(t("setup.header", env=r.env, recipe=r.recipe, backend=r.backend))}'
           f'</h2><table id="setup-steps">']
    for s in r.steps:
        out.append(f'<tr data-step="{e(s.name)}" data-status="{e(s.status)}"><th>{e(t("setup.step." + s.name))}</th>'
                   f'<td>{e(t("setup.status." + (s.status or "not_run")))}</td><td>{e(s.summary)}</td></tr>')
    out.append('</table><table id="setup-plan">')
    for label, value in plan_lines(r):
        out.append(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>")
    out.append("</table></section>")
    return "".join(out)
