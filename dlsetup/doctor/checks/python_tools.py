"""Python tooling: `pip` ≠ `python -m pip`, packages outside the environment, torch from both pip and conda,
a leftover conda `cpuonly` pin, the deprecated `pynvml` distribution (root cause #14).
"""

from __future__ import annotations

import re

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_PYTHON, WARNING, Finding, ev, finding
from dlsetup.platform import for_snapshot
from dlsetup.platform.shell import Cmd, rehash, set_env, which
from dlsetup.probe.model import Snapshot

# conda package names that are a PyTorch install (conda-forge "pytorch"/"libtorch"; the old pytorch channel's too)
_CONDA_TORCH = ("pytorch", "pytorch-gpu", "pytorch-cpu", "libtorch")


def pip_is_python_m_pip(snap: Snapshot) -> list[Finding]:
    """The `pip` on PATH installs into another interpreter than the one being diagnosed."""
    tooling = snap.tooling
    if tooling.pip_matches_python is not False:
        return []
    pip = next((t for t in tooling.tools if t.name == "pip" and t.found), None)
    evidence = [ev("python", executable=tooling.python.executable, version=tooling.python.version)]
    on_path = getattr(tooling, "python_on_path", None)
    if on_path and on_path != tooling.python.executable:
        evidence.append(ev("python_on_path", python=on_path))
    if pip is not None:
        evidence.append(ev("pip_on_path", path=pip.path or "?", version=pip.version or "?"))
    if tooling.pip_python:
        evidence.append(ev("pip_runs", python=tooling.pip_python))
    return [finding("python.pip_mismatch", WARNING, GROUP_PYTHON, evidence=evidence,
                    commands=[remedies.pip(snap, "--version"), which("pip"), rehash()],
                    python=facts.python_cmd(snap))]


def _inside(snap: Snapshot, path: str, prefix: str) -> bool:
    """By the diagnosed machine's rules: a Windows snapshot read on Linux compares with ntpath, ignoring case."""
    return for_snapshot(snap).is_within(path, prefix)


def _user_site(snap: Snapshot, location: str) -> bool:
    """The per-user site-packages: ``~/.local/lib/pythonX.Y`` on Linux, ``%APPDATA%\\Python\\PythonXY`` on
    Windows (https://docs.python.org/3/library/site.html#site.USER_BASE)."""
    if for_snapshot(snap).is_windows:
        return bool(re.search(r"[\\/]AppData[\\/]Roaming[\\/]Python[\\/]Python\d+", location, re.I))
    return "/.local/lib/" in location


def packages_outside_env(snap: Snapshot) -> list[Finding]:
    """In a venv/conda env, a framework imported from outside it (user site, base env) shadows or mixes builds."""
    py = snap.tooling.python
    if not facts.in_env(snap) or not py.prefix:
        return []
    out = [fw for fw in snap.frameworks.items if fw.location and not _inside(snap, fw.location, py.prefix)]
    if not out:
        return []
    evidence = [ev("env_prefix", prefix=py.prefix)]
    evidence += [ev("framework_at", name=fw.name, version=fw.version or "?", location=fw.location) for fw in out]
    user_site = any(_user_site(snap, fw.location or "") for fw in out)
    commands: list = [set_env("PYTHONNOUSERSITE", "1")] if user_site else []
    commands.append(remedies.pip(snap, "install", "--force-reinstall", "--no-deps",
                                 *(f"{fw.name}=={facts.public_version(fw.version)}" for fw in out if fw.version)))
    return [finding("python.outside_env", WARNING, GROUP_PYTHON, evidence=evidence, commands=commands,
                    fix_key="fix_user_site" if user_site else "fix", prefix=py.prefix,
                    names=", ".join(fw.name for fw in out))]


def torch_pip_and_conda(snap: Snapshot) -> list[Finding]:
    """torch installed by pip over a conda pytorch (or twice): files from two builds in one env."""
    torches = facts.frameworks_named(snap, facts.TORCH)
    conda_torch = [n for n in snap.frameworks.conda_packages if n in _CONDA_TORCH]
    for fw in torches:
        conda_torch += [n for n in (fw.extra.get("conda") or {}) if n in _CONDA_TORCH and n not in conda_torch]
    pip_torch = [fw for fw in torches if (fw.installer or "").lower() in ("pip", "uv")]
    copies = [(fw.version, fw.installer, fw.location) for fw in torches]
    for fw in torches:
        copies += [(c.get("version"), None, c.get("location")) for c in fw.extra.get("also_found") or []
                   if isinstance(c, dict)]
    if not ((conda_torch and pip_torch) or len(copies) > 1):
        return []
    evidence = [ev("framework_by", name="torch", version=v or "?", installer=i or "?", location=loc or "?")
                for v, i, loc in copies]
    records = snap.frameworks.conda_records
    evidence += [ev("conda_package", name=f"{n} {records.get(n, '')}".strip()) for n in conda_torch]
    prefix = snap.tooling.python.prefix or snap.tooling.conda_prefix or snap.env.get("CONDA_PREFIX") or "."
    commands = [remedies.pip(snap, "uninstall", "-y", "torch", "torchvision", "torchaudio")]
    if conda_torch:
        commands.append(f"conda install -p {prefix} --force-reinstall {conda_torch[0]}")
    else:
        commands.append("dlsetup resolve torch")
    return [finding("python.torch_twice", ERROR, GROUP_PYTHON, evidence=evidence, commands=commands,
                    fix_key="fix" if conda_torch else "fix_pip")]


def cpuonly_pin(snap: Snapshot) -> list[Finding]:
    """A conda `cpuonly` package pins every later pytorch install to the CPU build (pytorch/pytorch#32369)."""
    if "cpuonly" not in snap.frameworks.conda_packages or not facts.has_nvidia_hardware(snap):
        return []
    from dlsetup.doctor import advice

    prefix = snap.tooling.python.prefix or snap.tooling.conda_prefix or snap.env.get("CONDA_PREFIX") or "."
    evidence = [ev("conda_package", name="cpuonly")]
    if "pytorch-mutex" in snap.frameworks.conda_packages:
        evidence.append(ev("conda_package", name="pytorch-mutex"))
    commands = [Cmd(["conda", "remove", "-p", prefix, "cpuonly"]), *advice.commands_for(snap, "torch", prefer="conda")]
    return [finding("python.cpuonly_pin", ERROR, GROUP_PYTHON, evidence=evidence, commands=commands, prefix=prefix)]


def deprecated_pynvml(snap: Snapshot) -> list[Finding]:
    """The `pynvml` distribution is a deprecated shim that warns on every import (use `nvidia-ml-py`)."""
    version = snap.frameworks.packages.get("pynvml")
    if version is None:
        fw = facts.framework(snap, "pynvml")
        if fw is None:
            return []
        version = fw.version or "?"
    return [finding("python.pynvml_deprecated", WARNING, GROUP_PYTHON,
                    evidence=[ev("package", name="pynvml", version=version)],
                    commands=[remedies.pip(snap, "uninstall", "-y", "pynvml"),
                              remedies.pip(snap, "install", "--force-reinstall", "nvidia-ml-py")],
                    version=version)]


CHECKS = [pip_is_python_m_pip, packages_outside_env, torch_pip_and_conda, cpuonly_pin, deprecated_pynvml]
