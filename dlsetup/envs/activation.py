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
from dataclasses import dataclass, field
from pathlib import Path

from dlsetup.platform.shell import SHELLS  # noqa: F401 - re-exported for callers of this module


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
    from dlsetup.platform import current

    return current().is_windows


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


def steps(act: Activation) -> list:
    """What activating ``act`` does, as shell-neutral steps (:mod:`dlsetup.platform.shell` renders them).

    A virtual environment runs its own activation script (which also defines ``deactivate``), then the
    variables dlsetup recorded for it; a conda-family environment gets PATH, the variables, and its
    ``etc/conda/activate.d`` scripts (those written for the shell)."""
    from dlsetup.platform import current
    from dlsetup.platform.shell import activate_venv, prepend_path, set_env, source_scripts, unset_env

    out: list = []
    if act.kind == "venv":
        out.append(activate_venv(act.prefix, current().os))
        return out + [set_env(k, v) for k, v in act.env_vars.items() if k != "VIRTUAL_ENV"]
    out.append(prepend_path(*act.path_dirs))
    out += [unset_env(k) for k in act.unset]
    out += [set_env(k, v) for k, v in act.env_vars.items()]
    if act.scripts:
        out.append(source_scripts(*act.scripts))
    return out


def script_lines(act: Activation, shell: str) -> list[str]:
    """The lines that activate ``act`` in ``shell`` (what ``eval``/``source`` should run)."""
    from dlsetup.platform.shell import check_shell, render_all_lines

    return render_all_lines(steps(act), check_shell(shell))


def default_shell() -> str:
    """The shell dlsetup runs in (``DLSETUP_SHELL``, the parent process, the environment): the platform layer's answer."""
    from dlsetup.platform import current
    from dlsetup.platform.shell import detect_shell

    return detect_shell(current())


def run(act: Activation, argv: list[str], cwd: str | None = None) -> int:
    """Run ``argv`` inside the activated environment; the command's exit code (127: not found)."""
    import subprocess

    env = environ(act)
    posix_scripts = [s for s in act.scripts if s.endswith(".sh")]
    if posix_scripts and not _windows():
        # like conda run: a shell sources the activation scripts, then execs the command
        from dlsetup.platform.shell import render_lines, source_scripts

        body = "".join(f"{line}\n" for line in render_lines(source_scripts(*posix_scripts), "bash")) + 'exec "$@"\n'
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
    steps: list = field(default_factory=list)  # the same, as shell-neutral steps (platform.shell)
