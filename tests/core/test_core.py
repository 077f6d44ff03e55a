"""The conventions every command shares: exit codes, --json, --lang, catalogs, redaction, atomic writes."""

from __future__ import annotations

import json
import os
import re
import string
import sys
import time
from pathlib import Path

import pytest

from dlsetup import i18n
from dlsetup.probe.model import Snapshot
from dlsetup.util.atomic import write_text_atomic
from dlsetup.util.dc import SchemaError
from dlsetup.util.proc import run
from dlsetup.util.redact import redact_url


def test_version(cli):
    r = cli("--version")
    assert r.code == 0
    assert re.fullmatch(r"dlsetup \d+\.\d+\.\d+\n", r.stdout)


def test_help_lists_every_command_with_examples(cli):
    r = cli("--help")
    assert r.code == 0
    for name in ("doctor", "resolve", "mirror", "create", "env", "verify"):
        assert re.search(rf"^\s+{name}\s", r.stdout, re.M), name
    assert "Exit codes" in r.stdout and "Examples" in r.stdout


def test_help_imports_no_command_module(cli_subprocess):
    code = (
        "import sys\n"
        "from dlsetup.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.startswith('dlsetup.commands.') or m in ('torch', 'rich', 'pynvml', 'rattler')]\n"
        "print('LOADED', bad)\n"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert "LOADED []" in out.stdout, out.stdout + out.stderr


def test_unknown_command_is_usage_error(cli):
    r = cli("frobnicate")
    assert r.code == 2
    assert "No such command" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_lang_is_one_line_usage_error(cli):
    r = cli("--lang", "fr", "--help")
    assert r.code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == ["dlsetup: error: unknown language 'fr'; use one of: en, zh"]


def test_unknown_lang_in_chinese_environment_is_chinese(cli, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    r = cli("--lang", "klingon", "--help")
    assert r.code == 2
    assert "未知语言" in r.stderr


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8", "DLSETUP_LANG": "en"}, "en"),
    ],
)
def test_language_detection(env, expected):
    assert i18n.detect_language(env) == expected


def _placeholders(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_every_catalog_is_complete_in_chinese():
    domains = i18n.catalog_domains()
    assert "core" in domains
    for domain in domains:
        en = i18n.load_catalog(domain, "en")
        zh = i18n.load_catalog(domain, "zh")
        missing = sorted(set(en) - set(zh))
        assert not missing, f"{domain}: keys missing from the Chinese catalog: {missing[:10]}"
        extra = sorted(set(zh) - set(en))
        assert not extra, f"{domain}: keys only in the Chinese catalog: {extra[:10]}"
        for key in en:
            assert key.startswith(domain + "."), key
            assert _placeholders(en[key]) == _placeholders(zh[key]), f"placeholders differ for {key}"
            assert zh[key].strip(), key


def test_translate_falls_back_and_fills_params():
    assert i18n.t("core.error.file_not_found", "en", path="/x") == "file not found: /x"
    assert i18n.t("core.error.file_not_found", "zh", path="/x") == "找不到文件：/x"
    with pytest.raises(KeyError):
        i18n.t("core.no.such.key")


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("https://user:s3cret@pypi.example.com/simple", "https://user:***@pypi.example.com/simple"),
        ("https://token@host/x https://a:b@h2/", "https://***@host/x https://a:***@h2/"),
        ("https://pypi.tuna.tsinghua.edu.cn/simple", "https://pypi.tuna.tsinghua.edu.cn/simple"),
        ("index-url = http://u:p@10.0.0.1:8080/simple", "index-url = http://u:***@10.0.0.1:8080/simple"),
    ],
)
def test_redact_url(raw, expected):
    assert redact_url(raw) == expected
    assert "s3cret" not in redact_url(raw)


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path: Path):
    target = tmp_path / "cfg" / "pip.conf"
    write_text_atomic(target, "a\n")
    os.chmod(target, 0o600)
    write_text_atomic(target, "b\n")
    assert target.read_text() == "b\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["pip.conf"]


def test_proc_timeout_kills_and_reports(tmp_path: Path):
    start = time.perf_counter()
    r = run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert r.timed_out and r.returncode is None and not r.ok
    assert time.perf_counter() - start < 5


def test_proc_missing_program():
    r = run(["/nonexistent/program-xyz"], timeout=1)
    assert r.error == "not-found" and not r.ok


def _minimal_snapshot_dict() -> dict:
    return {
        "kind": "dlsetup.snapshot",
        "schema_version": 1,
        "system": {"os": "linux", "arch": "x86_64"},
        "tooling": {"python": {"executable": "/usr/bin/python3", "version": "3.11.7"}},
    }


def test_snapshot_roundtrip():
    snap = Snapshot.from_dict(_minimal_snapshot_dict())
    again = Snapshot.from_dict(json.loads(snap.to_json()))
    assert again == snap
    assert again.nvidia.gpus == [] and again.system.os == "linux"


@pytest.mark.parametrize(
    "mutate,where",
    [
        (lambda d: d.update(kind="something.else"), "kind"),
        (lambda d: d.update(schema_version=99), "schema_version"),
        (lambda d: d["system"].pop("os"), "system.os"),
        (lambda d: d["system"].update(cpu_count="two"), "system.cpu_count"),
        (lambda d: d.update(nvidia={"gpus": [{"index": 0}]}), "nvidia.gpus[0].name"),
    ],
)
def test_snapshot_rejects_foreign_data_with_the_field(mutate, where):
    d = _minimal_snapshot_dict()
    mutate(d)
    with pytest.raises(SchemaError) as exc:
        Snapshot.from_dict(d)
    assert exc.value.path == where


def test_snapshot_load_errors_are_usage_errors(tmp_path: Path):
    from dlsetup.errors import UsageError

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError) as exc:
        Snapshot.load(bad)
    assert exc.value.exit_code == 2 and "not JSON" in exc.value.message()
    with pytest.raises(UsageError):
        Snapshot.load(tmp_path / "missing.json")


def test_shell_completion_reaches_lazy_subcommands():
    import subprocess

    env = dict(os.environ, COMP_WORDS="dlsetup mirror re", COMP_CWORD="2", _DLSETUP_COMPLETE="bash_complete")
    out = subprocess.run([sys.executable, "-m", "dlsetup"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == {"plain,reset", "plain,restore"}
    script = subprocess.run([sys.executable, "-m", "dlsetup"], capture_output=True, text=True,
                            env=dict(os.environ, _DLSETUP_COMPLETE="bash_source"))
    assert "_dlsetup_completion()" in script.stdout


def test_json_error_document_names_the_subcommand(cli):
    r = cli("env", "remove", "no-such-env-xyz", "--json")
    assert r.code == 2
    doc = r.json()
    assert doc["command"] == "env remove"
    assert doc["error"]["code"] == "envs.error.unknown_env"
    assert r.stderr.strip().startswith("dlsetup: error: ")
