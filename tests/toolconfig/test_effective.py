"""effective_settings(): what each tool would use, which file or variable set it, what masks what.

Where it matters, the answer is compared with the real client: pip prints "Looking in indexes:" and
uv names the index URL it tried (both pointed at a refusing port on 127.0.0.1, so nothing leaves the
machine).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dlsetup.probe.model import ConfigSetting
from dlsetup.toolconfig import conda, hf, uv
from dlsetup.toolconfig.layers import collect, effective_settings
from dlsetup.toolconfig.readers import _condarc_full, _condarc_lite, _NeedFullYaml, parse_condarc

REFUSE = "http://127.0.0.1:9"  # nothing listens on the discard port: connections are refused at once


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _pip_winner(settings: list[ConfigSetting]) -> ConfigSetting | None:
    winners = [s for s in settings if s.tool == "pip" and s.effective and s.key.endswith("index-url")
               and not s.key.startswith(("download.", "extra")) and "extra" not in s.key]
    return winners[0] if winners else None


def _real_pip_index(env: dict[str, str], tmp: Path) -> str:
    """The index real pip uses for `pip download` (it prints "Looking in indexes: URL")."""
    env = {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2"}
    env.pop("PIP_FIND_LINKS", None)
    out = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp / "dl"),
                          "dlsetup-no-such-pkg"], capture_output=True, text=True, env=env, timeout=120)
    m = re.search(r"Looking in indexes: (\S+)", out.stdout + out.stderr)
    return m.group(1).rstrip(",") if m else "https://pypi.org/simple"


def test_pip_user_file_then_env_var_masks_it(home: Path, tmp_path: Path):
    user = _write(home / ".config/pip/pip.conf", f"[global]\nindex-url = {REFUSE}/user/simple\n")
    s = effective_settings()
    win = _pip_winner(s)
    assert win and win.value == f"{REFUSE}/user/simple" and win.source == str(user)
    assert _real_pip_index(dict(os.environ), tmp_path) == f"{REFUSE}/user/simple"

    os.environ["PIP_INDEX_URL"] = f"{REFUSE}/env/simple"
    try:
        s = effective_settings()
        win = _pip_winner(s)
        assert win.source == "env:PIP_INDEX_URL"
        masked = [x for x in s if x.source == str(user)]
        assert masked and not masked[0].effective and masked[0].masked_by == "env:PIP_INDEX_URL"
        assert _real_pip_index(dict(os.environ), tmp_path) == f"{REFUSE}/env/simple"
    finally:
        del os.environ["PIP_INDEX_URL"]


def test_pip_install_section_anywhere_beats_global_everywhere(home: Path, tmp_path: Path):
    # [install] in the *lower* priority legacy file still beats [global] in the new user file.
    _write(home / ".pip/pip.conf", f"[install]\nindex_url = {REFUSE}/legacy-install/simple\n")
    new = _write(home / ".config/pip/pip.conf", f"[global]\nindex-url = {REFUSE}/new-global/simple\n")
    s = effective_settings()
    inst = next(x for x in s if x.key == "install.index-url")
    glob = next(x for x in s if x.key == "global.index-url")
    assert inst.effective and not glob.effective and glob.masked_by == str(home / ".pip/pip.conf")
    # pip download reads [download], not [install]: there [global] wins.
    assert _real_pip_index(dict(os.environ), tmp_path) == f"{REFUSE}/new-global/simple"
    assert glob.source == str(new)


def test_pip_new_user_file_overrides_legacy(home: Path, tmp_path: Path):
    legacy = _write(home / ".pip/pip.conf", f"[global]\nindex-url = {REFUSE}/legacy/simple\n")
    _write(home / ".config/pip/pip.conf", f"[global]\nindex-url = {REFUSE}/new/simple\n")
    s = effective_settings()
    assert _pip_winner(s).value == f"{REFUSE}/new/simple"
    old = next(x for x in s if x.source == str(legacy))
    assert not old.effective
    assert _real_pip_index(dict(os.environ), tmp_path) == f"{REFUSE}/new/simple"


def test_pip_config_file_loaded_last_and_hides_user_files(home: Path, tmp_path: Path):
    _write(home / ".config/pip/pip.conf", f"[global]\nindex-url = {REFUSE}/user/simple\n")
    cfg = _write(Path(os.environ["PIP_CONFIG_FILE"]), f"[global]\nindex-url = {REFUSE}/cfgfile/simple\n")
    c = collect()
    assert str(home / ".config/pip/pip.conf") not in c.files["pip"]  # not even read
    assert any(n.kind == "files-ignored" for n in c.notes)
    assert _pip_winner(c.settings()).source == str(cfg)
    assert _real_pip_index(dict(os.environ), tmp_path) == f"{REFUSE}/cfgfile/simple"


def test_pip_config_file_devnull_disables_files(home: Path):
    _write(home / ".config/pip/pip.conf", f"[global]\nindex-url = {REFUSE}/user/simple\n")
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    assert [s for s in effective_settings(env) if s.tool == "pip"] == []


def test_pip_site_file_of_the_active_env_beats_user(home: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    _write(home / ".config/pip/pip.conf", f"[global]\nindex-url = {REFUSE}/user/simple\n")
    site = _write(venv / "pip.conf", f"[global]\nindex-url = {REFUSE}/site/simple\n")
    env = dict(os.environ, VIRTUAL_ENV=str(venv))
    win = _pip_winner(effective_settings(env))
    assert win.source == str(site)
    # an explicit prefix (the probe passes the interpreter it inspects) wins over the environment
    other = _write(tmp_path / "other" / "pip.conf", f"[global]\nindex-url = {REFUSE}/other/simple\n")
    assert _pip_winner(effective_settings(env, prefix=tmp_path / "other")).source == str(other)


def test_pip_global_files_follow_xdg_config_dirs(home: Path):
    xdg = Path(os.environ["XDG_CONFIG_DIRS"])
    g = _write(xdg / "pip" / "pip.conf", f"[global]\nindex-url = {REFUSE}/xdg/simple\n")
    c = collect()
    assert c.files["pip"][0] == str(g)
    assert _pip_winner(c.settings()).source == str(g)
    assert "/etc/pip.conf" in c.files["pip"]  # read (never written) by pip, so listed


def test_malformed_pip_conf_is_a_parse_error_setting_not_an_exception(home: Path):
    bad = _write(home / ".config/pip/pip.conf", "index-url = x\n[global]\n")
    s = effective_settings()
    err = [x for x in s if x.key == "parse-error"]
    assert err and err[0].source == str(bad) and not err[0].effective
    c = collect()
    assert c.notes[0].line == 1


def _uv_tried(env: dict[str, str], cwd: Path) -> str:
    """The index URL real uv tries first (connection refused → it names the URL)."""
    (cwd / "req.in").write_text("six\n")
    env = {k: v for k, v in env.items() if k != "UV_CONFIG_FILE"}
    env.update({"UV_HTTP_RETRIES": "0", "UV_NO_CACHE": "1"})
    out = subprocess.run([str(Path(sys.executable).parent / "uv"), "pip", "compile", "req.in", "--no-header"],
                         capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    m = re.search(r"(http://127\.0\.0\.1:9/[a-z-]+)", out.stdout + out.stderr)
    assert m, out.stderr
    return m.group(1)


@pytest.fixture
def uv_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("UV_CONFIG_FILE", None)
    return env


def _uv_default(env, cwd) -> ConfigSetting:
    s = [x for x in effective_settings(env, cwd) if x.tool == "uv" and x.effective
         and x.key in ("index.default", "index-url", "pip.index-url")]
    assert len(s) >= 1
    return s[0]


def test_uv_user_default_index_beats_project_index_url(home: Path, tmp_path: Path, uv_env):
    _write(home / ".config/uv/uv.toml", f'[[index]]\nurl = "{REFUSE}/user"\ndefault = true\n')
    proj = tmp_path / "proj"
    _write(proj / "pyproject.toml", f'[project]\nname = "p"\nversion = "0"\n[tool.uv]\nindex-url = "{REFUSE}/proj"\n')
    assert _uv_default(uv_env, proj).value == f"{REFUSE}/user"
    assert _uv_tried(uv_env, proj) == f"{REFUSE}/user"


def test_uv_project_default_beats_user_and_env_beats_both(home: Path, tmp_path: Path, uv_env):
    _write(home / ".config/uv/uv.toml", f'[[index]]\nurl = "{REFUSE}/user"\ndefault = true\n')
    proj = tmp_path / "proj"
    _write(proj / "uv.toml", f'[[index]]\nurl = "{REFUSE}/projdef"\ndefault = true\n')
    assert _uv_default(uv_env, proj).value == f"{REFUSE}/projdef"
    assert _uv_tried(uv_env, proj) == f"{REFUSE}/projdef"
    env = dict(uv_env, UV_INDEX_URL=f"{REFUSE}/envidx")
    win = _uv_default(env, proj)
    assert win.source == "env:UV_INDEX_URL"
    assert _uv_tried(env, proj) == f"{REFUSE}/envidx"
    env["UV_DEFAULT_INDEX"] = f"{REFUSE}/envdef"
    assert _uv_default(env, proj).source == "env:UV_DEFAULT_INDEX"
    assert _uv_tried(env, proj) == f"{REFUSE}/envdef"
    masked = [x for x in effective_settings(env, proj) if x.tool == "uv" and not x.effective]
    assert {x.masked_by for x in masked} == {"env:UV_DEFAULT_INDEX"}


def test_uv_pip_table_beats_top_level_index_url(home: Path, tmp_path: Path, uv_env):
    _write(home / ".config/uv/uv.toml", f'index-url = "{REFUSE}/usertop"\n[pip]\nindex-url = "{REFUSE}/userpip"\n')
    assert _uv_default(uv_env, tmp_path).value == f"{REFUSE}/userpip"
    assert _uv_tried(uv_env, tmp_path) == f"{REFUSE}/userpip"


def test_uv_no_config_and_config_file(home: Path, tmp_path: Path):
    user = _write(home / ".config/uv/uv.toml", f'[[index]]\nurl = "{REFUSE}/user"\ndefault = true\n')
    env = dict(os.environ, UV_NO_CONFIG="1")
    env.pop("UV_CONFIG_FILE", None)
    s = [x for x in effective_settings(env, tmp_path) if x.tool == "uv"]
    assert s and all(not x.effective and x.masked_by == "env:UV_NO_CONFIG" for x in s)
    other = _write(tmp_path / "cfg.toml", f'[[index]]\nurl = "{REFUSE}/cfg"\ndefault = true\n')
    env = dict(os.environ, UV_CONFIG_FILE=str(other))
    c = collect(env, tmp_path)
    assert c.files["uv"] == [str(other)]
    masked = [f for f in c.found if f.setting.source == str(user)]
    assert masked and masked[0].masked_by == "env:UV_CONFIG_FILE"


def test_uv_pyproject_without_tool_uv_is_skipped(home: Path, tmp_path: Path):
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    inner = tmp_path / "sub"
    _write(inner / "pyproject.toml", f'[project]\nname = "y"\n[tool.uv]\nindex-url = "{REFUSE}/y"\n')
    assert uv.project_file(inner) == inner / "pyproject.toml"
    assert uv.project_file(tmp_path) is None


CONDARC_SAMPLES = [
    "channels:\n  - conda-forge\n  - defaults\n",
    "channels:\n- conda-forge\n- bioconda\nshow_channel_urls: true\n",
    "# comment\nchannels: [conda-forge, 'defaults']  # trailing\nchannel_alias: https://m/anaconda/cloud\n",
    "custom_channels:\n  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n  pytorch: \"https://x/cloud\"\n",
    "default_channels:\n  - https://m/anaconda/pkgs/main\n  - https://m/anaconda/pkgs/r\nssl_verify: false\n",
    "",
    "envs_dirs:\n  - ~/envs\npkgs_dirs: []\nauto_activate_base: no\n",
]


@pytest.mark.parametrize("text", CONDARC_SAMPLES)
def test_condarc_fast_reader_agrees_with_ruamel(text: str):
    try:
        lite = _condarc_lite(text)
    except _NeedFullYaml:
        pytest.fail("the fast reader should handle this plain .condarc")
    assert lite == _condarc_full(text, "x")


@pytest.mark.parametrize("text", [
    "channels: &c\n  - a\nother: *c\n",
    "custom_multichannels:\n  defaults:\n    - https://x/pkgs/main\n",
    "channels:\n  - name: b\n    url: c\n",
    "note: |\n  text\n",
])
def test_condarc_fast_reader_defers_to_ruamel_for_the_rest(text: str):
    with pytest.raises(_NeedFullYaml):
        _condarc_lite(text)
    assert parse_condarc(text, "x") == _condarc_full(text, "x")


def test_conda_search_path_merges_lists_and_last_scalar_wins(home: Path, tmp_path: Path):
    _write(home / ".condarc", "channels:\n  - conda-forge\nchannel_alias: https://user/alias\n"
                             "custom_channels:\n  conda-forge: https://user/cloud\n")
    prefix = tmp_path / "env"
    env_rc = _write(prefix / ".condarc", "channels:\n  - bioconda\nchannel_alias: https://env/alias\n")
    condarc_var = _write(tmp_path / "extra.condarc", "custom_channels:\n  conda-forge: https://var/cloud\n")
    env = dict(os.environ, CONDA_PREFIX=str(prefix), CONDARC=str(condarc_var))
    s = [x for x in effective_settings(env) if x.tool == "conda"]
    chans = [x for x in s if x.key == "channels"]
    assert {x.value for x in chans} == {"conda-forge", "bioconda"} and all(x.effective for x in chans)
    alias = [x for x in s if x.key == "channel_alias"]
    assert [a.effective for a in alias] == [True, False] and alias[0].source == str(env_rc)
    cc = [x for x in s if x.key == "custom_channels.conda-forge"]
    assert cc[0].source == str(condarc_var) and cc[0].effective and not cc[1].effective


def test_conda_env_vars_and_multichannel_defaults(home: Path):
    _write(home / ".condarc", "default_channels:\n  - https://a/pkgs/main\n"
                             "custom_multichannels:\n  defaults:\n    - https://b/pkgs/main\n")
    env = dict(os.environ, CONDA_CHANNELS="conda-forge,bioconda")
    s = [x for x in effective_settings(env) if x.tool == "conda"]
    # conda/base/context.py custom_multichannels: "reserved overrides custom", so conda expands
    # ``defaults`` from default_channels and never from custom_multichannels.defaults
    dc = next(x for x in s if x.key == "default_channels")
    cm = next(x for x in s if x.key == "custom_multichannels.defaults")
    assert dc.effective and not cm.effective and cm.masked_by == str(home / ".condarc")
    assert conda.channel_urls(["defaults"]) == ["https://a/pkgs/main"]
    assert {x.value for x in s if x.source == "env:CONDA_CHANNELS"} == {"conda-forge", "bioconda"}


def test_pixi_project_config_beats_pixi_home(home: Path, tmp_path: Path):
    key = "https://conda.anaconda.org/conda-forge"
    user = _write(Path(os.environ["PIXI_HOME"]) / "config.toml", f'[mirrors]\n"{key}" = ["https://user/cf"]\n')
    proj = tmp_path / "p"
    _write(proj / "pixi.toml", "[workspace]\nname = 'p'\n")
    local = _write(proj / ".pixi" / "config.toml", f'[mirrors]\n"{key}" = ["https://proj/cf"]\n')
    s = [x for x in effective_settings(cwd=proj) if x.tool == "pixi"]
    win = next(x for x in s if x.effective)
    assert win.source == str(local) and win.value == "https://proj/cf"
    assert next(x for x in s if x.source == str(user)).masked_by == str(local)


def test_hf_endpoint_env_and_snippet(home: Path):
    snippet = hf.snippet_file(os.environ)
    _write(snippet, "export HF_ENDPOINT=https://hf-mirror.com\n")
    s = [x for x in effective_settings() if x.tool == "hf"]
    assert len(s) == 1 and not s[0].effective  # written but not sourced in this shell
    env = dict(os.environ, HF_ENDPOINT="https://hf-mirror.com")
    s = [x for x in effective_settings(env) if x.tool == "hf"]
    assert all(x.effective for x in s) and {x.source for x in s} == {"env:HF_ENDPOINT", str(snippet)}


def test_never_raises_on_unreadable_input(home: Path, tmp_path: Path):
    (home / ".config/pip").mkdir(parents=True)
    (home / ".config/pip/pip.conf").write_bytes(b"\xff\xfe[global]\n")
    _write(home / ".config/uv/uv.toml", "[[index]\nurl=\n")
    _write(home / ".condarc", "channels: [a, b\n")
    s = effective_settings()
    errors = {x.tool for x in s if x.key == "parse-error"}
    assert errors >= {"pip", "uv", "conda"}
