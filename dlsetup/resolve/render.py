"""Draw a Resolution for a person (rich); ``--json`` uses Resolution.to_dict instead."""

from __future__ import annotations

from typing import Any

from dlsetup.i18n import t

SHORT_REJECTED = 4


def render(console: Any, res: Any) -> None:
    """Draw ``res`` on ``console``; the lines are built first and printed at once (cheaper than many prints)."""
    from rich.markup import escape

    lines: list[str] = []

    class _Out:  # collects what would be printed, so the whole answer is one console.print call
        @staticmethod
        def print(text: str = "") -> None:
            lines.append(text)

    out = _Out()
    _render(out, res, escape)
    console.print("\n".join(lines), highlight=False)


def _table(rows: list[list[str]], escape: Any) -> list[str]:
    from rich.cells import cell_len  # display width: CJK headers take two cells per character

    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        cells = [c + " " * (w - cell_len(c)) for c, w in zip(r, widths, strict=True)]
        text = "  ".join(escape(c) for c in cells).rstrip()
        out.append(f"[bold]{text}[/]" if n == 0 else text)
    return out


def _render(console: Any, res: Any, escape: Any) -> None:
    if res.packages:
        head = ", ".join(f"{p.name} {p.version}" for p in res.packages)
        extra = []
        if res.cuda:
            extra.append(f"{t('resolve.label.cuda')} {res.cuda}")
        if res.cudnn:
            extra.append(f"{t('resolve.label.cudnn')} {res.cudnn}")
        suffix = f" ({', '.join(extra)})" if extra else ""
        if res.ok:
            console.print(f"[bold green]{t('resolve.title.ok')}:[/] {escape(head)}{escape(suffix)}")
        else:
            missing = any(i.get("status") == "missing" for i in res.check_index or [])
            title = t("resolve.title.index_missing") if missing else t("resolve.title.index_error")
            console.print(f"[bold red]{title}:[/] {escape(head)}{escape(suffix)}")
        rows = [[t(f"resolve.col.{col}") for col in ("package", "version", "variant", "index")]]
        rows += [[p.name, p.version, p.variant, p.index_url or t("resolve.label.default_index")] for p in res.packages]
        for line in _table(rows, escape):
            console.print(line)
        console.print()
        console.print(f"[bold]{t('resolve.label.commands')}[/]")
        for tool in ("pip", "uv", "conda", "pixi"):
            cmd = res.commands.get(tool)
            if cmd:
                console.print(f"  {tool:<6}{escape(cmd)}")
    else:
        gpu = (bool(res.machine.get("gpus")) or bool(res.machine.get("nvidia_present"))) and not res.machine.get("no_gpu")
        title = t("resolve.title.fail") if gpu else t("resolve.title.fail_any")
        console.print(f"[bold red]{title}[/]")

    console.print()
    console.print(f"[bold]{t('resolve.label.reasons')}[/]")
    for r in res.reasons:
        line = f"  • {escape(r.text)}"
        if res.explain and r.source:
            line += f" [dim]({t('resolve.label.source')}: {escape(r.source)})[/]"
        console.print(line)

    if res.rejected:
        console.print()
        console.print(f"[bold]{t('resolve.label.rejected')}[/]")
        shown = res.rejected if res.explain else res.rejected[:SHORT_REJECTED]
        for rej in shown:
            line = f"  ✗ {escape(rej.candidate)} {escape('[' + rej.rule + ']')}: {escape(rej.detail)}"
            if res.explain and rej.source:
                line += f" [dim]({t('resolve.label.source')}: {escape(rej.source)})[/]"
            console.print(line)
        if len(res.rejected) > len(shown):
            console.print("  " + t("resolve.label.more_rejected", count=len(res.rejected) - len(shown)))

    if res.hints:
        console.print()
        console.print(f"[bold]{t('resolve.label.hints')}[/]")
        for h in res.hints:
            console.print(f"  → {escape(h.text)}")

    if res.warnings:
        console.print()
        console.print(f"[bold yellow]{t('resolve.label.warnings')}[/]")
        for w in res.warnings:
            console.print(f"  ! {escape(w)}")

    if res.check_index is not None:
        console.print()
        console.print(f"[bold]{t('resolve.label.check_index')}[/]")
        for item in res.check_index:
            status = item.get("status") or ("found" if item.get("found") else "missing")
            mark = t(f"resolve.label.check_{status}")
            sign = {"found": "✓", "skipped": "–"}.get(status, "✗")
            detail = item.get("file") or item.get("error") or ""
            detail = f" — {escape(detail)}" if detail else ""
            console.print(f"  {sign} {escape(item['requirement'])}: {mark}{detail}"
                          f" [dim]({escape(item.get('index', ''))})[/]")

    if res.unverified:
        console.print()
        console.print("[yellow]" + escape(t("resolve.label.unverified", sources="; ".join(res.unverified))) + "[/]")
