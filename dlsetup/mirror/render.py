"""Rich text rendering of the mirror results (the JSON form comes from the same objects)."""

from __future__ import annotations

from typing import Any

from dlsetup.i18n import t
from dlsetup.util.redact import redact_url


def _table(*headers: str, title: str | None = None):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False, pad_edge=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    return table


def _esc(text: Any) -> str:
    from rich.markup import escape

    return escape(str(text)) if text is not None else ""


def _msg(m) -> str:
    return redact_url(m.text() if hasattr(m, "text") else str(m))


# -------------------------------------------------------------------------------------------- list


def render_list(console, data) -> None:
    table = _table(t("mirror.col.name"), t("mirror.col.pip"), t("mirror.col.conda"), t("mirror.col.torch"),
                   t("mirror.col.hf"), title=t("mirror.list.title"))
    table.columns[1].min_width = 44
    for m in data["mirrors"]:
        torch = m["torch"]
        n = len(m["conda_channels"])
        conda = (t("mirror.list.channel_one") if n == 1 else t("mirror.list.channels", count=n)) if m["conda"] else "-"
        tags = (" " + t("mirror.list.legacy") if m["legacy"] else "") + (" " + t("mirror.list.custom") if m["custom"] else "")
        name = _esc(m["id"] + tags) + ("\n[dim]" + _esc(", ".join(m["aliases"])) + "[/dim]" if m["aliases"] else "")
        table.add_row(name, _esc(redact_url(m["pip"] or "-")), _esc(conda),
                      _esc(f"{torch['layout']}: {', '.join(torch['variants'])}" if torch else "-"), _esc(m["hf"] or "-"))
    console.print(table)
    console.print(t("mirror.list.footer", path=data["custom_file"]))


# ------------------------------------------------------------------------------------------- apply


def render_apply(console, r) -> None:
    head = {
        ("apply", True): "mirror.apply.title_dry", ("apply", False): "mirror.apply.title",
        ("reset", True): "mirror.reset.title_dry", ("reset", False): "mirror.reset.title",
    }[(r.action, r.dry_run)]
    console.print(t(head, mirror=r.mirror or "", name=r.mirror_name or "", scope=r.scope), style="bold")
    if r.checked:
        ok = [c for c in r.checked if c["ok"]]
        console.print(t("mirror.apply.checked", ok=len(ok), total=len(r.checked)))
    elif r.action == "apply" and (r.offline or r.dry_run):
        console.print(t("mirror.apply.not_checked_offline" if r.offline else "mirror.apply.not_checked_dry"))
    table = _table(t("mirror.col.tool"), t("mirror.col.result"), t("mirror.col.file"), t("mirror.col.what"))
    for o in r.tools:
        what = "\n".join(_esc(c) for c in o.changes) or ""
        notes = "\n".join(_esc(_msg(n)) for n in o.notes)
        table.add_row(o.tool, t(f"mirror.outcome.{o.status}"), _esc(o.file or "-"), "\n".join(x for x in (what, notes) if x))
    console.print(table)
    if r.dry_run:
        for f in r.files:
            if f.diff:
                console.print(f.diff, markup=False, highlight=False, end="")
        if not any(f.diff for f in r.files):
            console.print(t("mirror.apply.no_changes"))
        console.print(t("mirror.apply.dry_run_footer"))
    else:
        changed = [f for f in r.files if f.action != "unchanged"]
        if not changed:
            console.print(t("mirror.apply.no_changes"))
        for w in r.warnings:
            console.print("[yellow]! [/yellow]" + _esc(_msg(w)))
        if r.hf_source:
            posix = r.hf_steps and getattr(r.hf_steps[0], "kind", "") == "source"
            console.print(t("mirror.apply.hf_source" if posix else "mirror.apply.hf_persist"))
            for line in r.hf_source.splitlines():
                console.print("  " + _esc(line), markup=True)
        if r.journal_id is not None:
            console.print(t("mirror.apply.undo_hint", id=r.journal_id))


# ------------------------------------------------------------------------------------------ status


def render_status(console, s) -> None:
    if s.current:
        console.print(t("mirror.status.current", **s.current), style="bold")
    else:
        console.print(t("mirror.status.no_current"), style="bold")
    table = _table(t("mirror.col.tool"), t("mirror.col.setting"), t("mirror.col.value"), t("mirror.col.source"),
                   t("mirror.col.state"))
    for ts in s.tools:
        if not ts.rows:
            upstream = ts.upstream_default if "://" in ts.upstream_default else t(f"mirror.status.upstream_value.{ts.tool}")
            table.add_row(ts.tool, "-", _esc(upstream), t("mirror.status.upstream"), t("mirror.status.in_force"))
            continue
        for key, value, source, state in _grouped(ts.rows):
            table.add_row(ts.tool, _esc(key), _esc(value), _esc(source), _esc(state))
    console.print(table)
    for n in s.notes:
        console.print("[yellow]! [/yellow]" + _esc(_msg(n)))


def _grouped(rows) -> list[tuple[str, str, str, str]]:
    """One line per (setting, source, state): list items joined, custom_channels with one location merged."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        state = t("mirror.status.in_force") if row.effective else (
            t("mirror.status.masked_by", by=row.masked_by_label()) if row.masked_by else t("mirror.status.not_in_force"))
        value = row.value + (f"  ({row.mirror})" if row.mirror else "")
        key = row.key
        if key.startswith("custom_channels."):
            name = key.split(".", 1)[1]
            group = ("custom_channels", row.source, state, value)
            out.setdefault(group, []).append(name)
            continue
        out.setdefault((key, row.source, state), []).append(value)
    lines = []
    for group, values in out.items():
        if group[0] == "custom_channels":
            lines.append((f"custom_channels ({', '.join(values)})", group[3], group[1], group[2]))
        else:
            lines.append((group[0], "\n".join(values), group[1], group[2]))
    return lines


# ----------------------------------------------------------------------------------------- restore


def render_restore(console, r) -> None:
    key = "mirror.restore.title_dry" if r.dry_run else "mirror.restore.title"
    console.print(t(key, ids=", ".join(f"#{i}" for i in r.undone)), style="bold")
    table = _table(t("mirror.col.entry"), t("mirror.col.tool"), t("mirror.col.file"), t("mirror.col.result"))
    for f in r.files:
        table.add_row(f"#{f.entry}", f.tool, _esc(f.path), t(f"mirror.restore.action.{f.action}"))
    console.print(table)


def render_history(console, h) -> None:
    if not h.entries:
        console.print(t("mirror.history.empty"))
        return
    table = _table(t("mirror.col.entry"), t("mirror.col.time"), t("mirror.col.action"), t("mirror.col.name"),
                   t("mirror.col.scope"), t("mirror.col.state"), t("mirror.col.file"))
    for e in h.entries:
        files = "\n".join(_esc(f["path"]) for f in e.files)
        table.add_row(f"#{e.id}", e.time, e.action, e.mirror or "-", e.scope or "-", t(f"mirror.history.status.{e.status}"),
                      files)
    console.print(table)
    console.print(t("mirror.history.footer"))


# ------------------------------------------------------------------------------------------- probe


def _ms(v: float | None) -> str:
    return f"{v:.0f} ms" if v is not None else "-"


def _rate(v: float | None) -> str:
    if not v:
        return "-"
    for unit, div in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if v >= div:
            return f"{v / div:.1f} {unit}"
    return f"{v:.0f} B/s"


def render_probe(console, r) -> None:
    console.print(t("mirror.probe.title", package=r.package, variant=r.variant or "-", subdir=r.subdir,
                    python=r.python_tag, cached=t("mirror.probe.cached", created=r.created) if r.cached else ""),
                  style="bold")
    table = _table("#", t("mirror.col.name"), t("mirror.col.latency"), t("mirror.col.throughput"),
                   t("mirror.col.time"), t("mirror.col.checks"), t("mirror.col.result"))
    for m in r.mirrors:
        checks = " ".join(f"{c.tool}:{'ok' if c.ok else c.code}" for c in m.checks) or "-"
        result = t("mirror.probe.pass") if m.ok else _esc(m.reason or t("mirror.probe.fail.nothing_to_check"))
        table.add_row(str(m.rank) if m.rank else "-", m.mirror, _ms(m.latency_ms), _rate(m.throughput_bps),
                      _ms(m.total_ms), checks, result)
    console.print(table)
    if r.fastest:
        console.print(t("mirror.probe.fastest", mirror=r.fastest))
    else:
        console.print(t("mirror.probe.none_passed"))


def render_fastest(console, data) -> None:
    render_probe(console, data["probe"])
    if data.get("applied") is not None:
        console.print()
        render_apply(console, data["applied"])
