"""dlsetup mirror NAME / restore / reset / history / status through the real CLI, on an isolated HOME."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ALL = "pip,conda,uv,pixi,torch,hf"


def targets(home: Path) -> dict[str, Path]:
    return {
        "pip": home / ".config/pip/pip.conf",
        "conda": home / ".condarc",
        "uv": home / ".config/uv/uv.toml",
        "pixi": Path(os.environ["PIXI_HOME"]) / "config.toml",
        "hf": Path(os.environ["DLSETUP_CONFIG_DIR"]) / "hf-endpoint.sh",
    }


def snapshot(paths) -> dict[str, bytes | None]:
    out = {}
    for p in paths:
        p = Path(p)
        out[str(p)] = p.read_bytes() if p.exists() else None
    return out


def journal_entries() -> list[dict]:
    d = Path(os.environ["DLSETUP_STATE_DIR"]) / "mirror" / "journal"
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))] if d.exists() else []


def seed(home: Path) -> None:
    t = targets(home)
    t["pip"].parent.mkdir(parents=True, exist_ok=True)
    t["pip"].write_text("# pip, by hand\n[global]\ntimeout = 30\nindex-url = https://alice:s3cret@pypi.corp.example/simple\n")
    t["conda"].write_text("# conda\nchannels:\n  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge/\n"
                          "ssl_verify: true\n")
    t["uv"].parent.mkdir(parents=True, exist_ok=True)
    t["uv"].write_text('# uv\n[[index]]\nname = "internal"\nurl = "https://pypi.corp.example/simple"\n')


def test_dry_run_shows_diffs_and_writes_nothing(cli, home):
    r = cli("mirror", "tsinghua", "--dry-run", "--tools", "pip,conda,uv,pixi")
    assert r.code == 0, r
    assert "+index-url = https://pypi.tuna.tsinghua.edu.cn/simple" in r.stdout
    assert "+  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud" in r.stdout
    assert '+"https://pypi.org/simple" = ["https://pypi.tuna.tsinghua.edu.cn/simple"]' in r.stdout
    assert "--- /dev/null" in r.stdout
    assert all(not p.exists() for p in targets(home).values())
    assert journal_entries() == []


def test_apply_status_restore_is_byte_identical(cli, home):
    seed(home)
    paths = list(targets(home).values())
    before = snapshot(paths)
    r = cli("mirror", "tuna", "--offline", "--tools", ALL, "--hf", "hf-mirror", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["command"] == "mirror" and doc["mirror"] == "tuna" and doc["journal_id"] == 1
    assert {f["path"] for f in doc["files"] if f["action"] != "unchanged"} == {str(p) for p in paths}
    assert "s3cret" not in r.stdout
    after = snapshot(paths)
    assert all(after[k] != before[k] for k in after)

    st = cli("mirror", "status", "--json").json()
    in_force = {t["tool"]: t["in_force"] for t in st["tools"]}
    assert in_force["pip"] == "https://pypi.tuna.tsinghua.edu.cn/simple"
    # the seeded non-default [[index]] "internal" is asked before the default index (real uv does so:
    # tests/toolconfig/test_corpus.py), so that is what uv uses first
    assert in_force["uv"] == "https://pypi.corp.example/simple"
    uv_notes = [n["code"] for t in doc["tools"] if t["tool"] == "uv" for n in t.get("notes", [])]
    assert "mirror.note.uv_index_first" in uv_notes
    assert st["current"]["mirror"] == "tuna"
    assert "s3cret" not in json.dumps(st)

    r = cli("mirror", "restore")
    assert r.code == 0, r
    assert snapshot(paths) == before  # byte-identical, and files that did not exist are gone again
    assert not (Path(os.environ["PIXI_HOME"])).exists()
    assert cli("mirror", "status", "--json").json()["current"] is None


def test_restore_walks_back_one_entry_at_a_time_and_to_zero(cli, home):
    seed(home)
    paths = list(targets(home).values())
    original = snapshot(paths)
    assert cli("mirror", "tuna", "--offline", "--tools", "pip,conda,uv").code == 0
    tuna = snapshot(paths)
    assert cli("mirror", "aliyun", "--offline", "--tools", "pip,conda,uv,torch", "--variant", "cu126").code == 0
    assert cli("mirror", "restore").code == 0
    assert snapshot(paths) == tuna
    assert cli("mirror", "restore").code == 0
    assert snapshot(paths) == original
    r = cli("mirror", "restore")
    assert r.code == 2 and "nothing to restore" in r.stderr

    assert cli("mirror", "ustc", "--offline", "--tools", "pip,conda").code == 0
    assert cli("mirror", "nju", "--offline", "--tools", "pip,uv").code == 0
    h = cli("mirror", "history", "--json").json()
    assert [e["status"] for e in h["entries"]] == ["done", "done", "reverted", "reverted"]
    r = cli("mirror", "restore", "--to", "0")
    assert r.code == 0 and snapshot(paths) == original
    assert cli("mirror", "restore", "--to", "99").code == 2


def test_restore_refuses_files_changed_since_unless_forced(cli, home):
    assert cli("mirror", "tuna", "--offline", "--tools", "pip").code == 0
    pip = targets(home)["pip"]
    pip.write_text(pip.read_text() + "timeout = 5\n")
    r = cli("mirror", "restore")
    assert r.code == 2 and str(pip) in r.stderr and "--force" in r.stderr
    assert pip.exists()
    assert cli("mirror", "restore", "--force").code == 0
    assert not pip.exists()


def test_reset_removes_dlsetup_keys_and_is_journaled(cli, home):
    seed(home)
    paths = list(targets(home).values())
    assert cli("mirror", "tuna", "--offline", "--tools", "pip,conda,uv").code == 0
    applied = snapshot(paths)
    r = cli("mirror", "reset", "--tools", "pip,conda,uv", "--json")
    assert r.code == 0, r
    pip = targets(home)["pip"].read_text()
    assert "index-url" not in pip and "timeout = 30" in pip and "# pip, by hand" in pip
    assert "default_channels" not in targets(home)["conda"].read_text()
    assert "default = true" not in targets(home)["uv"].read_text()
    assert cli("mirror", "restore").code == 0
    assert snapshot(paths) == applied


@pytest.mark.parametrize("tool,text,line", [
    ("pip", "[global]\nindex-url = a\nindex-url = b\n", 3),
    ("conda", "channels:\n  - conda-forge\n bad: [x\n", None),
    ("uv", '[[index]]\nurl = "a"\nurl = "b"\n', 3),
])
def test_malformed_existing_file_stops_everything(cli, home, tool, text, line):
    t = targets(home)
    t[tool].parent.mkdir(parents=True, exist_ok=True)
    t[tool].write_text(text)
    before = snapshot(t.values())
    r = cli("mirror", "tuna", "--offline", "--tools", "pip,conda,uv")
    assert r.code == 2
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("dlsetup: error:") and str(t[tool]) in err[0]
    if line:
        assert f"{t[tool]}:{line}" in err[0]
    assert snapshot(t.values()) == before and journal_entries() == []


def test_read_only_file_or_directory_changes_nothing(cli, home):
    t = targets(home)
    t["conda"].write_text("channels: [conda-forge]\n")
    os.chmod(t["conda"], 0o444)
    before = snapshot(t.values())
    r = cli("mirror", "tuna", "--offline", "--tools", "pip,conda,uv")
    assert r.code == 2 and "read-only" in r.stderr and str(t["conda"]) in r.stderr
    assert snapshot(t.values()) == before and journal_entries() == []
    os.chmod(t["conda"], 0o644)

    cfg = home / ".config"
    cfg.mkdir(exist_ok=True)
    os.chmod(cfg, 0o555)
    try:
        r = cli("mirror", "tuna", "--offline", "--tools", "pip,conda")
        assert r.code == 2 and "read-only" in r.stderr
        assert snapshot(t.values()) == before
    finally:
        os.chmod(cfg, 0o755)


def test_unknown_mirror_suggests_and_unknown_tool(cli):
    r = cli("mirror", "tsinhua")
    assert r.code == 2 and "did you mean: tuna" in r.stderr
    r = cli("mirror", "tuna", "--tools", "pip,npm")
    assert r.code == 2 and "npm" in r.stderr
    r = cli("mirror", "hust", "--tools", "conda", "--offline")
    assert r.code == 2 and "hust" in r.stderr


def test_credentials_in_existing_urls_are_never_printed(cli, home):
    seed(home)
    os.environ["UV_INDEX_URL"] = "https://bob:hunter2@uv.corp.example/simple"
    for args in (("mirror", "tuna", "--dry-run", "--tools", "pip,uv"), ("mirror", "status"),
                 ("mirror", "status", "--json"), ("mirror", "reset", "--dry-run", "--tools", "pip")):
        r = cli(*args)
        assert r.code == 0, r
        assert "s3cret" not in r.stdout + r.stderr and "hunter2" not in r.stdout + r.stderr
    assert "alice:***@pypi.corp.example" in cli("mirror", "status").stdout


def test_masking_is_reported_after_apply(cli, home):
    os.environ["PIP_INDEX_URL"] = "https://pypi.corp.example/simple"
    r = cli("mirror", "tuna", "--offline", "--tools", "pip")
    assert r.code == 0 and "masked by env:PIP_INDEX_URL" in r.stdout
    os.environ["PIP_CONFIG_FILE"] = str(home / "elsewhere.conf")
    (home / "elsewhere.conf").write_text("[global]\ntimeout = 5\n")
    del os.environ["PIP_INDEX_URL"]
    r = cli("mirror", "ustc", "--offline", "--tools", "pip", "--json")
    assert any(w["code"] == "mirror.warn.file_ignored" for w in r.json()["warnings"])


def test_env_scope_venv_and_conda_env(cli, home, tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    os.environ["VIRTUAL_ENV"] = str(venv)
    r = cli("mirror", "ustc", "--offline", "--scope", "env", "--tools", "pip,uv,conda")
    assert r.code == 0, r
    assert "https://mirrors.ustc.edu.cn/pypi/simple" in (venv / "pip.conf").read_text()
    assert not targets(home)["pip"].exists()
    del os.environ["VIRTUAL_ENV"]
    prefix = tmp_path / "conda-env"
    (prefix / "conda-meta").mkdir(parents=True)
    os.environ["CONDA_PREFIX"] = str(prefix)
    r = cli("mirror", "tuna", "--offline", "--scope", "env", "--tools", "pip,conda,uv,hf", "--hf", "hf-mirror")
    assert r.code == 0, r
    assert "mirrors.tuna.tsinghua.edu.cn/anaconda/cloud" in (prefix / ".condarc").read_text()
    state = json.loads((prefix / "conda-meta" / "state").read_text())
    assert state["env_vars"] == {"UV_DEFAULT_INDEX": "https://pypi.tuna.tsinghua.edu.cn/simple",
                                 "HF_ENDPOINT": "https://hf-mirror.com"}
    assert (prefix / "pip.conf").exists() and not (home / ".condarc").exists()
    del os.environ["CONDA_PREFIX"]
    r = cli("mirror", "tuna", "--scope", "env", "--offline")
    assert r.code == 2 and "VIRTUAL_ENV" in r.stderr


def test_project_scope_uv_pyproject_and_torch(cli, home, tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1"\ndependencies = ["torch"]\n')
    monkeypatch.chdir(proj)
    r = cli("mirror", "nju", "--offline", "--scope", "project", "--tools", "uv,torch,pip", "--variant", "cu126", "--json")
    assert r.code == 0, r
    from dlsetup.util import toml

    data = toml.loads((proj / "pyproject.toml").read_text())
    assert data["tool"]["uv"]["sources"]["torch"] == {"index": "pytorch-cu126"}
    assert data["tool"]["uv"]["index"][0]["default"] is True
    doc = r.json()
    assert next(t for t in doc["tools"] if t["tool"] == "pip")["status"] == "skipped"


def test_uv_lock_pinning_mirror_urls_is_warned(cli, tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1"\n')
    (proj / "uv.lock").write_text(
        'version = 1\n[[package]]\nname = "six"\nversion = "1.16.0"\n'
        'source = { registry = "https://pypi.tuna.tsinghua.edu.cn/simple" }\n')
    monkeypatch.chdir(proj)
    st = cli("mirror", "status", "--json").json()
    assert st["uv_lock"]["hosts"] == ["pypi.tuna.tsinghua.edu.cn"] and st["uv_lock"]["mirrors"] == ["tuna"]
    assert "uv lock --default-index" in cli("mirror", "status").stdout


def test_help_has_examples(cli):
    r = cli("mirror", "--help")
    assert r.code == 0 and "Examples:" in r.stdout and "restore" in r.stdout
    for sub in ("restore", "reset", "status", "probe", "fastest", "history", "list"):
        r = cli("mirror", sub, "--help")
        assert r.code == 0 and "Examples:" in r.stdout, sub


def test_lang_before_subcommand_is_not_taken_for_a_mirror_name(cli):
    r = cli("mirror", "--lang", "zh", "status")
    assert r.code == 0 and "工具" in r.stdout


def test_write_error_puts_back_files_already_written(cli, home, monkeypatch):
    seed(home)
    t = targets(home)
    before = snapshot(t.values())
    from dlsetup.mirror import journal

    real = journal.write_bytes_atomic

    def failing(path, data, mode=None):
        if Path(path) == t["uv"]:
            raise OSError(28, "No space left on device")
        return real(path, data, mode)

    monkeypatch.setattr(journal, "write_bytes_atomic", failing)
    r = cli("mirror", "tuna", "--offline", "--tools", "pip,conda,uv")
    assert r.code == 1 and "No space left" in r.stderr and "put back" in r.stderr
    assert snapshot(t.values()) == before
    assert journal_entries()[-1]["status"] == "rolled-back"


PAUSE = Path(__file__).parent / "pause"  # sitecustomize that pauses after the first file (test side only)


def _spawn(args: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
    env = dict(os.environ, **extra_env)
    env["PYTHONPATH"] = os.pathsep.join([str(PAUSE), str(Path(__file__).resolve().parents[2])]
                                        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return subprocess.Popen([sys.executable, "-m", "dlsetup", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the paused run never reached its pause"
        time.sleep(0.05)


def test_killed_between_files_restore_undoes_what_was_written(home, tmp_path, cli):
    seed(home)
    t = targets(home)
    before = snapshot(t.values())
    marker = tmp_path / "paused"
    proc = _spawn(["mirror", "tuna", "--offline", "--tools", "pip,conda,uv"],
                  {"DLSETUP_TEST_PAUSE_FILE": str(marker), "DLSETUP_TEST_PAUSE_S": "60"})
    try:
        _wait_for(marker, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    now = snapshot(t.values())
    assert now[str(t["pip"])] != before[str(t["pip"])]  # the first file was written
    assert now[str(t["conda"])] == before[str(t["conda"])]  # the second never was
    entry = journal_entries()[-1]
    assert entry["status"] == "in-progress" and len(entry["files"]) == 1
    assert cli("mirror", "history").stdout.count("interrupted") == 1
    r = cli("mirror", "restore")
    assert r.code == 0, r
    assert snapshot(t.values()) == before


def test_two_runs_at_once_are_serialised(home, tmp_path, cli):
    t = targets(home)
    before = snapshot(t.values())
    marker = tmp_path / "paused"
    first = _spawn(["mirror", "tuna", "--offline", "--tools", "pip,uv"],
                   {"DLSETUP_TEST_PAUSE_FILE": str(marker), "DLSETUP_TEST_PAUSE_S": "120"})
    _wait_for(marker, first)  # the first run holds the lock, between two files
    err_file = tmp_path / "second.err"
    with open(err_file, "w") as err:
        second = subprocess.Popen([sys.executable, "-m", "dlsetup", "mirror", "aliyun", "--offline", "--tools", "pip,uv"],
                                  env=dict(os.environ), stdout=subprocess.PIPE, stderr=err, text=True)
    deadline = time.monotonic() + 120
    while "waiting" not in err_file.read_text():
        assert second.poll() is None, err_file.read_text()  # it must not finish while the lock is held
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "mirrors.aliyun.com" not in t["pip"].read_text()  # nothing interleaved
    (tmp_path / "paused.release").touch()
    out1, err1 = first.communicate(timeout=120)
    second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err1, err_file.read_text())
    entries = journal_entries()
    assert [(e["id"], e["mirror"], e["status"]) for e in entries] == [(1, "tuna", "done"), (2, "aliyun", "done")]
    assert "mirrors.aliyun.com" in t["pip"].read_text() and "mirrors.aliyun.com" in t["uv"].read_text()
    assert cli("mirror", "restore").code == 0 and cli("mirror", "restore").code == 0
    assert snapshot(t.values()) == before


def test_machine_pip_configuration_is_untouched(cli, home):
    from tests.conftest import _fingerprint

    before = _fingerprint()
    assert cli("mirror", "tuna", "--offline", "--tools", ALL, "--hf", "hf-mirror").code == 0
    assert cli("mirror", "reset").code == 0
    assert cli("mirror", "restore", "--to", "0").code == 0
    assert _fingerprint() == before
    for p in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf"):
        if Path(p).exists():
            assert str(p) not in json.dumps(journal_entries())


def test_symlinked_config_is_edited_through_the_link_and_restored_exactly(cli, home):
    """Dotfile managers (stow, chezmoi) keep pip.conf / .condarc as symlinks: the link must survive apply
    and restore, the file it points at gets the edit, and no "pip does not read it" warning appears."""
    dotfiles = home / "dotfiles"
    dotfiles.mkdir()
    real_pip = dotfiles / "pip.conf"
    real_pip.write_text("[global]\ntimeout = 30\n")
    t = targets(home)
    t["pip"].parent.mkdir(parents=True, exist_ok=True)
    t["pip"].symlink_to(real_pip)
    t["conda"].symlink_to("dotfiles/condarc")  # dangling, relative: conda would create the target
    r = cli("mirror", "tuna", "--offline", "--tools", "pip,conda", "--json")
    assert r.code == 0, r
    assert t["pip"].is_symlink() and t["conda"].is_symlink()
    assert "index-url = https://pypi.tuna.tsinghua.edu.cn/simple" in real_pip.read_text()
    assert "custom_channels" in (dotfiles / "condarc").read_text()
    assert not [w for w in r.json()["warnings"] if w["code"] == "mirror.warn.file_ignored"]
    assert cli("mirror", "restore").code == 0
    assert t["pip"].is_symlink() and os.readlink(t["pip"]) == str(real_pip)
    assert real_pip.read_text() == "[global]\ntimeout = 30\n"
    assert t["conda"].is_symlink() and not (dotfiles / "condarc").exists()


def test_reset_keeps_settings_that_are_not_a_known_mirror(cli, home):
    """reset removes dlsetup's keys (values pointing at a catalogue or custom mirror), not a company index
    the user set by hand; it says so instead."""
    t = targets(home)
    t["pip"].parent.mkdir(parents=True, exist_ok=True)
    t["pip"].write_text("[global]\nindex-url = https://bob:pw@pypi.corp.example/simple\n")
    t["uv"].parent.mkdir(parents=True, exist_ok=True)
    t["uv"].write_text('python-install-mirror = "https://files.corp.example/pbs"\n\n'
                       '[[index]]\nurl = "https://pypi.corp.example/simple"\ndefault = true\n')
    t["conda"].write_text("default_channels:\n  - https://repo.corp.example/main\n")
    before = snapshot(t.values())
    r = cli("mirror", "reset", "--tools", "pip,conda,uv", "--json")
    assert r.code == 0, r
    assert snapshot(t.values()) == before
    kept = [n for tool in r.json()["tools"] for n in tool["notes"] if n["code"] == "mirror.note.reset_kept"]
    assert len(kept) == 4, kept
    assert not any("bob:pw" in n["message"] for n in kept)
    # a mirror's values do go
    t["pip"].write_text("[global]\nindex-url = https://mirrors.aliyun.com/pypi/simple/\n")
    t["conda"].write_text("default_channels:\n  - https://mirrors.ustc.edu.cn/anaconda/pkgs/main\n")
    assert cli("mirror", "reset", "--tools", "pip,conda").code == 0
    assert not t["pip"].exists() and "default_channels" not in t["conda"].read_text()


def test_status_upstream_defaults_are_translated(cli):
    r = cli("--lang", "zh", "mirror", "status")
    assert r.code == 0, r
    assert "未设置" in r.stdout and "none set" not in r.stdout and "upstream hosts" not in r.stdout
