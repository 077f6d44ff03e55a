"""Probe layer: find out what this machine has. Knows nothing about releases or compatibility.

Every prober returns plain data plus how it got it (which rung answered), never raises to the user,
and runs subprocesses and imports under a timeout. :func:`probe_machine` is the one entry point.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

from dlsetup.probe.model import ProbeAttempt, Snapshot

PARTS = ("system", "nvidia", "cuda", "tooling", "frameworks", "env")


def probe_machine(
    *,
    deep: bool = False,
    python: str | None = None,
    parts: Iterable[str] | None = None,
    timeout: float = 10.0,
    deep_timeout: float = 120.0,
    environ: Mapping[str, str] | None = None,
    root: str | os.PathLike[str] | None = None,
    nvml_module: Any | None = None,
) -> Snapshot:
    """Probe this machine and return a :class:`Snapshot`.

    ``parts`` limits the work (e.g. ``{"system", "nvidia"}`` for ``dlsetup resolve``); parts left out keep
    their empty defaults (``system`` and ``tooling.python`` always hold the cheap basics: OS, arch,
    interpreter). ``python`` probes another interpreter (a path to it or to an environment prefix) instead
    of the active one; a path that is not a working Python raises :class:`~dlsetup.errors.UsageError` —
    the only exception this function raises. ``timeout`` bounds each subprocess and hardware call;
    ``deep`` imports each framework in a child process (bounded by ``deep_timeout``). ``environ``,
    ``root`` (a directory standing for ``/``) and ``nvml_module`` (a ``pynvml`` stand-in) exist for tests
    that replay recorded hardware through the real probe code.
    """
    from dlsetup import __version__
    from dlsetup.probe import interpreter as interp_mod
    from dlsetup.probe._fs import Root
    from dlsetup.probe.system import minimal_system

    wanted = set(PARTS if parts is None else parts)
    unknown = wanted - set(PARTS)
    if unknown:
        raise ValueError(f"unknown probe parts: {sorted(unknown)}; known: {PARTS}")
    env = dict(os.environ if environ is None else environ)
    fs = Root(root or "/")
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    errors: list[ProbeAttempt] = []

    # The interpreter first: a bad --python is the one usage error, and the other parts need its paths.
    t0 = time.perf_counter()
    if python:
        interp = interp_mod.foreign(python, timeout=max(timeout, 20.0), environ=env)
    else:
        active = interp_mod.active_env_python(env) if ("tooling" in wanted or "frameworks" in wanted) else None
        interp = None
        if active:
            try:
                interp = interp_mod.foreign(active, timeout=max(timeout, 20.0), environ=env)
            except Exception as exc:  # the active env is broken: probe ourselves, say so
                errors.append(ProbeAttempt(rung="interpreter", ok=False, error="active-env-failed",
                                           detail=f"{active}: {exc}"[:300]))
        interp = interp or interp_mod.current()
    timings["interpreter"] = round((time.perf_counter() - t0) * 1000, 2)

    from dlsetup.probe.model import ToolingInfo

    snap = Snapshot(system=minimal_system(), tooling=ToolingInfo(python=interp.info))
    snap.dlsetup_version = __version__
    snap.created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    snap.frameworks.python = interp.info.executable

    def part_system() -> Any:
        from dlsetup.probe.system import probe_system

        extra = [("site-packages", interp.purelib)] if interp.purelib else []
        return probe_system(fs, env, extra_locations=extra)

    def part_nvidia() -> Any:
        from dlsetup.probe.nvidia import probe_nvidia

        return probe_nvidia(fs, env, nvml_module=nvml_module, timeout=timeout, deep=deep)

    def part_cuda() -> Any:
        from dlsetup.probe.cuda import probe_cuda

        return probe_cuda(fs, env, timeout=timeout)

    def part_tooling() -> Any:
        from dlsetup.probe.tooling import probe_tooling

        return probe_tooling(interp, env, timeout=timeout, explicit_python=bool(python))

    def part_frameworks() -> Any:
        from dlsetup.probe.frameworks import probe_frameworks

        return probe_frameworks(interp.site_dirs, prefix=interp.info.prefix, python=interp.info.executable)

    def part_env() -> Any:
        from dlsetup.probe.envvars import relevant_env

        return relevant_env(env)

    runners = {"system": part_system, "nvidia": part_nvidia, "cuda": part_cuda, "tooling": part_tooling,
               "frameworks": part_frameworks, "env": part_env}
    order = [p for p in PARTS if p in wanted]

    # cuda and tooling may wait on child processes (gcc, nvcc, uv, pixi --version): they run in threads while
    # the file-reading parts run here; a thread start costs more than those parts take.
    from dlsetup.probe._run import parallel

    budget = timeout * 3 + 5
    results: dict[str, Any] = {}
    threaded = [p for p in order if p in ("cuda", "tooling")] if len(order) > 1 else []
    box: dict[str, Any] = {}
    waiter = None
    if threaded:
        import threading

        waiter = threading.Thread(target=lambda: box.update(parallel({p: runners[p] for p in threaded}, budget)),
                                  name="dlsetup-probe", daemon=True)
        waiter.start()
    outcomes: dict[str, tuple[str, Any, float]] = {}
    for name in order:
        if name not in threaded:
            outcomes.update(parallel({name: runners[name]}))
    if waiter is not None:
        waiter.join(budget + 1)
        for name in threaded:
            outcomes[name] = box.get(name, ("timeout", None, budget * 1000))
    for name in order:
        status, value, ms = outcomes[name]
        timings[name] = ms
        if status == "ok":
            results[name] = value
        elif status == "timeout":
            errors.append(ProbeAttempt(rung=name, ok=False, duration_ms=ms, error="timeout",
                                       detail=f"no answer in {budget:g} s"))
        else:  # a prober bug: the part stays empty, the snapshot says why
            errors.append(ProbeAttempt(rung=name, ok=False, duration_ms=ms, error=type(value).__name__,
                                       detail=str(value)[:300] or None))

    if "system" in results:
        snap.system = results["system"]
    if snap.system.os == "windows":
        from dlsetup.probe.windows import probe_windows

        bits = 64 if sys.maxsize > 2**32 else 32
        snap.windows = probe_windows(env, python_bits=None if interp.foreign else bits)
    if "nvidia" in results:
        snap.nvidia = results["nvidia"]
    if "cuda" in results:
        snap.cuda = results["cuda"]
    if "tooling" in results:
        snap.tooling = results["tooling"]
    if "frameworks" in results:
        snap.frameworks = results["frameworks"]
    if "env" in results:
        snap.env = results["env"]

    if deep and "frameworks" in results:
        t = time.perf_counter()
        try:
            from dlsetup.probe.deep import deep_import

            deep_import(snap.frameworks.items, interp.info.executable, timeout=deep_timeout, environ=env)
            snap.frameworks.deep = True
        except Exception as exc:
            errors.append(ProbeAttempt(rung="deep", ok=False, error=type(exc).__name__, detail=str(exc)[:300]))
        timings["deep"] = round((time.perf_counter() - t) * 1000, 2)

    timings["total"] = round((time.perf_counter() - t_all) * 1000, 2)
    snap.timings_ms = timings
    snap.probe_errors = errors
    return snap


def __getattr__(name: str) -> Any:  # lazy re-exports: keep `import dlsetup.probe` cheap
    if name in ("save_snapshot", "load_snapshot", "redact_snapshot"):
        from dlsetup.probe import snapshot

        return getattr(snapshot, name)
    raise AttributeError(name)


def describe_attempt(attempt: ProbeAttempt) -> str:
    """One localized line for a ladder rung: "NVML (nvidia-ml-py): the NVML library ... was not found"."""
    from dlsetup.i18n import has, t

    rung = t(f"probe.rung.{attempt.rung}") if has(f"probe.rung.{attempt.rung}") else attempt.rung
    if attempt.ok:
        return t("probe.attempt.ok", rung=rung)
    key = f"probe.reason.{attempt.error}"
    reason = t(key) if attempt.error and has(key) else t("probe.reason.other", error=attempt.error or "?")
    return t("probe.attempt.failed", rung=rung, reason=reason)
