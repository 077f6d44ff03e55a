"""Chinese everywhere: the root help, click's own messages and the error prefix follow the language."""

from __future__ import annotations

from dlsetup import i18n
from dlsetup.platform import Platform


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_root_help_is_chinese_with_lang_zh_wherever_it_stands(cli):
    for args in (("--lang", "zh", "--help"), ("--help", "--lang", "zh"), ("--lang=zh", "-h")):
        r = cli(*args)
        assert r.code == 0
        assert r.stdout.startswith("用法:") and "示例：" in r.stdout and "选项" in r.stdout and "命令" in r.stdout, args
        assert "诊断驱动" in r.stdout  # the command list's short help
        assert "显示此帮助并退出。" in r.stdout  # click's own --help text
    en = cli("--help")
    assert en.stdout.startswith("Usage:") and not _has_cjk(en.stdout) and "DLSETUP_LANG" in en.stdout


def test_subcommand_help_uses_click_words_in_chinese(cli):
    r = cli("doctor", "--help", "--lang", "zh")
    assert r.code == 0 and r.stdout.startswith("用法:") and "在标准输出打印一个 JSON 文档" in r.stdout


def test_click_errors_and_the_error_prefix_are_chinese(cli, monkeypatch):
    r = cli("--lang", "zh", "doctorr")
    assert r.code == 2 and "错误：没有这个命令 'doctorr'。" in r.stderr and "运行 'dlsetup --help' 查看帮助。" in r.stderr
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    r = cli("resolve", "--os")
    assert r.code == 2 and "选项 '--os' 需要一个值。" in r.stderr
    r = cli("doctor", "--snapshot", "/nonexistent/snap.json")
    assert r.code == 2 and r.stderr.startswith("dlsetup：错误：")
    monkeypatch.setenv("LANG", "C.UTF-8")
    r = cli("doctor", "--snapshot", "/nonexistent/snap.json")
    assert r.code == 2 and r.stderr.startswith("dlsetup: error: ")


def test_dlsetup_lang_wins_over_lang(cli, monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("DLSETUP_LANG", "zh")
    assert cli("--help").stdout.startswith("用法:")


def test_windows_display_language_when_no_variable_is_set():
    zh_windows = Platform(os="windows", ui_language_id=lambda: 0x0804)
    assert i18n.detect_language({}, plat=zh_windows) == "zh"
    assert i18n.detect_language({"DLSETUP_LANG": "en"}, plat=zh_windows) == "en"
    assert i18n.detect_language({}, plat=Platform(os="windows", ui_language_id=lambda: 0x0409)) == "en"
    assert i18n.detect_language({}, plat=Platform(os="linux")) == "en"


def test_help_translations_name_real_commands_and_options():
    """A translated help text whose command or option was renamed would silently never show: every
    cli.help.<path> / cli.opt.<path>.<option> must name what exists (English stays in the code: empty)."""
    import click

    from dlsetup.cli import cli as root

    def resolve(path):
        cmd, ctx = root, click.Context(root)
        for part in path:
            cmd = cmd.get_command(ctx, part)
            assert cmd is not None, path
            ctx = click.Context(cmd, parent=ctx)
        return cmd

    en, zh = i18n.load_catalog("cli", "en"), i18n.load_catalog("cli", "zh")
    common = {"json_output", "lang", "verbose", "quiet", "shell", "help", "version"}
    checked = 0
    for key in zh:
        if key.startswith("cli.help.") and key != "cli.help.root":
            resolve(key.split(".")[2:])
            assert en[key] == ""
            checked += 1
        elif key.startswith("cli.opt.") and key.count(".") >= 3:
            *path, option = key.split(".")[2:]
            assert option in {p.name for p in resolve(path).params}, key
            assert en[key] == ""
            checked += 1
        elif key.startswith("cli.opt."):
            assert key.split(".")[2] in common, key
    assert checked >= 30


def test_english_help_of_a_translated_command_is_the_code_text(cli):
    r = cli("doctor", "--help", "--lang", "en")
    assert "Diagnose the NVIDIA driver" in r.stdout and "Examples:" in r.stdout
    assert "Import each framework in a child process" in r.stdout
