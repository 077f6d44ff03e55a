"""The one call the ``dlsetup resolve`` command makes: inputs -> Resolution (machine, overrides, index check)."""

from __future__ import annotations

from dlsetup.resolve.model import Machine, Request, Resolution


def build_machine(
    *,
    snapshot: str | None = None,
    os: str | None = None,
    arch: str | None = None,
    python: str | None = None,
    driver: str | None = None,
    gpu_cc: tuple[str, ...] | list[str] = (),
    no_gpu: bool = False,
    glibc: str | None = None,
    gpu: tuple[str, ...] | list[str] = (),
) -> Machine:
    """The machine to plan for: a snapshot file, or this machine, with the overrides applied.

    The live NVIDIA probe is skipped when the overrides already decide the GPU side (``--gpu-cc``,
    ``--no-gpu``, or planning for macOS); ``--driver`` alone keeps the probed GPUs.
    """
    from dlsetup.resolve.machine import apply_overrides, bare_machine, live_machine, machine_from_snapshot

    if snapshot:
        from dlsetup.probe.model import Snapshot

        machine = machine_from_snapshot(Snapshot.load(snapshot), source=f"snapshot {snapshot}")
    elif gpu_cc or gpu or no_gpu or (os or "").lower() in ("macos", "darwin", "mac", "osx"):
        machine = bare_machine()
    else:
        machine = live_machine()
    return apply_overrides(machine, os=os, arch=arch, python=python, driver=driver, gpu_cc=list(gpu_cc),
                           no_gpu=no_gpu, glibc=glibc, gpu=list(gpu))


def run(
    packages: list[str] | tuple[str, ...],
    *,
    cuda: str | None = None,
    explain: bool = False,
    check_index: bool = False,
    index_url: str | None = None,
    refresh: bool = False,
    wheel_source=None,
    **machine_args,
) -> Resolution:
    from dlsetup.compat.tables import version_tuple
    from dlsetup.errors import UsageError
    from dlsetup.resolve.engine import resolve
    from dlsetup.resolve.specs import parse_specs

    specs = parse_specs(list(packages))  # bad input fails before any probing
    if cuda is not None and len(version_tuple(cuda)) < 2:
        raise UsageError("resolve.error.bad_cuda", value=cuda)
    if index_url is not None and not check_index:
        raise UsageError("resolve.error.index_url_alone")
    if index_url is not None and not index_url.lower().startswith(("http://", "https://")):
        raise UsageError("resolve.error.bad_index_url", value=index_url)
    if refresh:  # before probing: a failed refresh is an error, not a silently older answer
        from dlsetup.compat.update import refresh_checked
        from dlsetup.output import log

        done = refresh_checked(progress=lambda m: log(m, level=0))
        if not done.ok:
            from dlsetup.i18n import t
            from dlsetup.output import warn

            warn(t("compat.refresh.failed") + " " + "; ".join(done.problems))
    machine = build_machine(**machine_args)
    res = resolve(Request(specs=specs, cuda=cuda, explain=explain, machine=machine, wheel_source=wheel_source))
    if check_index and res.ok:
        from dlsetup.resolve.check_index import check_packages

        res.check_index = check_packages(res.packages, machine, index_url=index_url)
        if any(item["status"] in ("missing", "error") for item in res.check_index):
            res.ok = False
    return res
