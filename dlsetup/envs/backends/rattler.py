"""The embedded backend: py-rattler solves, downloads and links; works with no conda installed.

Environments it makes behave under conda and mamba: they live in conda's envs dirs, are registered in
``~/.conda/environments.txt``, and carry a conda-format ``conda-meta/history`` with ``# update specs:``.
Creation is all-or-nothing (``dlsetup.envs.staging``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from dlsetup.envs import history, locations, origins, pip, staging, state
from dlsetup.envs.backends._base import Backend, CreateRequest
from dlsetup.envs.errors import explain
from dlsetup.envs.model import CreateResult, EnvInfo, EnvList, ExportResult, Package, RemoveResult
from dlsetup.errors import DlsetupError, OperationFailed, UsageError


def _run(coro):
    """Run a rattler coroutine; every failure becomes one catalogued DlsetupError."""
    try:
        return asyncio.run(coro)
    except DlsetupError:
        raise
    except (KeyboardInterrupt, staging.Terminated):
        raise
    except Exception as exc:  # noqa: BLE001 - rattler raises many exception types
        raise explain(exc) from None


def _dist_strs(records) -> list[str]:
    return [history.dist_str(str(r.channel or ""), str(r.subdir), r.name.normalized, str(r.version), str(r.build))
            for r in records]


class RattlerBackend(Backend):
    name = "rattler"

    # ----------------------------------------------------------------------------------------- create
    def create(self, req: CreateRequest) -> CreateResult:
        from dlsetup.envs import channels as chmod
        from dlsetup.envs import solve, specfile, virtual
        from dlsetup.i18n import t
        from dlsetup.output import status
        from dlsetup.util.redact import redact_url

        start = time.perf_counter()
        spec = req.spec
        platform = virtual.current_platform()
        if spec.kind == "explicit":
            wanted = specfile.explicit_platform(spec)
            if wanted and wanted != platform and req.snapshot is None:
                raise UsageError("envs.error.explicit_platform", path=spec.source, platform=wanted, current=platform)
            channel_urls, conda_specs = specfile.explicit_to_specs(spec.explicit_urls)
        else:
            channel_urls = chmod.channel_urls(spec.channels or chmod.configured_channels())
            conda_specs = list(spec.conda)
        solve.validate_specs(conda_specs, spec.origins)
        if req.snapshot is not None:  # plan for that machine: its platform and its virtual packages
            platform = virtual.platform_of(req.snapshot)
            vps = virtual.for_platform(None, cuda=req.cuda, snapshot=req.snapshot)
        else:
            vps = virtual.for_platform(platform, cuda=req.cuda)
        result = CreateResult(action="create", name=req.name, prefix=str(req.prefix), backend=self.name,
                              dry_run=req.dry_run, source=spec.source, channels=[redact_url(u) for u in channel_urls],
                              specs=conda_specs, pip=list(spec.pip), pip_index_url=redact_url(spec.pip_index_url or "") or None,
                              virtual_packages=virtual.describe(vps), recipe=req.recipe, platform=platform,
                              variables=dict(spec.variables), warnings=list(req.warnings))
        try:
            with status(t("envs.progress.solving")):
                records = _run(solve.solve_records(channel_urls, conda_specs, platform=platform,
                                                   virtual_packages=vps, offline=req.offline))
        except OperationFailed as exc:
            origins.name_origin(exc, spec, channel_urls)
            if req.dry_run and exc.key == "envs.error.channel_unreachable":
                result.solved = False
                result.solve_error = exc.message()
                result.duration_s = round(time.perf_counter() - start, 3)
                return result
            raise
        if spec.kind == "explicit":
            origins.check_explicit_digests(spec, records)
        result.packages = sorted((solve.record_package(r) for r in records), key=lambda p: p.name)
        if req.dry_run:
            result.duration_s = round(time.perf_counter() - start, 3)
            return result
        with staging.Stage(req.prefix) as st:
            self._link(records, st.path, req.prefix, requested=conda_specs)
            history.append_entry(st.path, added=_dist_strs(records), update_specs=conda_specs)
            if spec.variables:
                state.set_env_vars(st.path, spec.variables)
            if spec.pip:
                result.pip_packages = self._pip(st.path, req.prefix, spec.pip, spec.pip_index_url,
                                                spec.pip_extra_index_urls)
            st.commit()
        locations.register(req.prefix)
        result.registered = True
        result.set_activation(self.activate_hint(req.name, req.prefix))
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    def _link(self, records, target: Path, final: Path, requested: list[str] | None = None) -> None:
        from dlsetup.download.prefetch import local_copies
        from dlsetup.envs import solve
        from dlsetup.output import progress_bar, progress_enabled

        # archives come through dlsetup's resumable, verified downloader first; rattler links local copies
        with local_copies(records, solve.cache_root() / "pkgs") as restore:
            if not progress_enabled():  # not a terminal: skip importing rich.progress at all
                _run(solve.install_records(records, target, final_prefix=final, requested_specs=requested,
                                           installed=[]))
            else:
                with progress_bar() as prog:
                    reporter = solve.InstallProgress(prog)
                    _run(solve.install_records(records, target, final_prefix=final, requested_specs=requested,
                                               reporter=reporter, installed=[]))
            restore(target)

    def _pip(self, staged: Path, final: Path, requirements: list[str], index_url: str | None,
             extra: list[str] | None, no_deps: bool = False) -> list[Package]:
        from dlsetup.i18n import t
        from dlsetup.output import status

        with status(t("envs.progress.pip")):
            installed = pip.install(staged, requirements, index_url=index_url, extra_index_urls=extra, no_deps=no_deps)
        # pip wrote the staging path into scripts (shebangs) and records: point them at the final prefix
        staging.rewrite_prefix(staged, staging.untracked_files(staged), str(staged), str(final))
        return installed

    # --------------------------------------------------------------------------------- from a lock file
    def install_lock(self, req: CreateRequest) -> CreateResult:
        from dlsetup.envs import locking, solve, virtual

        start = time.perf_counter()
        platform = virtual.current_platform()
        assert req.lockfile is not None
        records, pip_entries, channels = locking.read_lock(req.lockfile, platform)
        result = CreateResult(action="install", name=req.name, prefix=str(req.prefix), backend=self.name,
                              dry_run=req.dry_run, source=str(req.lockfile), lockfile=str(req.lockfile),
                              channels=channels, platform=platform, warnings=list(req.warnings))
        result.packages = sorted((solve.record_package(r) for r in records), key=lambda p: p.name)
        result.pip_packages = [Package(name=e["name"], version=e["version"], manager="pip", url=e["url"],
                                       sha256=e["sha256"]) for e in pip_entries]
        if req.dry_run:
            result.duration_s = round(time.perf_counter() - start, 3)
            return result
        pinned = [f"{r.name.normalized}=={r.version}={r.build}" for r in records]
        with staging.Stage(req.prefix) as st:
            self._link(records, st.path, req.prefix, requested=pinned)
            history.append_entry(st.path, added=_dist_strs(records), update_specs=pinned)
            if pip_entries:
                reqs = [f"{e['name']} @ {e['url']}" + (f"#sha256={e['sha256']}" if e["sha256"] else "")
                        for e in pip_entries]
                installed = self._pip(st.path, req.prefix, reqs, None, None, no_deps=True)
                result.pip_packages = installed or result.pip_packages
            st.commit()
        locations.register(req.prefix)
        result.registered = True
        result.set_activation(self.activate_hint(req.name, req.prefix))
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    # -------------------------------------------------------------------------------------------- clone
    def clone(self, source: Path, name: str | None, prefix: Path, dry_run: bool = False) -> CreateResult:
        from rattler import PrefixRecord

        from dlsetup.envs import solve, virtual

        start = time.perf_counter()
        paths = sorted((source / "conda-meta").glob("*.json"))
        try:
            records = [PrefixRecord.from_path(p) for p in paths]
        except Exception as exc:  # noqa: BLE001
            raise UsageError("envs.error.bad_env", prefix=str(source), reason=str(exc).splitlines()[0]) from None
        untracked = staging.untracked_files(source)
        requested = history.requested_specs(source)
        result = CreateResult(action="clone", name=name, prefix=str(prefix), backend=self.name, dry_run=dry_run,
                              source=str(source), source_prefix=str(source), platform=virtual.current_platform(),
                              specs=list(requested.values()), untracked_files=len(untracked))
        result.packages = sorted((solve.record_package(r) for r in records), key=lambda p: p.name)
        result.pip_packages = pip.installed_by_pip(source)
        if dry_run:
            return result
        with staging.Stage(prefix) as st:
            self._link(records, st.path, prefix, requested=None)
            result.untracked_files = staging.copy_with_prefix(source, st.path, untracked, str(source), str(prefix))
            history.append_entry(st.path, added=_dist_strs(records), update_specs=list(requested.values()))
            st.commit()
        locations.register(prefix)
        result.registered = True
        result.set_activation(self.activate_hint(name, prefix))
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    # ------------------------------------------------------------------------------------------- export
    def export(self, prefix: Path, fmt: str, *, from_history: bool = False, no_builds: bool = False) -> ExportResult:
        from dlsetup.envs import export
        from dlsetup.envs import prefix as pfx

        records = pfx.conda_records(prefix)
        platform = pfx.subdir_of(records)
        pip_pkgs = [] if from_history else pip.installed_by_pip(prefix)
        name = prefix.name if any(prefix.parent == d for d in locations.envs_dirs()) else None
        warnings: list[str] = []
        if fmt == "yaml":
            requested = history.requested_specs(prefix) if from_history else None
            installed = {r["name"] for r in records}
            if requested is not None:
                requested = {k: v for k, v in requested.items() if k in installed}
            content = export.to_yaml(name, prefix, records, pip_pkgs, from_history=requested, no_builds=no_builds)
        elif fmt == "explicit":
            content = export.to_explicit(records, platform)
        elif fmt == "requirements":
            content = export.to_requirements(records, pip_pkgs, platform, no_builds=no_builds)
        else:
            content, left_out = export.to_lock(prefix, records, pip_pkgs, platform)
            if left_out:
                from dlsetup.i18n import t

                warnings.append(t("envs.warn.pip_not_locked", names=", ".join(left_out)))
        return ExportResult(name=name, prefix=str(prefix), format=fmt, content=content, from_history=from_history,
                            no_builds=no_builds, backend=self.name, warnings=warnings)

    # ------------------------------------------------------------------------------------------- remove
    def remove(self, prefix: Path) -> RemoveResult:
        staging.clean_stale(prefix.parent)
        staging.move_to_trash(prefix)
        unregistered = locations.unregister(prefix)
        name = prefix.name if any(prefix.parent == d for d in locations.envs_dirs()) else None
        return RemoveResult(name=name, prefix=str(prefix), removed=True, unregistered=unregistered, backend=self.name)

    # --------------------------------------------------------------------------------------------- list
    def list(self) -> EnvList:
        from dlsetup.envs import prefix as pfx

        cleaned: list[str] = []
        for d in locations.envs_dirs():
            if d.is_dir():
                cleaned += staging.clean_stale(d)
        out = EnvList(envs_dirs=[str(d) for d in locations.envs_dirs()], registry=str(locations.registry_path()),
                      backend=self.name, cleaned=cleaned)
        for name, prefix, registered in locations.known_envs():
            if locations.is_venv(prefix):  # made by --backend venv: described by its own marker
                from dlsetup.envs.venvinfo import env_info

                out.envs.append(env_info(prefix, name))
                continue
            records = pfx.conda_records(prefix)
            out.envs.append(EnvInfo(name=name, prefix=str(prefix), active=locations.is_active(prefix),
                                    base=name == "base" or locations.is_base(prefix), registered=registered,
                                    packages=len(records), python=pfx.python_version(prefix, records),
                                    created=history.created_time(prefix)))
        return out

    def activate_hint(self, name: str | None, prefix: Path) -> list:
        from dlsetup.envs.backends import detect_tools
        from dlsetup.platform import current
        from dlsetup.platform.shell import Cmd, prepend_path

        tools = detect_tools()
        if tools:
            tool = tools[0]
            return [Cmd(["conda" if tool.kind == "conda" else tool.kind, "activate", str(name or prefix)])]
        # No conda: put the environment's folders on PATH the way activation would (Windows: the prefix,
        # Library\bin, Scripts; elsewhere bin); the result writes it for the user's shell.
        return [prepend_path(*current().interpreter_layout(str(prefix), conda=True)["path_dirs"])]
