"""``--json`` documents state the same facts in every language, and name their command the same way in success
and error documents.

Only the keys in :data:`dlsetup.result.HUMAN_TEXT_FIELDS` may differ between ``--lang en`` and ``--lang zh``;
ids, severities, data, commands, argv and versions may not. Measured times differ from run to run, not by
language, and are left out of the comparison.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import click
import pytest

from dlsetup.result import HUMAN_TEXT_FIELDS

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
FIXTURES = sorted(p for p in SNAPSHOTS.rglob("*.json"))
_TIMING = re.compile(r"(_ms|_s)$|^probe_timings_ms$")


def facts(doc):
    """The document without its human text and its measured times."""
    if isinstance(doc, dict):
        return {k: facts(v) for k, v in doc.items() if k not in HUMAN_TEXT_FIELDS and not _TIMING.search(k)}
    if isinstance(doc, list):
        return [facts(v) for v in doc]
    return doc


def differences(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from differences(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def both_languages(cli, *args):
    docs = {}
    for lang in ("en", "zh"):
        run = cli("--lang", lang, *args, "--json")
        docs[lang] = json.loads(run.stdout)
    return docs["en"], docs["zh"]


def assert_same_facts(en, zh):
    diff = list(differences(facts(en), facts(zh)))
    assert not diff, "\n".join(diff[:20])


def test_the_fixture_set_is_the_one_the_issue_names():
    names = {p.relative_to(SNAPSHOTS).as_posix() for p in FIXTURES}
    assert len(names) >= 30 and any(n.startswith("windows/") for n in names)
    assert {"gtx1080ti-r590.json", "rtx3090-r470-cu126.json", "driver-library-mismatch.json"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.relative_to(SNAPSHOTS).as_posix())
def test_doctor_json_facts_do_not_depend_on_the_language(cli, path):
    en, zh = both_languages(cli, "doctor", "--snapshot", str(path))
    assert en["command"] == zh["command"] == "doctor"
    assert_same_facts(en, zh)
    # the human text does follow the language: a finding's title is Chinese under --lang zh
    for f_en, f_zh in zip(en["findings"], zh["findings"], strict=True):
        assert re.search(r"[\u4e00-\u9fff]", f_zh["title"]), f_zh["title"]
        assert f_en["title"] != f_zh["title"]


def test_remarks_between_fix_commands_are_notes_not_translated_command_lines(cli):
    """The driver, uvm and toolkit fixes had ``# …`` remarks translated inside ``commands``."""
    for name, fid in [("gtx1080ti-r590.json", "driver.not_loaded"),
                      ("rtx3080-uvm-after-suspend.json", "driver.cuinit_failed"),
                      ("rtx3090-r470-cu126.json", "toolkit.torch_mismatch"), ("rtx3090-r470-cu126.json", "torch.driver_too_old"),
                      ("driver-library-mismatch.json", "driver.version_mismatch")]:
        en, zh = both_languages(cli, "doctor", "--snapshot", str(SNAPSHOTS / name))
        f_en = next(f for f in en["findings"] if f["id"] == fid)
        f_zh = next(f for f in zh["findings"] if f["id"] == fid)
        assert f_en["notes"] and len(f_en["notes"]) == len(f_zh["notes"])
        assert not any(c.lstrip().startswith("#") or "   # " in c for c in f_en["commands"]), f_en["commands"]
        assert f_en["commands"] == f_zh["commands"]
        for n_en, n_zh in zip(f_en["notes"], f_zh["notes"], strict=True):
            assert n_en["id"].startswith("doctor.cmd.") and 0 <= n_en["at"] <= len(f_en["commands"])
            assert re.search(r"[\u4e00-\u9fff]", n_zh["text"]) and not n_en["text"].startswith("#")
    gtx, _ = both_languages(cli, "doctor", "--snapshot", str(SNAPSHOTS / "gtx1080ti-r590.json"))
    legacy = next(f for f in gtx["findings"] if f["id"] == "driver.not_loaded")
    assert legacy["data"]["archs"] == ["Maxwell", "Pascal", "Volta"]
    assert [n["id"] for n in legacy["notes"]] == ["doctor.cmd.if_legacy", "doctor.cmd.otherwise"]
    assert legacy["notes"][0]["params"] == {"last": "580"}
    # "otherwise:" stands before `sudo modprobe nvidia`, after the legacy driver's install and reboot
    assert legacy["commands"][legacy["notes"][1]["at"]] == "sudo modprobe nvidia"


def test_the_build_a_fix_installs_is_data(cli):
    en, zh = both_languages(cli, "doctor", "--snapshot", str(SNAPSHOTS / "rtx4090-torch-cpu.json"))
    f = next(f for f in en["findings"] if f["id"] == "torch.cpu_build")
    build = f["data"]["build"]
    assert build["name"] == "torch" and build["variant"].startswith("cu") and build["index_url"].startswith("https://")
    assert any(build["version"] in c for c in f["commands"])


def test_doctor_text_shows_notes_in_place(cli):
    run = cli("--lang", "zh", "doctor", "--snapshot", str(SNAPSHOTS / "gtx1080ti-r590.json"))
    lines = [ln.strip() for ln in run.stdout.splitlines()]
    i = lines.index("# 否则：")
    assert lines[i + 1] == "$ sudo modprobe nvidia" and lines[i - 1] == "$ sudo reboot"


@pytest.mark.parametrize("args", [
    ("resolve", "--snapshot", str(SNAPSHOTS / "h100-r580.json")),
    ("resolve", "torch", "--gpu-cc", "6.1", "--driver", "470.82.01"),  # nothing fits: reasons, rejected
    ("resolve", "torch", "--gpu-cc", "12.0", "--driver", "535.104.05", "--explain"),
    ("resolve", "tensorflow", "--os", "windows"),
    ("mirror", "status"),
    ("mirror", "list"),
    ("mirror", "tuna", "--dry-run", "--offline"),
    ("env", "list"),
    ("report", str(SNAPSHOTS)),
    ("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "h100-r580.json")),
    ("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "gtx1080ti-r590.json")),  # blocked by the driver
    ("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "rtx4090-torch-cpu.json")),
    ("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "windows" / "win-rtx3060-laptop-no-driver.json")),
    ("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "nodriver-k80-debian12.json")),
], ids=lambda a: " ".join(Path(x).name if "/" in x else x for x in a))
def test_command_json_facts_do_not_depend_on_the_language(cli, args):
    en, zh = both_languages(cli, *args)
    assert "error" not in en, en
    assert_same_facts(en, zh)


def test_mirror_status_with_a_mirror_in_force_states_the_same_facts(cli):
    assert cli("mirror", "tuna", "--offline", "--tools", "pip,uv").code == 0
    en, zh = both_languages(cli, "mirror", "status")
    assert en["current"]["mirror"] == "tuna"
    assert {t["tool"] for t in en["tools"] for row in t["rows"] if row["mirror"] == "tuna"} == {"pip", "uv"}
    assert_same_facts(en, zh)


def test_setup_blocked_by_the_driver_gives_commands_and_notes_apart(cli):
    en, zh = both_languages(cli, "setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "gtx1080ti-r590.json"))
    assert en["outcome"] == "blocked"
    assert all(not s.startswith("#") and "dlsetup setup again" not in s for s in en["next_steps"])
    assert en["next_notes"][-1]["id"] == "setup.next.again_after_reboot"
    assert en["next_notes"][-1]["at"] == len(en["next_steps"])
    assert "重启后" in zh["next_notes"][-1]["text"]


# --- the command name in success and error documents ------------------------------------------------------

def _leaves():
    """(words typed, click context, command) for every command a user can run."""
    from dlsetup.cli import cli as root

    out = []

    def walk(cmd, ctx, words):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                walk(sub, click.Context(sub, parent=ctx, info_name=name), [*words, name])
        else:
            out.append((words, ctx, cmd))

    walk(root, click.Context(root, info_name="dlsetup"), [])
    return out


def _result_names(cmd) -> set[str]:
    """The ``command`` its success documents carry: the Result(...) the command's function emits."""
    src = inspect.getsource(inspect.unwrap(cmd.callback))
    return set(re.findall(r'Result\(command="([^"]+)"', src))


def test_every_command_names_its_documents_once():
    from dlsetup.cli import document_name

    leaves = _leaves()
    assert len(leaves) >= 20
    for words, ctx, cmd in leaves:
        names = _result_names(cmd)
        assert names, f"{' '.join(words)} emits no Result"
        assert names == {document_name(ctx)}, (words, names, document_name(ctx))


@pytest.mark.parametrize("words", [w for w, _, _ in _leaves()], ids=" ".join)
def test_usage_error_document_names_the_command_as_success_does(cli, words):
    from dlsetup.cli import document_name

    ctx, cmd = next((c, m) for w, c, m in _leaves() if w == words)
    typed = ["mirror", "tuna"] if words == ["mirror", "apply"] else words  # the hidden default command
    run = cli(*typed, "--no-such-option", "--json")
    assert run.code == 2
    doc = json.loads(run.stdout)
    assert doc["error"]["code"] == "usage" and doc["exit_code"] == 2
    assert {doc["command"]} == _result_names(cmd) == {document_name(ctx)}


@pytest.mark.parametrize("ok, bad", [
    (("doctor", "--snapshot", str(SNAPSHOTS / "h100-r580.json")), ("doctor", "--snapshot", "missing.json")),
    (("resolve", "--snapshot", str(SNAPSHOTS / "h100-r580.json")), ("resolve", "--snapshot", "missing.json")),
    (("mirror", "tuna", "--dry-run", "--offline"), ("mirror", "no-such-mirror", "--dry-run")),
    (("report", str(SNAPSHOTS)), ("report", "missing-dir")),
    (("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "h100-r580.json")),
     ("setup", "--dry-run", "--snapshot", "missing.json")),
], ids=lambda a: a[0] + (" " + a[1] if a[0] == "mirror" else ""))
def test_bad_input_error_document_names_the_command_as_success_does(cli, ok, bad):
    good = json.loads(cli(*ok, "--json").stdout)
    run = cli(*bad, "--json")
    assert run.code == 2, run.stderr
    err = json.loads(run.stdout)
    assert "error" in err and "error" not in good
    assert err["command"] == good["command"]
