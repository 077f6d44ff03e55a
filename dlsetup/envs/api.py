"""What the ``create env`` / ``env …`` commands (and other capabilities) call.

Each function checks its input first — the name is free, the files parse, the environment to remove is
neither active nor base — so a bad request changes nothing, then hands a request to the backend.
``find_env_prefix`` and ``env_python`` are the interface ``dlsetup verify --env NAME`` uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dlsetup.envs import locations
from dlsetup.envs.model import CreateResult, EnvList, EnvSpec, ExportResult, LockResult, RemoveResult
from dlsetup.errors import UsageError


def find_env_prefix(name: str) -> Path:
    """The prefix of an existing environment, by name or path; UsageError (exit 2) when unknown."""
    return locations.find_prefix(name)


def env_python(prefix: Path) -> Path:
    """The Python interpreter of an environment (``<prefix>/bin/python``; ``python.exe`` on Windows)."""
    from dlsetup.envs.pip import env_python as _env_python

    return _env_python(Path(prefix))


def _backend(name: str | None):
    from dlsetup.envs.backends import select_backend

    return select_backend(name)


def _backend_for(prefix: Path, name: str | None):
    """The backend that owns an existing environment: a venv is always the venv backend's."""
    if locations.is_venv(prefix):
        return _backend("venv")
    return _backend(name)


def _check_free(name: str | None, prefix: Path) -> None:
    from dlsetup.envs.staging import clean_unfinished

    if os.path.lexists(prefix) and not clean_unfinished(prefix):  # a killed in-place build is not "taken"
        raise UsageError("envs.error.exists", prefix=str(prefix))
    if name is not None:
        try:
            other = locations.find_prefix(name)
        except UsageError:
            return
        raise UsageError("envs.error.exists", prefix=str(other))


def _merge_channels(cli_channels: list[str], spec: EnvSpec) -> None:
    if cli_channels:
        spec.channels = list(dict.fromkeys([*cli_channels, *spec.channels]))


def create_env(name: str, specs: list[str] | tuple[str, ...] = (), *, python: str | None = None,
               file: str | None = None, recipe: str | None = None, channels: list[str] | tuple[str, ...] = (),
               backend: str | None = None, dry_run: bool = False, snapshot: str | None = None,
               cuda: str | None = None, offline: bool = False, pip_index_url: str | None = None,
               wheel_source=None, gpu: list[str] | tuple[str, ...] = (), alternatives=None) -> CreateResult:
    """``dlsetup create env NAME [SPEC…]`` — from specs, a file, or a recipe fitted to this machine (or to the GPUs
    ``gpu`` names).

    ``alternatives``: a download URL → the URLs to try for that file, in order (the command layer builds
    it from the user's mirror and the probe's healthy mirrors); None tries each planned URL only."""
    from dlsetup.envs import specfile
    from dlsetup.envs.backends import CreateRequest

    if file and recipe:
        raise UsageError("envs.error.file_and_recipe")
    env_name, prefix = locations.target_prefix(name)
    if not snapshot:  # a plan for another machine does not care what exists here
        _check_free(env_name, prefix)
    snap = None
    if snapshot:
        if not dry_run:
            raise UsageError("envs.error.snapshot_needs_dry_run")
        from dlsetup.probe.model import Snapshot

        snap = Snapshot.load(snapshot)
    plan = None
    warnings: list[str] = []
    if recipe:
        from dlsetup.envs import recipes

        if python is None and snap is None and (backend or os.environ.get("DLSETUP_BACKEND")) == "venv":
            python = _local_python_for(recipes.load(recipe)["python"])  # a venv cannot bring its own Python
        spec, plan = recipes.plan(recipe, python=python, snapshot=snap, snapshot_path=snapshot,
                                  wheel_source=wheel_source, gpu=gpu)
        warnings += plan.warnings
        spec.conda += list(specs)
    elif file:
        spec = specfile.read(file)
        if spec.kind == "conda-lock":
            if specs or python:
                raise UsageError("envs.error.lock_with_specs")
            return install_env(name, file, backend=backend, dry_run=dry_run)
        if spec.kind == "explicit" and (specs or python):
            raise UsageError("envs.error.explicit_with_specs")
        spec.conda += list(specs)
        specfile.add_python(spec, python)
    else:
        spec = EnvSpec(conda=list(specs))
        specfile.add_python(spec, python)
    if not (spec.conda or spec.pip or spec.explicit_urls):
        raise UsageError("envs.error.nothing_to_install")
    _merge_channels(list(channels), spec)
    if pip_index_url:
        spec.pip_index_url = pip_index_url
    req = CreateRequest(name=env_name, prefix=prefix, spec=spec, dry_run=dry_run, cuda=cuda, offline=offline,
                        recipe=plan, snapshot=snap, warnings=warnings, alternatives=alternatives)
    return _backend(backend).create(req)


def _local_python_for(candidates: list[str]) -> str | None:
    """The first of a recipe's Python versions installed here (None: let the resolver choose, uv fetches it)."""
    from dlsetup.envs.backends.venv import find_interpreter, find_uv

    uv = find_uv()
    for py in candidates:
        if find_interpreter(str(py), uv) is not None:
            return str(py)
    return None


def install_env(name: str, lockfile: str, *, backend: str | None = None, dry_run: bool = False) -> CreateResult:
    """``dlsetup env install NAME -f conda-lock.yml`` — conda packages, then pip packages, as locked."""
    from dlsetup.envs import specfile
    from dlsetup.envs.backends import CreateRequest

    path = Path(lockfile).expanduser().resolve()
    if specfile.is_pylock(path):  # PEP 751: a virtual environment, whatever --backend says
        env_name, prefix = locations.target_prefix(name)
        _check_free(env_name, prefix)
        return _backend("venv").install_lock(CreateRequest(name=env_name, prefix=prefix, spec=EnvSpec(kind="pylock"),
                                                           dry_run=dry_run, lockfile=path))
    spec = specfile.read(path)
    if spec.kind != "conda-lock":
        raise UsageError("envs.error.not_a_lock", path=str(path))
    env_name, prefix = locations.target_prefix(name)
    _check_free(env_name, prefix)
    req = CreateRequest(name=env_name, prefix=prefix, spec=spec, dry_run=dry_run, lockfile=path)
    return _backend(backend).install_lock(req)


def clone_env(source: str, dest: str, *, backend: str | None = None, dry_run: bool = False) -> CreateResult:
    """``dlsetup env clone SRC DST`` — the same packages, plus the files no package owns."""
    src = locations.find_prefix(source)
    env_name, prefix = locations.target_prefix(dest)
    _check_free(env_name, prefix)
    return _backend_for(src, backend).clone(src, env_name, prefix, dry_run=dry_run)


def export_env(name: str, fmt: str = "yaml", *, from_history: bool = False, no_builds: bool = False,
               output: str | None = None, backend: str | None = None) -> ExportResult:
    """``dlsetup env export NAME`` in one of yaml / explicit / lock / requirements."""
    from dlsetup.envs.export import FORMATS
    from dlsetup.util.atomic import write_text_atomic

    if fmt not in FORMATS:
        raise UsageError("envs.error.bad_format", format=fmt, known=", ".join(FORMATS))
    if from_history and fmt != "yaml":
        raise UsageError("envs.error.flag_not_for_format", flag="--from-history", format=fmt)
    if no_builds and fmt in ("explicit", "lock"):
        raise UsageError("envs.error.flag_not_for_format", flag="--no-builds", format=fmt)
    prefix = locations.find_prefix(name)
    if fmt == "pylock" and not locations.is_venv(prefix):
        raise UsageError("envs.error.pylock_needs_venv", prefix=str(prefix))
    result = _backend_for(prefix, backend).export(prefix, fmt, from_history=from_history, no_builds=no_builds)
    if output:
        out = Path(output).expanduser().resolve()
        try:
            write_text_atomic(out, result.content)
        except OSError as exc:
            raise UsageError("core.error.not_writable", path=str(out), reason=exc.strerror or str(exc)) from None
        result.output = str(out)
    return result


def default_export_format(name: str) -> str:
    """``yaml`` for conda-family environments, ``pylock`` for virtual environments."""
    try:
        prefix = locations.find_prefix(name)
    except UsageError:
        return "yaml"  # export_env reports the unknown name
    return "pylock" if locations.is_venv(prefix) else "yaml"


def lock_env(files: list[str], platforms: list[str] | None = None, output: str | None = None, *,
             cuda: str | None = None, pip_index_url: str | None = None, pypi_mapping: str | None = None,
             backend: str | None = None) -> LockResult:
    """``dlsetup env lock -f environment.yml [-p …]`` → ``conda-lock.yml``."""
    if not files:
        raise UsageError("envs.error.lock_needs_file")
    paths = [Path(f).expanduser() for f in files]
    for p in paths:
        if not p.is_file():
            raise UsageError("core.error.file_not_found", path=str(p))
    out = Path(output).expanduser() if output else Path.cwd() / "conda-lock.yml"
    if pip_index_url is None:
        from dlsetup.envs.pip import configured_index

        pip_index_url = configured_index()
    return _backend(backend).lock(paths, list(platforms or []) or None, out, cuda=cuda, pip_index_url=pip_index_url,
                                  pypi_mapping=pypi_mapping)


def remove_env(name: str, *, backend: str | None = None, dry_run: bool = False, yes: bool = False) -> RemoveResult:
    """``dlsetup env remove NAME`` — never the active environment, base, or dlsetup's own (see envs.safety)."""
    from dlsetup.envs import safety

    safety.check_text(name)
    if name in locations.RESERVED_NAMES:
        raise UsageError("envs.error.remove_base", prefix=name)
    link = safety.symlink_argument(name)
    if link is not None:  # a path that is a symlink: the link goes, its target stays
        locations.find_prefix(name)  # it must point at an environment
        if not dry_run:
            safety.confirm(link, yes, link=True)
            link.unlink()
        return RemoveResult(name=None, prefix=str(link), removed=not dry_run, backend=_backend(backend).name)
    prefix = locations.find_prefix(name)
    safety.check_removable(prefix)
    if locations.is_active(prefix):
        raise UsageError("envs.error.remove_active", prefix=str(prefix))
    if locations.is_base(prefix):
        raise UsageError("envs.error.remove_base", prefix=str(prefix))
    if Path(sys.prefix).resolve() == prefix.resolve():
        raise UsageError("envs.error.remove_self", prefix=str(prefix))
    if dry_run:
        b = _backend(backend)
        return RemoveResult(name=name if not locations.looks_like_path(name) else None, prefix=str(prefix),
                            removed=False, backend=b.name)
    safety.confirm(prefix, yes)
    return _backend_for(prefix, backend).remove(prefix)


def list_envs(*, backend: str | None = None) -> EnvList:
    """``dlsetup env list`` — what conda would list (envs dirs + ``~/.conda/environments.txt``).

    A hung conda/mamba gets :data:`LIST_BUDGET_S` in all, not the hour an install may take."""
    from dlsetup.util.proc import budget

    with budget(LIST_BUDGET_S):
        return _backend(backend).list()


LIST_BUDGET_S = 8.0
