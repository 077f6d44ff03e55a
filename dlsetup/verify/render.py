"""Text rendering of a :class:`VerifyResult` with rich: a stage table, what failed and why, the verdict."""

from __future__ import annotations

from typing import Any

from dlsetup.i18n import t
from dlsetup.verify.model import FAIL, INFO, NOT_RUN, PASS, SKIP, WARN, Check, VerifyResult

STYLE = {PASS: "green", WARN: "yellow", FAIL: "bold red", SKIP: "dim", NOT_RUN: "dim", INFO: "cyan"}


def status_label(status: str) -> str:
    return t(f"verify.status.{status}")


def fmt_value(value: Any, metric: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return t("core.label.yes") if value else t("core.label.no")
    if isinstance(value, float):
        if metric == "accuracy":
            return f"{100 * value:.2f} %"
        if value == 0:
            return "0"
        return f"{value:.2e}" if abs(value) < 1e-2 or abs(value) >= 1e5 else f"{value:.4g}"
    return str(value)


def fmt_seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} s"


def render(console: Any, result: VerifyResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    from dlsetup.output import settings

    verbose = settings.verbose
    head = [result.python]
    if result.torch:
        head.append(f"torch {result.torch}")
    if result.device:
        head.append(f"{result.device}" + (f" ({result.device_name})" if result.device_name else ""))
    head.append(t(f"verify.mode.{result.mode}"))
    console.print(escape(t("verify.label.header", what=" · ".join(head))))

    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column(t("verify.label.stage"))
    table.add_column(t("verify.label.result"))
    table.add_column(t("verify.label.time"), justify="right")
    table.add_column(t("verify.label.details"), overflow="fold")
    for s in result.stages:
        table.add_row(s.title, f"[{STYLE.get(s.status, '')}]{status_label(s.status)}[/]", fmt_seconds(s.duration_s),
                      escape(s.message or ""))
    console.print(table)

    for s in result.stages:
        shown = [c for c in s.checks if verbose or c.status in (FAIL, WARN)]
        if not shown and not (s.status == FAIL and (s.details.get("stack") or s.details.get("stderr_tail"))):
            continue
        console.print(f"[bold]{s.title}[/] — {status_label(s.status)}")
        for c in shown:
            console.print("  " + _check_line(c))
        if s.status == FAIL and s.details.get("stack"):
            console.print("  " + t("verify.label.stuck_at"))
            for frame in s.details["stack"][:4]:
                console.print(f"    {frame}", markup=False, highlight=False)
        elif s.status == FAIL and s.details.get("stderr_tail") and (s.details.get("crashed") or verbose):
            for line in s.details["stderr_tail"][-6:]:
                console.print(f"    {line}", markup=False, highlight=False)
        if s.name == "extension" and s.details.get("log_tail") and s.status == FAIL:
            for line in str(s.details["log_tail"]).splitlines()[-8:]:
                console.print(f"    {line}", markup=False, highlight=False)

    train = result.stage("train")
    if train is not None and train.details.get("curve") and verbose:
        points = ", ".join(f"{p['epoch']}: {100 * p['accuracy']:.1f} %" for p in train.details["curve"])
        console.print(escape(t("verify.label.curve", points=points)))

    if result.distributed and result.distributed.get("ranks"):
        ranks = Table(show_header=True, header_style="bold")
        for col in ("rank", "host", "device", "result", "failed"):
            ranks.add_column(t(f"verify.label.{col}"))
        for r in result.distributed["ranks"]:
            ranks.add_row(str(r.rank), escape(r.host), escape(r.device), f"[{STYLE.get(r.status, '')}]{status_label(r.status)}[/]",
                          ", ".join(r.failed_stages))
        console.print(t("verify.label.world", world=result.distributed.get("world_size"),
                        launcher=result.distributed.get("launcher"), backend=result.distributed.get("backend") or "?"))
        console.print(ranks)

    counts = result.counts
    summary = t("verify.label.summary", passed=counts.get(PASS, 0), warned=counts.get(WARN, 0),
                failed=counts.get(FAIL, 0), skipped=counts.get(SKIP, 0) + counts.get(NOT_RUN, 0),
                seconds=f"{result.total_s:.1f}")
    if result.extension_cached is not None:
        summary += " " + t("verify.label.ext_cached" if result.extension_cached else "verify.label.ext_built")
    verdict = t("verify.label.verdict_pass" if result.status == PASS else "verify.label.verdict_fail")
    console.print(f"[{STYLE[result.status]}]{verdict}[/] {summary}")
    if result.report:
        console.print(t("verify.label.report_written", path=result.report))


def _check_line(c: Check) -> str:
    from rich.markup import escape

    label = c.name + (f" [{c.variant}]" if c.variant else "")
    parts = [f"[{STYLE.get(c.status, '')}]{status_label(c.status)}[/]", escape(label)]
    if c.value is not None and c.metric not in ("gradcheck",):
        if c.limit is not None:
            parts.append(escape(t("verify.label.value_vs_limit", value=fmt_value(c.value, c.metric),
                                  limit=fmt_value(c.limit, c.metric))))
        else:
            parts.append(escape(fmt_value(c.value, c.metric)))
    if c.message:
        parts.append("— " + escape(c.message))
    if c.error:
        parts.append("— " + escape(c.error))
    return " ".join(parts)
