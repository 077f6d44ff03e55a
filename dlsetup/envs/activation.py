"""Activate an environment without a shell hook: for ``dlsetup run`` and ``dlsetup env activate``.

What activation means, per kind of environment:

* conda-family (conda, mamba, micromamba, pixi, rattler — anything with ``conda-meta``): conda's activator
  (conda/activate.py, ``_build_activate_stuff``) prepends the prefix's binary directories to PATH (Unix:
  ``bin``; Windows: the prefix, ``Library/mingw-w64/bin``, ``Library/usr/bin``, ``Library/bin``, ``Scripts``,
  ``bin``), sets ``CONDA_PREFIX`` / ``CONDA_DEFAULT_ENV``, exports the package variables in
  ``etc/conda/env_vars.d/*.json`` and then the environment's own ``conda-meta/state`` ``env_vars``, and sources
  the scripts packages install in ``etc/conda/activate.d`` (``*.sh`` for POSIX shells, ``*.fish``, ``*.ps1``,
  ``*.bat``), sorted by name.
* a virtual environment (``--backend venv``, or any directory with ``pyvenv.cfg``): the venv's own
  ``bin/activate`` sets ``VIRTUAL_ENV`` and PATH (https://docs.python.org/3/library/venv.html), plus the
  variables dlsetup recorded for it.

``conda run`` runs the command through a temporary shell script that activates first
(conda/utils.py ``wrap_subprocess_call``); :func:`run` does the same when activation scripts exist, and
execs the command directly otherwise. The exit code is the command's.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

SHELLS = ("bash", "zsh", "fish", "powershell", "cmd")
_SCRIPT_EXT = {"bash": ".sh", "zsh": ".sh", "fish": ".fish", "powershell": ".ps1", "cmd": ".bat"}


@dataclass
class Activation:
    """What activating ``prefix`` changes."""

    prefix: str
    kind: str  # "conda" | "venv"
    name: str | None
    path_dirs: list[str] = field(default_factory=list)  # prepended to PATH, in order
    env_vars: dict[str, str] = field(default_factory=dict)  # set (conda's CONDA_PREFIX, the env's own vars, ...)
    unset: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # etc/conda/activate.d, every extension


def _windows() -> bool:
    return sys.platform.startswith("win")


def path_dirs(prefix: Path, kind: str) -> list[Path]:
    if kind == "venv":
        return [prefix / ("Scripts" if _windows() else "bin")]
    if _windows():  # conda/activate.py: _get_path_dirs on Windows
        return [prefix, prefix / "Library" / "mingw-w64" / "bin", prefix / "Library" / "usr" / "bin",
                prefix / "Library" / "bin", prefix / "Scripts", prefix / "bin"]
    return [prefix / "bin"]


def _package_env_vars(prefix: Path) -> dict[str, str]:
    """``etc/conda/env_vars.d/*.json`` (conda's PACKAGE_ENV_VARS_DIR), in file-name order."""
    out: dict[str, str] = {}
    for f in sorted((prefix / "etc" / "conda" / "env_vars.d").glob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.update({str(k): str(v) for k, v in data.items()})
    return out


def activation_for(prefix: Path, name: str | None = None) -> Activation:
    """How to activate the environment at ``prefix`` (conda-family or virtual environment)."""
    from dlsetup.envs import locations, state

    prefix = Path(prefix)
    is_conda = (prefix / "conda-meta").is_dir()
    kind = "conda" if is_conda else "venv"
    act = Activation(prefix=str(prefix), kind=kind, name=name,
                     path_dirs=[str(p) for p in path_dirs(prefix, kind)])
    if is_conda:
        act.env_vars.update({"CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": name or str(prefix)})
        act.env_vars.update(_package_env_vars(prefix))
        act.env_vars.update(state.env_vars(prefix))
        act.scripts = [str(p) for p in sorted((prefix / "etc" / "conda" / "activate.d").glob("*")) if p.is_file()]
    else:
        act.env_vars["VIRTUAL_ENV"] = str(prefix)
        act.unset.append("PYTHONHOME")
        if locations.is_venv(prefix):
            from dlsetup.envs.backends.venv import read_marker

            act.env_vars.update({str(k): str(v) for k, v in (read_marker(prefix).get("env_vars") or {}).items()})
    return act


def environ(act: Activation, base: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment after activation (``base`` defaults to this process's)."""
    env = dict(os.environ if base is None else base)
    for k in act.unset:
        env.pop(k, None)
    old = env.get("PATH", "")
    env["PATH"] = os.pathsep.join([*act.path_dirs, *([old] if old else [])])
    env.update(act.env_vars)
    return env


def quote(value: str, shell: str) -> str:
    """``value`` as one literal word in ``shell`` (self-contained; the platform layer may replace it)."""
    if shell in ("bash", "zsh"):
        return shlex.quote(value)
    if shell == "fish":  # fish single quotes: only \\ and \' are special
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "powershell":  # single-quoted strings are literal; a quote doubles
        return "'" + value.replace("'", "''") + "'"
    if shell == "cmd":  # inside "set "NAME=value"": % and " cannot be escaped by quoting, ^ does not apply
        return value.replace("%", "%%").replace('"', '""')
    raise ValueError(shell)


def script_lines(act: Activation, shell: str) -> list[str]:
    """The lines that activate ``act`` in ``shell`` (what ``eval``/``source`` should run)."""
    if shell not in SHELLS:
        raise ValueError(shell)
    prefix = Path(act.prefix)
    lines: list[str] = []
    if act.kind == "venv":  # the venv's own scripts also define `deactivate`
        own = {"bash": prefix / "bin" / "activate", "zsh": prefix / "bin" / "activate",
               "fish": prefix / "bin" / "activate.fish", "powershell": prefix / "Scripts" / "Activate.ps1",
               "cmd": prefix / "Scripts" / "activate.bat"}[shell]
        if _windows() == (shell in ("powershell", "cmd")) and own.exists():
            lines.append({"bash": ". {}", "zsh": ". {}", "fish": "source {}", "powershell": "& {}",
                          "cmd": 'call "{}"'}[shell].format(quote(str(own), shell) if shell != "cmd" else own))
            extra = {k: v for k, v in act.env_vars.items() if k != "VIRTUAL_ENV"}
            return lines + [_set(shell, k, v) for k, v in extra.items()]
    sep = ";" if shell == "cmd" or (shell == "powershell" and _windows()) else ":"
    joined = sep.join(act.path_dirs)
    if shell in ("bash", "zsh"):
        lines.append(f'export PATH={quote(joined, shell)}"${{PATH:+:$PATH}}"')
        lines += [f"unset {k}" for k in act.unset]
    elif shell == "fish":
        lines.append("set -gx PATH " + " ".join(quote(d, shell) for d in act.path_dirs) + " $PATH")
        lines += [f"set -e {k}" for k in act.unset]
    elif shell == "powershell":
        lines.append(f"$Env:PATH = {quote(joined + sep, shell)} + $Env:PATH")
        lines += [f"Remove-Item Env:{k} -ErrorAction SilentlyContinue" for k in act.unset]
    else:
        lines.append(f'set "PATH={quote(joined, shell)};%PATH%"')
        lines += [f'set "{k}="' for k in act.unset]
    lines += [_set(shell, k, v) for k, v in act.env_vars.items()]
    ext = _SCRIPT_EXT[shell]
    for s in act.scripts:
        if s.endswith(ext):
            lines.append({"bash": ". {}", "zsh": ". {}", "fish": "source {}", "powershell": ". {}",
                          "cmd": 'call "{}"'}[shell].format(quote(s, shell) if shell != "cmd" else s))
    return lines


def _set(shell: str, key: str, value: str) -> str:
    if shell in ("bash", "zsh"):
        return f"export {key}={quote(value, shell)}"
    if shell == "fish":
        return f"set -gx {key} {quote(value, shell)}"
    if shell == "powershell":
        return f"$Env:{key} = {quote(value, shell)}"
    return f'set "{key}={quote(value, shell)}"'


def detect_shell() -> str:
    """The user's shell from the environment (``$SHELL`` on Unix; PowerShell's ``PSModulePath`` or cmd)."""
    if _windows():
        return "powershell" if os.environ.get("PSModulePath") else "cmd"
    name = Path(os.environ.get("SHELL", "bash")).name
    return name if name in SHELLS else "bash"


def run(act: Activation, argv: list[str], cwd: str | None = None) -> int:
    """Run ``argv`` inside the activated environment; the command's exit code (127: not found)."""
    import subprocess

    env = environ(act)
    posix_scripts = [s for s in act.scripts if s.endswith(".sh")]
    if posix_scripts and not _windows():
        # like conda run: a shell sources the activation scripts, then execs the command
        body = "".join(f". {shlex.quote(s)}\n" for s in posix_scripts) + 'exec "$@"\n'
        import shutil

        shell = shutil.which("bash") or "/bin/sh"
        full = [shell, "-c", body, "dlsetup-run", *argv]
    else:
        full = list(argv)
        import shutil

        found = shutil.which(argv[0], path=env.get("PATH"))
        if found:
            full[0] = found
    try:
        return subprocess.call(full, env=env, cwd=cwd)
    except FileNotFoundError:
        return 127
    except KeyboardInterrupt:
        return 130


def resolvable(act: Activation, command: str) -> bool:
    """Whether ``command`` names an executable in the activated PATH (or is a path to one)."""
    import shutil

    return shutil.which(command, path=environ(act).get("PATH")) is not None


@dataclass
class ActivateResult:
    """``dlsetup env activate``: the lines for one shell."""

    name: str | None
    prefix: str
    kind: str
    shell: str
    lines: list[str] = field(default_factory=list)
