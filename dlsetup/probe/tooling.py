"""Package tools (pip, uv, conda, mamba, micromamba, pixi), the active environment and index settings.

Versions come from installed metadata (pip's ``dist-info``, ``conda-meta/*.json``) where a file read
answers; the native tools (uv, micromamba, pixi) are asked ``--version`` in parallel threads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from dlsetup.probe._run import parallel, run, which
from dlsetup.probe.interpreter import Interpreter
from dlsetup.probe.model import Tool, ToolingInfo
from dlsetup.util.names import same_project

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?(?:[-.+]?[0-9A-Za-z.]+)?)")


def dist_version(site_dirs: list[str], name: str) -> str | None:
    """Version of distribution ``name`` from its ``*.dist-info`` directory name (first site dir wins)."""
    for d in site_dirs:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        for e in entries:
            if e.endswith(".dist-info") and "-" in e:
                dname, _, version = e[: -len(".dist-info")].partition("-")
                if same_project(dname, name):
                    return version
    return None


def conda_meta_version(prefix: str, package: str) -> str | None:
    """``<prefix>/conda-meta/conda-24.11.3-py312h06a4308_0.json`` → ``24.11.3``."""
    try:
        names = os.listdir(os.path.join(prefix, "conda-meta"))
    except OSError:
        return None
    for n in names:
        m = re.fullmatch(re.escape(package) + r"-([^-]+)-[^-]+\.json", n)
        if m:
            return m.group(1)
    return None


def pyenv_target(shim_text: str, program: str, environ: Mapping[str, str], cwd: str | None = None) -> str | None:
    """The script a pyenv shim would run, resolved the way ``pyenv version-name`` does (file reads only)."""
    m = re.search(r'PYENV_ROOT="([^"]+)"', shim_text)
    pyenv_root = environ.get("PYENV_ROOT") or (m.group(1) if m else None)
    if not pyenv_root:
        return None
    version = (environ.get("PYENV_VERSION") or "").split(":")[0].strip()
    if not version:
        d = os.path.abspath(cwd or os.getcwd())
        while True:
            f = os.path.join(d, ".python-version")
            if os.path.isfile(f):
                version = _first_word(f)
                break
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    if not version:
        version = _first_word(os.path.join(pyenv_root, "version")) or "system"
    if version == "system":
        shims = os.path.join(pyenv_root, "shims")
        rest = os.pathsep.join(p for p in environ.get("PATH", "").split(os.pathsep) if os.path.abspath(p) != shims)
        return which(program, rest)
    target = os.path.join(pyenv_root, "versions", version, "bin", program)
    return target if os.path.exists(target) else None


def _first_word(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip() and not line.startswith("#"):
                    return line.split()[0]
    except OSError:
        pass
    return None


def script_interpreter(path: str, environ: Mapping[str, str] | None = None, _depth: int = 0) -> str | None:
    """The interpreter a console script runs: its shebang, pip's ``exec`` trampoline, or through a pyenv shim."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2048)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None  # a binary launcher (Windows .exe): unknown
    text = head.decode("utf-8", "replace")
    if "libexec/pyenv" in text and _depth == 0:
        target = pyenv_target(text, os.path.basename(path), os.environ if environ is None else environ)
        return script_interpreter(target, environ, _depth + 1) if target else None
    lines = text.splitlines()
    first = lines[0][2:].strip()
    if first in ("/bin/sh", "/usr/bin/env sh") and len(lines) > 1:
        m = re.search(r"""exec' "?([^"']+?)"? "\$0" """.strip(), lines[1])
        if m:
            return m.group(1)
    parts = first.split()
    if not parts:
        return None
    if os.path.basename(parts[0]) == "env" and len(parts) > 1:
        args = [a for a in parts[1:] if not a.startswith("-")]
        return which(args[0]) if args else None
    return parts[0]


def same_interpreter(a: str | None, b: str | None) -> bool | None:
    """True when two interpreter paths belong to the same environment (same bin dir or same file)."""
    if not a or not b:
        return None
    pa, pb = os.path.abspath(a), os.path.abspath(b)
    if pa == pb or os.path.dirname(pa) == os.path.dirname(pb):
        return True
    try:
        return os.path.samefile(os.path.dirname(pa), os.path.dirname(pb))
    except OSError:
        return False


def _which(name: str, environ: Mapping[str, str]) -> str | None:
    return which(name, environ.get("PATH", ""))


def _run_version(path: str, timeout: float) -> str | None:
    proc = run([path, "--version"], timeout=timeout)
    if not proc.ok:
        return None
    m = _VERSION.search(proc.stdout + proc.stderr)
    return m.group(1) if m else None


def python_on_path(environ: Mapping[str, str]) -> str | None:
    """The interpreter ``python`` (else ``python3``) on PATH would start; a pyenv shim is followed to its target."""
    for name in ("python", "python3"):
        found = _which(name, environ)
        if not found:
            continue
        try:
            with open(found, "rb") as fh:
                head = fh.read(2048)
        except OSError:
            return found
        if head.startswith(b"#!") and b"libexec/pyenv" in head:
            return pyenv_target(head.decode("utf-8", "replace"), name, environ) or found
        return found
    return None


def probe_tooling(interp: Interpreter, environ: Mapping[str, str] | None = None, timeout: float = 10.0,
                  settings: bool = True, explicit_python: bool = False) -> ToolingInfo:
    """Tools and settings around ``interp``.

    ``pip_matches_python`` compares the ``pip`` on PATH with the ``python`` on PATH (the "pip install X, then
    python cannot import X" trap) — or with ``interp`` when the user named it (``--python``, ``explicit_python``)
    and its environment is the activated one (``VIRTUAL_ENV``/``CONDA_PREFIX``).
    """
    env = os.environ if environ is None else environ
    info = ToolingInfo(python=interp.info)
    info.virtual_env = env.get("VIRTUAL_ENV") or None
    info.conda_prefix = env.get("CONDA_PREFIX") or None
    info.conda_default_env = env.get("CONDA_DEFAULT_ENV") or None
    site_dirs = interp.site_dirs

    # pip: the version this interpreter's `python -m pip` runs, and whether `pip` on PATH is the same.
    pip_path = _which("pip", env) or _which("pip3", env)
    pip_version = dist_version(site_dirs, "pip")
    pip = Tool(name="pip", found=pip_version is not None or pip_path is not None, path=pip_path,
               version=pip_version, detail="python -m pip" if pip_version else None)
    info.python_on_path = python_on_path(env)
    if pip_path:
        info.pip_python = script_interpreter(pip_path, env)
        # A --python whose environment is not activated is not what `python`/`pip` start in this shell: comparing
        # pip with it would flag every `doctor --python ~/envs/x/bin/python` run from another shell.
        active = explicit_python and any(
            p and interp.info.prefix and os.path.normpath(p) == os.path.normpath(interp.info.prefix)
            for p in (info.virtual_env, info.conda_prefix))
        reference = interp.info.executable if active else info.python_on_path
        info.pip_matches_python = same_interpreter(info.pip_python, reference)
    info.tools.append(pip)

    # conda / mamba: version from the base install's conda-meta (no 0.5 s `conda --version`).
    conda_exe = env.get("CONDA_EXE") or _which("conda", env)
    conda_root = os.path.dirname(os.path.dirname(conda_exe)) if conda_exe else None
    conda = Tool(name="conda", found=bool(conda_exe and os.path.exists(conda_exe)), path=conda_exe,
                 detail="env:CONDA_EXE" if env.get("CONDA_EXE") else ("PATH" if conda_exe else None))
    if conda.found and conda_root:
        conda.version = conda_meta_version(conda_root, "conda")
    mamba_path = _which("mamba", env)
    mamba = Tool(name="mamba", found=mamba_path is not None, path=mamba_path, detail="PATH" if mamba_path else None)
    if mamba_path:
        mamba.version = conda_meta_version(os.path.dirname(os.path.dirname(mamba_path)), "mamba")
    micromamba_path = env.get("MAMBA_EXE") if os.path.basename(env.get("MAMBA_EXE", "")).startswith("micromamba") \
        else None
    micromamba_path = micromamba_path or _which("micromamba", env)
    micromamba = Tool(name="micromamba", found=bool(micromamba_path), path=micromamba_path,
                      detail="env:MAMBA_EXE" if micromamba_path == env.get("MAMBA_EXE") else "PATH")
    uv_path = _which("uv", env)
    uv = Tool(name="uv", found=uv_path is not None, path=uv_path, detail="PATH" if uv_path else None)
    pixi_path = _which("pixi", env)
    if pixi_path is None:
        home_pixi = os.path.join(env.get("PIXI_HOME") or os.path.join(env.get("HOME", "~"), ".pixi"), "bin", "pixi")
        if os.path.isfile(home_pixi):
            pixi_path = home_pixi
    pixi = Tool(name="pixi", found=pixi_path is not None, path=pixi_path, detail="PATH" if pixi_path else None)

    # Native tools (and conda/mamba without readable metadata) answer --version; in parallel.
    asks = [t for t in (uv, micromamba, pixi, conda, mamba) if t.found and t.version is None and t.path]
    if asks:
        done = parallel({t.name: (lambda t=t: _run_version(t.path, timeout)) for t in asks}, timeout + 5)
        for tool in asks:
            status, version, _ = done[tool.name]
            tool.version = version if status == "ok" else None
            if tool.version is None:
                tool.detail = ((tool.detail + "; ") if tool.detail else "") + "--version failed"
    for t in (micromamba, mamba):
        if not t.found:
            t.detail = None
    info.tools.extend([uv, conda, mamba, micromamba, pixi])

    if settings:
        info.settings = index_settings(env, interp.info.prefix)
    return info


def index_settings(environ: Mapping[str, str], prefix: str | None) -> list:
    """Index/channel/endpoint settings each tool would use (:mod:`dlsetup.toolconfig`)."""
    from dlsetup.toolconfig.layers import effective_settings

    return list(effective_settings(environ, prefix=prefix))
