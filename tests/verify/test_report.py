"""The HTML report: self-contained, rendered in headless Chromium (Debian's package), curve drawn, numbers
equal to the JSON. With DLSETUP_REQUIRE_CHROMIUM=1 (set by .ci/run) a missing Chromium is a failure."""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.chromium import chromium, headless
from tests.verify.conftest import stage

# The shared session fixtures (a cold C++ build, one default run) may land in any test's setup.
pytestmark = [pytest.mark.torch, pytest.mark.timeout(900)]

# Read at import: the autouse isolation fixture removes DLSETUP_* variables before each test runs.

PROBE = """
<script>
(function () {
  const out = {};
  const svg = document.getElementById('train-curve');
  const line = document.getElementById('curve-line');
  const sb = svg.getBoundingClientRect();
  const lb = line.getBoundingClientRect();
  const style = getComputedStyle(line);
  out.curve = {
    points: line.points.numberOfItems, length: line.getTotalLength(), width: lb.width, height: lb.height,
    inside: lb.left >= sb.left - 1 && lb.right <= sb.right + 1 && lb.top >= sb.top - 1 && lb.bottom <= sb.bottom + 1,
    stroke: style.stroke, strokeWidth: parseFloat(style.strokeWidth), visible: style.visibility,
    circles: Array.from(svg.querySelectorAll('circle.curve-point')).map(c => [c.dataset.epoch, c.dataset.accuracy]),
    // where each point is drawn (centre, in page pixels) and where the dashed target line is
    drawn: Array.from(svg.querySelectorAll('circle.curve-point')).map(c => {
      const b = c.getBoundingClientRect(); return [b.left + b.width / 2, b.top + b.height / 2]; }),
    targetY: document.getElementById('target-line').getBoundingClientRect().top
  };
  out.stages = Array.from(document.querySelectorAll('#stages tr[data-stage]')).map(
    r => [r.dataset.stage, r.dataset.status, r.cells[2].dataset.value, r.cells[1].textContent, r.cells[2].textContent]);
  out.checks = Array.from(document.querySelectorAll('table.checks tr[data-check]')).map(
    r => [r.closest('table').dataset.stage, r.dataset.name, r.dataset.variant, r.cells[2].dataset.value,
          r.cells[3].dataset.value, r.cells[2].textContent, r.cells[3].textContent]);
  out.verdict = document.getElementById('verdict').dataset.value;
  out.embedded = JSON.parse(document.getElementById('verify-data').textContent).status;
  out.title = document.title;
  out.external = Array.from(document.querySelectorAll('[src],link[href]')).length;
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def shown_number(text: str) -> float:
    """The number in a table cell as displayed: "3.45e-07", "0.1234", "99.07 %", "0.71 s"."""
    return float(text.replace("%", "").replace(" s", "").strip())




def test_report_is_self_contained_and_embeds_the_json(default_run):
    doc = json.loads(default_run["stdout"])
    page = default_run["report"].read_text(encoding="utf-8")
    assert doc["report"] == str(default_run["report"])
    assert page.startswith("<!DOCTYPE html>") and "<svg id=\"train-curve\"" in page
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=", page)  # nothing fetched from elsewhere
    embedded = re.search(r'<script type="application/json" id="verify-data">(.*?)</script>', page, re.S).group(1)
    expected = json.loads(json.dumps(doc))
    if (expected.get("machine") or {}).get("host"):
        expected["machine"]["host"] = "<hostname>"  # the page is made to be sent: no host name, as in snapshots
    assert json.loads(embedded) == expected


def test_report_renders_in_chromium(default_run, tmp_path):
    browser = chromium()
    doc = json.loads(default_run["stdout"])
    page = default_run["report"].read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    proc = headless(browser, tmp_path, "--dump-dom", probed.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"page did not load or the probe did not run: {proc.stderr[-2000:]}"
    probe = json.loads(html.unescape(match.group(1)))

    curve = stage(doc, "train")["details"]["curve"]
    assert probe["curve"]["points"] == len(curve) >= 1
    assert probe["curve"]["inside"] and probe["curve"]["visible"] == "visible"
    assert probe["curve"]["stroke"] not in ("none", "") and probe["curve"]["strokeWidth"] > 0
    if len(curve) > 1:
        assert probe["curve"]["length"] > 10 and probe["curve"]["width"] > 10
    assert [[json.loads(e), json.loads(a)] for e, a in probe["curve"]["circles"]] == \
        [[p["epoch"], p["accuracy"]] for p in curve]

    # The points are drawn where their numbers say: left to right by epoch, higher for a higher accuracy,
    # above the dashed target line exactly when they reach the target.
    drawn = probe["curve"]["drawn"]
    target = stage(doc, "train")["details"]["target"]
    assert [x for x, _ in drawn] == sorted(x for x, _ in drawn)
    for (_, y1), p1 in zip(drawn, curve, strict=True):
        assert (y1 < probe["curve"]["targetY"] + 0.5) == (p1["accuracy"] >= target), (p1, y1, probe["curve"])
        for (_, y2), p2 in zip(drawn, curve, strict=True):
            if p1["accuracy"] < p2["accuracy"]:
                assert y1 > y2, (p1, p2, y1, y2)

    assert json.loads(probe["verdict"]) == doc["status"] == probe["embedded"] == "pass"
    assert [(s, st, json.loads(d)) for s, st, d, _, _ in probe["stages"]] == \
        [(s["name"], s["status"], s["duration_s"]) for s in doc["stages"]]
    for (_, _, _, _, text), s in zip(probe["stages"], doc["stages"], strict=True):  # the time a reader sees
        if s["duration_s"] is not None:
            assert shown_number(text) == pytest.approx(s["duration_s"], abs=0.0051), (text, s["duration_s"])
    expected = [(s["name"], c["name"], c["variant"] or "", c["value"], c["limit"])
                for s in doc["stages"] for c in s["checks"]]
    assert [(st, n, v, json.loads(val), json.loads(lim)) for st, n, v, val, lim, _, _ in probe["checks"]] == expected
    # ... and the numbers a reader sees in the cells say the same as the JSON (to the digits shown)
    metrics = [c["metric"] for s in doc["stages"] for c in s["checks"]]
    shown = 0
    for (_, _, _, val, lim, val_text, lim_text), metric in zip(probe["checks"], metrics, strict=True):
        for raw, text in ((json.loads(val), val_text), (json.loads(lim), lim_text)):
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                continue
            number = shown_number(text)
            if metric == "accuracy":
                assert text.endswith("%") and number / 100 == pytest.approx(raw, abs=5.1e-5), (text, raw)
            else:
                assert number == pytest.approx(raw, rel=6e-3, abs=1e-300), (text, raw)
            shown += 1
    assert shown >= 40  # ops errors and limits, the accuracy, the extension's exact-element count...
    assert probe["external"] == 0 and "PASS" in probe["title"]

    shot = tmp_path / "report.png"
    headless(browser, tmp_path, f"--screenshot={shot}", "--window-size=1100,1600", default_run["report"].as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_report_in_chinese_and_not_overwriting_on_bad_path(cli, tmp_path):
    out = tmp_path / "报告.html"
    r = cli("verify", "--only", "env", "--lang", "zh", "--report", str(out))
    assert r.code == 0 and "报告已写入" in r.stdout
    page = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "dlsetup verify 报告" in page and "环境" in page
    # a directory as the report path is refused before anything runs
    r = cli("verify", "--only", "env", "--report", str(tmp_path))
    assert r.code == 2 and "is a directory" in r.stderr
