"""The catalogue: required mirrors, sources and dates, aliases, custom mirrors with clear errors."""

from __future__ import annotations

import re

import pytest

from dlsetup.errors import UsageError
from dlsetup.mirror.catalog import builtin_mirrors, is_mirror_torch_url, is_torch_url, load_catalog, owner_of

REQUIRED = ["tuna", "bfsu", "ustc", "sjtu", "nju", "aliyun", "tencent", "huawei", "cernet", "pku", "hust", "sustech",
            "douban"]


def test_every_required_mirror_with_source_and_checked_date():
    mirrors = builtin_mirrors()
    for name in REQUIRED:
        m = mirrors[name]
        assert m.source, name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.checked or ""), name
        assert m.pip and m.pip.startswith("https://"), name


def test_facts_that_course_notes_get_wrong():
    m = builtin_mirrors()
    # TUNA dropped cloud/msys2 (2024-09); msys2 lives under pkgs/
    assert "cloud/msys2" not in m["tuna"].conda_channels and "pkgs/msys2" in m["tuna"].conda_channels
    # USTC no longer mirrors Anaconda's pkgs/* (they redirect to TUNA)
    assert not m["ustc"].pkgs_channels() and m["ustc"].carries("cloud/conda-forge")
    # only Aliyun, SJTU and NJU mirror PyTorch wheels, each in its own layout
    with_torch = {k: v.torch.layout for k, v in m.items() if v.torch}
    assert with_torch == {"aliyun": "flat", "sjtu": "stable_html", "nju": "simple"}
    # simple index URLs end in /simple ("simple 不能少")
    assert all(v.pip.rstrip("/").endswith("simple") for v in m.values() if v.pip)
    # Huawei's anaconda tree answers soft 404s: not offered for conda
    assert m["huawei"].conda is None


def test_douban_is_legacy_and_never_auto_selected():
    cat = load_catalog()
    assert cat.get("douban").legacy
    assert "douban" not in {m.id for m in cat.auto_candidates()}


def test_hf_mirror_is_its_own_hf_only_entry():
    cat = load_catalog()
    hfm = cat.get("hf-mirror")
    assert hfm.hf == "https://hf-mirror.com" and hfm.pip is None and hfm.conda is None and not hfm.auto
    assert not any(m.hf for m in cat.mirrors.values() if m.id != "hf-mirror")


@pytest.mark.parametrize("alias,name", [("tsinghua", "tuna"), ("TSINGHUA", "tuna"), ("ali", "aliyun"),
                                        ("sjtug", "sjtu"), ("mirrorz", "cernet")])
def test_aliases(alias, name):
    assert load_catalog().get(alias).id == name


def test_unknown_name_suggests_nearest():
    with pytest.raises(UsageError) as exc:
        load_catalog().get("tsinhua")
    assert exc.value.exit_code == 2 and "tuna" in exc.value.message()
    with pytest.raises(UsageError) as exc:
        load_catalog().get("zzzzzz")
    assert "dlsetup mirror list" in exc.value.message()


def test_url_ownership():
    cat = load_catalog()
    assert owner_of("https://u:p@mirrors.aliyun.com/pytorch-wheels/cu126/", cat).id == "aliyun"
    assert owner_of("https://pypi.org/simple", cat) is None
    assert is_torch_url("https://download.pytorch.org/whl/cu126", cat)
    assert not is_mirror_torch_url("https://download.pytorch.org/whl/cu126", cat)
    assert is_mirror_torch_url("https://mirror.sjtu.edu.cn/pytorch-wheels/cu126/torch_stable.html", cat)


def test_custom_mirror_added_and_overrides(custom_mirrors):
    custom_mirrors('[mirror.corp]\npip = "https://pypi.corp.example/simple"\naliases = ["work"]\n'
                   '[mirror.tuna]\npip = "https://pypi.tuna.tsinghua.edu.cn/simple"\nname = "TUNA via corp"\n')
    cat = load_catalog()
    assert cat.get("work").id == "corp" and cat.get("corp").custom
    assert cat.get("tuna").name == "TUNA via corp" and cat.get("tsinghua").id == "tuna"


@pytest.mark.parametrize("text,needle", [
    ('[mirror.x]\npip = "ftp://nope"\n', "mirror.x.pip: must be an http"),
    ('[mirror.x]\npip = "https://a/simple"\nbogus = 1\n', "mirror.x.bogus: unknown field"),
    ('[mirror.x]\nname = "only a name"\n', "needs at least one of"),
    ('[mirror.x]\npip = "https://a/simple"\n[mirror.x.torch]\nurl = "https://a/t"\nlayout = "zip"\n',
     "mirror.x.torch.layout"),
    ('[mirror.x]\nconda_channels = ["cloud/conda-forge"]\npip = "https://a/simple"\n', "needs 'conda'"),
    ('[mirror."X Y"]\npip = "https://a/simple"\n', "lower-case"),
    ('[mirror.x]\npip = "https://a/simple"\naliases = ["tsinghua"]\n', "already names tuna"),
])
def test_custom_mirror_errors_name_file_and_field(custom_mirrors, text, needle):
    path = custom_mirrors(text)
    with pytest.raises(UsageError) as exc:
        load_catalog()
    msg = exc.value.message()
    assert str(path) in msg and needle in msg


def test_custom_mirror_toml_syntax_error_has_line(custom_mirrors):
    path = custom_mirrors('[mirror.x]\npip = "https://a/simple"\npip2 = \n')
    with pytest.raises(UsageError) as exc:
        load_catalog()
    assert f"{path}:3" in exc.value.message()


def test_list_command_json_and_text(cli, custom_mirrors):
    custom_mirrors('[mirror.corp]\npip = "https://user:s3cret@pypi.corp.example/simple"\n')
    r = cli("mirror", "list", "--json")
    assert r.code == 0
    doc = r.json()
    ids = [m["id"] for m in doc["mirrors"]]
    assert set(REQUIRED) <= set(ids) and "corp" in ids
    tuna = next(m for m in doc["mirrors"] if m["id"] == "tuna")
    assert tuna["source"] and tuna["checked"]
    r = cli("mirror", "list")
    assert r.code == 0 and "tuna" in r.stdout and "s3cret" not in r.stdout
