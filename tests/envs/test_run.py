"""``dlsetup run`` and ``dlsetup env activate`` on a conda-family environment made from a real local channel
whose package installs an ``etc/conda/activate.d`` script and ``etc/conda/env_vars.d`` variables, as
packages like cudatoolkit-dev, gdal and openjdk do."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dlsetup.envs import activation
from tests.envs import channel_builder as cb


@pytest.fixture(scope="module")
def act_channel(tmp_path_factory):
    pkg = cb.Pkg("dlsetup-demo-act", "1.0", noarch="generic", files={
        "etc/conda/activate.d/dlsetup-demo-act.sh": ('export DEMO_ACT_HOME="$CONDA_PREFIX/share/demo"\n', 0o644),
        "etc/conda/activate.d/dlsetup-demo-act.fish": ('set -gx DEMO_ACT_HOME "$CONDA_PREFIX/share/demo"\n', 0o644),
        "etc/conda/env_vars.d/dlsetup-demo-act.json": ('{"DEMO_PKG_VAR": "from-package"}\n', 0o644),
    })
    return cb.build_channel(tmp_path_factory.mktemp("act-channel"), [cb.venv_python_pkg(), pkg]).as_uri()


@pytest.fixture
def conda_env(cli, act_channel, tmp_path, envs_dir):
    yml = tmp_path / "environment.yml"
    yml.write_text(f"channels: [{act_channel}]\ndependencies:\n  - python\n  - dlsetup-demo-act\n"
                   "variables:\n  MY_VAR: \"it's set\"\n")
    r = cli("create", "env", "act", "-f", str(yml))
    assert r.code == 0, r
    return envs_dir / "act"


def test_run_activates_like_conda_run(cli_subprocess, conda_env):
    code = ("import os, sys; print(sys.prefix); print(os.environ['CONDA_PREFIX']); print(os.environ['DEMO_ACT_HOME']);"
            "print(os.environ['DEMO_PKG_VAR']); print(os.environ['MY_VAR']); sys.exit(5)")
    r = cli_subprocess("run", "-n", "act", "python", "-c", code)
    assert r.code == 5, r
    assert r.stdout.splitlines() == [str(conda_env), str(conda_env), f"{conda_env}/share/demo", "from-package",
                                     "it's set"]


def test_run_passes_arguments_untouched_and_json_reports_the_exit_code(cli_subprocess, conda_env, tmp_path):
    r = cli_subprocess("--json", "run", "-n", str(conda_env), "--cwd", str(tmp_path), "--", "python", "-c",
                       "import os, sys; print(os.getcwd(), sys.argv[1:])", "--flag", "a b")
    assert r.code == 0, r
    first, _, doc = r.stdout.partition("\n")
    assert first == f"{tmp_path} ['--flag', 'a b']"
    import json

    data = json.loads(doc)
    assert data["command"] == "run" and data["returncode"] == 0 and data["kind"] == "conda"


def test_activate_lines_for_each_shell(cli, conda_env):
    bash = cli("env", "activate", "act", "--shell", "bash")
    assert bash.code == 0
    lines = bash.stdout.splitlines()
    assert lines[0] == f'export PATH={conda_env}/bin:"$PATH"'
    assert f"export CONDA_PREFIX={conda_env}" in lines and "export MY_VAR='it'\"'\"'s set'" in lines
    assert lines[-1] == f". {conda_env}/etc/conda/activate.d/dlsetup-demo-act.sh"
    fish = cli("env", "activate", "act", "--shell", "fish").stdout.splitlines()
    assert fish[0] == f"set -gx PATH {conda_env}/bin $PATH" and "set -gx MY_VAR 'it\\'s set'" in fish
    assert fish[-1] == f"source {conda_env}/etc/conda/activate.d/dlsetup-demo-act.fish"
    ps = cli("env", "activate", "act", "--shell", "powershell").stdout.splitlines()
    assert "$env:MY_VAR = 'it''s set'" in ps and not any(".sh" in ln or "&&" in ln for ln in ps)
    cmd = cli("env", "activate", "act", "--shell", "cmd").stdout.splitlines()
    assert 'set "MY_VAR=it\'s set"' in cmd and not any(".sh" in ln for ln in cmd)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_evaluates_the_activation_lines(cli, conda_env):
    lines = cli("env", "activate", "act", "--shell", "bash").stdout
    out = subprocess.run(["bash", "-c", lines + '\necho "$DEMO_ACT_HOME|$MY_VAR|$(command -v python)"'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"{conda_env}/share/demo|it's set|{conda_env}/bin/python"


def test_run_errors(cli):
    r = cli("run", "-n", "nope", "python")
    assert r.code == 2 and "nope" in r.stderr
    r = cli("run", "-n", "nope")
    assert r.code == 2


def test_activation_has_no_quoting_of_its_own(cli, conda_env):
    """One renderer: the activation lines are the platform layer's rendering of the activation steps."""
    from dlsetup.platform.shell import render_all_lines

    assert not hasattr(activation, "quote")
    act = activation.activation_for(conda_env, "act")
    for shell in ("bash", "zsh", "fish", "powershell", "cmd"):
        assert activation.script_lines(act, shell) == render_all_lines(activation.steps(act), shell)
    with pytest.raises(ValueError):
        activation.script_lines(act, "tcsh")
    doc = __import__("json").loads(cli("--json", "env", "activate", "act", "--shell", "cmd").stdout)
    assert doc["shell"] == "cmd" and doc["steps"][0]["kind"] == "prepend_path"
