"""Each tool's writer: the documented form, the rest of the file kept byte for byte, idempotent, undoable."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlsetup.errors import UsageError
from dlsetup.mirror.catalog import load_catalog
from dlsetup.mirror.writers import Context, Report
from dlsetup.mirror.writers import conda as conda_w
from dlsetup.mirror.writers import hf as hf_w
from dlsetup.mirror.writers import pip as pip_w
from dlsetup.mirror.writers import pixi as pixi_w
from dlsetup.mirror.writers import torch as torch_w
from dlsetup.mirror.writers import uv as uv_w
from dlsetup.toolconfig.readers import _condarc_full, parse_ini
from dlsetup.util import toml


def ctx(name: str | None, **kw) -> Context:
    cat = load_catalog()
    return Context(mirror=cat.get(name) if name else None, catalog=cat, **kw)


def run(fn, text, c, path="pip.conf", **kw):
    r = Report("t", Path(path))
    return fn(text, c, r, **kw), r


# ------------------------------------------------------------------------------------------------ pip

PIP_CONF = """# my pip settings
[global]
timeout = 60   ; seconds
index_url = https://old.example/simple
trusted-host = old.example
    corp.example

[install]
# keep this comment
no-cache-dir = true
"""


def test_pip_replaces_in_place_and_keeps_everything_else():
    new, r = run(pip_w.apply, PIP_CONF, ctx("tuna"))
    assert new.replace("index_url = https://pypi.tuna.tsinghua.edu.cn/simple",
                       "index_url = https://old.example/simple") == PIP_CONF
    assert parse_ini(new, "x").get("global", "index_url") == "https://pypi.tuna.tsinghua.edu.cn/simple"
    assert r.changes == ["global.index-url = https://pypi.tuna.tsinghua.edu.cn/simple"]
    again, r2 = run(pip_w.apply, new, ctx("tuna"))
    assert again == new and r2.changes == []


def test_pip_trusted_host_only_for_http_mirrors(custom_mirrors):
    custom_mirrors('[mirror.plain]\npip = "http://10.1.2.3:8080/simple"\n')
    new, _ = run(pip_w.apply, None, ctx("plain"))
    assert parse_ini(new, "x").get("global", "trusted-host") == "10.1.2.3:8080"
    # switching to an https mirror drops the host only that http mirror needed, keeps the user's own
    user = new.replace("trusted-host = 10.1.2.3:8080", "trusted-host = 10.1.2.3:8080 corp.example")
    back, r = run(pip_w.apply, user, ctx("tuna"))
    assert parse_ini(back, "x").get("global", "trusted-host") == "corp.example"
    fresh, _ = run(pip_w.apply, None, ctx("tuna"))
    assert "trusted-host" not in fresh


def test_pip_install_section_is_reported_not_overwritten():
    text = "[install]\nindex-url = https://corp.example/simple\n"
    new, r = run(pip_w.apply, text, ctx("ustc"))
    assert "[install]\nindex-url = https://corp.example/simple\n" in new
    assert [n.key for n in r.notes] == ["mirror.note.pip_section_masks"]


def test_pip_reset_removes_only_dlsetup_keys():
    applied, _ = run(pip_w.apply, PIP_CONF, ctx("tuna"))
    reset, r = run(pip_w.reset, applied, ctx(None))
    cfg = parse_ini(reset, "x")
    assert not cfg.has_option("global", "index_url") and cfg.get("global", "timeout") == "60   ; seconds"
    assert "# keep this comment" in reset
    created, _ = run(pip_w.apply, None, ctx("tuna"))
    assert run(pip_w.reset, created, ctx(None))[0] is None  # nothing else in it: the file goes


def test_pip_malformed_is_usage_error_with_line():
    with pytest.raises(UsageError) as exc:
        run(pip_w.apply, "[global]\nindex-url = a\nindex-url = b\n", ctx("tuna"), path="/x/pip.conf")
    assert "/x/pip.conf:3" in exc.value.message() and exc.value.exit_code == 2


# ---------------------------------------------------------------------------------------------- torch


def test_torch_simple_layout_is_an_extra_index_and_replaces_old_torch_urls():
    text = "[global]\nextra-index-url = https://download.pytorch.org/whl/cu118 https://corp.example/simple\n"
    new, r = run(torch_w.apply_pip, text, ctx("nju", variant="cu126"))
    cfg = parse_ini(new, "x")
    assert cfg.get("global", "extra-index-url").split() == ["https://corp.example/simple",
                                                            "https://mirror.nju.edu.cn/pytorch/whl/cu126"]


def test_torch_flat_layout_is_find_links():
    new, _ = run(torch_w.apply_pip, None, ctx("aliyun", variant="cu126"))
    assert parse_ini(new, "x").get("global", "find-links") == "https://mirrors.aliyun.com/pytorch-wheels/cu126/"


@pytest.mark.parametrize("name,variant,note", [
    ("tuna", "cu126", "mirror.note.torch_none"),
    ("sjtu", "cu126", "mirror.note.torch_stable_html"),
    ("aliyun", "cu999", "mirror.note.torch_variant_missing"),
    ("nju", None, "mirror.note.torch_no_variant"),
])
def test_torch_writes_nothing_where_the_mirror_has_no_such_wheels(name, variant, note):
    text = "[global]\nindex-url = https://x/simple\n"
    new, r = run(torch_w.apply_pip, text, ctx(name, variant=variant))
    assert new == text and r.skipped and [n.key for n in r.notes] == [note]


# ------------------------------------------------------------------------------------------------ conda

CONDARC_STALE = """# from my course notes
channels:
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/free/
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main/
  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge/
ssl_verify: true   # keep
custom_channels:
  mylab: https://conda.mylab.example/channels
"""


def test_conda_migrates_the_stale_add_channels_recipe():
    new, r = run(conda_w.apply, CONDARC_STALE, ctx("tuna"), path=".condarc")
    data = _condarc_full(new, "x")
    assert data["channels"] == ["defaults", "conda-forge"]
    assert data["default_channels"] == ["https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
                                        "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/r"]
    assert data["custom_channels"]["conda-forge"] == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"
    assert data["custom_channels"]["mylab"] == "https://conda.mylab.example/channels"
    assert "# from my course notes" in new and "# keep" in new and data["ssl_verify"] is True
    assert not any("/pkgs/free" in c for c in data["channels"])
    assert "mirror.note.conda_stale_channel" in [n.key for n in r.notes]


def test_conda_fresh_file_is_conda_forge_only_defaults_opt_in():
    new, _ = run(conda_w.apply, None, ctx("tuna"), path=".condarc")
    assert _condarc_full(new, "x")["channels"] == ["conda-forge"]
    new, _ = run(conda_w.apply, None, ctx("tuna", conda_defaults=True), path=".condarc")
    assert _condarc_full(new, "x")["channels"] == ["defaults"]


def test_conda_ustc_keeps_defaults_upstream_and_switching_drops_old_mirror():
    tuna, _ = run(conda_w.apply, None, ctx("tuna", conda_defaults=True), path=".condarc")
    ustc, r = run(conda_w.apply, tuna, ctx("ustc"), path=".condarc")
    data = _condarc_full(ustc, "x")
    assert "default_channels" not in data  # USTC has no pkgs/*: defaults go back upstream
    assert set(data["custom_channels"]) == {"conda-forge", "bioconda"}
    assert all("ustc" in v for v in data["custom_channels"].values())
    assert "mirror.note.conda_no_pkgs" in [n.key for n in r.notes]


def test_conda_idempotent_and_reset():
    once, _ = run(conda_w.apply, CONDARC_STALE, ctx("aliyun"), path=".condarc")
    twice, r = run(conda_w.apply, once, ctx("aliyun"), path=".condarc")
    assert twice == once and r.changes == []
    reset, _ = run(conda_w.reset, once, ctx(None), path=".condarc")
    data = _condarc_full(reset, "x")
    assert "default_channels" not in data and data["custom_channels"] == {"mylab": "https://conda.mylab.example/channels"}


def test_conda_windows_adds_msys2():
    new, _ = run(conda_w.apply, None, ctx("tuna", platform="windows"), path=".condarc")
    assert any(u.endswith("pkgs/msys2") for u in _condarc_full(new, "x")["default_channels"])


def test_conda_malformed_has_line():
    with pytest.raises(UsageError) as exc:
        run(conda_w.apply, "channels:\n  - a\n bad: [\n", ctx("tuna"), path="/h/.condarc")
    assert "/h/.condarc:" in exc.value.message()
    with pytest.raises(UsageError) as exc:
        run(conda_w.apply, "channels: conda-forge\n", ctx("tuna"), path="/h/.condarc")
    assert "/h/.condarc:1" in exc.value.message() and "must be a list" in exc.value.message()


# --------------------------------------------------------------------------------------------------- uv

UV_TOML = """# user uv config
native-tls = true

[[index]]
name = "internal"   # the company index
url = "https://pypi.corp.example/simple"

[[index]]
url = "https://old-mirror.example/simple"
default = true
"""


def test_uv_replaces_only_the_default_entry():
    new, r = run(uv_w.apply, UV_TOML, ctx("ustc"), path="uv.toml")
    expected = UV_TOML.replace("https://old-mirror.example/simple", "https://mirrors.ustc.edu.cn/pypi/simple").replace(
        "native-tls = true\n",
        'native-tls = true\npython-install-mirror = "https://mirrors.ustc.edu.cn/github-release/astral-sh/'
        'python-build-standalone/"\n')
    assert new == expected  # every other byte kept
    data = toml.loads(new)
    assert [i.get("name") for i in data["index"]] == ["internal", None]
    assert data["index"][1] == {"url": "https://mirrors.ustc.edu.cn/pypi/simple", "default": True}
    assert data["python-install-mirror"].startswith("https://mirrors.ustc.edu.cn/github-release/")
    assert "# the company index" in new and data["native-tls"] is True


def test_uv_adds_default_and_torch_index_user_scope():
    c = ctx("aliyun", variant="cu126")
    new, _ = run(uv_w.apply, None, c, path="uv.toml")
    r = Report("torch", Path("uv.toml"))
    import tomlkit

    doc = tomlkit.parse(new)
    torch_w.apply_uv(doc, c, r, project=False)
    data = toml.loads(tomlkit.dumps(doc))
    assert data["index"][0] == {"url": "https://mirrors.aliyun.com/pypi/simple/", "default": True}
    assert data["index"][1] == {"name": "pytorch-cu126", "url": "https://mirrors.aliyun.com/pytorch-wheels/cu126/",
                                "format": "flat"}


def test_uv_project_pyproject_gets_tool_uv_index_and_sources():
    pyproject = '[project]\nname = "demo"\nversion = "0.1"\ndependencies = ["torch"]\n'
    c = ctx("nju", variant="cu126")
    new, r = run(uv_w.apply, pyproject, c, path="pyproject.toml")
    import tomlkit

    doc = tomlkit.parse(new)
    torch_w.apply_uv(doc["tool"]["uv"], c, Report("torch", Path("pyproject.toml")), project=True, root=doc)
    data = toml.loads(tomlkit.dumps(doc))
    assert data["project"]["dependencies"] == ["torch"]
    idx = data["tool"]["uv"]["index"]
    assert idx[0] == {"url": "https://mirror.nju.edu.cn/pypi/web/simple", "default": True}
    assert idx[1] == {"name": "pytorch-cu126", "url": "https://mirror.nju.edu.cn/pytorch/whl/cu126", "explicit": True}
    assert data["tool"]["uv"]["sources"]["torch"] == {"index": "pytorch-cu126"}
    assert "python-install-mirror" not in data["tool"]["uv"]  # uv.toml-only key
    assert "mirror.note.uv_python_mirror_pyproject" in [n.key for n in r.notes]


def test_uv_reset_keeps_named_indexes():
    new, _ = run(uv_w.apply, UV_TOML, ctx("ustc"), path="uv.toml")
    reset, _ = run(uv_w.reset, new, ctx(None), path="uv.toml")
    data = toml.loads(reset)
    assert data["index"] == [{"name": "internal", "url": "https://pypi.corp.example/simple"}]
    assert "python-install-mirror" not in data


def test_uv_malformed_has_line():
    with pytest.raises(UsageError) as exc:
        run(uv_w.apply, '[[index]]\nurl = "a"\nurl = "b"\n', ctx("tuna"), path="/h/uv.toml")
    assert "/h/uv.toml:3" in exc.value.message()


# ------------------------------------------------------------------------------------------------- pixi


def test_pixi_mirrors_table_keeps_other_keys():
    text = '# pixi\ndefault-channels = ["conda-forge"]\n[mirrors]\n"https://example.com/own" = ["https://own/mirror"]\n'
    new, _ = run(pixi_w.apply, text, ctx("tuna"), path="config.toml")
    data = toml.loads(new)
    m = data["mirrors"]
    assert m["https://conda.anaconda.org/conda-forge"] == ["https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge"]
    assert m["https://pypi.org/simple"] == ["https://pypi.tuna.tsinghua.edu.cn/simple"]
    assert m["https://files.pythonhosted.org/packages"] == ["https://mirrors.tuna.tsinghua.edu.cn/pypi/web/packages"]
    assert m["https://example.com/own"] == ["https://own/mirror"] and data["default-channels"] == ["conda-forge"]
    reset, _ = run(pixi_w.reset, new, ctx(None), path="config.toml")
    assert toml.loads(reset)["mirrors"] == {"https://example.com/own": ["https://own/mirror"]}


# --------------------------------------------------------------------------------------------------- hf


def test_hf_snippet_and_conda_state():
    c = ctx("hf-mirror")
    new, r = run(hf_w.apply_snippet, None, c, path="/cfg/hf-endpoint.sh")
    assert "export HF_ENDPOINT=https://hf-mirror.com\n" in new and "source /cfg/hf-endpoint.sh" in new
    state = '{"env_vars": {"OTHER": "1"}, "something": true}'
    new, _ = run(hf_w.apply_conda_state, state, c, path="state")
    import json

    assert json.loads(new) == {"env_vars": {"OTHER": "1", "HF_ENDPOINT": "https://hf-mirror.com"}, "something": True}
    back, _ = run(hf_w.reset_conda_state, new, ctx(None), path="state")
    assert json.loads(back) == json.loads(state)
