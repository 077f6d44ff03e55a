"""pip sections: installed with the environment's own interpreter (``<prefix>/bin/python -m pip``).

The index is the one the resolver chose for a framework (e.g. the PyTorch CUDA index), or the one the
lock file names, or otherwise whatever the user's pip configuration says (their mirror). pip's
``--report`` (pip ≥ 22.2) records the exact URL and sha256 of every wheel, which ``env export --format
lock`` needs; dlsetup keeps it in ``<prefix>/etc/dlsetup/pip-packages.json`` (never in ``conda-meta/``,
where conda would read it as a package record).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from dlsetup.envs.model import Package
from dlsetup.errors import OperationFailed

PIP_RECORD = Path("etc") / "dlsetup" / "pip-packages.json"
PIP_TIMEOUT_S = 3600.0


def env_python(prefix: Path) -> Path:
    """The interpreter of an environment (``bin/python`` on Unix, ``python.exe`` on Windows)."""
    if sys.platform.startswith("win"):
        return prefix / "python.exe"
    return prefix / "bin" / "python"


def install(prefix: Path, requirements: list[str], *, index_url: str | None = None,
            extra_index_urls: list[str] | None = None, no_deps: bool = False,
            python: Path | None = None, alternatives=None, fetch_log: list | None = None,
            plan_uv: tuple[str, str | None] | None = None) -> list[Package]:
    """``python -m pip install`` into ``prefix``; raises OperationFailed with pip's last error line.

    The wheels come through dlsetup's download engine first (:mod:`dlsetup.envs.wheels`: pip plans with
    ``--dry-run --report``, the engine fetches — resumable, hash-checked, ``alternatives`` per file — and
    pip installs with ``--no-index --find-links``); when no such plan can be made, pip downloads as usual.
    ``fetch_log`` (a list) receives the :class:`~dlsetup.envs.wheels.WheelFetch` saying which way it went.
    ``plan_uv`` (uv's path, the environment's Python X.Y): plan with ``uv pip compile`` instead — right only
    for an environment with nothing installed yet (a fresh venv), since uv does not look at the environment.
    """
    from dlsetup.envs import wheels
    from dlsetup.output import log
    from dlsetup.util.proc import run
    from dlsetup.util.redact import redact_url

    if not requirements:
        return []
    py = python or env_python(prefix)
    if not py.exists():
        raise OperationFailed("envs.error.pip_needs_python", prefix=str(prefix))
    with tempfile.TemporaryDirectory(prefix="dlsetup-pip-") as tmp:
        report = Path(tmp) / "report.json"
        # one requirements file, as conda does for an environment.yml's pip section: lines may be
        # requirements, URLs with #sha256=, or pip options (--index-url, -r other.txt, --find-links …)
        reqfile = Path(tmp) / "requirements.txt"
        reqfile.write_text("".join(line.strip() + "\n" for line in requirements), encoding="utf-8")
        index_args: list[str] = []
        if index_url:
            index_args += ["--index-url", index_url]
        for extra in extra_index_urls or []:
            index_args += ["--extra-index-url", extra]
        env = dict(os.environ)
        env.pop("PYTHONHOME", None)
        env.pop("PYTHONPATH", None)
        env["PIP_NO_INPUT"] = "1"
        # the user's pip config still applies (their mirror), but not settings that would send the
        # install elsewhere or refuse a conda environment
        env["PIP_USER"] = "0"
        env["PIP_REQUIRE_VIRTUALENV"] = "0"
        env.pop("PIP_TARGET", None)
        env.pop("PIP_PREFIX", None)
        house, info = None, wheels.WheelFetch(via="pip", reason="DLSETUP_WHEEL_FETCH=plain")
        if wheels.engine_wanted():
            try:
                if plan_uv is not None:
                    planned = wheels.plan_with_uv(plan_uv[0], py, reqfile, index_args, env, version=plan_uv[1],
                                                  no_deps=no_deps)
                else:
                    planned = wheels.plan_with_pip(py, reqfile, index_args, env, no_deps=no_deps)
                if not planned:  # everything is installed already
                    if fetch_log is not None:
                        fetch_log.append(wheels.WheelFetch(via="engine"))
                    return []
                house, info = wheels.fetch(planned, alternatives)
            except wheels.PlanImpossible as exc:
                info = wheels.WheelFetch(via="pip", reason=str(exc))
        argv = [str(py), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--no-compile",
                "--report", str(report)]
        if house is not None:
            pins = Path(tmp) / "planned.txt"
            pins.write_text("".join(p + "\n" for p in house.pins()), encoding="utf-8")
            argv += ["--no-index", "--find-links", str(house.path)]
            if no_deps:
                argv.append("--no-deps")
            argv += ["-r", str(pins)]
        else:
            argv += index_args
            if no_deps:
                argv.append("--no-deps")
            argv += ["-r", str(reqfile)]
        log("+ " + redact_url(" ".join(argv)), 1)
        try:
            result = run(argv, timeout=PIP_TIMEOUT_S, env=env)
            if not result.ok and "--report" in result.stderr and "no such option" in result.stderr:
                argv = [a for a in argv if a not in ("--report", str(report))]  # pip older than 22.2
                result = run(argv, timeout=PIP_TIMEOUT_S, env=env)
        finally:
            if house is not None:
                wheels.remove(house)
        if not result.ok:
            raise OperationFailed("envs.error.pip_failed", reason=_last_error(result.stderr or result.stdout,
                                                                              result.timed_out))
        installed = _from_report(report, index_url) if report.exists() else []
    if house is not None:
        installed = _planned_origins(installed, house.planned)
    if fetch_log is not None:
        fetch_log.append(info)
    _record(prefix, installed)
    return installed


def _planned_origins(installed: list[Package], planned: list) -> list[Package]:
    """Packages pip installed from the local wheelhouse get the URL and sha256 the plan had (not file://)."""
    from urllib.parse import unquote

    by_file = {p.filename: p for p in planned}
    for pkg in installed:
        found = by_file.get(unquote((pkg.url or "").split("#", 1)[0].rsplit("/", 1)[-1]))
        if found is not None:
            pkg.url, pkg.sha256 = found.url, found.sha256 or pkg.sha256
    return installed


def _last_error(text: str, timed_out: bool) -> str:
    from dlsetup.util.redact import redact_url

    if timed_out:
        return "timed out"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return redact_url((errors or lines or ["pip failed"])[-1])


def _from_report(report: Path, index_url: str | None) -> list[Package]:
    from dlsetup.util.redact import redact_url

    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for item in data.get("install") or []:
        meta = item.get("metadata") or {}
        info = item.get("download_info") or {}
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        url = info.get("url")
        out.append(Package(name=str(meta.get("name", "?")), version=str(meta.get("version", "?")),
                           manager="pip", channel=redact_url(index_url or ""), url=url,
                           sha256=hashes.get("sha256")))
    return out


def _record(prefix: Path, packages: list[Package]) -> None:
    """Merge what pip just installed into ``etc/dlsetup/pip-packages.json`` (URLs and hashes)."""
    from dlsetup.util.atomic import write_text_atomic

    if not packages:
        return
    path = prefix / PIP_RECORD
    current = read_record(prefix)
    for p in packages:
        current[_canon(p.name)] = {"name": p.name, "version": p.version, "url": p.url,
                                   "sha256": p.sha256}
    write_text_atomic(path, json.dumps(current, indent=2, sort_keys=True) + "\n")


def read_record(prefix: Path) -> dict[str, dict]:
    try:
        data = json.loads((prefix / PIP_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _canon(name: str) -> str:
    from dlsetup.util.names import canonical_name

    return canonical_name(name)


def site_packages(prefix: Path) -> list[Path]:
    if sys.platform.startswith("win"):
        return [prefix / "Lib" / "site-packages"]
    return sorted((prefix / "lib").glob("python3*/site-packages"))


def installed_by_pip(prefix: Path, owned: set[str] | None = None) -> list[Package]:
    """Distributions in the env's site-packages that no conda package owns (conda lists them as pypi)."""
    import importlib.metadata as md

    from dlsetup.envs.staging import tracked_files

    owned = tracked_files(prefix) if owned is None else owned
    record = read_record(prefix)
    out: list[Package] = []
    for sp in site_packages(prefix):
        for dist_info in sorted(sp.glob("*.dist-info")):
            rel = os.path.relpath(dist_info / "METADATA", prefix)
            if rel in owned:
                continue
            dist = md.PathDistribution(dist_info)
            name = dist.metadata.get("Name") if dist.metadata else None
            if not name:
                continue
            known = record.get(_canon(name), {})
            url = known.get("url") if known.get("version") == dist.version else None
            if url is None:
                direct = dist.read_text("direct_url.json")
                if direct:
                    try:
                        url = json.loads(direct).get("url")
                    except ValueError:
                        url = None
            sha = known.get("sha256") if known.get("version") == dist.version else None
            out.append(Package(name=name, version=dist.version, manager="pip", url=url, sha256=sha))
    return out


def configured_index() -> str | None:
    """The index ``pip install`` would use with the user's pip configuration (None: PyPI)."""
    from dlsetup.errors import UsageError
    from dlsetup.toolconfig import pip
    from dlsetup.toolconfig.readers import ConfigFileError

    try:
        return pip.index_url()
    except ConfigFileError as exc:
        raise UsageError("toolconfig.error.malformed", tool="pip", where=exc.where(), reason=exc.reason) from None
