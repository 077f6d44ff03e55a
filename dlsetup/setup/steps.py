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
def run_doctor(snapshot: str | None):
    """``dlsetup doctor`` (or ``doctor --snapshot FILE``): the DoctorReport."""
    from dlsetup.doctor.runner import run_doctor as _run

    return _run(snapshot_path=snapshot)


def blocking_findings(report) -> list:
    """The errors setup cannot work around (driver, GPU, CUDA loader), in doctor's order."""
    return [f for f in report.findings if f.severity == "error" and f.group in BLOCKING_GROUPS]


def driver_steps(report) -> list[dict[str, Any]]:
    """What to do before running setup again: each blocking finding's fix and exact commands.

    Today from doctor's findings; the hardware database (driver package per GPU and distro) plugs in here."""
    return [{"id": f.id, "title": f.title, "fix": f.fix, "commands": list(f.commands), "notes": list(f.notes),
             "reboot": any("reboot" in c for c in f.commands)} for f in blocking_findings(report)]


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


# -------------------------------------------------------------------------------------------- resolve
def resolve_stack(recipe: str, *, snapshot: str | None = None, python: str | None = None):
    """The recipe fitted to this machine (or the snapshot's): ``(EnvSpec, RecipePlan)``."""
    from dlsetup.envs import recipes

    snap = None
    if snapshot:
        from dlsetup.probe.snapshot import load_snapshot

        snap = load_snapshot(snapshot)
    return recipes.plan(recipe, python=python, snapshot=snap, snapshot_path=snapshot)


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
    return (prefix / "conda-meta").is_dir()


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


def create_env(name: str, recipe: str, *, backend: str, offline: bool, python: str | None):
    """``dlsetup create env NAME --recipe RECIPE``: solve, download, link, pip section — staged, all or nothing."""
    from dlsetup.envs.api import create_env as _create

    return _create(name, recipe=recipe, backend=backend, offline=offline, python=python)


def activate_line(name: str, prefix: Path, backend: str) -> str:
    from dlsetup.envs.backends import select_backend

    return select_backend(backend).activate_hint(name, prefix)


def write_lock(name: str, path: Path, *, backend: str) -> str:
    """``dlsetup env export NAME --format lock -o PATH``: the lock file of the created environment."""
    from dlsetup.envs.api import export_env

    path.parent.mkdir(parents=True, exist_ok=True)
    return export_env(name, "lock", output=str(path), backend=backend).output or str(path)


def conda_download_bytes(packages) -> int | None:
    """The sum of the solved conda packages' sizes, when the channel says (None when it does not)."""
    sizes = [getattr(p, "size", None) for p in packages]
    return sum(sizes) if sizes and all(isinstance(s, int) for s in sizes) else None


def pip_download_bytes(requirements: list[str], index_url: str | None, python: str | None) -> dict[str, int | None]:
    """The size of each pinned framework wheel pip will download (its dependencies not counted)."""
    from dlsetup.setup.sizes import pip_sizes

    return pip_sizes(requirements, index_url, python)


# --------------------------------------------------------------------------------------------- verify
def run_verify(prefix: Path, mode: str):
    """``dlsetup verify --env NAME`` in ``mode`` (quick|default|full): the VerifyResult."""
    from dlsetup.envs.api import env_python
    from dlsetup.verify.api import verify
    from dlsetup.verify.plan import make_plan

    plan = make_plan(quick=mode == "quick", full=mode == "full")
    return verify(plan, os.path.abspath(env_python(prefix)), machine=True)


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
