"""``report --html FILE``: one self-contained page for a teacher or an admin.

No external files: inline CSS, the causes as an inline SVG bar chart, a small inline script that sorts the
machine table when a heading is clicked, and the same JSON document ``--json`` prints embedded in a
``<script type="application/json" id="report-data">`` block. Every number shown also sits in a
``data-value`` attribute exactly as it is in the JSON. Every string is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from typing import Any

from dlsetup.i18n import language, t
from dlsetup.report.model import Overview
from dlsetup.report.render import gpu_label, machines_count, summary_line

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;
 margin:0 auto;max-width:1200px;padding:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin-bottom:12px}
.error{color:#cf222e} .warning{color:#9a6700} .info{color:#0969da} .ok{color:#1a7f37}
table{border-collapse:collapse;width:100%;margin:6px 0} th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} #machines th{cursor:pointer;user-select:none} #machines th[aria-sort]::after{content:" \\2195";color:#8c959f}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:#f6f8fa;padding:1px 4px}
.cause{margin:10px 0 14px} .cause .machines{color:#57606a} .fix{margin:4px 0 0 12px}
svg text{font-size:12px;fill:#1f2328}
"""

SORT_JS = """
(function(){
  var table=document.getElementById('machines');
  var heads=table.tHead.rows[0].cells;
  function key(cell){var v=cell.getAttribute('data-value');try{return JSON.parse(v);}catch(e){return v;}}
  function cmp(a,b){
    if(a===null)a='';if(b===null)b='';
    if(typeof a==='number'&&typeof b==='number')return a-b;
    return String(a).localeCompare(String(b));}
  Array.prototype.forEach.call(heads,function(th,i){
    th.addEventListener('click',function(){
      var asc=th.getAttribute('aria-sort')!=='ascending';
      Array.prototype.forEach.call(heads,function(h){h.setAttribute('aria-sort','none');});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(r1,r2){var c=cmp(key(r1.cells[i]),key(r2.cells[i]));return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
})();
"""

_STATUS_RANK = {"error": 2, "warning": 1, "ok": 0}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _dv(value: Any) -> str:
    return _e(json.dumps(value, ensure_ascii=False))


def causes_svg(o: Overview) -> str:
    """One horizontal bar per cause, its length proportional to the number of machines."""
    bar_h, gap, left, right, top = 22, 6, 260, 60, 8
    width = 900
    n = len(o.causes)
    height = top * 2 + max(1, n) * (bar_h + gap)
    most = max((c.count for c in o.causes), default=1) or 1
    plot = width - left - right
    parts = [f'<svg id="causes-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{_e(t("report.html.chart"))}">']
    colors = {"error": "#cf222e", "warning": "#bf8700", "info": "#0969da"}
    for i, c in enumerate(o.causes):
        y = top + i * (bar_h + gap)
        w = plot * c.count / most
        label = c.id if len(c.id) <= 38 else c.id[:37] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end">{_e(label)}</text>')
        parts.append(f'<rect class="cause-bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{colors.get(c.severity, "#57606a")}" data-id="{_e(c.id)}" data-count="{_dv(c.count)}">'
                     f'<title>{_e(c.title)}</title></rect>')
        parts.append(f'<text class="cause-count" x="{left + w + 6:.1f}" y="{y + bar_h / 2 + 4:.1f}">{c.count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(o: Overview, doc: dict[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    lang = "zh-CN" if language() == "zh" else "en"
    title = t("report.html.title")
    w(f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
      f'<meta name="viewport" content="width=device-width, initial-scale=1">'
      f"<title>{_e(title)} — {o.totals.machines}</title><style>{CSS}</style></head><body>")
    w(f"<h1>{_e(t('report.header', machines=o.totals.machines, files=o.totals.files))}</h1>")
    w(f'<div class="meta" id="totals" data-machines="{o.totals.machines}" data-ok="{o.totals.ok}" '
      f'data-warning="{o.totals.warning}" data-error="{o.totals.error}" data-unreadable="{o.totals.unreadable}">'
      f"{_e(summary_line(o))}</div>")

    w(f"<h2>{_e(t('report.label.causes'))}</h2>")
    if o.causes:
        w(causes_svg(o))
        w('<div id="causes">')
        for c in o.causes:
            w(f'<div class="cause" data-id="{_e(c.id)}" data-count="{_dv(c.count)}">'
              f'<strong class="{_e(c.severity)}">{_e(t("report.severity." + c.severity))}</strong> '
              f'<strong>{_e(machines_count(c.count))}</strong> — {_e(c.title)} '
              f'<code>{_e(c.id)}</code>'
              f'<div class="machines">{_e(t("report.label.machines", names=", ".join(c.machines)))}</div>')
            for v in c.fixes:
                label = t("report.label.fix") if len(c.fixes) == 1 else t("report.label.fix_for",
                                                                            names=", ".join(v.machines))
                w(f'<div class="fix"><strong>{_e(label)}:</strong> {_e(v.fix)}')
                for kind, line in v.lines():
                    w(f'<div class="note"># {_e(line)}</div>' if kind == "note" else f"<div><code>$ {_e(line)}</code></div>")
                w("</div>")
            w("</div>")
        w("</div>")
    else:
        w(f'<p class="ok">{_e(t("report.label.no_causes"))}</p>')

    w(f"<h2>{_e(t('report.label.machine_table'))}</h2><p class=\"meta\">{_e(t('report.html.sort_hint'))}</p>")
    cols = ("machine", "status", "gpu", "driver", "torch", "errors", "warnings", "findings")
    w('<table id="machines"><thead><tr>' + "".join(
        f'<th data-col="{c}" aria-sort="none">{_e(t("report.col." + c))}</th>' for c in cols) + "</tr></thead><tbody>")
    for r in o.machines:
        gpu = gpu_label(r.gpus)
        cells = [
            (r.name, _e(r.name), ""),
            (_STATUS_RANK.get(r.status, 0), f'<span class="{_e(r.status)}">{_e(t("report.status." + r.status))}</span>',
             ""),
            (gpu, _e(gpu), ""),
            (r.driver, _e(r.driver or "—"), ""),
            (r.torch, _e(r.torch or "—"), ""),
            (r.errors, str(r.errors), ' class="num"'),
            (r.warnings, str(r.warnings), ' class="num"'),
            (" ".join(r.findings), " ".join(f"<code>{_e(f)}</code>" for f in r.findings), ""),
        ]
        w(f'<tr data-machine="{_e(r.name)}" data-status="{_e(r.status)}">' + "".join(
            f"<td{cls} data-value=\"{_dv(value)}\">{shown}</td>" for value, shown, cls in cells) + "</tr>")
    w("</tbody></table>")

    if o.unreadable:
        w(f"<h2 class=\"error\">{_e(t('report.label.unreadable'))}</h2><table id=\"unreadable\"><thead><tr>"
          f"<th>{_e(t('report.col.file'))}</th><th>{_e(t('report.col.error'))}</th></tr></thead><tbody>")
        for u in o.unreadable:
            w(f'<tr data-file="{_e(u.path)}"><td>{_e(u.path)}</td><td>{_e(u.error)}</td></tr>')
        w("</tbody></table>")

    # No "<" at all inside the script element: neither "</script" nor "<!--" can change how it parses.
    data = json.dumps(doc, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    w(f'<script type="application/json" id="report-data">{data}</script>')
    w(f"<script>{SORT_JS}</script></body></html>\n")
    return "".join(out)


def write_html(o: Overview, doc: dict[str, Any], path: str) -> None:
    from dlsetup.errors import UsageError
    from dlsetup.util.atomic import write_text_atomic

    try:
        write_text_atomic(path, render_html(o, doc))
    except OSError as exc:
        raise UsageError("core.error.not_writable", path=path, reason=exc.strerror or str(exc)) from None
