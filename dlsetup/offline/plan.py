"""``dlsetup download``: decide which files a machine (this one or another) needs, then build the bundle.

The target machine comes from a snapshot, from ``--os/--arch/--python/--driver/--gpu-cc`` overrides, or
is this one. A recipe is planned by the resolver for that machine (exactly as ``create env --recipe
--snapshot`` plans). Conda packages are solved by rattler for the target's platform and virtual packages;
the wheel list comes from pip's own resolver (``pip install --dry-run --report`` with the target's
``--platform``/``--python-version``) or straight from a lock file's URLs and hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dlsetup.errors import UsageError
from dlsetup.offline import bundle


@dataclass
class DownloadRequest:
    specs: list[str] = field(default_factory=list)
    file: str | None = None
    recipe: str | None = None
    snapshot: str | None = None
    os: str | None = None
    arch: str | None = None
    python: str | None = None
    driver: str | None = None
    gpu_cc: tuple[str, ...] = ()
    no_gpu: bool = False
    index_url: str | None = None
    channels: list[str] = field(default_factory=list)
    mirrors: list[str] = field(default_factory=list)  # catalogue names: per-file fallbacks, then upstream
    out: str | None = None
    tar: bool = False
    dry_run: bool = False


def _machine(req: DownloadRequest):
    """(resolver Machine or None, snapshot or None): None means "this machine, plain specs"."""
    from dlsetup.resolve import apply_overrides, bare_machine, live_machine, machine_from_snapshot

    snap = None
    overrides = any([req.os, req.arch, req.python, req.driver, req.gpu_cc, req.no_gpu])
    if req.snapshot:
        from dlsetup.probe.model import Snapshot

        snap = Snapshot.load(req.snapshot)
        base = machine_from_snapshot(snap, source=f"snapshot {req.snapshot}")
    elif req.recipe and not (req.os or req.arch):
        base = live_machine()
    elif overrides or req.recipe:
        base = bare_machine()
    else:
        return None, None
    m = apply_overrides(base, os=req.os, arch=req.arch, python=req.python, driver=req.driver,
                        gpu_cc=list(req.gpu_cc) or None, no_gpu=req.no_gpu)
    return m, snap


def run(req: DownloadRequest) -> bundle.BundleResult:
    from dlsetup.envs import specfile
    from dlsetup.envs.model import EnvSpec

    if req.file and req.recipe:
        raise UsageError("download.error.file_and_recipe")
    if req.snapshot and any([req.os, req.arch, req.driver, req.gpu_cc]):
        raise UsageError("download.error.snapshot_and_overrides")
    from dlsetup.offline import mirrors as mirmod

    chain = mirmod.fallback_chain(req.mirrors)  # --mirror names, the applied mirror, the probe's healthy ones
    machine, snap = _machine(req)
    target = bundle.target_from_machine(machine) if machine is not None else bundle.this_target()
    conda: list[dict] = []
    wheels: list[dict] = []
    spec = EnvSpec()
    lock_path = None
    if req.recipe:
        from dlsetup.envs import recipes

        spec, rplan = recipes.plan(req.recipe, python=req.python, snapshot=snap, snapshot_path=req.snapshot,
                                   machine=machine)
        target.python = rplan.python or target.python
        if rplan.cuda and target.cuda is None and machine is not None and machine.gpu_machine:
            target.cuda = machine.cuda_driver
        target.machine = rplan.machine_text
    elif req.file:
        path = Path(req.file).expanduser()
        if path.name.endswith(".toml") and "pylock" in path.name:
            if not path.is_file():
                raise UsageError("core.error.file_not_found", path=str(path))
            wheels = bundle.pylock_wheels(path, target)
            lock_path = path
        else:
            spec = specfile.read(path)
            if spec.kind == "conda-lock":
                from dlsetup.envs import locking

                records, pip_entries, _ = locking.read_lock(path.resolve(), target.platform)
                conda = [bundle._record_entry(r) for r in records]
                wheels = [dict(e) for e in pip_entries]
                lock_path = path
                spec = EnvSpec()
            elif spec.kind == "explicit":
                spec.channels, spec.conda = specfile.explicit_to_specs(spec.explicit_urls)
    # bare SPECs: conda match specs when a channel is named, else pip requirements
    if req.specs:
        if req.channels:
            spec.conda += list(req.specs)
        else:
            spec.pip += list(req.specs)
    if req.python and spec.conda and not any(s.split("=")[0].split(" ")[0] == "python" for s in spec.conda):
        spec.conda.append(f"python={req.python}")
    if not (spec.conda or spec.pip or conda or wheels):
        raise UsageError("download.error.nothing")
    if spec.conda:
        channels = list(dict.fromkeys([*req.channels, *spec.channels]))
        conda = [bundle._record_entry(r) for r in bundle.conda_plan(spec.conda, channels, target, snapshot=snap)]
        py = next((c for c in conda if c["name"] == "python"), None)
        if py:
            target.python = ".".join(py["version"].split(".")[:2])
    if spec.pip:
        index = req.index_url or spec.pip_index_url
        extras = [] if req.index_url else list(spec.pip_extra_index_urls)
        uv = bundle.find_uv()
        if uv:
            wheels += bundle.uv_plan(uv, spec.pip, target, index, extras)
        else:
            wheels += bundle.pip_plan(spec.pip, target, index, extras)
    out = Path(req.out or ("dlsetup-bundle.tar" if req.tar else "dlsetup-bundle")).expanduser().resolve()
    if req.dry_run:
        return bundle.BundleResult(action="download", path=str(out), target=target,
                                   kind="conda" if conda else "venv", files=len(conda) + len(wheels),
                                   conda_packages=[f"{c['name']}={c['version']}={c['build']}" for c in conda],
                                   wheels=[f"{w['name']}=={w['version']}" for w in wheels], dry_run=True)
    extra = {"specs": {"conda": spec.conda, "pip": spec.pip}, "source": req.recipe and f"recipe:{req.recipe}"
             or (str(lock_path or req.file) if req.file else "arguments")}
    res = bundle.build(out, target, conda=conda, wheels=wheels, tar=req.tar, extra=extra, mirrors=chain.mirrors)
    res.mirror_chain = chain.describe()
    return res
