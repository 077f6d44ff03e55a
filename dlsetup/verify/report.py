"""``verify --report FILE.html``: one self-contained page a student can open or send.

No scripts, no external files: inline CSS, the training curve as inline SVG, and the same JSON document
``--json`` prints embedded in a ``<script type="application/json" id="verify-data">`` block. Every number
shown in a table cell also sits in a ``data-value`` attribute exactly as it is in the JSON.
"""

from __future__ import annotations

import html
import json
from typing import Any

from dlsetup.errors import UsageError
from dlsetup.i18n import language, t
from dlsetup.util.atomic import write_text_atomic
from dlsetup.util.redact import redact_url
from dlsetup.verify.model import FAIL, PASS, VerifyResult
from dlsetup.verify.render import fmt_seconds, fmt_value, status_label

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;
 margin:0 auto;max-width:1100px;padding:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#57606a;margin-bottom:12px} .badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600}
.pass{color:#1a7f37} .warn{color:#9a6700} .fail{color:#cf222e} .skip,.not_run,.info{color:#57606a}
.badge.pass{background:#dafbe1} .badge.fail{background:#ffebe9}
table{border-collapse:collapse;width:100%;margin:6px 0} th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f8fa;padding:8px;overflow:auto}
svg text{font-size:11px;fill:#57606a}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _dv(value: Any) -> str:
    """The value exactly as the JSON document holds it, for a data-value attribute."""
    return _e(json.dumps(value, ensure_ascii=False))


def curve_svg(curve: list[dict[str, Any]], target: float, max_epochs: float) -> str:
    """The held-out accuracy per evaluation as an SVG line chart, with the target as a dashed line."""
    width, height, left, right, top, bottom = 640, 300, 56, 16, 16, 40
    pw, ph = width - left - right, height - top - bottom
    x_max = max([max_epochs] + [p["epoch"] for p in curve]) if curve else max_epochs
    x_max = max(1.0, min(x_max, max(p["epoch"] for p in curve) * 1.25 if curve else x_max))
    lows = [p["accuracy"] for p in curve] + [target]
    y_min = max(0.0, min(0.5, (int(min(lows) * 10) / 10.0)))

    def x(e: float) -> float:
        return left + pw * e / x_max

    def y(a: float) -> float:
        return top + ph * (1 - (a - y_min) / (1 - y_min))

    parts = [f'<svg id="train-curve" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{_e(t("verify.report.curve_title"))}">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfc" stroke="#d0d7de"/>']
    steps = 5
    for i in range(steps + 1):
        a = y_min + (1 - y_min) * i / steps
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(a):.1f}" y2="{y(a):.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{left - 6}" y="{y(a) + 4:.1f}" text-anchor="end">{100 * a:.0f}%</text>')
    ticks = max(1, round(x_max * 4)) if x_max <= 2 else max(1, round(x_max))
    for i in range(ticks + 1):
        e = x_max * i / ticks
        parts.append(f'<text x="{x(e):.1f}" y="{top + ph + 16}" text-anchor="middle">{e:.2g}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle">{_e(t("verify.report.epochs"))}</text>')
    parts.append(f'<line id="target-line" x1="{left}" x2="{left + pw}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                 f'stroke="#cf222e" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{left + pw - 4}" y="{y(target) - 5:.1f}" text-anchor="end">'
                 f'{_e(t("verify.report.target", percent=round(100 * target)))}</text>')
    if curve:
        pts = " ".join(f"{x(p['epoch']):.1f},{y(p['accuracy']):.1f}" for p in curve)
        parts.append(f'<polyline id="curve-line" points="{pts}" fill="none" stroke="#0969da" stroke-width="2.5"/>')
        for p in curve:
            parts.append(f'<circle class="curve-point" cx="{x(p["epoch"]):.1f}" cy="{y(p["accuracy"]):.1f}" r="3.5" '
                         f'fill="#0969da" data-epoch="{_dv(p["epoch"])}" data-accuracy="{_dv(p["accuracy"])}">'
                         f'<title>{p["epoch"]}: {100 * p["accuracy"]:.2f}%</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(result: VerifyResult, doc: dict[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    verdict = t("verify.label.verdict_pass" if result.status == PASS else "verify.label.verdict_fail")
    lang = "zh-CN" if language() == "zh" else "en"
    w(f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
      f'<meta name="viewport" content="width=device-width, initial-scale=1">'
      f"<title>{_e(t('verify.report.title'))} — {_e(verdict)}</title><style>{CSS}</style></head><body>")
    w(f"<h1>{_e(t('verify.report.title'))} <span id=\"verdict\" class=\"badge {result.status}\" "
      f"data-value=\"{_dv(result.status)}\">{_e(verdict)}</span></h1>")
    meta = [result.created or "", f"dlsetup {result.dlsetup_version or ''}", t(f"verify.mode.{result.mode}"),
            t("verify.report.total", seconds=f"{result.total_s:.1f}")]
    w(f'<div class="meta">{" · ".join(_e(m) for m in meta if m)}</div>')

    w(f"<h2>{_e(t('verify.report.environment'))}</h2><table id=\"summary\">")
    rows = [("python", t("verify.report.python"), result.python), ("python_version", "Python", result.python_version),
            ("torch", "torch", result.torch), ("torch_cuda", "CUDA (torch)", result.torch_cuda),
            ("device", t("verify.report.device"), result.device), ("device_name", t("verify.report.device_name"),
                                                                   result.device_name)]
    env = result.stage("env")
    if env is not None:
        d = env.details
        rows += [("cudnn", "cuDNN", d.get("cudnn")), ("arch_list", t("verify.report.arch_list"),
                                                     " ".join(d.get("arch_list") or []) or None),
                 ("nvcc", "nvcc", (d.get("nvcc") or {}).get("version")),
                 ("cxx", t("verify.report.compiler"), (d.get("cxx") or {}).get("banner")),
                 ("ninja", "ninja", (d.get("ninja") or {}).get("version"))]
    for key, label, value in rows:
        if value is not None:
            w(f'<tr><th>{_e(label)}</th><td data-key="{key}" data-value="{_dv(value)}">{_e(value)}</td></tr>')
    w("</table>")
    if result.machine:
        m = result.machine
        w(f"<h3>{_e(t('verify.report.machine'))}</h3><table id=\"machine\">")
        gpus = ", ".join(f"{g['name']}" + (f" (CC {g['cc']})" if g.get("cc") else "") for g in m.get("gpus") or [])
        for label, value in ((t("verify.report.host"), m.get("host")), ("OS", m.get("os")), ("kernel", m.get("kernel")),
                             ("CPU", f"{m.get('cpu') or '?'} × {m.get('cpus') or '?'}"),
                             (t("verify.report.memory"), f"{m['memory_gib']} GiB" if m.get("memory_gib") else None),
                             (t("verify.report.driver"), m.get("driver")), ("GPU", gpus or t("verify.report.no_gpu"))):
            if value:
                w(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>")
        w("</table>")

    w(f"<h2>{_e(t('verify.report.stages'))}</h2><table id=\"stages\"><tr><th>{_e(t('verify.label.stage'))}</th>"
      f"<th>{_e(t('verify.label.result'))}</th><th>{_e(t('verify.label.time'))}</th>"
      f"<th>{_e(t('verify.label.details'))}</th></tr>")
    for s in result.stages:
        w(f'<tr data-stage="{_e(s.name)}" data-status="{_e(s.status)}"><td>{_e(s.title)}</td>'
          f'<td class="{s.status}">{_e(status_label(s.status))}</td>'
          f'<td class="num" data-value="{_dv(s.duration_s)}">{_e(fmt_seconds(s.duration_s))}</td>'
          f"<td>{_e(s.message or '')}</td></tr>")
    w("</table>")

    train = result.stage("train")
    if train is not None and train.details.get("curve"):
        d = train.details
        w(f"<h2>{_e(t('verify.report.curve_title'))}</h2>")
        w(curve_svg(d["curve"], float(d.get("target", 0.97)), float(d.get("max_epochs", 5))))
        target = float(d.get("target", 0.97))
        reached = any(p["accuracy"] >= target for p in d["curve"])
        caption = t("verify.report.curve_caption" if reached else "verify.report.curve_caption_missed",
                    samples=d.get("train_samples"), held_out=d.get("test_samples"), epochs=d.get("epochs"),
                    seconds=d.get("train_s"), accuracy=f"{100 * d['curve'][-1]['accuracy']:.2f}")
        w(f"<p>{_e(caption)}</p>")

    w(f"<h2>{_e(t('verify.report.checks'))}</h2>")
    for s in result.stages:
        if not s.checks:
            continue
        w(f'<h3 id="stage-{_e(s.name)}">{_e(s.title)} <span class="{s.status}">{_e(status_label(s.status))}</span></h3>')
        w(f'<table class="checks" data-stage="{_e(s.name)}"><tr><th>{_e(t("verify.report.check"))}</th>'
          f"<th>{_e(t('verify.report.variant'))}</th><th>{_e(t('verify.report.value'))}</th>"
          f"<th>{_e(t('verify.report.limit'))}</th><th>{_e(t('verify.label.result'))}</th>"
          f"<th>{_e(t('verify.label.details'))}</th></tr>")
        for i, c in enumerate(s.checks):
            key = f"{s.name}.{i}"
            w(f'<tr data-check="{_e(key)}" data-name="{_e(c.name)}" data-variant="{_e(c.variant or "")}">'
              f"<td>{_e(c.name)}</td><td>{_e(c.variant or '')}</td>"
              f'<td class="num" data-value="{_dv(c.value)}">{_e(fmt_value(c.value, c.metric))}</td>'
              f'<td class="num" data-value="{_dv(c.limit)}">{_e(fmt_value(c.limit, c.metric))}</td>'
              f'<td class="{c.status}">{_e(status_label(c.status))}</td>'
              f"<td>{_e(' — '.join(x for x in (c.message, c.error) if x))}</td></tr>")
        w("</table>")
        if s.status == FAIL and s.details.get("stack"):
            w(f"<pre>{_e(chr(10).join(s.details['stack']))}</pre>")

    if result.distributed:
        dist = result.distributed
        w(f"<h2>{_e(t('verify.report.distributed'))}</h2><p>{_e(t('verify.label.world', world=dist.get('world_size'), launcher=dist.get('launcher'), backend=dist.get('backend') or '?'))}</p>")
        if dist.get("ranks"):
            w('<table id="ranks"><tr>' + "".join(f"<th>{_e(t(f'verify.label.{c}'))}</th>" for c in
                                                 ("rank", "host", "device", "result", "failed")) + "</tr>")
            for r in dist["ranks"]:
                w(f'<tr data-rank="{r.rank}"><td>{r.rank}</td><td>{_e(r.host)}</td><td>{_e(r.device)}</td>'
                  f'<td class="{r.status}">{_e(status_label(r.status))}</td><td>{_e(", ".join(r.failed_stages))}</td></tr>')
            w("</table>")

    # "<", ">" and "&" as JSON escapes: "<!--<script>" in a reported string would otherwise switch the HTML
    # parser into a state where the embedded block swallows the rest of the page
    names = _host_labels(result)
    data = _json_for_script(_hide_hosts(doc, names))
    page = _hide_hosts(redact_url("".join(out)), names, html_text=True)
    return (page + f'<script type="application/json" id="verify-data">{data}</script>'
            + f'<p class="meta">{_e(t("verify.report.footer"))}</p></body></html>')


def _json_for_script(doc: Any) -> str:
    from dlsetup.util.textsafe import dumps

    text = dumps(doc, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _host_labels(result: VerifyResult) -> dict[str, str]:
    """The page is made to be sent: host names go, as they do from a redacted snapshot (``<hostname>`` for
    this machine, ``<host-N>`` for the other nodes of a distributed run, so ranks stay distinguishable)."""
    import socket

    local = {h for h in (socket.gethostname(), (result.machine or {}).get("host")) if h}
    names: dict[str, str] = {h: "<hostname>" for h in local}
    for r in (result.distributed or {}).get("ranks") or []:
        host = getattr(r, "host", None)
        if host and host not in names and host != "?":
            names[host] = f"<host-{len(names) - len(local) + 1}>"
    return names


def _hide_hosts(value: Any, names: dict[str, str], html_text: bool = False) -> Any:
    import re

    if isinstance(value, dict):
        return {k: _hide_hosts(v, names, html_text) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_hosts(v, names, html_text) for v in value]
    if not isinstance(value, str):
        return value
    for host in sorted(names, key=len, reverse=True):
        form, label = (_e(host), _e(names[host])) if html_text else (host, names[host])
        value = re.sub(r"(?<![\w.-])" + re.escape(form) + r"(?![\w-])", lambda _m, lab=label: lab, value)
    return value


def write_report(result: VerifyResult, path: str) -> None:
    """Write the page atomically (a half-written report never replaces a good one)."""
    from dlsetup.errors import OperationFailed
    from dlsetup.result import Result

    doc = Result(command="verify", data=result, exit_code=1 if result.status == FAIL else 0).to_json()
    try:
        write_text_atomic(path, render_html(result, doc))
    except OSError as exc:
        raise OperationFailed("core.error.not_writable", path=path, reason=str(exc)) from None


def check_writable(path: str) -> None:
    """Refuse a report path that cannot be written before spending minutes on the run (exit 2)."""
    import os

    target = os.path.abspath(path)
    parent = os.path.dirname(target)
    if os.path.isdir(target):
        raise UsageError("verify.error.report_is_dir", path=path)
    if not os.path.isdir(parent):
        raise UsageError("verify.error.report_dir_missing", path=path, dir=parent)
    if not os.access(parent, os.W_OK) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise UsageError("core.error.not_writable", path=path, reason="permission denied")
