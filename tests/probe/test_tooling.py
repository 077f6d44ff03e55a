"""pip / uv / conda / mamba / micromamba / pixi detection and the index settings, with real scripts on PATH."""

from __future__ import annotations

import os
import sys

from dlsetup.probe import interpreter
from dlsetup.probe.tooling import (
    conda_meta_version,
    dist_version,
    probe_tooling,
    same_interpreter,
    script_interpreter,
)


def script(path, text, mode=0o755):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_shebang_forms(tmp_path):
    assert script_interpreter(str(script(tmp_path / "a", "#!/opt/py/bin/python3.11\nimport pip\n"))) == "/opt/py/bin/python3.11"
    long = script(tmp_path / "b", "#!/bin/sh\n'''exec' \"/very long/path/bin/python\" \"$0\" \"$@\"\n' '''\n")
    assert script_interpreter(str(long)) == "/very long/path/bin/python"
    assert script_interpreter(str(script(tmp_path / "c", "\x7fELF binary"))) is None
    assert script_interpreter(str(tmp_path / "missing")) is None


def test_env_shebang_is_resolved_on_path(tmp_path):
    py = script(tmp_path / "bin" / "python3", "#!/bin/sh\n")
    pip = script(tmp_path / "pip", "#!/usr/bin/env python3\n")
    old = os.environ["PATH"]
    os.environ["PATH"] = str(tmp_path / "bin")
    try:
        assert script_interpreter(str(pip)) == str(py)
    finally:
        os.environ["PATH"] = old


def test_pyenv_shim_is_followed_to_the_selected_version(tmp_path):
    pyenv = tmp_path / ".pyenv"
    shim = script(pyenv / "shims" / "pip", f'#!/usr/bin/env bash\nset -e\nprogram="${{0##*/}}"\n'
                                            f'export PYENV_ROOT="{pyenv}"\nexec "{pyenv}/libexec/pyenv" exec "$program" "$@"\n')
    script(pyenv / "versions" / "3.11.7" / "bin" / "pip", f"#!{pyenv}/versions/3.11.7/bin/python3.11\n")
    script(pyenv / "versions" / "3.12.3" / "bin" / "pip", f"#!{pyenv}/versions/3.12.3/bin/python3.12\n")
    (pyenv / "version").write_text("3.11.7\n")
    assert script_interpreter(str(shim), {"PATH": ""}) == f"{pyenv}/versions/3.11.7/bin/python3.11"
    assert script_interpreter(str(shim), {"PATH": "", "PYENV_VERSION": "3.12.3"}) == f"{pyenv}/versions/3.12.3/bin/python3.12"


def test_same_interpreter_rules():
    assert same_interpreter("/e/bin/python3.11", "/e/bin/python") is True
    assert same_interpreter("/usr/bin/python3", "/e/bin/python") is False
    assert same_interpreter(None, "/e/bin/python") is None


def _interp(tmp_path, exe):
    site = tmp_path / "site"
    (site / "pip-24.0.dist-info").mkdir(parents=True)
    info = interpreter._python_info(str(exe), "3.11.9", "cpython", str(tmp_path / "env"), "/usr")
    return interpreter.Interpreter(info=info, sys_path=[str(site)])


def test_pip_and_python_on_path_from_different_pythons_do_not_match(tmp_path):
    env_py = script(tmp_path / "env" / "bin" / "python", "#!/bin/sh\n")
    script(tmp_path / "bin" / "pip", "#!/usr/bin/python3\n")
    path = os.pathsep.join([str(tmp_path / "env" / "bin"), str(tmp_path / "bin")])
    info = probe_tooling(_interp(tmp_path, env_py), {"PATH": path}, settings=False)
    pip = info.tools[0]
    assert (pip.name, pip.found, pip.version, pip.path) == ("pip", True, "24.0", str(tmp_path / "bin" / "pip"))
    assert info.python_on_path == str(env_py)
    assert info.pip_python == "/usr/bin/python3" and info.pip_matches_python is False


def test_pip_and_python_of_the_same_env_match(tmp_path):
    env_py = script(tmp_path / "env" / "bin" / "python", "#!/bin/sh\n")
    script(tmp_path / "env" / "bin" / "pip", f"#!{tmp_path}/env/bin/python3.11\n")
    info = probe_tooling(_interp(tmp_path, env_py), {"PATH": str(tmp_path / "env" / "bin")}, settings=False)
    assert info.pip_matches_python is True


def test_dlsetup_in_its_own_env_compares_pip_with_python_on_path(tmp_path):
    # pipx / uv-tool install: dlsetup's interpreter is elsewhere; the user's pip and python agree.
    user_py = script(tmp_path / "user" / "bin" / "python", "#!/bin/sh\n")
    script(tmp_path / "user" / "bin" / "pip", f"#!{user_py}\n")
    info = probe_tooling(_interp(tmp_path, tmp_path / "pipx" / "venvs" / "dlsetup" / "bin" / "python"),
                         {"PATH": str(tmp_path / "user" / "bin")}, settings=False)
    assert info.pip_matches_python is True


def test_explicit_python_of_the_active_env_is_compared_with_pip_on_path(tmp_path):
    # --python names the activated env, but `pip` on PATH is another interpreter's (a venv made --without-pip)
    user_py = script(tmp_path / "user" / "bin" / "python", "#!/bin/sh\n")
    script(tmp_path / "user" / "bin" / "pip", f"#!{user_py}\n")
    other = tmp_path / "other" / "bin" / "python"
    env = {"PATH": str(tmp_path / "user" / "bin"), "VIRTUAL_ENV": str(tmp_path / "env")}  # _interp's prefix
    info = probe_tooling(_interp(tmp_path, other), env, settings=False, explicit_python=True)
    assert info.pip_matches_python is False


def test_explicit_python_of_an_env_not_activated_is_not_a_pip_mismatch(tmp_path):
    # `dlsetup doctor --python ~/envs/x/bin/python` from a shell where x is not active: `pip` and `python` on
    # PATH agree, so `pip install` lands where `python` looks; no warning about the other env.
    user_py = script(tmp_path / "user" / "bin" / "python", "#!/bin/sh\n")
    script(tmp_path / "user" / "bin" / "pip", f"#!{user_py}\n")
    other = tmp_path / "other" / "bin" / "python"
    info = probe_tooling(_interp(tmp_path, other), {"PATH": str(tmp_path / "user" / "bin")}, settings=False,
                         explicit_python=True)
    assert info.pip_matches_python is True


def test_no_pip_on_path_is_unknown(tmp_path):
    info = probe_tooling(_interp(tmp_path, tmp_path / "py"), {"PATH": str(tmp_path / "empty")}, settings=False)
    assert info.pip_matches_python is None and info.tools[0].found is True  # python -m pip still works


def test_conda_and_mamba_versions_come_from_conda_meta(tmp_path):
    base = tmp_path / "miniforge3"
    script(base / "bin" / "conda", "#!/bin/sh\necho SHOULD-NOT-RUN\n")
    script(base / "bin" / "mamba", "#!/bin/sh\necho SHOULD-NOT-RUN\n")
    (base / "conda-meta").mkdir(parents=True)
    (base / "conda-meta" / "conda-24.11.3-py312h7900ff3_0.json").write_text("{}")
    (base / "conda-meta" / "mamba-2.0.5-h4d8a2d5_0.json").write_text("{}")
    env = {"PATH": str(base / "bin"), "CONDA_EXE": str(base / "bin" / "conda"), "CONDA_PREFIX": str(base),
           "CONDA_DEFAULT_ENV": "base"}
    info = probe_tooling(_interp(tmp_path, tmp_path / "py"), env, settings=False)
    tools = {t.name: t for t in info.tools}
    assert (tools["conda"].found, tools["conda"].version, tools["conda"].detail) == (True, "24.11.3", "env:CONDA_EXE")
    assert (tools["mamba"].found, tools["mamba"].version) == (True, "2.0.5")
    assert info.conda_prefix == str(base) and info.conda_default_env == "base"
    assert conda_meta_version(str(base), "python") is None


def test_native_tools_answer_version(tmp_path):
    bin_dir = tmp_path / "bin"
    script(bin_dir / "uv", "#!/bin/sh\necho 'uv 0.9.2 (d2a9b6c1e 2025-10-10)'\n")
    script(bin_dir / "pixi", "#!/bin/sh\necho 'pixi 0.56.0'\n")
    script(tmp_path / "mm" / "micromamba", "#!/bin/sh\necho '2.3.2'\n")
    env = {"PATH": str(bin_dir), "MAMBA_EXE": str(tmp_path / "mm" / "micromamba"), "HOME": str(tmp_path)}
    info = probe_tooling(_interp(tmp_path, tmp_path / "py"), env, settings=False)
    tools = {t.name: t for t in info.tools}
    assert [t.name for t in info.tools] == ["pip", "uv", "conda", "mamba", "micromamba", "pixi"]
    assert tools["uv"].version == "0.9.2" and tools["pixi"].version == "0.56.0"
    assert (tools["micromamba"].version, tools["micromamba"].detail) == ("2.3.2", "env:MAMBA_EXE")
    assert tools["conda"].found is False and tools["mamba"].found is False


def test_a_tool_whose_version_call_fails_is_found_without_version(tmp_path):
    script(tmp_path / "bin" / "uv", "#!/bin/sh\nexit 3\n")
    info = probe_tooling(_interp(tmp_path, tmp_path / "py"), {"PATH": str(tmp_path / "bin")}, settings=False)
    uv = next(t for t in info.tools if t.name == "uv")
    assert uv.found and uv.version is None and "--version failed" in uv.detail


def test_pixi_in_its_home_dir_without_path(tmp_path):
    script(tmp_path / ".pixi" / "bin" / "pixi", "#!/bin/sh\necho 'pixi 0.40.0'\n")
    info = probe_tooling(_interp(tmp_path, tmp_path / "py"), {"PATH": "", "HOME": str(tmp_path)}, settings=False)
    assert next(t for t in info.tools if t.name == "pixi").version == "0.40.0"


def test_index_settings_come_from_the_mirror_reader(tmp_path):
    env = dict(os.environ)
    env["PIP_INDEX_URL"] = "https://user:secret@pypi.tuna.tsinghua.edu.cn/simple"
    info = probe_tooling(interpreter.current(), env)
    pip_env = [s for s in info.settings if s.tool == "pip" and s.source == "env:PIP_INDEX_URL"]
    assert pip_env and pip_env[0].effective is True


def test_dist_version_reads_dist_info_names(tmp_path):
    (tmp_path / "nvidia_ml_py-13.615.71.dist-info").mkdir()
    assert dist_version([str(tmp_path)], "nvidia-ml-py") == "13.615.71"
    assert dist_version([str(tmp_path)], "pip") is None


def test_current_interpreter_is_described_without_a_subprocess():
    cur = interpreter.current()
    assert cur.info.executable == sys.executable and cur.foreign is False
    assert cur.info.version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert any(d.endswith("site-packages") for d in cur.site_dirs)
