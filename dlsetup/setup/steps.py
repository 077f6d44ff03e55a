"""Adapters: the one place where ``dlsetup setup`` calls the capabilities below it.

Each function wraps one existing API (doctor, mirror, resolve, envs, verify) behind a small, stable
signature, so that switching a step to a newer API (a hardware database for the driver step, resumable
downloads for the environment, a venv backend) is a change here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.errors import UsageError

# Doctor groups whose errors stop setup: a new environment cannot fix the driver, the GPU or the CUDA loader.
# Errors about the Python in use or its frameworks do not block: the new environment replaces them.
BLOCKING_GROUPS = ("driver", "cuda")


# --------------------------------------------------------------------------------------------- doctor
def run_doctor(snapshot: str | None, shell: str | None = None):
    """``dlsetup doctor`` (or ``doctor --snapshot FILE``): the DoctorReport, its fixes written for ``shell``
    (default: the user's shell; PowerShell for a Windows snapshot); ``report.shell`` says which."""
    from dlsetup.doctor.runner import run_doctor as _run

    return _run(snapshot_path=snapshot, shell=shell)


def blocking_findings(report) -> list:
    """The errors setup cannot work around (driver, GPU, CUDA loader), in doctor's order."""
    return [f for f in report.findings if f.severity == "error" and f.group in BLOCKING_GROUPS]


def driver_steps(report) -> list[dict[str, Any]]:
    """What to do before running setup again: each blocking finding's fix and exact commands, and for a GPU
    without its driver the package dlsetup's hardware database names for this OS and release (``driver``:
    ``dlsetup.hw.drivers.advise``, which doctor's ``gpu.no_driver``/``gpu.nouveau`` carry in their data).

    On Windows there is no command to run: the driver comes from NVIDIA's installer. Doctor's fix there goes on to
    install the framework build into the Python in use, which setup does itself in the new environment, so the
    step is the driver (at least the version the planned build needs), a restart, and setup again."""
    from dlsetup.i18n import t

    out = []
    for f in blocking_findings(report):
        step: dict[str, Any] = {"id": f.id, "title": f.title, "fix": f.fix, "commands": list(f.commands),
                                "notes": list(f.notes),
                                "reboot": any("reboot" in c for c in f.commands)}
        advice = (f.data or {}).get("driver_advice")
        if isinstance(advice, dict) and advice.get("available"):
            step["driver"] = {k: advice.get(k) for k in ("packages", "commands", "branch", "open_module", "family",
                                                         "release", "needs_nonfree", "sources")}
            step["driver"]["gpu"] = (advice.get("gpu") or {}).get("name")
            if advice.get("family") == "windows":
                packages = advice.get("packages") or []
                url = next((u for u in advice.get("sources") or [] if u.startswith("https://")),
                           "https://www.nvidia.com/en-us/drivers/")
                step["driver"]["min_driver"] = f.data.get("min_driver")
                step["fix"] = t("setup.driver.windows_fix", package=packages[0] if packages else "-",
                                gpu=step["driver"]["gpu"] or "-", min_driver=f.data.get("min_driver") or "-", url=url)
                step["commands"] = []
                params = {"package": packages[0] if packages else "-", "min_driver": f.data.get("min_driver") or "-",
                          "url": url}
                step["notes"] = [{"at": 0, "id": "setup.next.driver_windows", "params": params,
                                  "text": t("setup.next.driver_windows", **params)}]
                step["reboot"] = True
        out.append(step)
    return out


# ------------------------------------------------------------------------------------------- backend
def backend_names() -> tuple[str, ...]:
    """The environment backends this build has (the envs backend registry)."""
    from dlsetup.envs.backends import BACKENDS

    return tuple(BACKENDS)


def check_backend(name: str) -> str:
    """``name`` when this build has that backend; a UsageError (exit 2) naming the ones it has otherwise."""
    if name not in backend_names():
        raise UsageError("setup.error.backend_unavailable", backend=name, known=", ".join(backend_names()))
    return name


# The backend setup uses when the user does not choose one. rattler is built in (nothing to install), its conda
# packages come through dlsetup's resumable, verified downloads, the solve measures the download before the one
# question, and the environment sits in conda's envs directory (``conda activate`` finds it once conda is there).
# A conda-family tool on PATH does not change that: ``--backend conda|mamba|micromamba`` uses it; ``--backend venv``
# makes a virtual environment with uv instead (PyPI wheels only, a Python installed here).
DEFAULT_BACKEND = "rattler"


def choose_backend(option: str | None) -> tuple[str, str, str]:
    """``(backend, source, why)``: ``--backend``, else ``DLSETUP_BACKEND``, else :data:`DEFAULT_BACKEND`;
    ``source`` is "option" | "env" | "default" and ``why`` one translated line for the plan."""
    from dlsetup.envs.backends import detect_tools
    from dlsetup.i18n import t

    if option:
        name = check_backend(option.strip().lower())
        return name, "option", t("setup.backend.asked", backend=name)
    env = (os.environ.get("DLSETUP_BACKEND") or "").strip().lower()
    if env and env != "auto":
        name = check_backend(env)
        return name, "env", t("setup.backend.env", backend=name)
    tools = detect_tools()
    if tools:
        return DEFAULT_BACKEND, "default", t("setup.backend.default_tool", tool=tools[0].kind)
    return DEFAULT_BACKEND, "default", t("setup.backend.default")


# -------------------------------------------------------------------------------------------- resolve
def resolve_stack(recipe: str, *, snapshot: str | None = None, python: str | None = None, backend: str = "rattler"):
    """The recipe fitted to this machine (or the snapshot's): ``(EnvSpec, RecipePlan)``. A virtual environment
    cannot bring its own Python: with the venv backend the recipe's first Python installed here is taken, as
    ``create env --backend venv`` does."""
    from dlsetup.envs import recipes

    snap = None
    if snapshot:
        from dlsetup.probe.snapshot import load_snapshot

        snap = load_snapshot(snapshot)
    python_by = None
    if backend == "venv" and python is None and snap is None:
        python = local_python(recipes.load(recipe)["python"])
        python_by = "local" if python else None
    return recipes.plan(recipe, python=python, snapshot=snap, snapshot_path=snapshot, python_by=python_by)


def local_python(candidates: list) -> str | None:
    """The first of a recipe's Python versions installed here (None: none is)."""
    from dlsetup.envs.backends.venv import find_interpreter, find_uv

    uv = find_uv()
    return next((str(py) for py in candidates if find_interpreter(str(py), uv) is not None), None)


# --------------------------------------------------------------------------------------------- mirror
@dataclass
class MirrorChoice:
    mode: str  # "none" | "named" | "auto"
    mirror: str | None = None  # catalogue id
    name: str | None = None
    why: str = ""  # translated
    probe: list[dict[str, Any]] = field(default_factory=list)  # {mirror, ok, total_ms, reason} per probed mirror
    torch_index: str | None = None  # where the mirror serves the chosen PyTorch variant (None: not there)
    files: list[str] = field(default_factory=list)  # the config files applying it writes


def choose_mirror(option: str, *, variant: str | None, offline: bool, save: bool = True) -> MirrorChoice:
    """``--mirror none|NAME|auto``: none; the named catalogue mirror; or the fastest catalogue mirror that passes
    the checks for this machine's artifacts (conda repodata, the PyTorch variant, PyPI), probed in parallel
    (``--offline``: the last probe's cached results). ``save``: keep the probe results in the cache (not in a
    dry run)."""
    from dlsetup.i18n import t

    option = (option or "none").strip()
    if option.lower() == "none":
        return MirrorChoice(mode="none", why=t("setup.mirror.none"))
    from dlsetup.mirror.catalog import load_catalog

    catalog = load_catalog()
    if option.lower() != "auto":
        m = catalog.get(option)  # UsageError with suggestions for an unknown name
        return _with_torch(MirrorChoice(mode="named", mirror=m.id, name=m.name, why=t("setup.mirror.named", name=m.id)),
                           m, variant)
    from dlsetup.mirror import probe

    report = None
    if offline:
        report = probe.load_cache()
        if report is None:
            return MirrorChoice(mode="auto", why=t("setup.mirror.no_cache"))
    else:
        opts = probe.ProbeOptions(variant=variant or "cpu", variant_source="resolver", tools=("pip", "conda", "torch"))
        report = probe.probe_mirrors(catalog.auto_candidates(), opts, cache=save)
    rows = [{"mirror": r.mirror, "ok": r.ok, "total_ms": r.total_ms, "reason": r.reason} for r in report.mirrors]
    if not report.fastest:
        return MirrorChoice(mode="auto", why=t("setup.mirror.none_passed", count=len(rows)), probe=rows)
    m = catalog.get(report.fastest)
    best = next(r for r in report.mirrors if r.mirror == m.id)
    why = t("setup.mirror.fastest", name=m.id, ms=f"{best.total_ms or 0:.0f}", count=len(rows))
    return _with_torch(MirrorChoice(mode="auto", mirror=m.id, name=m.name, why=why, probe=rows), m, variant)


def _with_torch(choice: MirrorChoice, mirror, variant: str | None) -> MirrorChoice:
    if variant and mirror.torch is not None and mirror.torch.serves(variant):
        choice.torch_index = mirror.torch.url_for(variant)
    return choice


# What setup points at the mirror: the environment's conda packages come through conda's channels (read by every
# backend), its frameworks through pip and the PyTorch index. Tools the mirror does not serve are skipped by apply.
MIRROR_TOOLS = ("pip", "conda", "torch")


def mirror_files(choice: MirrorChoice) -> list[str]:
    """The files applying the mirror would write (a dry run of ``dlsetup mirror NAME``; nothing is written)."""
    if not choice.mirror:
        return []
    from dlsetup.mirror import apply

    result = apply.run(choice.mirror, tools=list(MIRROR_TOOLS), dry_run=True, offline=True)
    return sorted({f.path for f in result.files if f.action != "unchanged"})


def apply_mirror(choice: MirrorChoice) -> list[str]:
    """``dlsetup mirror NAME`` (already checked by the probe, so no network here): the files written."""
    from dlsetup.mirror import apply

    result = apply.run(choice.mirror, tools=list(MIRROR_TOOLS), offline=True)
    return sorted({f.path for f in result.files if f.action != "unchanged"})


# ------------------------------------------------------------------------------------------------ envs
def env_prefix(name: str) -> Path:
    """Where ``create env NAME`` puts the environment (validates the name: UsageError)."""
    from dlsetup.envs import locations

    return locations.target_prefix(name)[1]


def env_exists(prefix: Path) -> bool:
    """A conda environment, or a virtual environment dlsetup made."""
    from dlsetup.envs import locations

    return locations.is_env(prefix)


def lock_format(backend: str) -> tuple[str, str]:
    """``(export format, file name)`` of the lock: PEP 751 ``pylock.toml`` for a venv, ``conda-lock.yml`` else."""
    return ("pylock", "pylock.toml") if backend == "venv" else ("lock", "conda-lock.yml")


def mirrored_channels(channels: list[str], mirror_id: str | None) -> list[str]:
    """The recipe's channels as the chosen mirror serves them (a channel the mirror lacks stays as it is)."""
    if not mirror_id:
        return list(channels)
    from dlsetup.mirror.catalog import load_catalog

    m = load_catalog().get(mirror_id)
    out = []
    for c in channels:
        path = f"cloud/{c}" if "/" not in c and "://" not in c else c
        out.append(m.channel_url(path) if m.carries(path) else c)
    return out


def preview_env(name: str, spec, rplan, *, backend: str, offline: bool, choice: MirrorChoice):
    """A dry-run create of the resolved spec through the chosen mirror (the solve; nothing is written): the
    conda packages that will be downloaded."""
    import copy

    from dlsetup.envs.backends import CreateRequest, select_backend

    spec = copy.deepcopy(spec)
    spec.channels = mirrored_channels(spec.channels, choice.mirror)
    if choice.torch_index:
        spec.pip_index_url = choice.torch_index
    env_name, prefix = _target(name)
    req = CreateRequest(name=env_name, prefix=prefix, spec=spec, dry_run=True, offline=offline, recipe=rplan)
    return select_backend(backend).create(req)


def _target(name: str):
    from dlsetup.envs import locations

    return locations.target_prefix(name)


def create_env(name: str, recipe: str, *, backend: str, offline: bool, python: str | None,
               torch_index: str | None = None):
    """``dlsetup create env NAME --recipe RECIPE``: solve, download, link, pip section — staged, all or nothing.
    ``torch_index``: where the chosen mirror serves the framework wheels (the plan's index; uv, unlike pip, reads
    no pip configuration, so the venv backend needs it given)."""
    from dlsetup.envs.api import create_env as _create

    return _create(name, recipe=recipe, backend=backend, offline=offline, python=python, pip_index_url=torch_index)


def activate_steps(name: str, prefix: Path, backend: str) -> list:
    """The backend's activation hint, as commands (platform.shell ``Cmd``/``Step``). A venv: its scripts folder
    first on PATH (what ``activate`` does to PATH)."""
    if backend == "venv":
        from dlsetup.platform import current
        from dlsetup.platform.shell import prepend_path

        return [prepend_path(*current().interpreter_layout(str(prefix))["path_dirs"])]
    from dlsetup.envs.backends import select_backend

    return select_backend(backend).activate_hint(name, prefix)


def activate_line(steps: list, shell: str) -> str:
    """The activation hint written for ``shell`` by the platform layer."""
    from dlsetup.platform.shell import join_and

    return join_and(steps, shell)


def command_line(argv: list[str], shell: str) -> str:
    """A dlsetup command to run next, quoted for ``shell``."""
    from dlsetup.platform.shell import Cmd, render

    return render(Cmd(argv), shell)


def write_lock(name: str, path: Path, *, backend: str) -> str:
    """``dlsetup env export NAME --format lock|pylock -o PATH``: the lock file of the created environment."""
    from dlsetup.envs.api import export_env

    path.parent.mkdir(parents=True, exist_ok=True)
    return export_env(name, lock_format(backend)[0], output=str(path), backend=backend).output or str(path)


def conda_download_bytes(packages) -> int | None:
    """The sum of the solved conda packages' sizes, when the channel says (None when it does not)."""
    sizes = [getattr(p, "size", None) for p in packages]
    return sum(sizes) if sizes and all(isinstance(s, int) for s in sizes) else None


def download_plan(spec, backend: str, choice: MirrorChoice) -> dict[str, Any]:
    """What the plan can say about the download before anything is solved: the framework wheels to measure (the
    pinned requirements of the pip part), their index, and what will not be counted (``not_counted``: the wheels'
    own dependencies; with the venv backend also the recipe's other packages, which uv resolves from the user's
    index). The solve (:func:`conda_download`) and the index (:func:`pip_download_bytes`) fill in the sizes."""
    from packaging.requirements import InvalidRequirement, Requirement

    measured, other = [], []
    for r in spec.pip:
        if not r or r.startswith("-"):
            continue
        try:
            pinned = any(s.operator in ("==", "===") for s in Requirement(r).specifier)
        except InvalidRequirement:
            pinned = False
        (measured if pinned else other).append(r)
    not_counted: list[dict[str, Any]] = []
    if measured:
        not_counted.append({"what": "pip_dependencies", "items": []})
    if backend == "venv":
        from dlsetup.envs.backends.venv import conda_to_pypi

        other = conda_to_pypi(spec.conda) + other
    if other:
        not_counted.append({"what": "pip_unpinned", "items": other})
    return {"conda_packages": None, "conda_bytes": None, "conda_cached": None, "conda_cached_bytes": None,
            "pip": measured, "pip_bytes": {}, "pip_index_url": choice.torch_index or spec.pip_index_url,
            "not_counted": not_counted, "total_bytes": None, "known": False}


def conda_download(packages) -> dict[str, Any]:
    """The solved conda packages: how many, their size from the channel, and how many of them (and bytes) the
    download engine will not fetch because a verified copy is already here."""
    from dlsetup.download.prefetch import is_local
    from dlsetup.envs import solve

    pkgs_dir = solve.cache_root() / "pkgs"
    local = [p for p in packages if is_local(p.name, p.version, p.build, p.sha256, pkgs_dir)]
    return {"conda_packages": len(packages), "conda_bytes": conda_download_bytes(packages),
            "conda_cached": len(local), "conda_cached_bytes": conda_download_bytes(local) if local else 0}


def total_bytes(download: dict[str, Any]) -> int | None:
    """What will come over the network, of what is counted: conda packages not already here plus the measured
    wheels (None when a size is unknown)."""
    parts = list((download.get("pip_bytes") or {}).values())
    if download.get("conda_packages"):
        conda = download.get("conda_bytes")
        parts.append(None if conda is None else conda - (download.get("conda_cached_bytes") or 0))
    return sum(parts) if parts and all(isinstance(p, int) for p in parts) else None


def pip_download_bytes(requirements: list[str], index_url: str | None, python: str | None) -> dict[str, int | None]:
    """The size of each pinned framework wheel pip will download (its dependencies not counted)."""
    from dlsetup.setup.sizes import pip_sizes

    return pip_sizes(requirements, index_url, python)


# --------------------------------------------------------------------------------------------- verify
def run_verify(prefix: Path, mode: str):
    """``dlsetup verify --env NAME`` in ``mode`` (quick|default|full): the VerifyResult."""
    from dlsetup.envs import locations
    from dlsetup.envs.api import env_python
    from dlsetup.verify.api import verify
    from dlsetup.verify.plan import make_plan

    plan = make_plan(quick=mode == "quick", full=mode == "full")
    if locations.is_venv(prefix):  # Scripts\python.exe on Windows, not a conda prefix's python.exe
        from dlsetup.envs.backends.venv import venv_python

        python = venv_python(prefix)
    else:
        python = env_python(prefix)
    return verify(plan, os.path.abspath(python), machine=True)


def verify_document(result) -> dict[str, Any]:
    from dlsetup.result import Result

    return Result(command="verify", data=result, exit_code=1 if result.status == "fail" else 0).to_json()


def write_report(verify_result, decisions_html: str, path: Path) -> str:
    """The verify report page with setup's decisions at the top."""
    from dlsetup.util.atomic import write_text_atomic
    from dlsetup.verify.report import render_html

    page = render_html(verify_result, verify_document(verify_result))
    page = page.replace("<body>", "<body>" + decisions_html, 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, page)
    except OSError as exc:
        from dlsetup.errors import OperationFailed

        raise OperationFailed("core.error.not_writable", path=str(path), reason=exc.strerror or str(exc)) from None
    return str(path)
