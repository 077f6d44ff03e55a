""""Install the right build": ask the resolver (``dlsetup.resolve``) which build fits the diagnosed machine.

Doctor never keeps its own table of builds. When the resolver cannot answer (nothing fits, or it is
unavailable), the fix falls back to ``dlsetup resolve ...``, which explains why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlsetup.platform.shell import Cmd
from dlsetup.probe.model import Snapshot


@dataclass
class BuildAdvice:
    """The build the resolver picked, ready to paste."""

    summary: str  # "torch==2.14.1 (cu126) from https://download.pytorch.org/whl/cu126"
    commands: list[Cmd] = field(default_factory=list)  # argument lists; doctor renders them for the shell
    packages: list[dict] = field(default_factory=list)  # the resolver's package rows


_cache: dict[tuple, tuple[Snapshot, BuildAdvice | None]] = {}


def build_advice(snap: Snapshot, request: str = "torch", *, no_gpu: bool = False,
                 prefer: str = "pip") -> BuildAdvice | None:
    """The resolver's answer for ``request`` on this machine, or None when it has none (a usage error from the
    resolver, e.g. a snapshot it cannot place). Anything else is dlsetup's own bug: it propagates to the
    check runner, which reports the crashed check (with the traceback under ``-v``)."""
    from dlsetup.i18n import language

    key = (id(snap), request, no_gpu, prefer, language())
    hit = _cache.get(key)
    if hit is not None and hit[0] is snap:
        return hit[1]
    from dlsetup.errors import DlsetupError

    try:
        advice = _ask_resolver(snap, request, no_gpu=no_gpu, prefer=prefer)
    except DlsetupError:
        advice = None
    if len(_cache) > 64:
        _cache.clear()
    _cache[key] = (snap, advice)
    return advice


def commands_for(snap: Snapshot, request: str = "torch", *, no_gpu: bool = False, prefer: str = "pip") -> list[Cmd]:
    """The install commands for ``request``, or the ``dlsetup resolve`` command that explains why there are none."""
    advice = build_advice(snap, request, no_gpu=no_gpu, prefer=prefer)
    if advice and advice.commands:
        return list(advice.commands)
    return [resolve_command(snap, request, no_gpu=no_gpu)]


def summary_for(snap: Snapshot, request: str = "torch", *, no_gpu: bool = False) -> str:
    """One line naming the build (``torch==2.14.1 (cu126) from …/whl/cu126``), or the resolve command."""
    advice = build_advice(snap, request, no_gpu=no_gpu)
    if advice and advice.summary:
        return advice.summary
    return "`" + " ".join(resolve_command(snap, request, no_gpu=no_gpu).argv) + "`"


def build_facts(snap: Snapshot, request: str = "torch", *, no_gpu: bool = False) -> dict | None:
    """The build the resolver picked, as language-neutral data for a finding's ``data`` (the summary line is
    text for people): name, version, variant and index; None when the resolver has no build."""
    from dlsetup.util.redact import redact_url

    advice = build_advice(snap, request, no_gpu=no_gpu)
    main = advice.packages[0] if advice and advice.packages else None
    if not main:
        return None
    index = main.get("index_url")
    return {"name": main.get("name"), "version": main.get("version"), "variant": main.get("variant"),
            "index_url": redact_url(index) if index else None}


def resolve_command(snap: Snapshot, request: str, *, no_gpu: bool = False, snapshot_file: str | None = None) -> Cmd:
    argv = ["dlsetup", "resolve", *request.split()]
    if no_gpu:
        argv.append("--no-gpu")
    if snap.origin != "live probe" and snap.origin:
        argv += ["--snapshot", snapshot_file or "FILE"]
    return Cmd(argv)


def _pip_for(snap: Snapshot, cmd: Cmd) -> Cmd:
    """Run a ``python -m pip``/``pip`` command with the diagnosed interpreter (an argument, never a pattern:
    a Windows path such as ``C:\\Users\\...`` is data, not a regular-expression replacement)."""
    exe = snap.tooling.python.executable or "python"
    argv = list(cmd.argv)
    if argv[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
        argv = [exe, *argv[1:]]
    elif argv[:1] in (["pip"], ["pip3"]):
        argv = [exe, "-m", "pip", *argv[1:]]
    return Cmd(argv, cmd.env)


def _ask_resolver(snap: Snapshot, request: str, *, no_gpu: bool, prefer: str) -> BuildAdvice | None:
    import dataclasses

    from dlsetup.resolve.engine import resolve
    from dlsetup.resolve.machine import machine_from_snapshot
    from dlsetup.resolve.model import Request

    machine = machine_from_snapshot(snap, source="doctor")
    if no_gpu:
        machine = dataclasses.replace(machine, no_gpu=True)
    resolution = resolve(Request(packages=request.split(), machine=machine))
    if not resolution.ok or not resolution.packages:
        return None
    argv = resolution.argv or {}
    tool = prefer if argv.get(prefer) else "pip"
    chosen = argv.get(tool)
    if not chosen:
        return None
    lines = [_pip_for(snap, c) for c in chosen] if tool == "pip" else list(chosen)
    packages = [dataclasses.asdict(p) for p in resolution.packages]
    from dlsetup.i18n import t
    from dlsetup.util.redact import redact_url

    main = packages[0]
    spec = f"{main['name']}=={main['version']}"
    variant = main.get("variant") or "-"
    if main.get("index_url"):
        summary = t("doctor.label.build_from", spec=spec, variant=variant, index=redact_url(main["index_url"]))
    else:
        summary = t("doctor.label.build", spec=spec, variant=variant)
    return BuildAdvice(summary=summary, commands=lines, packages=packages)
