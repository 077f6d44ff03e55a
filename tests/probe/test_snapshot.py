"""Snapshots: redaction, atomic save, and one-line errors for corrupt or foreign files."""

from __future__ import annotations

import json
import os

import pytest

from dlsetup.errors import UsageError
from dlsetup.probe.model import (
    ConfigSetting,
    Gpu,
    GpuProcess,
    NvidiaInfo,
    PythonInfo,
    Snapshot,
    SystemInfo,
    ToolingInfo,
)
from dlsetup.probe.snapshot import load_snapshot, redact_snapshot, save_snapshot

UUID = "GPU-5a3c91e2-0000-0000-9c1e-000141a0141a"


def sample() -> Snapshot:
    return Snapshot(
        system=SystemInfo(os="linux", arch="x86_64", hostname="alice-workstation", user="alice", home="/home/alice"),
        tooling=ToolingInfo(python=PythonInfo(executable="/home/alice/envs/dl/bin/python", version="3.11.9")),
        nvidia=NvidiaInfo(gpus=[Gpu(index=0, name="NVIDIA GeForce RTX 3090", uuid=UUID,
                                    processes=[GpuProcess(pid=7, name="/home/alice/envs/dl/bin/python")])],
                          attempts=[], proc_version=f"uuid {UUID}"),
        env={"PIP_INDEX_URL": "https://alice:hunter2@mirror.example.com/simple",
             "LD_LIBRARY_PATH": "/home/alice/cuda/lib64:/data/alice/libs", "HF_ENDPOINT": "https://hf-mirror.com"},
    )


def test_redaction_removes_identity_and_secrets():
    red = redact_snapshot(sample())
    text = red.to_json()
    for secret in ("alice", "hunter2", UUID):
        assert secret not in text, secret
    assert red.redacted is True
    assert (red.system.hostname, red.system.user, red.system.home) == ("<hostname>", "<user>", "~")
    assert red.tooling.python.executable == "~/envs/dl/bin/python"
    assert red.nvidia.gpus[0].uuid == "GPU-redacted-0" and red.nvidia.proc_version == "uuid GPU-redacted-0"
    assert red.env["PIP_INDEX_URL"] == "https://alice:***@mirror.example.com/simple".replace("alice", "<user>")
    assert red.env["LD_LIBRARY_PATH"] == "~/cuda/lib64:/data/<user>/libs"
    assert red.env["HF_ENDPOINT"] == "https://hf-mirror.com"
    assert red.nvidia.gpus[0].name == "NVIDIA GeForce RTX 3090"  # diagnosis data stays


def test_redaction_leaves_the_original_alone():
    snap = sample()
    redact_snapshot(snap)
    assert snap.system.hostname == "alice-workstation" and snap.redacted is False


def test_common_user_names_do_not_rewrite_system_paths():
    snap = sample()
    snap.system.user = "lib"
    snap.env["LD_LIBRARY_PATH"] = "/usr/lib/x86_64-linux-gnu"
    assert redact_snapshot(snap).env["LD_LIBRARY_PATH"] == "/usr/lib/x86_64-linux-gnu"


def test_save_is_redacted_by_default_and_loads_back(tmp_path):
    out = tmp_path / "out"
    path = save_snapshot(sample(), out / "snap.json")
    data = json.loads(path.read_text())
    assert data["kind"] == "dlsetup.snapshot" and data["redacted"] is True and data["schema_version"] == 1
    back = load_snapshot(path)
    assert back.nvidia.gpus[0].name == "NVIDIA GeForce RTX 3090" and back.system.user == "<user>"
    assert [p.name for p in out.iterdir()] == ["snap.json"]  # no temp file left behind


def test_no_redact_keeps_everything(tmp_path):
    path = save_snapshot(sample(), tmp_path / "snap.json", redact=False)
    back = load_snapshot(path)
    assert back.system.hostname == "alice-workstation" and back.nvidia.gpus[0].uuid == UUID
    assert back.redacted is False
    expected = sample()
    expected.env["PIP_INDEX_URL"] = "https://alice:***@mirror.example.com/simple"  # a password never stays
    assert back.to_dict() == expected.to_dict()


def test_save_to_a_directory_or_unwritable_place_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as err:
        save_snapshot(sample(), tmp_path)
    assert err.value.key == "probe.error.snapshot_is_dir"
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(UsageError):
            save_snapshot(sample(), ro / "snap.json")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_unwritable_parent_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError) as err:
        save_snapshot(sample(), blocker / "snap.json")
    assert err.value.key == "probe.error.snapshot_not_writable"


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not JSON"),
    ('{"kind": "something.else", "schema_version": 1}', "not a dlsetup snapshot"),
    ('{"kind": "dlsetup.snapshot", "schema_version": 99}', "unsupported schema version 99"),
    ('{"kind": "dlsetup.snapshot", "schema_version": 1, "system": {"os": "linux"}}', "system.arch"),
    ('{"kind": "dlsetup.snapshot", "schema_version": 1, "system": {"os": "linux", "arch": "x"}, '
     '"tooling": {"python": {"executable": "p", "version": "3"}}, "nvidia": {"gpus": [{"index": "zero"}]}}',
     "nvidia.gpus[0].index"),
    ("[1, 2]", "not a JSON object"),
])
def test_corrupt_or_foreign_files_are_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UsageError) as err:
        load_snapshot(path)
    message = err.value.message()
    assert fragment in message and "\n" not in message and err.value.exit_code == 2


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(UsageError) as err:
        load_snapshot(tmp_path / "none.json")
    assert err.value.key == "core.error.file_not_found"
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError) as err:
        load_snapshot(tmp_path / "bin.json")
    assert "\n" not in err.value.message()


def test_no_redact_still_drops_url_credentials_and_conda_tokens(tmp_path):
    snap = sample()
    snap.tooling.settings = [ConfigSetting(tool="pip", key="global.index-url", source="/home/alice/.config/pip/pip.conf",
                                           value="https://alice:hunter2@mirror.example.com/simple"),
                             ConfigSetting(tool="conda", key="channels", source="/home/alice/.condarc",
                                           value="https://conda.anaconda.org/t/ab-1234567890/private")]
    for redact in (True, False):
        text = (save_snapshot(snap, tmp_path / f"{redact}.json", redact=redact)).read_text()
        assert "hunter2" not in text and "ab-1234567890" not in text, redact
        assert "https://conda.anaconda.org/t/***/private" in text
    raw = load_snapshot(tmp_path / "False.json")
    assert raw.system.hostname == "alice-workstation" and raw.nvidia.gpus[0].uuid == UUID  # identity stays
