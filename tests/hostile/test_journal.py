"""The mirror journal against damage and tampering: numbering, unknown fields, unreadable entries,
truncated backups and entries that name files outside the configs dlsetup manages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlsetup.mirror import journal


def _pip_conf(home: Path) -> Path:
    return home / ".config" / "pip" / "pip.conf"


def _apply(cli, mirror: str = "tuna"):
    r = cli("mirror", mirror, "--tools", "pip", "--offline")
    assert r.code == 0, r
    return r


def _entry_file(n: int) -> Path:
    return journal.root() / "journal" / f"{n:04d}.json"


def test_ids_sort_as_numbers_and_continue_after_9999(cli, isolated_env):
    pip_conf = _pip_conf(isolated_env)
    pip_conf.parent.mkdir(parents=True)
    pip_conf.write_text("[global]\ntimeout = 60\n")
    _apply(cli)
    first = json.loads(_entry_file(1).read_text())
    for n in (9999, 10000):  # a long-used journal
        _entry_file(n).write_text(json.dumps({**first, "id": n, "status": "reverted"}))
    _apply(cli, "ustc")
    ids = [e.id for e in journal.entries()]
    assert ids == [1, 9999, 10000, 10001]
    assert journal.entries()[-1].mirror == "ustc"


def test_unknown_fields_from_a_newer_dlsetup_are_tolerated(cli, isolated_env):
    _apply(cli)
    doc = json.loads(_entry_file(1).read_text())
    doc["signed_by"] = "dlsetup 9.0"
    doc["files"][0]["xattrs"] = {"user.origin": "x"}
    _entry_file(1).write_text(json.dumps(doc))
    r = cli("mirror", "restore")
    assert r.code == 0, r
    assert not _pip_conf(isolated_env).exists()


def test_an_unreadable_entry_is_reported_and_never_overwritten(cli, isolated_env):
    _apply(cli)
    _entry_file(2).write_text('{"id": 2, "action": "apply", "files": [')  # a run killed mid-write, by hand
    damaged = _entry_file(2).read_bytes()
    r = cli("mirror", "ustc", "--tools", "pip", "--offline")
    assert r.code == 0, r
    assert "#2" in r.stderr and "cannot be read" in r.stderr
    assert _entry_file(2).read_bytes() == damaged  # the undo record is still there
    assert [e.id for e in journal.entries()] == [1, 3]
    r = cli("mirror", "restore", "--to", "0")  # would undo past #2, whose change is unknown
    assert r.code == 1 and "damaged" in r.stderr and r.stderr.strip().count("\n") <= 1, r
    assert "ustc" in _pip_conf(isolated_env).read_text()


def test_a_truncated_backup_is_never_written_back(cli, isolated_env):
    pip_conf = _pip_conf(isolated_env)
    pip_conf.parent.mkdir(parents=True)
    pip_conf.write_text("[global]\nindex-url = https://pypi.org/simple\ntimeout = 60\n")
    _apply(cli)
    old_sha = json.loads(_entry_file(1).read_text())["files"][0]["old_sha"]
    blob = journal.root() / "blobs" / old_sha
    blob.write_bytes(blob.read_bytes()[:9])  # "[global]\n"
    written = pip_conf.read_bytes()
    r = cli("mirror", "restore")
    assert r.code == 1, r
    assert "sha256" in r.stderr and "restored" not in r.stdout
    assert pip_conf.read_bytes() == written


@pytest.mark.parametrize("tamper", ["path-dotdot", "path-outside", "backup-name", "created-dir"])
def test_a_tampered_entry_cannot_reach_outside_the_managed_configs(cli, isolated_env, tmp_path, tamper):
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "important.txt"
    victim.write_text("keep me\n")
    _apply(cli)
    doc = json.loads(_entry_file(1).read_text())
    f = doc["files"][0]
    if tamper == "path-dotdot":
        f["path"] = str(_pip_conf(isolated_env).parent) + "/../../../victim/important.txt"
    elif tamper == "path-outside":
        f["path"] = str(victim)
    elif tamper == "backup-name":
        f["existed"], f["old_sha"] = True, "../../../../victim/important.txt"
    else:
        f["created_dirs"] = [str(victim_dir)]
    _entry_file(1).write_text(json.dumps(doc))
    r = cli("mirror", "restore", "--force")
    assert r.code in (1, 2), r
    assert "internal error" not in r.stderr
    assert victim.read_text() == "keep me\n" and victim_dir.is_dir()


def test_entry_numbers_are_taken_with_an_exclusive_create(isolated_env, monkeypatch):
    """Two runs that both computed the same next number: the second gets the one after it."""
    journal._entries_dir().mkdir(parents=True)
    real = journal._entry_files
    monkeypatch.setattr(journal, "_entry_files", lambda: [])  # both "see" an empty journal
    a = journal.new_entry("apply", "tuna", "user", ["pip"])
    b = journal.new_entry("apply", "ustc", "user", ["pip"])
    monkeypatch.setattr(journal, "_entry_files", real)
    assert (a.id, b.id) == (1, 2)
    assert [e.mirror for e in journal.entries()] == ["tuna", "ustc"]
    assert sorted(os.listdir(journal._entries_dir())) == ["0001.json", "0002.json"]
