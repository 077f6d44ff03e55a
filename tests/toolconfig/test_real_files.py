"""Real-world configuration files (``corpus/``, each citing its origin) through apply → the tool's own reading
→ status → restore.

pip's reading is real pip's: ``pip config list`` in a subprocess with ``PIP_CONFIG_FILE`` pointing at the file
(pip then loads no user file), and pip's own ``Configuration`` in-process where the locale must be faked (the
GBK case: this machine has no zh_CN locale, so ``locale.getpreferredencoding`` is the OS boundary replaced).
conda's reading is :mod:`dlsetup.toolconfig.conda`, implemented from conda's source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlsetup.toolconfig import conda
from dlsetup.toolconfig.layers import collect

CORPUS = Path(__file__).parent / "corpus"
TUNA_PIP = "https://pypi.tuna.tsinghua.edu.cn/simple"
TUNA_CLOUD = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"


def fixture(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def _pip_list(path: Path) -> tuple[int, dict[str, str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=str(path))
    p = subprocess.run([sys.executable, "-m", "pip", "config", "list"], env=env, capture_output=True, text=True,
                       timeout=60)
    values = {}
    for line in p.stdout.splitlines():
        key, _, value = line.partition("=")
        if not key.startswith(":env:"):
            values[key] = value.strip().strip("'")
    return p.returncode, values, p.stderr


def pip_config(path: Path) -> tuple[int, dict[str, str], str]:
    """What real pip reads from ``path``: (exit code, {"global.index-url": value, ...}, stderr), without what
    this machine's global files set (those are read with an empty file in place of ``path``)."""
    empty = path.with_name(path.name + ".empty")
    empty.write_text("")
    _, baseline, _ = _pip_list(empty)
    empty.unlink()
    code, values, err = _pip_list(path)
    return code, {k: v for k, v in values.items() if baseline.get(k) != v}, err


def apply(cli, mirror: str, tools: str, *extra: str) -> dict:
    r = cli("mirror", mirror, "--offline", "--tools", tools, "--json", *extra)
    assert r.code == 0, r.stdout + r.stderr
    return r.json()


def notes_of(doc: dict) -> list[str]:
    return [n["code"] for t in doc["tools"] for n in t.get("notes", [])]


def restore_is_byte_identical(cli, path: Path, original: bytes) -> None:
    assert cli("mirror", "restore").code == 0
    assert path.read_bytes() == original


# ------------------------------------------------------------------------------------------------ pip


def test_one_line_pip_conf_gets_a_header_pip_accepts(cli, home: Path):
    """``[global] index-url=… [install] …`` on one line: pip reads the header ``global`` and ignores the rest.
    The edit adds the option below it; appending a second [global] would make pip reject the file."""
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True)
    original = fixture("pip-oneline.conf")
    assert pip_config(_copy(original, home / "before.conf"))[1] == {}  # pip: a [global] with no options
    path.write_bytes(original)
    doc = apply(cli, "tuna", "pip")
    assert "mirror.note.pip_header_text_ignored" in notes_of(doc)
    code, values, err = pip_config(path)
    assert code == 0, err
    assert values == {"global.index-url": TUNA_PIP}
    assert path.read_bytes().startswith(original)  # the user's line is kept as it was
    restore_is_byte_identical(cli, path, original)


def test_indented_pip_conf_edits_global_not_install(cli, home: Path):
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True)
    original = fixture("pip-indented.conf")
    path.write_bytes(original)
    assert pip_config(path)[1] == {"global.index-url": "https://pypi.tuna.tsinghua.edu.cn/simple/",
                                   "install.trusted-host": "pypi.tuna.tsinghua.edu.cn"}
    apply(cli, "ustc", "pip")
    code, values, err = pip_config(path)
    assert code == 0, err
    assert values == {"global.index-url": "https://mirrors.ustc.edu.cn/pypi/simple",
                      "install.trusted-host": "pypi.tuna.tsinghua.edu.cn"}
    assert "   index-url = https://mirrors.ustc.edu.cn/pypi/simple\n" in path.read_text()
    rows = _status_rows(cli, "pip")
    assert {(r["key"], r["value"], r["effective"]) for r in rows} == {
        ("global.index-url", "https://mirrors.ustc.edu.cn/pypi/simple", True),
        ("install.trusted-host", "pypi.tuna.tsinghua.edu.cn", True)}
    restore_is_byte_identical(cli, path, original)


@pytest.mark.parametrize("name", ["pip-inline-hash.conf", "pip-no-final-newline.conf"])
def test_pip_files_keep_every_other_value_as_pip_reads_it(cli, home: Path, name: str):
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True)
    original = fixture(name)
    path.write_bytes(original)
    _, before, _ = pip_config(path)
    apply(cli, "ustc", "pip")
    code, after, err = pip_config(path)
    assert code == 0, err
    assert after == {**before, "global.index-url": "https://mirrors.ustc.edu.cn/pypi/simple"}
    restore_is_byte_identical(cli, path, original)


def test_crlf_pip_conf_stays_crlf(cli, home: Path):
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True)
    original = fixture("pip-indented.conf").replace(b"\n", b"\r\n")  # as Notepad saves it
    path.write_bytes(original)
    apply(cli, "ustc", "pip")
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") and b"mirrors.ustc.edu.cn" in data
    assert pip_config(path)[1]["global.index-url"] == "https://mirrors.ustc.edu.cn/pypi/simple"
    restore_is_byte_identical(cli, path, original)


def test_gbk_pip_ini_is_read_and_written_in_the_locale_encoding(cli, home: Path, monkeypatch):
    """pip decodes with ``locale.getpreferredencoding(False)`` (pip/_internal/configuration.py
    ``_construct_parser``): on a zh_CN Windows that is cp936 (GBK), and a GBK file with Chinese comments works."""
    import locale

    monkeypatch.setattr(locale, "getpreferredencoding", lambda do_setlocale=True: "gbk")
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True)
    original = fixture("pip-gbk.ini").decode("utf-8").encode("gbk")
    path.write_bytes(original)
    apply(cli, "ustc", "pip")
    data = path.read_bytes()
    assert "豆瓣源".encode("gbk") in data  # still GBK, comment kept
    from pip._internal.configuration import Configuration

    monkeypatch.setenv("PIP_CONFIG_FILE", str(path))
    config = Configuration(isolated=False)
    config.load()  # real pip's loader, with the (faked) zh_CN locale
    assert config.get_value("global.index-url") == "https://mirrors.ustc.edu.cn/pypi/simple"
    assert config.get_value("install.trusted-host") == "pypi.douban.com"
    restore_is_byte_identical(cli, path, original)


def test_a_pip_conf_pip_rejects_is_refused_with_one_line(cli, home: Path):
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True)
    original = b"[global]\nindex-url = https://a/simple\n[global]\ntimeout = 5\n"  # made up: a repeated section
    path.write_bytes(original)
    r = cli("mirror", "ustc", "--offline", "--tools", "pip")
    assert r.code == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == original


def test_an_edit_that_would_change_other_settings_is_refused_before_writing(tmp_path: Path):
    from dlsetup.toolconfig import verify

    old = "[global]\ntimeout = 5\n"
    with pytest.raises(verify.EditRejected, match="global.timeout"):
        verify.check(tmp_path / "pip.conf", ["pip"], old, "[global]\ntimeout = 6\nindex-url = x\n")
    with pytest.raises(verify.EditRejected, match="already exists"):
        verify.check(tmp_path / "pip.conf", ["pip"], old, old + "[global]\nindex-url = x\n")
    verify.check(tmp_path / "pip.conf", ["pip"], old, old + "index-url = x\n")  # accepted


# ---------------------------------------------------------------------------------------------- conda


def test_custom_multichannels_masks_custom_channels_at_apply_and_in_status(cli, home: Path):
    """conda/models/channel.py ``Channel.from_value``: a name that is a multichannel key never reaches
    custom_channels, so the mirror's ``custom_channels.conda-forge`` is not used; say so, with the key."""
    path = home / ".condarc"
    original = fixture("condarc-multichannels.yml")
    path.write_bytes(original)
    doc = apply(cli, "tuna", "conda")
    warnings = " ".join(w["message"] for w in doc.get("warnings", []))
    assert "custom_channels.conda-forge" in warnings and "custom_multichannels.conda-forge" in warnings
    assert conda.channel_urls(["conda-forge"]) == ["https://prefix.dev/conda-forge"]
    st = cli("mirror", "status", "--json").json()
    cs = next(t for t in st["tools"] if t["tool"] == "conda")
    assert cs["in_force"] == "https://prefix.dev/conda-forge"  # not the mirror
    masked = [r for r in cs["rows"] if r["key"] == "custom_channels.conda-forge"]
    assert masked and not masked[0]["effective"]
    assert masked[0]["masked_by_setting"] == "custom_multichannels.conda-forge"
    restore_is_byte_identical(cli, path, original)


def test_a_mirror_url_the_catalogue_does_not_serve_is_kept(cli, home: Path):
    path = home / ".condarc"
    original = fixture("condarc-tuna-msys2.yml")
    path.write_bytes(original)
    doc = apply(cli, "tuna", "conda")
    assert "mirror.note.conda_channel_kept" in notes_of(doc)
    channels = conda.load()["channels"]
    assert "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/msys2/" in channels and "msys2" not in channels
    assert {"menpo", "bioconda", "conda-forge"} <= set(channels)  # the ones TUNA serves became names
    assert conda.channel_urls(["conda-forge"]) == [f"{TUNA_CLOUD}/conda-forge"]
    text = path.read_text()
    assert "show_channel_urls: True\n" in text and "    - menpo\n" in text  # True and the 4-space list kept
    restore_is_byte_identical(cli, path, original)


def test_untouched_settings_keep_their_bytes_and_own_default_channels_are_noted(cli, home: Path):
    path = home / ".condarc"
    original = fixture("condarc-own-defaults.yml").replace(b"\n", b"\r\n")  # and CRLF, as on Windows
    path.write_bytes(original)
    doc = apply(cli, "tuna", "conda")
    assert "mirror.note.conda_default_channels_replaced" in notes_of(doc)
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    for kept in (b"envs_dirs:\r\n    - ~/envs\r\n", b"show_channel_urls: True\r\n", b"auto_activate_base: False\r\n",
                 b"channels:\r\n    - defaults\r\n"):
        assert kept in data
    assert b"default_channels:\r\n    - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main\r\n" in data
    restore_is_byte_identical(cli, path, original)


# ------------------------------------------------------------------------------------------ uv, pixi


def test_uv_new_default_index_masks_the_old_top_level_index_url(cli, home: Path):
    """uv: the first ``[[index]] default = true`` is the default index, ahead of the deprecated ``index-url``
    (docs/concepts/indexes.md). So the mirror written as [[index]] wins and the old key is the masked one."""
    path = home / ".config/uv/uv.toml"
    path.parent.mkdir(parents=True)
    original = fixture("uv-index-url.toml")
    path.write_bytes(original)
    doc = apply(cli, "ustc", "uv")
    assert not [w for w in doc.get("warnings", []) if w["code"] == "mirror.warn.masked"]  # our write is in force
    c = collect(tools={"uv"})
    won = [f for f in c.found if f.setting.effective and f.slot == "uv:default-index"]
    assert [f.setting.value for f in won] == ["https://mirrors.ustc.edu.cn/pypi/simple"]
    old = next(f for f in c.found if f.setting.key == "index-url")
    assert not old.setting.effective and old.masked_by_key == "index.default"
    restore_is_byte_identical(cli, path, original)


def test_uv_reads_the_result(cli, home: Path, tmp_path: Path):
    """Real uv loads the edited file (``--config-file``) and asks the mirror for the package: every request
    goes to a proxy on 127.0.0.1 that refuses, so nothing leaves the machine and uv names the URL it tried."""
    import shutil

    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        pytest.skip("uv is not installed")
    path = home / ".config/uv/uv.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(fixture("uv-index-url.toml"))
    apply(cli, "ustc", "uv")
    (tmp_path / "req.in").write_text("sampleproject\n")
    refuse = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(NO_COLOR="1", HTTPS_PROXY=refuse, HTTP_PROXY=refuse, https_proxy=refuse, http_proxy=refuse,
               ALL_PROXY=refuse, UV_HTTP_RETRIES="0", UV_HTTP_TIMEOUT="10")
    p = subprocess.run([uv, "pip", "compile", "--config-file", str(path), "--no-cache", str(tmp_path / "req.in")],
                       capture_output=True, text=True, timeout=90, env=env)
    assert "TOML parse error" not in p.stderr and "Failed to parse" not in p.stderr
    assert p.returncode != 0 and "mirrors.ustc.edu.cn" in p.stderr + p.stdout, p.stderr


def test_pixi_pypi_config_index_url_is_noted(cli, home: Path):
    path = Path(os.environ["PIXI_HOME"]) / "config.toml"
    path.parent.mkdir(parents=True)
    original = fixture("pixi-pypi-config.toml")
    path.write_bytes(original)
    doc = apply(cli, "ustc", "pixi")
    assert "mirror.note.pixi_pypi_config" in notes_of(doc)
    assert path.read_bytes().startswith(original)
    restore_is_byte_identical(cli, path, original)


# -------------------------------------------------------------------------------------------- helpers


def _copy(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


def _status_rows(cli, tool: str) -> list[dict]:
    st = cli("mirror", "status", "--json").json()
    return next(t for t in st["tools"] if t["tool"] == tool)["rows"]


def test_corpus_files_cite_their_origin():
    for f in CORPUS.iterdir():
        first = f.read_text(encoding="utf-8").splitlines()[0]
        assert "Origin:" in first, f.name
    assert json.dumps(sorted(p.name for p in CORPUS.iterdir()))  # the corpus is listed, not empty
