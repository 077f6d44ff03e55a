"""Review pass (issue 5): defects found by using `dlsetup mirror` as a new user would."""

from __future__ import annotations

from pathlib import Path

from dlsetup.toolconfig.layers import collect, effective_settings


def _pip_conf(home: Path, text: str) -> Path:
    path = home / ".config/pip/pip.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_install_section_masking_global_in_the_same_file_names_the_winning_key(cli, home):
    conf = _pip_conf(home, "[global]\ntimeout = 5\n[install]\nindex-url = https://inst.example/simple\n")
    r = cli("mirror", "tuna", "--offline", "--tools", "pip")
    assert r.code == 0, r
    # was: "... written to <conf> is masked by <conf>" (the same path twice, no reason given)
    assert f"is masked by install.index-url in {conf}" in r.stdout
    st = cli("mirror", "status")
    assert f"global.index-url in {conf} is masked by install.index-url in {conf}" in st.stdout
    doc = cli("mirror", "status", "--json").json()
    row = next(x for t in doc["tools"] if t["tool"] == "pip" for x in t["rows"] if x["key"] == "global.index-url")
    assert row["masked_by"] == str(conf) and row["masked_by_setting"] == "install.index-url"
    zh = cli("--lang", "zh", "mirror", "status")
    assert f"被 {conf} 中的 install.index-url 覆盖" in zh.stdout


def test_masked_by_stays_a_source_for_doctor(home):
    # doctor (index_config.py) finds the winning row by `source == masked_by`: keep that contract
    conf = _pip_conf(home, "[global]\nindex-url = https://a.example/simple\n[install]\nindex-url = https://b.example/simple\n")
    glob = next(s for s in effective_settings() if s.key == "global.index-url")
    assert not glob.effective and glob.masked_by == str(conf)
    found = next(f for f in collect().found if f.setting.key == "global.index-url")
    assert found.masked_by_key == "install.index-url"


def test_masked_by_an_env_var_keeps_the_plain_variable_name(cli, home, monkeypatch):
    _pip_conf(home, "[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n")
    monkeypatch.setenv("PIP_INDEX_URL", "https://corp.example/simple")
    st = cli("mirror", "status")
    assert "is masked by env:PIP_INDEX_URL" in st.stdout and "index-url in env:" not in st.stdout


def test_list_says_one_channel_not_one_channels(cli):
    r = cli("mirror", "list")
    assert r.code == 0
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("sustech"))
    assert "1 channel " in line + " " and "1 channels" not in line
    assert "2 channels" in next(ln for ln in r.stdout.splitlines() if ln.startswith("ustc"))


def test_a_pixi_project_counts_as_pixi_present(cli, tmp_path, monkeypatch):
    # pixi itself is not installed here; a pixi.toml in the project still means the user runs pixi there
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pixi.toml").write_text('[workspace]\nname = "p"\nchannels = ["conda-forge"]\nplatforms = ["linux-64"]\n')
    monkeypatch.chdir(proj)
    doc = cli("mirror", "ustc", "--offline", "--scope", "project", "--dry-run", "--json").json()
    pixi = next(t for t in doc["tools"] if t["tool"] == "pixi")
    assert pixi["status"] == "would-change" and pixi["file"] == str(proj / ".pixi" / "config.toml")
    monkeypatch.chdir(tmp_path)  # no pixi project, no pixi binary, no pixi config: pixi is left out
    doc = cli("mirror", "ustc", "--offline", "--scope", "project", "--dry-run", "--json").json()
    assert "pixi" not in [t["tool"] for t in doc["tools"]]
