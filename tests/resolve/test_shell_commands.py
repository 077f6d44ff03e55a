"""resolve's install commands for the user's shell (defect 2: POSIX quoting and && for Windows)."""

from __future__ import annotations

import subprocess

ARGS = ("resolve", "torch", "onnxruntime", "--os", "windows", "--gpu-cc", "6.1", "--driver", "546.33",
        "--python", "3.12")


def test_windows_plan_defaults_to_powershell_without_and_and(cli):
    doc = cli(*ARGS, "--json").json()
    assert doc["shell"] == "powershell"
    pip = doc["commands"]["pip"]
    assert "&&" not in pip and "; if ($?) { python -m pip install" in pip
    assert "'onnxruntime-gpu[cuda,cudnn]==1.26.0' 'nvidia-cudnn-cu12<9.11'" in pip
    # the argument lists are in the document too, for scripts
    assert doc["argv"]["pip"][0][:4] == ["python", "-m", "pip", "install"]


def test_cmd_gets_double_quotes(cli):
    doc = cli(*ARGS, "--shell", "cmd", "--json").json()
    pip = doc["commands"]["pip"]
    assert "'" not in pip  # single quotes are not quoting characters in cmd.exe
    assert '"nvidia-cudnn-cu12<9.11"' in pip  # < would be a redirection
    conda = cli(*ARGS[:2], *ARGS[3:], "--shell", "cmd", "--json").json()["commands"]["conda"]  # torch alone
    assert conda == 'conda install -c conda-forge "pytorch=2.13.0=cuda*" cuda-version=12.8 "cudnn<9.11"'


def test_bash_commands_parse(cli):
    doc = cli(*ARGS, "--shell", "bash", "--json").json()
    for line in doc["commands"].values():
        if line:
            subprocess.run(["bash", "-n", "-c", line], check=True, timeout=10)
    assert " && " in doc["commands"]["pip"]


def test_text_output_prints_the_chosen_shell_form(cli):
    r = cli(*ARGS, "--shell", "cmd")
    assert r.code == 0 and '"onnxruntime-gpu[cuda,cudnn]==1.26.0"' in r.stdout


def test_unknown_shell_is_a_usage_error(cli):
    r = cli(*ARGS, "--shell", "tcsh")
    assert r.code == 2 and "tcsh" in r.stderr
