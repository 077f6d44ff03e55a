"""Every command dlsetup prints, for every shell, for Windows machines (the recorded Windows snapshots and
``--os windows``): nothing POSIX-only reaches PowerShell or cmd.exe, and the bash (zsh, fish) lines parse.

The commands come from the real CLI where they can be produced here (doctor and resolve for each Windows
snapshot, setup's driver steps, resolve --os windows, env activate on a real virtual environment), and from
the result objects of the steps that need a finished environment, bundle or mirror write (create env's
activation hint per backend, the bundle's follow-up command, the HF_ENDPOINT hint), built for a Windows machine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlsetup.platform import for_os
from dlsetup.platform.shell import SHELLS, join_and

WIN_SNAPSHOTS = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "windows").glob("*.json"))
# A Windows user folder with what breaks naive quoting: a space, a Chinese user name, an apostrophe, a percent sign.
WIN_PREFIX = "C:\\Users\\Zhang San\\学生's 100%\\envs\\dl"

# Statements that exist only in POSIX shells (bash/zsh builtins, which(1)), at the start of a statement.
_POSIX_STATEMENT = re.compile(r"(?:^|[;&|{(]\s*)(export|source|unset|which|hash)\s")


def _posix_only(line: str, shell: str) -> list[str]:
    """What in ``line`` cannot work in ``shell`` (PowerShell 5.1 or cmd.exe)."""
    bad = [f"`{m.group(1)}`" for m in _POSIX_STATEMENT.finditer(line)]
    if "/bin/activate" in line:
        bad.append("/bin/activate")
    if shell == "powershell" and ("&&" in line or "||" in line):
        bad.append("&& (PowerShell 5.1 has no pipeline chain operators)")
    if shell == "cmd" and re.search(r"(?:^|\s)'[^']*'(?:\s|$)", line):
        bad.append("a single-quoted argument (cmd.exe passes the quotes through)")
    return bad


def _commands(lines: list[str]) -> list[str]:
    """Printed commands, without the notes some fixes put between them (``# ...``)."""
    return [ln for ln in lines if ln and not ln.startswith(("# ", "REM "))]


def _collect_cli(cli, shell: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for snap in WIN_SNAPSHOTS:
        r = cli("--json", "doctor", "--snapshot", str(snap), "--shell", shell)
        assert r.code in (0, 1), r
        doc = json.loads(r.stdout)
        assert doc["shell"] == shell
        out[f"doctor {snap.name}"] = [c for f in doc["findings"] for c in f["commands"]]
        r = cli("--json", "resolve", "torch", "torchvision", "--snapshot", str(snap), "--shell", shell)
        assert r.code in (0, 1), r
        out[f"resolve {snap.name}"] = [c for c in json.loads(r.stdout)["commands"].values() if c]
    r = cli("--json", "resolve", "torch", "--os", "windows", "--python", "3.12", "--shell", shell)
    assert r.code == 0, r
    doc = json.loads(r.stdout)
    out["resolve --os windows"] = [c for c in doc["commands"].values() if c]
    assert out["resolve --os windows"], doc
    for snap in ("win-rtx3060-laptop-no-driver.json", "win-stale-cuda-path.json"):
        r = cli("--json", "setup", "--dry-run", "--snapshot", str(WIN_SNAPSHOTS[0].parent / snap), "--shell", shell)
        doc = json.loads(r.stdout)
        assert doc["shell"] == shell
        blocking = doc["steps"][0]["data"].get("blocking") or []
        out[f"setup {snap}"] = [c for b in blocking for c in b["commands"]] + ([doc["activate"]] if doc["activate"] else [])
    return out


def _windows_results(monkeypatch, shell: str) -> dict[str, list[str]]:
    """The hints that need a finished environment, bundle or mirror write, built as on a Windows machine."""
    import dlsetup.envs.backends as backends
    import dlsetup.platform as platform_mod
    from dlsetup.envs import activation
    from dlsetup.envs.backends.conda import CondaBackend
    from dlsetup.envs.backends.micromamba import MicromambaBackend
    from dlsetup.envs.backends.rattler import RattlerBackend
    from dlsetup.envs.backends.venv import VenvBackend
    from dlsetup.envs.model import CreateResult
    from dlsetup.mirror.apply import ApplyResult
    from dlsetup.offline.bundle import BundleResult, Target

    monkeypatch.setattr(platform_mod, "current", lambda: for_os("windows", {"PSModulePath": ""}))
    out: dict[str, list[str]] = {}
    hints = {
        "rattler (no conda)": (monkeypatch.setattr(backends, "detect_tools", lambda: []),
                               RattlerBackend().activate_hint("dl", WIN_PREFIX))[1],
        "conda": CondaBackend("conda.exe").activate_hint("dl", WIN_PREFIX),
        "micromamba": MicromambaBackend("micromamba.exe").activate_hint(None, WIN_PREFIX),
        "venv": VenvBackend().activate_hint("dl", WIN_PREFIX),
    }
    for backend, steps in hints.items():
        r = CreateResult(action="create", name="dl", prefix=WIN_PREFIX, backend=backend)
        r.set_activation(steps, shell)
        assert r.activate and r.shell == shell
        out[f"create env ({backend})"] = [r.activate]
    act = activation.Activation(prefix=WIN_PREFIX, kind="venv", name="dl", env_vars={"HF_HOME": "D:\\hf 100%"})
    out["env activate (Windows venv)"] = activation.script_lines(act, shell)
    conda_act = activation.Activation(prefix=WIN_PREFIX, kind="conda", name="dl",
                                      path_dirs=[WIN_PREFIX, WIN_PREFIX + "\\Library\\bin", WIN_PREFIX + "\\Scripts"],
                                      env_vars={"CONDA_PREFIX": WIN_PREFIX}, unset=["PYTHONHOME"],
                                      scripts=[WIN_PREFIX + "\\etc\\conda\\activate.d\\x.sh",
                                               WIN_PREFIX + "\\etc\\conda\\activate.d\\x.ps1",
                                               WIN_PREFIX + "\\etc\\conda\\activate.d\\x.bat"])
    out["env activate (Windows conda env)"] = activation.script_lines(conda_act, shell)
    b = BundleResult(action="download", path="D:\\bundles\\win bundle", target=Target(platform="win-64", python="3.12"),
                     kind="venv")
    b.set_shell(shell)
    out["download"] = [b.next_command]
    m = ApplyResult(action="apply", mirror="tuna", mirror_name="TUNA", scope="user", dry_run=False, offline=True,
                    variant=None, variant_source=None, hf_snippet="C:\\Users\\Zhang San\\AppData\\Roaming\\dlsetup\\hf-endpoint.sh",
                    hf_endpoint="https://hf-mirror.com")
    m.set_shell(shell)
    out["mirror (HF endpoint)"] = m.hf_source.splitlines()
    return out


def _check_syntax(shell: str, lines: list[str], tmp_path: Path) -> None:
    exe = {"bash": "bash", "zsh": "zsh", "fish": "fish"}.get(shell)
    if exe is None or shutil.which(exe) is None:
        return
    script = tmp_path / f"lines.{shell}"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = subprocess.run([exe, "-n", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{exe} -n rejects:\n{script.read_text(encoding='utf-8')}\n{r.stderr}"


@pytest.mark.parametrize("shell", SHELLS)
def test_every_printed_command_fits_the_shell(cli, monkeypatch, tmp_path, shell):
    assert len(WIN_SNAPSHOTS) >= 7
    found = _collect_cli(cli, shell)
    found.update(_windows_results(monkeypatch, shell))
    problems = []
    for where, lines in found.items():
        for line in _commands(lines):
            if shell in ("powershell", "cmd"):
                problems += [f"{where}: {bad}: {line}" for bad in _posix_only(line, shell)]
    assert not problems, "\n".join(problems)
    every = [ln for lines in found.values() for ln in _commands(lines)]
    assert len(every) > 40  # the sweep saw real output, not empty lists
    _check_syntax(shell, every, tmp_path)
    if shell == "powershell":
        assert any("\\Scripts\\Activate.ps1" in ln for ln in every)
    if shell == "cmd":
        assert any("\\Scripts\\activate.bat" in ln for ln in every)


def test_the_check_finds_posix_commands():
    """The sweep's own rule is not vacuous: what dlsetup printed before the platform layer is caught."""
    assert _posix_only("source /x/dl/bin/activate", "powershell")
    assert _posix_only("export HF_ENDPOINT=https://hf-mirror.com", "cmd")
    assert _posix_only("pip uninstall -y torch && pip install torch", "powershell")
    assert _posix_only("conda install 'pytorch=2.13.0=cuda*'", "cmd")
    assert _posix_only("which -a pip; unset CUDA_VISIBLE_DEVICES", "powershell")
    assert not _posix_only("conda install \"pytorch=2.13.0=cuda*\" && pip check", "cmd")


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX venv layout")
def test_env_activate_on_a_real_venv_for_each_shell(cli, tmp_path):
    """``env activate`` on a virtual environment made here: its own script per shell, and bash runs it."""
    venv = tmp_path / "v env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    marker = venv / "etc" / "dlsetup" / "venv.json"  # what --backend venv records (variables to set)
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"env_vars": {"MY_VAR": "it's 100%"}}), encoding="utf-8")
    seen = {}
    for shell in SHELLS:
        r = cli("env", "activate", str(venv), "--shell", shell)
        assert r.code == 0, r
        seen[shell] = r.stdout.strip().splitlines()
    assert seen["bash"][0] == f". '{venv}/bin/activate'" and seen["fish"][0] == f"source '{venv}/bin/activate.fish'"
    assert seen["powershell"] == [f". '{venv}/bin/Activate.ps1'", "$env:MY_VAR = 'it''s 100%'"]
    assert (venv / "bin" / "Activate.ps1").is_file() and (venv / "bin" / "activate.fish").is_file()
    for shell in ("bash", "zsh", "fish"):
        if shutil.which(shell) is None:
            continue
        out = subprocess.run([shell, "-c", "\n".join(seen[shell]) + '\nprintf %s "$VIRTUAL_ENV|$MY_VAR"'],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout == f"{venv}|it's 100%", (shell, out.stderr)


def test_windows_venv_hint_names_the_scripts_folder(monkeypatch):
    import dlsetup.platform as platform_mod
    from dlsetup.envs.backends.venv import VenvBackend

    monkeypatch.setattr(platform_mod, "current", lambda: for_os("windows", {}))
    steps = VenvBackend().activate_hint("dl", "C:\\envs\\dl")
    assert join_and(steps, "powershell") == ". C:\\envs\\dl\\Scripts\\Activate.ps1"
    assert join_and(steps, "cmd") == "call C:\\envs\\dl\\Scripts\\activate.bat"
    assert join_and(steps, "bash") == ". 'C:\\envs\\dl\\Scripts\\activate'"  # Git Bash
