"""Environment files read as conda reads them (issue 11), end to end against the local channel.

Each test pins one failure the issue lists: build strings and ``==`` wildcards, ``channel::name``, ``variables:``,
conda-lock selectors, pip paths relative to the file, @EXPLICIT platform and hashes, and errors that name the
spec, the file and line, and the channel by URL.
"""

from __future__ import annotations

import json
from pathlib import Path

from dlsetup.envs import specfile


def _write(p: Path, text: str) -> str:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return str(p)


def test_build_strings_wildcards_and_channel_specs_solve(cli, channel_url, tmp_path):
    # the shapes of conda env export (name=version=build), cudf's dask-cuda==24.10.*,>=0.0.0a0, and channel::name
    env = _write(tmp_path / "environment.yml", f"""channels:
  - {channel_url}
dependencies:
  - dlsetup-demo-b=1.0.0=h0_0
  - dlsetup-demo-a==0.1.*
  - dlsetup-demo-c==3.*,>=0.0.0a0
  - {channel_url}::dlsetup-demo-py=1.0
  - python
""")
    r = cli("--json", "create", "env", "x", "-f", env, "--dry-run")
    assert r.code == 0, r
    got = {p["name"]: (p["version"], p["build"]) for p in r.json()["packages"]}
    assert got["dlsetup-demo-b"] == ("1.0.0", "h0_0") and got["dlsetup-demo-a"][0] == "0.1.0"
    assert got["dlsetup-demo-c"][0] == "3.1" and got["dlsetup-demo-py"][0] == "1.0"


def test_channel_name_in_a_spec_goes_through_the_users_channel_config(cli, channel, tmp_path, isolated_env):
    # `demo::pkg` with custom_channels mapping `demo` to the local directory: conda adds the spec's channel to
    # the solve, through .condarc (so through a mirror); no -c is given
    (isolated_env / ".condarc").write_text(f"custom_channels:\n  {channel.name}: {channel.parent.as_uri()}\n"
                                           f"channels:\n  - {channel.as_uri()}\n")
    env = _write(tmp_path / "e.yml", f"dependencies:\n  - {channel.name}::dlsetup-demo-c=3.1\n")
    r = cli("--json", "create", "env", "x", "-f", env, "--dry-run")
    assert r.code == 0, r
    assert [p["name"] for p in r.json()["packages"]] == ["dlsetup-demo-c"]


def test_variables_are_planned_and_written_to_conda_meta_state(cli, channel_url, tmp_path, envs_dir):
    env = _write(tmp_path / "environment.yml", f"""channels: [{channel_url}]
dependencies:
  - dlsetup-demo-c
variables:
  CUDA_HOME: /usr/local/cuda
  TOKENIZERS_PARALLELISM: "false"
""")
    r = cli("create", "env", "vars", "-f", env, "--dry-run")
    assert r.code == 0 and "CUDA_HOME=/usr/local/cuda" in r.stdout and "TOKENIZERS_PARALLELISM=false" in r.stdout
    r = cli("--json", "create", "env", "vars", "-f", env)
    assert r.code == 0, r
    assert r.json()["variables"] == {"CUDA_HOME": "/usr/local/cuda", "TOKENIZERS_PARALLELISM": "false"}
    state = json.loads((envs_dir / "vars" / "conda-meta" / "state").read_text())
    assert state == {"env_vars": {"CUDA_HOME": "/usr/local/cuda", "TOKENIZERS_PARALLELISM": "false"}}


def test_selectors_apply_per_platform(cli, channel_url, tmp_path):
    # conda-lock's selector form (tests/test-env-filter-platform in conda/conda-lock): a linux plan must not
    # ask for the osx-only compiler
    env = _write(tmp_path / "environment.yml", f"""channels: [{channel_url}]
dependencies:
  - dlsetup-demo-c
  - clang_osx-arm64  # [osx]
  - dlsetup-demo-b  # [linux]
""")
    r = cli("--json", "create", "env", "x", "-f", env, "--dry-run")
    assert r.code == 0, r
    assert r.json()["specs"] == ["dlsetup-demo-c", "dlsetup-demo-b"]
    assert specfile.read(env, platform="osx-arm64").conda == ["dlsetup-demo-c", "clang_osx-arm64"]
    assert specfile.read(env, platform="win-64").conda == ["dlsetup-demo-c"]


def test_pip_paths_are_relative_to_the_file_not_the_cwd(tmp_path, monkeypatch):
    # gaussian-splatting's environment.yml installs submodules/diff-gaussian-rasterization; many repos use -e .
    proj = tmp_path / "proj"
    (proj / "submodules" / "simple-knn").mkdir(parents=True)
    env = _write(proj / "environment.yml", """dependencies:
  - python
  - pip:
    - -e .
    - submodules/simple-knn
    - ./local_wheel-1.0-py3-none-any.whl
    - -r requirements.txt
    - torch==2.1.0
    - git+https://github.com/openai/CLIP.git
""")
    monkeypatch.chdir(tmp_path)
    spec = specfile.read(env)
    assert spec.pip == [f"-e {proj}", str(proj / "submodules" / "simple-knn"),
                        str(proj / "local_wheel-1.0-py3-none-any.whl"), f"-r {proj / 'requirements.txt'}",
                        "torch==2.1.0", "git+https://github.com/openai/CLIP.git"]


def test_pip_repository_urls_expand_variables_like_conda_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_USER", "alice")
    monkeypatch.setenv("PIP_PASSWORD", "s3cret")
    env = _write(tmp_path / "environment.yml", """dependencies: [python]
pip-repositories:
  - https://$PIP_USER:$PIP_PASSWORD@pypi.example.org/simple
  - https://${PIP_USER}@other.example.org/simple
""")
    spec = specfile.read(env)
    assert spec.pip_index_url == "https://alice:s3cret@pypi.example.org/simple"
    assert spec.pip_extra_index_urls == ["https://alice@other.example.org/simple"]


def test_bad_spec_names_the_spec_file_and_line(cli, channel_url, tmp_path):
    env = _write(tmp_path / "environment.yml", f"channels: [{channel_url}]\ndependencies:\n  - python\n  - numpy==\n")
    r = cli("create", "env", "x", "-f", env, "--dry-run")
    assert r.code == 2 and "'numpy=='" in r.stderr and f"{env}:4" in r.stderr and "'?'" not in r.stderr


def test_missing_package_error_names_the_file_line(cli, channel_url, tmp_path):
    env = _write(tmp_path / "environment.yml", f"channels: [{channel_url}]\ndependencies:\n  - python\n"
                                              "  - no-such-pkg=1.0=cuda\n")
    r = cli("create", "env", "x", "-f", env)
    assert r.code == 1 and "no-such-pkg" in r.stderr and f"{env}:4" in r.stderr


def test_unreachable_channel_is_named_by_url_and_dry_run_exits_1(cli, tmp_path):
    env = _write(tmp_path / "environment.yml", "channels:\n  - http://127.0.0.1:9/mirror/pytorch\n"
                                              "dependencies:\n  - pytorch-mutex=1.0=cuda\n")
    r = cli("create", "env", "x", "-f", env, "--dry-run")
    assert r.code == 1 and "http://127.0.0.1:9/mirror/pytorch" in r.stdout and "channel ?" not in r.stdout


def test_explicit_file_for_another_platform_is_refused(cli, tmp_path):
    # the shape of `conda list --explicit` on Windows (conda/conda tests/test-recipes, ... `# platform: win-64`)
    ex = _write(tmp_path / "spec-win.txt", """# This file may be used to create an environment using:
# $ conda create --name <env> --file <this file>
# platform: win-64
@EXPLICIT
https://conda.anaconda.org/conda-forge/win-64/vc-14.3-h8a93ad2_20.conda#8558f367e1d7700554f7cdb823c46faf
""")
    r = cli("create", "env", "x", "-f", ex, "--dry-run")
    assert r.code == 2 and "win-64" in r.stderr and "linux-64" in r.stderr


def test_explicit_md5_is_checked_against_the_channel(cli, channel, channel_url, tmp_path, envs_dir):
    from rattler import PrefixRecord  # noqa: F401 - rattler is what reads the index below

    repodata = json.loads((channel / "noarch" / "repodata.json").read_text())
    fn, rec = next((k, v) for k, v in {**repodata["packages"], **repodata.get("packages.conda", {})}.items()
                   if v["name"] == "dlsetup-demo-c")
    good = f"{channel_url}/noarch/{fn}#{rec['md5']}"
    ex = _write(tmp_path / "ok.txt", f"# platform: linux-64\n@EXPLICIT\n{good}\n")
    r = cli("--json", "create", "env", "exp", "-f", ex)
    assert r.code == 0, r
    assert (envs_dir / "exp" / "share" / "dlsetup-demo-c" / "x").exists()
    bad = _write(tmp_path / "bad.txt", f"@EXPLICIT\n{channel_url}/noarch/{fn}#{'0' * 32}\n")
    r = cli("create", "env", "exp2", "-f", bad)
    assert r.code == 2 and "md5" in r.stderr and f"{bad}:2" in r.stderr and rec["md5"] in r.stderr
    assert not (envs_dir / "exp2").exists()
    sha = _write(tmp_path / "sha.txt", f"@EXPLICIT\n{channel_url}/noarch/{fn}#sha256:{rec['sha256']}\n")
    assert cli("create", "env", "exp3", "-f", sha, "--dry-run").code == 0


def test_utf16_environment_file_is_read_like_conda(tmp_path):
    # conda/env/env.py load_file falls back to UTF-16 (files written by PowerShell's `>`)
    p = tmp_path / "environment.yml"
    p.write_bytes("dependencies:\n  - python=3.11\n".encode("utf-16"))
    assert specfile.read(p).conda == ["python=3.11"]
