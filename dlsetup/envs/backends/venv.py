"""Environments without conda: a Python virtual environment, built with uv when it is there, else with
``python -m venv`` and pip.

uv is found as the ``uv`` Python package (``uv.find_uv_bin``, which ``pip install uv`` provides) or on PATH;
``DLSETUP_VENV_TOOL=pip`` forces the standard-library path. The Python is the one the resolver chose (a
recipe's ``python=X.Y``, or ``--python``): a local interpreter of that version when there is one (uv's
``python find --no-python-downloads``, else ``pythonX.Y`` on PATH); otherwise uv may fetch a managed Python,
and the result says so (``--offline`` refuses instead). Packages come from the resolver's index (the PyTorch
CUDA index, …) or the user's own pip configuration (their mirror).

What makes the directory a dlsetup environment is ``etc/dlsetup/venv.json`` next to ``pyvenv.cfg``; named
environments live in conda's envs dirs (so one name space for both kinds), and environments made at a path
are listed in dlsetup's own registry (``~/.conda/environments.txt`` is conda's, and conda drops entries that
are not conda environments from it).

Locks are PEP 751 ``pylock.toml`` (https://peps.python.org/pep-0751/) and ``requirements.txt`` with hashes,
made by ``uv pip compile`` against the same index, or written from pip's install report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dlsetup.envs import locations
from dlsetup.envs.backends._base import Backend, CreateRequest
from dlsetup.envs.model import CreateResult, EnvList, ExportResult, Package, RemoveResult
from dlsetup.envs.venvinfo import MARKER, env_info, read_marker  # noqa: F401  (env_info: re-exported)
from dlsetup.errors import OperationFailed, UsageError
from dlsetup.util.names import canonical_name

TOOL_TIMEOUT_S = 3600.0


# ------------------------------------------------------------------------------------------- helpers


def is_venv(prefix: Path) -> bool:
    """A virtual environment dlsetup made (``pyvenv.cfg`` and its marker)."""
    return locations.is_venv(prefix)


def find_uv(installer: bool = True) -> str | None:
    """The uv executable: the ``uv`` Python package's, else ``uv`` on PATH; None when absent or not wanted
    (``DLSETUP_VENV_TOOL=pip`` chooses pip as the installer; ``installer=False`` finds uv for planning anyway)."""
    if installer and os.environ.get("DLSETUP_VENV_TOOL", "").strip().lower() == "pip":
        return None
    try:
        from uv import find_uv_bin

        path = find_uv_bin()
        if path and os.access(path, os.X_OK):
            return str(path)
    except (ImportError, FileNotFoundError):
        pass
    return shutil.which("uv")


def venv_python(prefix: Path) -> Path:
    if sys.platform.startswith("win"):
        return prefix / "Scripts" / "python.exe"
    return prefix / "bin" / "python"


def _run(argv: list[str], env: dict[str, str] | None = None, what: str = "uv"):
    from dlsetup.output import log
    from dlsetup.util.proc import run
    from dlsetup.util.redact import redact_url

    log("+ " + redact_url(" ".join(argv)), 1)
    result = run(argv, timeout=TOOL_TIMEOUT_S, env=env)
    if not result.ok:
        # uv prints "× <what failed>" then "╰─▶ <why>" lines; pip prints "ERROR: ..."
        lines = [re.sub(r"^[\s×╰─▶│├└]+", "", ln).strip() for ln in (result.stderr or result.stdout or "").splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith(("Using ", "Resolved ", "Prepared ", "hint:"))]
        reason = "timed out" if result.timed_out else redact_url("; ".join(lines[-3:]) or f"exit {result.returncode}")
        raise OperationFailed("envs.error.tool_failed", tool=what, command=" ".join(argv[1:3]), reason=reason[:600])
    return result


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)  # uv would target the active venv instead of --python's
    env["PIP_NO_INPUT"] = "1"
    env["PIP_REQUIRE_VIRTUALENV"] = "0"
    return env


def _requested_python(spec_conda: list[str], python: str | None = None) -> str | None:
    from dlsetup.envs.matchspec import SpecError, parse

    if python:
        return python
    for s in spec_conda:
        try:
            cs = parse(s)
        except SpecError:
            continue
        if cs.name.lower() == "python" and cs.version:
            return cs.version.rstrip("*").rstrip(".").lstrip("=") or None
    return None


def conda_to_pypi(specs: list[str]) -> list[str]:
    """The conda part of a request as PyPI requirements (python and pip dropped; known renames applied)."""
    from importlib import resources

    from dlsetup.envs.matchspec import SpecError, parse

    table = json.loads(resources.files("dlsetup.envs").joinpath("data/conda-to-pypi.json").read_text("utf-8"))
    renames = {k: v["pypi"] for k, v in table["names"].items()}
    out = []
    for s in specs:
        try:
            cs = parse(s)
        except SpecError:
            raise UsageError("envs.error.bad_spec", spec=s, reason="not a package spec") from None
        name = cs.name.lower()
        if name in ("python", "pip"):
            continue
        version = cs.version or ""
        if version and version != "*":
            if version.endswith("*") and not version.endswith(".*"):
                version = version[:-1] + ".*"
            version = version if re.match(r"^[<>=!~]", version) else f"=={version}"
        else:
            version = ""
        out.append(renames.get(name, cs.name) + version)
    return out


def find_interpreter(version: str | None, uv: str | None) -> Path | None:
    """A local Python interpreter of ``version`` (X.Y or X.Y.Z), or None when there is none here."""
    from dlsetup.util.proc import run

    if version is None:
        return _base_python()
    if uv:
        r = run([uv, "python", "find", version, "--no-python-downloads"], timeout=60.0, env=_tool_env())
        if r.ok and r.stdout.strip():
            return Path(r.stdout.strip().splitlines()[-1])
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version in (here, f"{here}.{sys.version_info.micro}"):
        return _base_python()
    found = shutil.which(f"python{'.'.join(version.split('.')[:2])}")
    if found:
        r = run([found, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], timeout=30.0)
        if r.ok and r.stdout.strip().startswith(version):
            return Path(found)
    return None


def _base_python() -> Path:
    """The interpreter this process runs on, outside any virtual environment."""
    return Path(getattr(sys, "_base_executable", sys.executable))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def registered_venvs() -> list[Path]:
    return locations.read_venv_registry()


def _register(prefix: Path) -> None:
    from dlsetup.util.atomic import write_text_atomic

    current = registered_venvs()
    if prefix not in current:
        locations.venv_registry_path().parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(locations.venv_registry_path(), "".join(f"{p}\n" for p in [*current, prefix]))


def _unregister(prefix: Path) -> bool:
    from dlsetup.util.atomic import write_text_atomic

    current = registered_venvs()
    kept = [p for p in current if p != prefix]
    if len(kept) != len(current):
        write_text_atomic(locations.venv_registry_path(), "".join(f"{p}\n" for p in kept))
        return True
    return False


def _fetch_summary(log: list) -> dict | None:
    """The last :class:`~dlsetup.envs.wheels.WheelFetch` of an install, for ``CreateResult.wheel_fetch``."""
    from dataclasses import asdict

    return asdict(log[-1]) if log else None


# ------------------------------------------------------------------------------------------- backend


class VenvBackend(Backend):
    name = "venv"

    def __init__(self) -> None:
        self.uv = find_uv()

    @property
    def tool(self) -> str:
        return "uv" if self.uv else "pip"

    # ----------------------------------------------------------------------------------------- create
    def create(self, req: CreateRequest) -> CreateResult:
        from dlsetup.envs.pip import configured_index as configured_pip_index
        from dlsetup.util.redact import redact_url

        start = time.perf_counter()
        spec = req.spec
        if spec.kind in ("explicit", "conda-lock"):
            raise UsageError("envs.error.venv_conda_only", kind=spec.kind)
        version = _requested_python(spec.conda)
        from_conda = conda_to_pypi(spec.conda)
        requirements = from_conda + list(spec.pip)
        index = spec.pip_index_url or configured_pip_index()
        extra = list(spec.pip_extra_index_urls)
        if from_conda and spec.pip_index_url and req.recipe is not None:
            # a recipe's framework index (download.pytorch.org/whl/cu126, ...) does not serve its conda part
            # (pandas, opencv-python, ...): those come from the user's own index (their mirror), else PyPI.
            # uv asks --extra-index-url first and takes a package from the first index that has it
            # (https://docs.astral.sh/uv/concepts/indexes/), so the framework index goes there: torch can
            # then only come from it, never as PyPI's default (CUDA) build.
            extra = list(dict.fromkeys([spec.pip_index_url, *extra]))
            index = configured_pip_index() or "https://pypi.org/simple"
        result = CreateResult(action="create", name=req.name, prefix=str(req.prefix), backend=self.name,
                              dry_run=req.dry_run, source=spec.source, specs=list(spec.conda), pip=requirements,
                              pip_index_url=redact_url(index or "") or None, recipe=req.recipe,
                              variables=dict(spec.variables), warnings=list(req.warnings))
        interpreter = self._interpreter(version, req.offline, result.warnings)
        result.platform = f"python {version or '.'.join(map(str, sys.version_info[:2]))} ({self.tool})"
        if req.dry_run:
            if self.uv and requirements:
                try:
                    result.pip_packages = self._compile(requirements, index, extra, version)
                except OperationFailed as exc:  # the plan stands; that it could not be resolved is the finding
                    result.solved = False
                    result.solve_error = exc.message()
            result.duration_s = round(time.perf_counter() - start, 3)
            return result
        from dlsetup.envs.staging import InPlaceBuild

        # A venv is built at its final path (its scripts name it): an OS-locked marker says "unfinished", so a
        # SIGKILLed create is removed by the next run instead of blocking the name (see staging.InPlaceBuild).
        with InPlaceBuild(req.prefix):
            try:
                self._make_venv(req.prefix, interpreter, version, offline=req.offline)
                if requirements:
                    fetched: list = []
                    result.pip_packages = self._install(req.prefix, requirements, index, extra,
                                                        offline=req.offline, alternatives=req.alternatives,
                                                        fetch_log=fetched)
                    result.wheel_fetch = _fetch_summary(fetched)
                self._write_marker(req.prefix, version, requested=requirements, index=index, extra=extra,
                                   variables=spec.variables)
            except BaseException:
                shutil.rmtree(req.prefix, ignore_errors=True)  # all or nothing, as the conda backends
                raise
        self._finish(req.name, req.prefix, result)
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    def _finish(self, name: str | None, prefix: Path, result: CreateResult) -> None:
        if name is None:
            _register(prefix)
        result.registered = True
        result.set_activation(self.activate_hint(name, prefix))
        if not result.pip_packages:
            result.pip_packages = self.installed(prefix)

    def _interpreter(self, version: str | None, offline: bool, warnings: list[str]) -> Path | None:
        """A local interpreter for ``version``; None when uv must fetch a managed Python (said in ``warnings``).
        UsageError when none is here and uv cannot (or, offline, must not) fetch one."""
        from dlsetup.i18n import t

        interpreter = find_interpreter(version, self.uv)
        if interpreter is None:
            if not self.uv or offline:
                raise UsageError("envs.error.venv_no_python", version=version or "?",
                                 hint=t("envs.hint.venv_offline") if self.uv else t("envs.hint.venv_no_uv"))
            warnings.append(t("envs.warn.venv_managed_python", version=version))
        return interpreter

    def _make_venv(self, prefix: Path, interpreter: Path | None, version: str | None, offline: bool = False) -> None:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        if interpreter is not None and _same_file(interpreter, _base_python()):
            # the interpreter running dlsetup: the standard library makes the venv in-process (no pip seeded,
            # as `uv venv` does), which saves a process start on every create
            import venv

            venv.EnvBuilder(symlinks=not sys.platform.startswith("win"), with_pip=not self.uv,
                            upgrade_deps=False).create(str(prefix))
            return
        if self.uv:
            argv = [self.uv, "venv", str(prefix), "--python", str(interpreter or version), "--no-project"]
            if interpreter is not None or offline:
                argv.append("--no-python-downloads")
            _run(argv, env=_tool_env())
        else:
            _run([str(interpreter), "-m", "venv", str(prefix)], env=_tool_env(), what="python -m venv")

    def _index_args(self, index: str | None, extra: list[str] | None) -> list[str]:
        argv: list[str] = []
        if index:
            argv += ["--index-url", index]
        for e in extra or []:
            argv += ["--extra-index-url", e]
        return argv

    def _install(self, prefix: Path, requirements: list[str], index: str | None, extra: list[str] | None, *,
                 offline: bool = False, no_deps: bool = False, alternatives=None,
                 fetch_log: list | None = None) -> list[Package]:
        """Install ``requirements``; the wheels come through dlsetup's download engine first (see
        :mod:`dlsetup.envs.wheels`): uv plans (``uv pip compile --format pylock.toml``), the engine fetches,
        ``uv pip install --offline --no-index --find-links`` installs. pip: :func:`dlsetup.envs.pip.install`."""
        from dlsetup.envs import pip, wheels

        if not self.uv:
            # a fresh venv: uv's plan (when the uv binary is here at all) is what pip would install, and
            # unlike pip before 25.3 it reads only metadata; pip still installs (DLSETUP_VENV_TOOL=pip)
            planner = find_uv(installer=False)
            return pip.install(prefix, requirements, index_url=index, extra_index_urls=extra, no_deps=no_deps,
                               python=venv_python(prefix), alternatives=alternatives, fetch_log=fetch_log,
                               plan_uv=(planner, self._python_version(prefix)) if planner else None)
        with tempfile.TemporaryDirectory(prefix="dlsetup-uv-") as tmp:
            reqfile = Path(tmp) / "requirements.txt"
            reqfile.write_text("".join(r.strip() + "\n" for r in requirements), encoding="utf-8")
            env = _tool_env()
            house, info, planned = None, wheels.WheelFetch(via="uv", reason="DLSETUP_WHEEL_FETCH=plain"), None
            if offline:
                info.reason = "--offline: uv installs from its own cache"
            elif wheels.engine_wanted():
                try:
                    planned = wheels.plan_with_uv(self.uv, venv_python(prefix), reqfile, self._index_args(index, extra),
                                                  env, version=self._python_version(prefix), no_deps=no_deps)
                    if planned:
                        house, info = wheels.fetch(planned, alternatives)
                    else:
                        info = wheels.WheelFetch(via="engine")
                except wheels.PlanImpossible as exc:
                    info = wheels.WheelFetch(via="uv", reason=str(exc))
            if planned == []:
                argv = None  # nothing to install
            elif house is not None:
                pins = Path(tmp) / "planned.txt"
                pins.write_text("".join(p + "\n" for p in house.pins()), encoding="utf-8")
                argv = [self.uv, "pip", "install", "--python", str(venv_python(prefix)), "-r", str(pins),
                        "--offline", "--no-index", "--find-links", str(house.path)]
            else:
                argv = [self.uv, "pip", "install", "--python", str(venv_python(prefix)), "-r", str(reqfile),
                        *self._index_args(index, extra)]
                if offline:
                    argv.append("--offline")
            if argv is not None and no_deps:
                argv.append("--no-deps")
            try:
                if argv is not None:
                    _run(argv, env=env)
            finally:
                if house is not None:
                    wheels.remove(house)
        if fetch_log is not None:
            fetch_log.append(info)
        if house is None:
            return []
        # what the plan said (index URL and sha256 of each wheel), for env export / lock
        installed = [Package(name=p.name, version=p.version, manager="pip", channel=index or "", url=p.url,
                             sha256=p.sha256) for p in house.planned]
        pip._record(prefix, installed)
        return installed

    def _compile(self, requirements: list[str], index: str | None, extra: list[str] | None, version: str | None,
                 fmt: str = "requirements.txt", hashes: bool = False) -> list[Package] | str:
        """``uv pip compile``: the packages the requirements resolve to (or, with ``fmt``, the lock text)."""
        with tempfile.TemporaryDirectory(prefix="dlsetup-uv-") as tmp:
            src = Path(tmp) / "requirements.in"
            src.write_text("".join(r.strip() + "\n" for r in requirements), encoding="utf-8")
            out = Path(tmp) / ("pylock.toml" if fmt == "pylock.toml" else "requirements.txt")
            argv = [self.uv, "pip", "compile", str(src), "-o", str(out), "--format", fmt, "--no-header",
                    "--quiet", *self._index_args(index, extra)]
            if version:
                argv += ["--python-version", version]
            if hashes:
                argv += ["--generate-hashes", "--no-annotate"]
            _run(argv, env=_tool_env())
            text = out.read_text(encoding="utf-8")
        if fmt != "requirements.txt" or hashes:
            return text
        pkgs = []
        for line in text.splitlines():
            m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
            if m:
                pkgs.append(Package(name=m.group(1), version=m.group(2), manager="pip", channel=index or ""))
        return pkgs

    def _write_marker(self, prefix: Path, version: str | None, *, requested: list[str], index: str | None,
                      extra: list[str] | None, variables: dict[str, str] | None = None) -> None:
        from dlsetup import __version__
        from dlsetup.util.atomic import write_text_atomic

        python = self._python_version(prefix) or version
        data = {"tool": self.tool, "python": python, "requested": requested, "index_url": index,
                "extra_index_urls": list(extra or []), "env_vars": dict(variables or {}),
                "created_by": f"dlsetup {__version__}", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (prefix / MARKER).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(prefix / MARKER, json.dumps(data, indent=2) + "\n")

    def _python_version(self, prefix: Path) -> str | None:
        try:
            text = (prefix / "pyvenv.cfg").read_text(encoding="utf-8")
        except OSError:
            return None
        m = re.search(r"^(?:version|version_info)\s*=\s*(\d+\.\d+(?:\.\d+)?)", text, re.M)
        return m.group(1) if m else None

    def installed(self, prefix: Path) -> list[Package]:
        from dlsetup.envs import pip

        return sorted(pip.installed_by_pip(prefix, owned=set()), key=lambda p: p.name.lower())

    # --------------------------------------------------------------------------------- from a lock file
    def install_lock(self, req: CreateRequest) -> CreateResult:
        """Install exactly what a ``pylock.toml`` (or ``requirements.txt`` with hashes) lists."""

        start = time.perf_counter()
        assert req.lockfile is not None
        lock = read_pylock(req.lockfile)
        version = lock["python"]
        result = CreateResult(action="install", name=req.name, prefix=str(req.prefix), backend=self.name,
                              dry_run=req.dry_run, source=str(req.lockfile), lockfile=str(req.lockfile),
                              platform=f"python {version or '?'} ({self.tool})", warnings=list(req.warnings))
        result.pip_packages = [Package(name=p["name"], version=p["version"], manager="pip", url=p["url"],
                                       sha256=p["sha256"]) for p in lock["packages"]]
        interpreter = self._interpreter(version, req.offline, result.warnings)
        if req.dry_run:
            result.duration_s = round(time.perf_counter() - start, 3)
            return result
        from dlsetup.envs.staging import InPlaceBuild

        with InPlaceBuild(req.prefix):  # built in place: a killed run is cleaned by the next
            try:
                self._make_venv(req.prefix, interpreter, version, offline=req.offline)
                if self.uv:
                    _run([self.uv, "pip", "install", "--python", str(venv_python(req.prefix)), "-r", str(req.lockfile),
                          "--preview-features", "pylock", *(["--offline"] if req.offline else [])], env=_tool_env())
                else:  # pip cannot read pylock.toml yet: the same URLs, hash-checked, without resolving again
                    reqs = [f"{p['name']} @ {p['url']}" + (f" --hash=sha256:{p['sha256']}" if p["sha256"] else "")
                            for p in lock["packages"]]
                    self._install(req.prefix, reqs, None, None, no_deps=True)
                self._write_marker(req.prefix, version, requested=[f"{p['name']}=={p['version']}" for p in lock["packages"]],
                                   index=None, extra=None)
            except BaseException:
                shutil.rmtree(req.prefix, ignore_errors=True)
                raise
        self._finish(req.name, req.prefix, result)
        result.pip_packages = self.installed(req.prefix)
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    # -------------------------------------------------------------------------------------------- clone
    def clone(self, source: Path, name: str | None, prefix: Path, dry_run: bool = False) -> CreateResult:
        """A new venv with the same Python and the same distributions (re-installed, not copied: venvs
        are not relocatable — their scripts name the prefix)."""
        start = time.perf_counter()
        marker = read_marker(source)
        pkgs = self.installed(source)
        result = CreateResult(action="clone", name=name, prefix=str(prefix), backend=self.name, dry_run=dry_run,
                              source=str(source), source_prefix=str(source), pip_packages=pkgs,
                              platform=f"python {marker.get('python') or '?'} ({self.tool})")
        if dry_run:
            return result
        pins = [f"{p.name}=={p.version}" for p in pkgs if p.name.lower() not in ("pip", "setuptools", "wheel")]
        from dlsetup.envs.staging import InPlaceBuild

        with InPlaceBuild(prefix):  # built in place: a killed run is cleaned by the next
            try:
                self._make_venv(prefix, find_interpreter(marker.get("python"), self.uv), marker.get("python"))
                if pins:
                    self._install(prefix, pins, marker.get("index_url"), marker.get("extra_index_urls"))
                self._write_marker(prefix, marker.get("python"), requested=list(marker.get("requested") or pins),
                                   index=marker.get("index_url"), extra=marker.get("extra_index_urls"),
                                   variables=marker.get("env_vars"))
            except BaseException:
                shutil.rmtree(prefix, ignore_errors=True)
                raise
        self._finish(name, prefix, result)
        result.pip_packages = self.installed(prefix)
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    # ------------------------------------------------------------------------------------------- export
    def export(self, prefix: Path, fmt: str, *, from_history: bool = False, no_builds: bool = False) -> ExportResult:
        marker = read_marker(prefix)
        name = prefix.name if any(prefix.parent == d for d in locations.envs_dirs()) else None
        pkgs = [p for p in self.installed(prefix) if p.name.lower() not in ("pip", "setuptools", "wheel")]
        pins = [f"{p.name}=={p.version}" for p in pkgs]
        if from_history:
            pins = list(marker.get("requested") or pins)
        if fmt not in ("pylock", "requirements"):
            raise UsageError("envs.error.venv_format", format=fmt, known="pylock, requirements")
        version = marker.get("python")
        index, extra = marker.get("index_url"), marker.get("extra_index_urls") or []
        if self.uv:
            if fmt == "pylock":
                content = self._compile(pins, index, extra, version, fmt="pylock.toml")
                content = _pylock_with_python(str(content), version)
            else:
                content = self._compile(pins, index, extra, version, hashes=True)
        else:
            content = write_pylock(prefix, pkgs, version) if fmt == "pylock" else write_requirements(prefix, pkgs)
        return ExportResult(name=name, prefix=str(prefix), format=fmt, content=str(content),
                            from_history=from_history, backend=self.name)

    # ------------------------------------------------------------------------------------------- remove
    def remove(self, prefix: Path) -> RemoveResult:
        from dlsetup.envs import staging

        staging.move_to_trash(prefix)
        unregistered = _unregister(prefix)
        name = prefix.name if any(prefix.parent == d for d in locations.envs_dirs()) else None
        return RemoveResult(name=name, prefix=str(prefix), removed=True, unregistered=unregistered, backend=self.name)

    # --------------------------------------------------------------------------------------------- list
    def list(self) -> EnvList:
        from dlsetup.envs.backends.rattler import RattlerBackend

        return RattlerBackend().list()

    def activate_hint(self, name: str | None, prefix: Path) -> list:
        """The venv's own activation script for the shell (``Scripts\\Activate.ps1`` / ``activate.bat`` on
        Windows, ``bin/activate`` elsewhere); ``dlsetup run -n NAME ...`` works without activating."""
        from dlsetup.platform import current
        from dlsetup.platform.shell import activate_venv

        return [activate_venv(str(prefix), current().os)]


# ------------------------------------------------------------------------------------------- pylock


def _pylock_with_python(text: str, version: str | None) -> str:
    """Record the exact Python the environment had in the lock's ``[tool.dlsetup]`` table (PEP 751 allows
    tool tables), so ``env install`` can make the same interpreter choice."""
    if not version:
        return text
    return text.rstrip("\n") + f'\n\n[tool.dlsetup]\npython = "{version}"\n'


def write_pylock(prefix: Path, pkgs: list[Package], version: str | None) -> str:
    """PEP 751 text from pip's install report (URLs and sha256 that ``dlsetup.envs.pip`` recorded)."""
    import tomlkit

    from dlsetup.envs import pip

    record = pip.read_record(prefix)
    doc = tomlkit.document()
    doc["lock-version"] = "1.0"
    doc["created-by"] = "dlsetup"
    if version:
        doc["requires-python"] = f"=={version}"
    arr = tomlkit.aot()
    for p in pkgs:
        known = record.get(canonical_name(p.name), {})
        t = tomlkit.table()
        t["name"] = p.name
        t["version"] = p.version
        url = known.get("url") if known.get("version") == p.version else None
        if url:
            wheel = tomlkit.inline_table()
            wheel["url"] = url
            if known.get("sha256"):
                h = tomlkit.inline_table()
                h["sha256"] = known["sha256"]
                wheel["hashes"] = h
            t["wheels"] = [wheel]
        arr.append(t)
    doc["packages"] = arr
    return _pylock_with_python(tomlkit.dumps(doc), version)


def write_requirements(prefix: Path, pkgs: list[Package]) -> str:
    from dlsetup.envs import pip

    record = pip.read_record(prefix)
    lines = []
    for p in pkgs:
        known = record.get(canonical_name(p.name), {})
        sha = known.get("sha256") if known.get("version") == p.version else None
        lines.append(f"{p.name}=={p.version}" + (f" \\\n    --hash=sha256:{sha}" if sha else ""))
    return "\n".join(lines) + "\n"


def read_pylock(path: Path) -> dict:
    """{python, packages: [{name, version, url, sha256}]} of a PEP 751 file; UsageError naming it if bad."""
    from dlsetup.util import toml
    try:
        data = toml.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, toml.TOMLDecodeError) as exc:
        raise UsageError("envs.error.bad_file", path=str(path), reason=str(exc).splitlines()[0]) from None
    if str(data.get("lock-version", "")).split(".")[0] != "1" or not isinstance(data.get("packages"), list):
        raise UsageError("envs.error.bad_file", path=str(path), reason="not a PEP 751 lock (lock-version 1.x, [[packages]])")
    out = []
    for i, pkg in enumerate(data["packages"]):
        if not isinstance(pkg, dict) or not pkg.get("name"):
            raise UsageError("envs.error.bad_file", path=str(path), reason=f"[[packages]] #{i + 1} has no name")
        wheels = pkg.get("wheels") or []
        sdist = pkg.get("sdist") or {}
        first = wheels[0] if wheels and isinstance(wheels[0], dict) else sdist if isinstance(sdist, dict) else {}
        out.append({"name": str(pkg["name"]), "version": str(pkg.get("version") or ""), "url": first.get("url"),
                    "sha256": (first.get("hashes") or {}).get("sha256")})
    python = ((data.get("tool") or {}).get("dlsetup") or {}).get("python")
    if not python:
        m = re.match(r"^==\s*(\d+\.\d+(?:\.\d+)?)$", str(data.get("requires-python") or "").strip())
        python = m.group(1) if m else None
    return {"python": python, "packages": out}
