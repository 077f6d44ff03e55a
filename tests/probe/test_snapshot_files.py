"""``--snapshot`` given a JSON file that is not a snapshot: the error says what the file is, in the user's language,
and how to make the right one (a student most often sends the ``doctor --json`` report instead)."""

from __future__ import annotations

import json

import pytest

from dlsetup import i18n
from dlsetup.errors import UsageError
from dlsetup.probe.snapshot import load_snapshot


def test_a_doctor_json_report_is_named_as_such(cli, tmp_path):
    report = tmp_path / "report.json"
    r = cli("doctor", "--json")
    assert r.code == 0
    report.write_text(r.stdout)
    with pytest.raises(UsageError) as err:
        load_snapshot(report)
    assert err.value.key == "probe.error.snapshot_is_report" and "--save-snapshot" in err.value.message()
    zh = cli("doctor", "--snapshot", str(report), "--lang", "zh")
    assert zh.code == 2 and zh.stdout == ""
    assert "报告，不是快照" in zh.stderr and len(zh.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("doc", [{"kind": "something.else"}, {"hello": 1}])
def test_foreign_json_is_translated(tmp_path, doc):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    i18n.set_language("zh")
    with pytest.raises(UsageError) as err:
        load_snapshot(path)
    assert err.value.key == "probe.error.snapshot_foreign" and "不是 dlsetup 快照" in err.value.message()


def test_a_broken_snapshot_keeps_the_field_that_is_wrong(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"kind": "dlsetup.snapshot", "schema_version": 1, "system": {"os": "linux"}}))
    with pytest.raises(UsageError) as err:
        load_snapshot(path)
    assert err.value.key == "core.error.snapshot_invalid" and "system.arch" in err.value.message()


def test_redaction_hides_url_account_names_that_are_not_the_login(tmp_path):
    from dlsetup.probe.model import ConfigSetting, PythonInfo, Snapshot, SystemInfo, ToolingInfo
    from dlsetup.probe.snapshot import save_snapshot

    snap = Snapshot(system=SystemInfo(os="linux", arch="x86_64", hostname="lab-pc-17", user="stu", home="/home/stu"),
                    tooling=ToolingInfo(python=PythonInfo(executable="/home/stu/venv/bin/python", version="3.11.9")),
                    env={"HTTPS_PROXY": "http://s2023001:pw@proxy.campus.edu.cn:3128"})
    snap.tooling.settings = [ConfigSetting(tool="pip", key="global.index-url", source="/home/stu/.config/pip/pip.conf",
                                           value="https://s2023001:hunter2@pypi.campus.edu.cn/simple")]
    text = save_snapshot(snap, tmp_path / "s.json").read_text()
    assert "s2023001" not in text and "hunter2" not in text and "pw@" not in text
    assert "https://<user>:***@pypi.campus.edu.cn/simple" in text and "http://<user>:***@proxy.campus.edu.cn" in text
    raw = save_snapshot(snap, tmp_path / "raw.json", redact=False).read_text()
    assert "s2023001" in raw and "hunter2" not in raw  # --no-redact keeps names, never passwords


def test_host_name_is_redacted_whatever_its_case():
    from dlsetup.probe.model import PythonInfo, Snapshot, SystemInfo, ToolingInfo
    from dlsetup.probe.snapshot import redact_snapshot

    snap = Snapshot(system=SystemInfo(os="windows", arch="AMD64", hostname="ALICE-PC", user="alice",
                                      home="C:\\Users\\alice"),
                    tooling=ToolingInfo(python=PythonInfo(executable="C:\\Users\\alice\\envs\\dl\\python.exe",
                                                          version="3.11.9")),
                    env={"NO_PROXY": "localhost,alice-pc,alice-pc.lan"})
    red = redact_snapshot(snap)
    text = red.to_json()
    assert "alice" not in text.lower().replace("<user>", "")
    assert red.env["NO_PROXY"] == "localhost,<hostname>,<hostname>.lan"
    assert red.tooling.python.executable == "~\\envs\\dl\\python.exe"


def test_uuid_prefixes_in_visible_devices_are_redacted_to_the_same_gpu():
    # CUDA_VISIBLE_DEVICES accepts a UUID prefix; after redaction it must still name the same GPU, or the replayed
    # snapshot would claim the variable hides every GPU.
    from dlsetup.doctor.runner import diagnose
    from dlsetup.probe.snapshot import redact_snapshot
    from tests.doctor.helpers import gpu_box

    snap = gpu_box(count=2)
    snap.system.hostname, snap.system.user, snap.system.home = "labpc", "stu", "/home/stu"
    full = snap.nvidia.gpus[1].uuid
    snap.env = {"CUDA_VISIBLE_DEVICES": f"{full[:12]}", "NVIDIA_VISIBLE_DEVICES": f"{full},GPU-deadbeef"}
    assert not [f.id for f in diagnose(snap).findings if f.id.startswith("env.")]
    red = redact_snapshot(snap)
    assert red.env["CUDA_VISIBLE_DEVICES"] == red.nvidia.gpus[1].uuid == "GPU-redacted-1"
    assert red.env["NVIDIA_VISIBLE_DEVICES"].startswith("GPU-redacted-1,GPU-redacted-")
    assert "deadbeef" not in red.to_json() and full[4:12] not in red.to_json()
    assert not [f.id for f in diagnose(red).findings if f.id.startswith("env.")]
