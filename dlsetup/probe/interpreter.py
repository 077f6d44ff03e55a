"""The Python interpreter whose packages are probed: this one, the active environment's, or ``--python PATH``."""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field

from dlsetup.probe._run import run
from dlsetup.probe.model import PythonInfo

# Printed by the probed interpreter; plain stdlib so it works on any CPython >= 3.6.
CHILD = (
    "import json, os, platform, sys, sysconfig\n"
    "p = sysconfig.get_paths()\n"
    "print(json.dumps({'executable': sys.executable, 'version': platform.python_version(),"
    " 'implementation': sys.implementation.name, 'prefix': sys.prefix,"
    " 'base_prefix': getattr(sys, 'base_prefix', sys.prefix), 'path': sys.path[1:],"
    " 'purelib': p.get('purelib'), 'platlib': p.get('platlib')}))\n"
)


@dataclass
class Interpreter:
    info: PythonInfo
    sys_path: list[str] = field(default_factory=list)  # import search path, without the script/cwd entry
    purelib: str | None = None
    foreign: bool = False  # not the interpreter dlsetup runs in

    @property
    def site_dirs(self) -> list[str]:
        """Existing directories on the import path, in import order (where distributions are found)."""
        out = []
        for p in self.sys_path:
            if p and p not in out and os.path.isdir(p) and not p.endswith(".zip"):
                out.append(p)
        return out


def _python_info(executable: str, version: str, implementation: str, prefix: str, base_prefix: str) -> PythonInfo:
    return PythonInfo(
        executable=executable, version=version, implementation=implementation, prefix=prefix,
        base_prefix=base_prefix, is_venv=os.path.realpath(prefix) != os.path.realpath(base_prefix),
        is_conda=os.path.isdir(os.path.join(prefix, "conda-meta")),
    )


def current() -> Interpreter:
    """The interpreter dlsetup itself runs in (no subprocess)."""
    info = _python_info(sys.executable, sys.version.split()[0], sys.implementation.name, sys.prefix,
                        getattr(sys, "base_prefix", sys.prefix))
    return Interpreter(info=info, sys_path=list(sys.path[1:]), purelib=sysconfig.get_paths().get("purelib"))


def env_python(prefix: str) -> str | None:
    """The python executable of an environment prefix (venv or conda), if there is one."""
    for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        p = os.path.join(prefix, rel)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def active_env_python(environ: Mapping[str, str]) -> str | None:
    """The active venv's / conda env's python when it is not the one dlsetup runs in (pipx/uv-tool installs)."""
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = environ.get(var)
        if not prefix or not os.path.isdir(prefix):
            continue
        try:
            if os.path.samefile(prefix, sys.prefix):
                return None
        except OSError:
            continue
        return env_python(prefix)
    return None


def foreign(path: str, timeout: float = 20.0, environ: Mapping[str, str] | None = None) -> Interpreter:
    """Ask another interpreter about itself. Raises UsageError when ``path`` is not a working Python."""
    from dlsetup.errors import UsageError

    exe = path
    if os.path.isdir(exe):
        exe = env_python(exe) or exe
    if not os.path.exists(exe):
        raise UsageError("probe.error.python_not_found", path=path)
    if os.path.isdir(exe) or not os.access(exe, os.X_OK):
        raise UsageError("probe.error.python_not_executable", path=path)
    env = dict(os.environ if environ is None else environ)
    env.pop("PYTHONHOME", None)
    proc = run([exe, "-c", CHILD], timeout=timeout, env=env)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
    if proc.timed_out:
        raise UsageError("probe.error.python_failed", path=path, reason=_why("timeout", seconds=f"{timeout:g}"))
    if not proc.ok or line is None:
        raise UsageError("probe.error.python_failed", path=path, reason=_failure(proc))
    try:
        data = json.loads(line)
        info = _python_info(str(data["executable"] or exe), str(data["version"]), str(data["implementation"]),
                            str(data["prefix"]), str(data["base_prefix"]))
        paths = [str(p) for p in data.get("path", []) if isinstance(p, str)]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError("probe.error.python_failed", path=path, reason=_why("bad_answer", detail=str(exc)[:100])) \
            from None
    return Interpreter(info=info, sys_path=paths, purelib=data.get("purelib"), foreign=True)


def _why(key: str, **params: object) -> str:
    from dlsetup.i18n import t

    return t(f"probe.why.{key}", **params)


def _failure(proc) -> str:
    """Why the child did not answer, in one line, without echoing our own ``-c`` program back."""
    if proc.error is not None and proc.returncode is None:
        return _why("not_started", detail=proc.error[:150])
    # A program that is not Python often complains about its arguments, i.e. our CHILD: never echo that back.
    echoed = any(piece in proc.stderr for piece in ("import json, os, platform", "sysconfig.get_paths"))
    lines = [] if echoed else [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode == 0:
        first = next((ln.strip() for ln in proc.stdout.splitlines() if ln.strip()), "")
        return _why("no_answer", line=first[:80] or "-")
    if not lines:
        return _why("exit_only", code=proc.returncode)
    return _why("exit", code=proc.returncode, message=lines[-1][:150])
