"""The small pieces, one behaviour each: history format, .condarc merging, channel names, input files,
staging, prefix rewriting, virtual packages, error lines, and the API verify uses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dlsetup.envs import channels, history, locations, specfile, staging, virtual
from dlsetup.envs.errors import explain, flatten
from dlsetup.errors import OperationFailed, UsageError
from dlsetup.toolconfig import conda as condarc

# A real conda-meta/history as conda 23-26 writes it (format from conda/history.py write_head /
# write_changes / write_specs; the old comma-separated spec form is what conda < 4.4 wrote).
CONDA_HISTORY = """\
==> 2024-05-01 10:00:00 <==
# cmd: /opt/conda/bin/conda create -n demo python=3.11 numpy
# conda version: 24.3.0
+conda-forge/linux-64::python-3.11.9-hb806964_0_cpython
+conda-forge/linux-64::numpy-1.26.4-py311h64a7726_0
# update specs: ['python=3.11', 'numpy']
==> 2024-05-02 11:00:00 <==
# cmd: /opt/conda/bin/conda install scipy
+conda-forge/linux-64::scipy-1.13.0-py311h517d4fd_1
# update specs: ['scipy']
==> 2024-05-03 12:00:00 <==
# cmd: /opt/conda/bin/conda remove numpy
-conda-forge/linux-64::numpy-1.26.4-py311h64a7726_0
# remove specs: ['numpy']
==> 2024-05-04 12:00:00 <==
# install specs: pandas >=2,matplotlib
"""


def test_history_reads_conda_files_like_conda(tmp_path):
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "history").write_text(CONDA_HISTORY)
    # update adds, remove drops by name; an entry without "# cmd:" is ignored (History.get_user_requests)
    assert history.requested_specs(tmp_path) == {"python": "python=3.11", "scipy": "scipy"}
    assert history.created_time(tmp_path) == "2024-05-01T10:00:00"


def test_history_written_by_dlsetup_reads_back(tmp_path):
    history.append_entry(tmp_path, added=["conda-forge/noarch::pip-24.0-pyhd8ed1ab_0"],
                         update_specs=["python=3.12", "numpy>=2"], argv=["dlsetup", "create", "env", "x"])
    history.append_entry(tmp_path, remove_specs=["numpy"], argv=["dlsetup", "x"])
    text = (tmp_path / "conda-meta" / "history").read_text()
    assert "# cmd: dlsetup create env x\n+conda-forge/noarch::pip-24.0-pyhd8ed1ab_0\n# update specs: ['python=3.12', 'numpy>=2']\n" in text
    assert history.requested_specs(tmp_path) == {"python": "python=3.12"}
    assert history.dist_str("https://h/c/", "noarch", "a", "1", "b") == "https://h/c/noarch::a-1-b"


def test_condarc_merge_follows_conda(isolated_env, monkeypatch, tmp_path):
    (isolated_env / ".condarc").write_text("channels:\n  - conda-forge\nenvs_dirs:\n  - /a\nchannel_alias: https://one\n")
    extra = tmp_path / "extra.condarc"
    extra.write_text("channels:\n  - bioconda\n  - conda-forge\ncustom_channels:\n  pytorch: https://mirror/cloud\n"
                     "channel_alias: https://two\n")
    monkeypatch.setenv("CONDARC", str(extra))  # CONDARC loads last: highest priority
    rc = condarc.load()
    assert rc["channels"] == ["bioconda", "conda-forge"]  # higher-priority file's items first, no duplicates
    assert rc["envs_dirs"] == ["/a"] and rc["channel_alias"] == "https://two"
    assert rc["custom_channels"] == {"pytorch": "https://mirror/cloud"}
    # the variable is one more source, above every file, merged like a file (conda/common/configuration.py)
    monkeypatch.setenv("CONDA_ENVS_PATH", os.pathsep.join(["/x", "/y"]))
    assert condarc.load()["envs_dirs"] == ["/x", "/y", "/a"]


def test_channel_urls(tmp_path):
    rc = {"channel_alias": "https://mirrors.example.cn/anaconda/cloud/",
          "custom_channels": {"pytorch": "https://other.example.cn/cloud"},
          "default_channels": ["https://mirrors.example.cn/anaconda/pkgs/main"]}
    assert channels.channel_urls(["conda-forge", "pytorch", "defaults", "conda-forge/label/dev",
                                  "https://x/y/", str(tmp_path)], rc=rc) == [
        "https://mirrors.example.cn/anaconda/cloud/conda-forge",
        "https://other.example.cn/cloud/pytorch",
        "https://mirrors.example.cn/anaconda/pkgs/main",
        "https://mirrors.example.cn/anaconda/cloud/conda-forge/label/dev",
        "https://x/y",
        tmp_path.as_uri(),
    ]
    assert channels.channel_urls(["conda-forge", "defaults"], rc={"default_channels": list(condarc.DEFAULT_CHANNELS_UNIX)}) == [
        "https://conda.anaconda.org/conda-forge", *condarc.DEFAULT_CHANNELS_UNIX]
    assert channels.display_name("https://mirrors.example.cn/anaconda/cloud/conda-forge/", rc=rc) == "conda-forge"
    assert channels.display_name("https://u:secret@h/c", rc={}) == "https://u:***@h/c"


@pytest.mark.parametrize("text,kind,conda,pip", [
    ("numpy\nscipy>=1.10\n", "requirements", [], ["-r"]),
    ("# platform: linux-64\nnumpy=1.26.4=py311h_0\nsix=1.16.0=pypi_0\n", "requirements",
     ["numpy ==1.26.4 py311h_0"], ["six==1.16.0"]),
    ("numpy=1.26\nscipy=1.13\n", "requirements", ["numpy==1.26", "scipy==1.13"], []),
])
def test_requirements_forms(tmp_path, text, kind, conda, pip):
    p = tmp_path / "requirements.txt"
    p.write_text(text)
    spec = specfile.read(p)
    assert spec.kind == kind and spec.conda == conda
    if pip == ["-r"]:  # pip's own format: the whole file goes to pip
        assert spec.pip == [f"-r {p.resolve()}"]
    else:
        assert spec.pip == pip


def test_environment_yml_parsing(tmp_path):
    (tmp_path / "more.txt").write_text("six\n")
    p = tmp_path / "environment.yml"
    p.write_text("name: n\nchannels: [conda-forge, nodefaults]\ndependencies:\n  - python=3.12\n  - pip\n"
                 "  - pip:\n    - requests>=2\n    - -r more.txt\nplatforms: [linux-64, osx-arm64]\n"
                 "pip-repositories:\n  - https://idx/simple\n  - https://idx2/simple\n")
    spec = specfile.read(p)
    assert (spec.kind, spec.name, spec.channels) == ("environment-yaml", "n", ["conda-forge"])
    assert spec.conda == ["python=3.12", "pip"]
    assert spec.pip == ["requests>=2", f"-r {(tmp_path / 'more.txt').resolve()}"]
    assert spec.platforms == ["linux-64", "osx-arm64"]
    assert (spec.pip_index_url, spec.pip_extra_index_urls) == ("https://idx/simple", ["https://idx2/simple"])


def test_kind_detection_and_explicit(tmp_path):
    lock = tmp_path / "anything.yml"
    lock.write_text("version: 1\nmetadata: {}\npackage: []\n")
    assert specfile.read(lock).kind == "conda-lock"
    assert specfile.detect_kind(Path("conda-lock.yml"), "") == "conda-lock"
    ex = tmp_path / "spec.txt"
    ex.write_text("# platform: linux-64\n@EXPLICIT\nhttps://c/conda-forge/linux-64/numpy-1.26.4-py311h_0.conda#d7c89558ba9fa0495403155b64376d81\n")
    spec = specfile.read(ex)
    assert spec.kind == "explicit"
    assert specfile.explicit_to_specs(spec.explicit_urls) == (["https://c/conda-forge"], ["numpy ==1.26.4 py311h_0"])
    ex.write_text("@EXPLICIT\n")
    with pytest.raises(UsageError):
        specfile.read(ex)


def test_add_python():
    s = specfile.EnvSpec(conda=["numpy", "python>=3"], pip=["x"])
    specfile.add_python(s, "3.12")
    assert s.conda == ["python=3.12", "numpy", "pip"]
    s = specfile.EnvSpec(pip=["x"])
    specfile.add_python(s, None)
    assert s.conda == ["python", "pip"]


@pytest.mark.parametrize("name,ok", [("dl", True), ("dl-2.0_x", True), ("a b", False), ("a:b", False),
                                     ("base", False), ("root", False), (".x", False), ("", False), ("a#b", False)])
def test_validate_name(name, ok):
    if ok:
        assert locations.validate_name(name) == name
    else:
        with pytest.raises(UsageError):
            locations.validate_name(name)


def test_registry_register_unregister(isolated_env):
    p = isolated_env / "e1"
    assert locations.register(p) is True and locations.register(p) is False
    assert locations.read_registry() == [p]
    assert locations.unregister(p) is True and locations.unregister(p) is False
    assert locations.registry_path().read_text() == ""


def test_root_prefix_needs_a_real_conda_install(tmp_path, monkeypatch):
    monkeypatch.setenv("CONDA_ROOT", str(tmp_path))  # e.g. left behind by conda-lock's vendored conda
    assert locations.root_prefix() is None
    (tmp_path / "conda-meta").mkdir()
    assert locations.root_prefix() == tmp_path


def test_stage_commit_and_failure(tmp_path):
    final = tmp_path / "envs" / "x"
    with staging.Stage(final) as st:
        (st.path / "f").write_text("hi")
        st.commit()
    assert (final / "f").read_text() == "hi" and os.listdir(tmp_path / "envs") == ["x"]
    with pytest.raises(RuntimeError), staging.Stage(tmp_path / "envs" / "y") as st:
        (st.path / "f").write_text("half")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path / "envs") == ["x"]


def test_clean_stale_spares_live_stages(tmp_path):
    parent = tmp_path / "envs"
    parent.mkdir()
    dead = parent / ".dlsetup-staging-a-00000000"
    dead.mkdir()
    (dead / "file").write_text("x")
    with staging.Stage(parent / "b") as live:
        assert live.cleaned == [dead.name] and not dead.exists()  # a new stage sweeps dead ones first
        assert staging.clean_stale(parent) == []  # ... but never a live one: it holds its lock
        assert live.path.exists()
    assert os.listdir(parent) == []


def test_untracked_and_prefix_rewrite(tmp_path):
    import json

    prefix = tmp_path / "p"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "a-1-0.json").write_text(json.dumps({"name": "a", "version": "1", "files": ["bin/a"]}))
    (prefix / "bin").mkdir()
    (prefix / "bin" / "a").write_text("owned")
    (prefix / "bin" / "tool").write_text(f"#!{prefix}/bin/python\n")
    (prefix / "lib.bin").write_bytes(str(prefix).encode() + b"\x00\xff\xfe")
    os.symlink(f"{prefix}/bin/tool", prefix / "bin" / "link")
    rels = staging.untracked_files(prefix)
    assert rels == ["bin/link", "bin/tool", "lib.bin"]
    new = "/new/place"
    assert staging.rewrite_prefix(prefix, rels, str(prefix), new) == 2
    assert (prefix / "bin" / "tool").read_text() == "#!/new/place/bin/python\n"
    assert os.readlink(prefix / "bin" / "link") == "/new/place/bin/tool"
    assert (prefix / "lib.bin").read_bytes().startswith(str(prefix).encode())  # binary: left alone, like conda


def test_virtual_packages_for_another_platform_never_detect():
    table = virtual.table_for("osx-arm64")
    assert table["__osx"] == "11.0" and "__cuda" not in table
    assert virtual.table_for("linux-64", cuda="12.4")["__cuda"] == "12.4"
    assert "__cuda" not in virtual.table_for("win-64")  # conda-lock's 11.4 default is not assumed
    names = virtual.describe(virtual.for_platform("osx-arm64"))
    assert names == ["__archspec=1=arm64", "__osx=11.0=0", "__unix=0=0"]


def test_virtual_packages_here_honour_overrides(monkeypatch):
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "12.2")
    assert "__cuda=12.2=0" in virtual.describe(virtual.for_platform())
    assert not any(v.startswith("__cuda") for v in virtual.describe(virtual.for_platform(cuda="")))
    monkeypatch.setenv("CONDA_OVERRIDE_GLIBC", "not a version")
    with pytest.raises(UsageError):
        virtual.for_platform()


def test_flatten_and_explain():
    tree = ("Cannot solve the request because of: The following packages are incompatible\n"
            "├─ a * can be installed with any of the following options:\n│  └─ a 1 would require\n"
            "│     └─ b >=2, which can be installed with any of the following options:\n")
    assert flatten(tree) == "incompatible: a *; a 1 would require b >=2"

    class SolverError(Exception):
        pass

    e = explain(SolverError("Cannot solve the request because of: x * cannot be installed because there are no "
                            "viable options:\n└─ x 1 would require\n   └─ __cuda >=12, for which no candidates were found.\n"))
    assert isinstance(e, OperationFailed) and e.key == "envs.error.virtual_missing" and e.params["package"] == "__cuda"
    e = explain(OSError(28, "No space left on device"))
    assert e.key == "envs.error.disk_full"


def test_api_for_verify(cli, channel_url, envs_dir):
    from dlsetup.envs.api import env_python, find_env_prefix

    assert cli("create", "env", "v", "-c", channel_url, "python").code == 0
    prefix = find_env_prefix("v")
    assert prefix == envs_dir / "v" and find_env_prefix(str(prefix)) == prefix
    assert env_python(prefix) == prefix / "bin" / "python" and env_python(prefix).exists()
    with pytest.raises(UsageError) as exc:
        find_env_prefix("nope")
    assert exc.value.exit_code == 2
    assert sys.platform.startswith("linux")


def test_example_env_files_parse():
    repo = Path(__file__).resolve().parents[2]
    files = sorted((repo / "envs").glob("*.yml"))
    assert [f.name for f in files] == ["course.yml", "minimal.yml", "pytorch-cpu.yml", "pytorch-cu126.yml"]
    for f in files:
        spec = specfile.read(f)
        assert spec.kind == "environment-yaml" and spec.channels == ["conda-forge"] and spec.name
        assert any(s.startswith("python=") for s in spec.conda), f
    cu = specfile.read(repo / "envs" / "pytorch-cu126.yml")
    assert cu.pip == ["torch", "torchvision"] and cu.pip_index_url == "https://download.pytorch.org/whl/cu126"
    assert {"numpy", "scipy"} <= set(specfile.read(repo / "envs" / "course.yml").conda)


def test_cuda_arch_virtual_package_is_the_lowest_compute_capability():
    """CEP 46 (conda.org/learn/ceps/cep-0046): ``__cuda_arch`` is the minimum compute capability of the GPUs."""
    from types import SimpleNamespace as NS

    gpus = [NS(compute_capability="8.6"), NS(compute_capability="7.5"), NS(compute_capability=None)]
    assert virtual.cuda_arch(gpus) == "7.5"
    assert virtual.cuda_arch([NS(compute_capability="10.0"), NS(compute_capability="9.0")]) == "9.0"
    assert virtual.cuda_arch([NS(compute_capability="6.1+garbage")]) is None
    assert virtual.cuda_arch([]) is None


def test_cuda_arch_from_snapshots_decides_a_real_solve(tmp_path):
    """A package built for cuda-arch >= 9.0 solves for the H100 snapshot and not for the RTX 3090 one (8.6)."""
    import asyncio

    import rattler

    from dlsetup.probe.model import Snapshot
    from tests.envs import channel_builder as cb

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
    h100 = Snapshot.load(fixtures / "h100-r580.json")
    ampere = Snapshot.load(fixtures / "rtx3090-r470-cu126.json")
    assert virtual.from_snapshot(h100)["__cuda_arch"] == "9.0"
    assert virtual.from_snapshot(Snapshot.load(fixtures / "ci-box.json")).get("__cuda_arch") is None

    chan = cb.build_channel(tmp_path / "chan", [
        cb.Pkg("dlsetup-demo-sm90", "1.0", subdir="linux-64", depends=["__cuda_arch >=9.0"])])

    def solve(snap):
        return asyncio.run(rattler.solve(
            [rattler.Channel(chan.as_uri())], ["dlsetup-demo-sm90"], platforms=["linux-64"],
            virtual_packages=virtual.for_platform("linux-64", snapshot=snap)))

    assert [r.name.normalized for r in solve(h100)] == ["dlsetup-demo-sm90"]
    assert virtual.from_snapshot(ampere)["__cuda_arch"] == "8.6"
    with pytest.raises(Exception, match="__cuda_arch"):
        solve(ampere)


def test_an_unfinished_in_place_build_is_removed_only_when_its_builder_is_gone(tmp_path):
    """A venv is built at its final path; a SIGKILLed build leaves it half made. Its marker's OS lock tells a
    dead builder (remove it) from a live one (leave it), and a prefix without the marker is never touched."""
    import subprocess
    import sys

    from dlsetup.envs import api, staging
    from dlsetup.errors import UsageError

    killed = tmp_path / "killed"
    (killed / "bin").mkdir(parents=True)
    Path(str(killed) + staging.UNFINISHED).write_text("")  # the marker a killed builder leaves, unlocked
    api._check_free(None, killed)
    assert not killed.exists() and not Path(str(killed) + staging.UNFINISHED).exists()

    mine = tmp_path / "users-own"
    mine.mkdir()
    with pytest.raises(UsageError):
        api._check_free(None, mine)
    assert mine.is_dir()

    live = tmp_path / "live"
    live.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from dlsetup.envs.staging import InPlaceBuild\n"
        f"with InPlaceBuild(Path({str(live)!r})):\n    print('held', flush=True); time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError):
            api._check_free(None, live)
        assert live.is_dir()
    finally:
        holder.kill()
        holder.wait(10)
    api._check_free(None, live)  # its builder is gone now
    assert not live.exists()
