"""``dlsetup report``: many snapshots → one overview (text, JSON, HTML), hostile files skipped, numbers consistent."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.chromium import chromium, headless
from tests.report.snapgen import generate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
SNAPSHOTS = sorted(FIXTURES.glob("*.json"))
# Read at import: the autouse isolation fixture removes DLSETUP_* variables before each test runs.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def doctor_ids(cli, path: Path) -> tuple[list[str], dict]:
    r = cli("doctor", "--snapshot", str(path), "--json")
    doc = r.json()
    return [f["id"] for f in doc["findings"]], doc["counts"]


def check_consistent(doc: dict) -> None:
    """The causes are exactly the findings of the machines, grouped; the totals add up."""
    by_id: dict[str, list[str]] = {}
    for m in doc["machines"]:
        for fid in dict.fromkeys(m["findings"]):
            by_id.setdefault(fid, []).append(m["name"])
    assert {c["id"]: c["machines"] for c in doc["causes"]} == by_id
    for c in doc["causes"]:
        assert c["count"] == len(c["machines"]) >= 1
        assert sorted(n for v in c["fixes"] for n in v["machines"]) == sorted(c["machines"])
    t = doc["totals"]
    statuses = Counter(m["status"] for m in doc["machines"])
    assert (t["ok"], t["warning"], t["error"]) == (statuses["ok"], statuses["warning"], statuses["error"])
    assert t["machines"] == len(doc["machines"]) and t["unreadable"] == len(doc["unreadable"])
    assert t["files"] == t["machines"] + t["unreadable"]
    for m in doc["machines"]:
        expected = "error" if m["errors"] else "warning" if m["warnings"] else "ok"
        assert m["status"] == expected


def test_fixtures_one_row_per_machine_with_doctors_findings(cli):
    r = cli("report", str(FIXTURES), "--json")
    doc = r.json()
    assert doc["command"] == "report" and doc["schema_version"] == 1
    assert [m["name"] for m in doc["machines"]] == [p.stem for p in SNAPSHOTS]
    assert doc["unreadable"] == []
    for m, path in zip(doc["machines"], SNAPSHOTS, strict=True):
        ids, counts = doctor_ids(cli, path)  # exactly what `doctor --snapshot` finds on that machine
        assert m["findings"] == ids, path.name
        assert (m["errors"], m["warnings"], m["notes"]) == (counts["error"], counts["warning"], counts["info"])
    check_consistent(doc)
    causes = {c["id"]: c for c in doc["causes"]}
    # two machines share torch.arch_missing (an RTX 5090 with cu124 and a V100 with 2.11+cu128): one cause, two
    # machines, and two fix wordings because each needs a different build
    arch = causes["torch.arch_missing"]
    assert arch["machines"] == ["rtx5090-cu124", "v100-torch211-cu128"] and len(arch["fixes"]) == 2
    assert causes["driver.gpu_lost"]["machines"] == ["a100-gpu-lost"]
    # errors first, then by machine count
    ranks = [({"error": 0, "warning": 1, "info": 2}[c["severity"]], -c["count"]) for c in doc["causes"]]
    assert ranks == sorted(ranks)
    assert r.code == 1 and doc["exit_code"] == 1  # some machine has an error


def test_text_gives_each_fix_once_with_its_machines(cli):
    r = cli("report", str(FIXTURES / "rtx4090-torch-cpu.json"), str(FIXTURES / "container-no-gpus.json"),
            str(FIXTURES / "h100-r580.json"))
    assert r.code == 1
    out = r.stdout
    assert "3 machines from 3 files" in out and "1 without problems; 2 with errors" in out
    assert out.count("sudo nvidia-ctk runtime configure --runtime=docker") == 1
    assert "machines: container-no-gpus" in out and "(torch.cpu_build)" in out
    assert "8 × NVIDIA H100 80GB HBM3" in out  # eight equal GPUs shown once, with their count


def test_exit_codes(cli, tmp_path):
    ok = [str(FIXTURES / "h100-r580.json"), str(FIXTURES / "wsl2-rtx4070.json")]
    assert cli("report", *ok).code == 0
    # notes only (gpu.none is info): still 0, also with --strict
    assert cli("report", str(FIXTURES / "ci-box.json"), "--strict").code == 0
    # nouveau-no-driver has warnings besides its error; a warnings-only machine exits 3 under --strict
    warn = json.loads((FIXTURES / "nouveau-no-driver.json").read_text())
    warn["nvidia"]["other_gpus"] = []  # no NVIDIA hardware: the nouveau error goes, the pip/disk warnings stay
    (tmp_path / "w.json").write_text(json.dumps(warn))
    r = cli("report", str(tmp_path / "w.json"), "--strict", "--json")
    assert r.json()["totals"]["warning"] == 1 and r.code == 3
    assert cli("report", str(tmp_path / "w.json")).code == 0
    # bad input: a missing path, a directory without snapshots
    r = cli("report", str(tmp_path / "nope"))
    assert r.code == 2 and "no such file or directory" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "empty").mkdir()
    r = cli("report", str(tmp_path / "empty"))
    assert r.code == 2 and "no snapshot files" in r.stderr


def hostile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "snaps"
    d.mkdir()
    shutil.copy(FIXTURES / "rtx4090-torch-cpu.json", d / "good.json")
    (d / "garbage.json").write_bytes(b"\x00\xffnot json at all")
    (d / "text.json").write_text("{ this is not JSON", encoding="utf-8")
    (d / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    (d / "deep.json").write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    (d / "report.json").write_text(json.dumps({"command": "doctor", "findings": [], "schema_version": 1}))
    (d / "future.json").write_text(json.dumps({"kind": "dlsetup.snapshot", "schema_version": 99}))
    with open(d / "huge.json", "wb") as f:  # sparse: 17 MiB that are never read
        f.truncate(17 * 1024 * 1024)
    wrong = json.loads((FIXTURES / "rtx4090-torch-cpu.json").read_text())
    wrong["nvidia"]["gpus"] = "not a list"
    (d / "wrong-type.json").write_text(json.dumps(wrong))
    evil = json.loads((FIXTURES / "rtx4090-torch-cpu.json").read_text())
    evil["nvidia"]["gpus"][0]["name"] = "<script>alert(1)</script>\x1b[31mRED\x1b[0m\u202egpu"
    evil["nvidia"]["driver_version"] = "550.127.05\x07<b>"
    (d / "evil\x1b[2J<img src=x>.json").write_text(json.dumps(evil))
    (d / "notes.txt").write_text("not picked: only *.json in a directory")
    return d


def test_hostile_files_are_skipped_with_one_line_each(cli, tmp_path):
    d = hostile_dir(tmp_path)
    r = cli("report", str(d), "--json")
    assert r.code == 1, r
    doc = r.json()
    bad = {u["name"]: u["error"] for u in doc["unreadable"]}
    assert set(bad) == {"garbage", "text", "list", "deep", "report", "future", "huge", "wrong-type"}
    assert "not JSON" in bad["text"] and "larger than 16 MiB" in bad["huge"]
    assert "doctor" in bad["report"] and "--save-snapshot" in bad["report"]  # says what the file is instead
    assert all("\n" not in e and len(e) <= 500 for e in bad.values())
    assert sorted(m["name"] for m in doc["machines"]) == ["evil\\x1b[2J<img src=x>", "good"]
    check_consistent(doc)
    evil = next(m for m in doc["machines"] if m["name"].startswith("evil"))
    assert not _CONTROL.search(json.dumps(doc, ensure_ascii=False).replace("\\n", ""))
    assert evil["gpus"] == ["<script>alert(1)</script>\\x1b[31mRED\\x1b[0m\\u202egpu"]

    text = cli("report", str(d))
    assert text.code == 1 and "Traceback" not in text.stderr
    assert not _CONTROL.search(text.stdout.replace("\n", "")), "control characters reached the terminal"
    assert "Files that could not be read" in text.stdout and "huge.json" in text.stdout

    page_path = tmp_path / "r.html"
    assert cli("report", str(d), "--html", str(page_path)).code == 1
    page = page_path.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_nothing_readable_is_bad_input(cli, tmp_path):
    (tmp_path / "a.json").write_text("nope")
    r = cli("report", str(tmp_path / "a.json"), "--json")
    assert r.code == 2 and r.json()["totals"]["unreadable"] == 1 and r.json()["machines"] == []


def test_two_hundred_generated_snapshots(cli, tmp_path):
    paths = generate(200, tmp_path / "snaps")
    r = cli("report", str(tmp_path / "snaps"), "--json")
    doc = r.json()
    assert doc["totals"]["machines"] == 200 and doc["unreadable"] == []
    check_consistent(doc)
    causes = {c["id"]: c["count"] for c in doc["causes"]}
    # the mutations produce the classic classroom causes
    assert {"torch.cpu_build", "torch.driver_too_old", "torch.arch_missing"} <= set(causes)
    assert doc["totals"]["ok"] >= 1 and doc["totals"]["error"] >= 100
    for path in paths[::25]:  # spot-check rows against doctor itself
        ids, _ = doctor_ids(cli, path)
        assert next(m for m in doc["machines"] if m["name"] == path.stem)["findings"] == ids


def test_chinese_text(cli):
    r = cli("report", str(FIXTURES), "--lang", "zh")
    assert "dlsetup 汇总报告" in r.stdout and "台机器" in r.stdout and "修复" in r.stdout


PROBE = """
<script>
(function () {
  const out = {};
  out.bars = Array.from(document.querySelectorAll('#causes-chart rect.cause-bar')).map(
    b => [b.dataset.id, JSON.parse(b.dataset.count), b.getBoundingClientRect().width]);
  out.barLabels = Array.from(document.querySelectorAll('#causes-chart text.cause-count')).map(t => t.textContent);
  out.causes = Array.from(document.querySelectorAll('#causes .cause')).map(c => [c.dataset.id, JSON.parse(c.dataset.count)]);
  const rows = () => Array.from(document.querySelectorAll('#machines tbody tr'));
  out.rows = rows().map(r => [r.dataset.machine, r.dataset.status, JSON.parse(r.cells[5].dataset.value),
                              JSON.parse(r.cells[6].dataset.value), r.cells[5].textContent]);
  const t = document.getElementById('totals').dataset;
  out.totals = [t.machines, t.ok, t.warning, t.error, t.unreadable].map(Number);
  // click the "Errors" heading twice: ascending, then descending
  const th = document.querySelector('#machines th[data-col="errors"]');
  th.click();
  out.asc = rows().map(r => JSON.parse(r.cells[5].dataset.value));
  th.click();
  out.desc = rows().map(r => JSON.parse(r.cells[5].dataset.value));
  document.querySelector('#machines th[data-col="machine"]').click();
  out.byName = rows().map(r => r.dataset.machine);
  out.embedded = JSON.parse(document.getElementById('report-data').textContent).totals;
  out.external = Array.from(document.querySelectorAll('[src],link[href]')).length;
  out.title = document.title;
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""




@pytest.mark.timeout(300)
def test_html_page_renders_in_chromium_with_the_json_numbers(cli, tmp_path):
    browser = chromium()
    snaps = tmp_path / "snaps"
    generate(60, snaps)
    shutil.copy(FIXTURES / "a100-gpu-lost.json", snaps)
    (snaps / "broken.json").write_text("{")
    page_path = tmp_path / "class.html"
    r = cli("report", str(snaps), "--html", str(page_path), "--json")
    doc = r.json()
    assert doc["html"] == str(page_path)
    page = page_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and not re.search(r"<(script|img|link)[^>]+(src|href)=", page)
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in embedded and json.loads(embedded) == doc

    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = headless(browser, tmp_path, "--dump-dom", probed.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"page did not load or the probe did not run: {proc.stderr[-2000:]}"
    probe = json.loads(html.unescape(match.group(1)))

    expected = [[c["id"], c["count"]] for c in doc["causes"]]
    assert [[i, n] for i, n, _ in probe["bars"]] == expected == probe["causes"]
    assert probe["barLabels"] == [str(c["count"]) for c in doc["causes"]]
    widths = {i: w for i, _, w in probe["bars"]}
    for a in doc["causes"]:  # bar length follows the count
        for b in doc["causes"]:
            if a["count"] > b["count"]:
                assert widths[a["id"]] > widths[b["id"]]
    assert all(w > 0 for w in widths.values())
    assert [[m, s, e, w] for m, s, e, w, _ in probe["rows"]] == \
        [[m["name"], m["status"], m["errors"], m["warnings"]] for m in doc["machines"]]
    assert all(str(e) == shown for _, _, e, _, shown in probe["rows"])
    t = doc["totals"]
    assert probe["totals"] == [t["machines"], t["ok"], t["warning"], t["error"], t["unreadable"]] == \
        [61, t["ok"], t["warning"], t["error"], 1]
    assert probe["embedded"] == t
    assert probe["asc"] == sorted(m["errors"] for m in doc["machines"])
    assert probe["desc"] == sorted((m["errors"] for m in doc["machines"]), reverse=True)
    assert probe["byName"] == sorted(m["name"] for m in doc["machines"])
    assert probe["external"] == 0 and "dlsetup report" in probe["title"]

    shot = tmp_path / "report.png"
    headless(browser, tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", page_path.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_path_checked_before_reading(cli, tmp_path):
    r = cli("report", str(FIXTURES), "--html", str(tmp_path))  # a directory
    assert r.code == 2 and "is a directory" in r.stderr
    r = cli("report", str(FIXTURES), "--html", str(tmp_path / "missing" / "x.html"))
    assert r.code == 2 and not (tmp_path / "missing").exists()
