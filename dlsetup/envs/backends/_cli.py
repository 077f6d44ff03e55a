"""What the conda, mamba and micromamba backends share: running the tool with ``--json`` and reading it.

The tools differ in a few commands; each subclass says how it spells
them. Everything else — the checks before, the pip section after (with the environment's own pip, from
the index the resolver chose), cleaning up after a failure, locking — is done the same way here.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from dlsetup.envs import locations, pip, staging
from dlsetup.envs.backends._base import Backend, CreateRequest
from dlsetup.envs.model import CreateResult, EnvInfo, EnvList, ExportResult, Package, RemoveResult
from dlsetup.errors import OperationFailed

TOOL_TIMEOUT_S = 3600.0


def _json_doc(text: str) -> Any:
    """The JSON document in a tool's stdout (conda may print a progress line before it)."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        start = text.find("{")
        end = text.rfind("}")
        if start != -1 and end > start:
            try:
                return json.loads(text[start:end + 1])
            except ValueError:
                return None
    return None


class CliBackend(Backend):
    """A conda-family command line driven through ``--json``."""

    kind = "conda"
    supports_clone = True
    copies_untracked_on_clone = True

    def __init__(self, exe: str) -> None:
        self.exe = exe
        self.name = self.kind

    # ------------------------------------------------------------------------------ running the tool
    def run(self, args: list[str], *, want_json: bool = True, timeout: float = TOOL_TIMEOUT_S) -> Any:
        from dlsetup.output import log
        from dlsetup.util.proc import run
        from dlsetup.util.redact import redact_url

        argv = [self.exe, *args]
        log("+ " + redact_url(" ".join(argv)), 1)
        res = run(argv, timeout=timeout)
        doc = _json_doc(res.stdout) if want_json else None
        failed = not res.ok or (isinstance(doc, dict) and doc.get("success") is False)
        if failed:
            raise OperationFailed("envs.error.tool_failed", tool=self.kind, command=" ".join(args[:2]),
                                  reason=self._error_text(res, doc))
        return doc if want_json else res.stdout

    @staticmethod
    def _error_text(res, doc) -> str:
        from dlsetup.envs.errors import flatten
        from dlsetup.util.redact import redact_url

        if res.error:
            return res.error
        if res.timed_out:
            return "timed out"
        if isinstance(doc, dict):
            for key in ("message", "error"):
                if doc.get(key):
                    return redact_url(flatten(str(doc[key]), 500))
        lines = [ln.strip() for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
        return redact_url(flatten(lines[-1], 500)) if lines else f"exit code {res.returncode}"

    # --------------------------------------------------------------------------- how each tool spells it
    def target_args(self, name: str | None, prefix: Path) -> list[str]:
        return ["-n", name] if name else ["-p", str(prefix)]

    def create_args(self, req: CreateRequest, target: list[str]) -> list[str]:
        spec = req.spec
        if spec.kind == "environment-yaml":
            return ["env", "create", "--json", "-f", spec.source, *target]
        args = ["create", "-y", "--json", *target]
        if spec.channels:
            args.append("--override-channels")
            for ch in spec.channels:
                args += ["-c", ch]
        if req.dry_run:
            args.append("--dry-run")
        return [*args, *spec.conda]

    def file_create_args(self, path: Path, target: list[str]) -> list[str]:
        """Create from an ``@EXPLICIT`` file."""
        return ["create", "-y", "--json", *target, "--file", str(path)]

    def clone_args(self, source: Path, target: list[str]) -> list[str]:
        return ["create", "-y", "--json", "--clone", str(source), *target]

    def export_yaml_args(self, prefix: Path, from_history: bool, no_builds: bool) -> list[str]:
        args = ["env", "export", "--json", "-p", str(prefix)]
        if from_history:
            args.append("--from-history")
        if no_builds:
            args.append("--no-builds")
        return args

    def export_explicit(self, prefix: Path) -> str:
        return self.run(["list", "-p", str(prefix), "--explicit", "--md5"], want_json=False)

    def export_requirements(self, prefix: Path, no_builds: bool) -> str:
        from dlsetup.envs import export
        from dlsetup.envs import prefix as pfx

        if no_builds:
            records = pfx.conda_records(prefix)
            return export.to_requirements(records, pip.installed_by_pip(prefix), pfx.subdir_of(records), no_builds=True)
        return self.run(["list", "-p", str(prefix), "--export"], want_json=False)

    def remove_args(self, prefix: Path) -> list[str]:
        return ["env", "remove", "-y", "--json", "-p", str(prefix)]

    def list_args(self) -> list[str]:
        return ["env", "list", "--json"]

    # ----------------------------------------------------------------------------------- operations
    def _result(self, action: str, req_name: str | None, prefix: Path, **kw) -> CreateResult:
        from dlsetup.envs.virtual import current_platform

        return CreateResult(action=action, name=req_name, prefix=str(prefix), backend=self.name,
                            platform=current_platform(), **kw)

    @staticmethod
    def _packages_from(doc: Any) -> list[Package]:
        """conda: actions.LINK of ``dist_fields_dump``; micromamba: actions.LINK of repodata records."""
        if not isinstance(doc, dict):
            return []
        actions = doc.get("actions") or {}
        if isinstance(actions, list):  # conda's --dry-run may wrap the action groups in a list
            actions = actions[0] if actions else {}
        out = []
        for item in actions.get("LINK") or []:
            if isinstance(item, str):  # very old conda: "channel::name-version-build"
                stem = item.split("::")[-1]
                name, version, build = (stem.rsplit("-", 2) + ["", ""])[:3]
                out.append(Package(name=name, version=version, build=build))
                continue
            out.append(Package(name=str(item.get("name")), version=str(item.get("version")),
                               build=str(item.get("build_string") or item.get("build") or ""),
                               channel=str(item.get("channel") or item.get("base_url") or "")))
        return sorted(out, key=lambda p: p.name)

    def _existing_after(self, name: str | None, prefix: Path) -> Path:
        """Where the tool put a named environment (its envs dir may differ from ours)."""
        if name is None:
            return prefix
        try:
            return locations.find_prefix(name)
        except Exception:  # noqa: BLE001
            for p in self._listed_prefixes():
                if p.name == name:
                    return p
        return prefix

    def _listed_prefixes(self) -> list[Path]:
        doc = self.run(self.list_args())
        return [Path(p) for p in (doc or {}).get("envs", [])] if isinstance(doc, dict) else []

    def _cleanup(self, name: str | None, prefix: Path, existed: bool) -> None:
        """After a failure: leave nothing behind that was not there before."""
        if existed:
            return
        target = self._existing_after(name, prefix) if name else prefix
        if not target.exists():
            return
        try:
            self.run(self.remove_args(target))
        except OperationFailed:
            pass
        if target.exists():
            staging.remove_tree(target)
        locations.unregister(target)

    def create(self, req: CreateRequest) -> CreateResult:
        start = time.perf_counter()
        spec = req.spec
        target = self.target_args(req.name, req.prefix)
        result = self._result("create", req.name, req.prefix, dry_run=req.dry_run, source=spec.source,
                              channels=list(spec.channels), specs=list(spec.conda), pip=list(spec.pip),
                              pip_index_url=spec.pip_index_url, recipe=req.recipe, warnings=list(req.warnings))
        existed = req.prefix.exists()
        try:
            if spec.kind == "explicit":
                with tempfile.TemporaryDirectory(prefix="dlsetup-explicit-") as tmp:
                    f = Path(tmp) / "explicit.txt"
                    f.write_text("@EXPLICIT\n" + "\n".join(spec.explicit_urls) + "\n")
                    if req.dry_run:
                        return result
                    doc = self.run(self.file_create_args(f, target))
            else:
                if req.dry_run and spec.kind == "environment-yaml":
                    return result  # conda env create has no --dry-run
                doc = self.run(self.create_args(req, target))
            result.packages = self._packages_from(doc)
            if req.dry_run:
                return result
            prefix = Path(doc.get("prefix")) if isinstance(doc, dict) and doc.get("prefix") else \
                self._existing_after(req.name, req.prefix)
            result.prefix = str(prefix)
            if spec.pip and spec.kind != "environment-yaml":  # conda env create installs its own pip section
                result.pip_packages = pip.install(prefix, spec.pip, index_url=spec.pip_index_url,
                                                  extra_index_urls=spec.pip_extra_index_urls)
        except BaseException:
            if not req.dry_run:
                self._cleanup(req.name, req.prefix, existed)
            raise
        result.registered = True
        result.set_activation(self.activate_hint(req.name, Path(result.prefix)))
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    def install_lock(self, req: CreateRequest) -> CreateResult:
        from dlsetup.envs import locking, solve
        from dlsetup.envs.virtual import current_platform

        start = time.perf_counter()
        assert req.lockfile is not None
        platform = current_platform()
        records, pip_entries, channels = locking.read_lock(req.lockfile, platform)
        result = self._result("install", req.name, req.prefix, dry_run=req.dry_run, source=str(req.lockfile),
                              lockfile=str(req.lockfile), channels=channels, warnings=list(req.warnings))
        result.packages = sorted((solve.record_package(r) for r in records), key=lambda p: p.name)
        result.pip_packages = [Package(name=e["name"], version=e["version"], manager="pip", url=e["url"],
                                       sha256=e["sha256"]) for e in pip_entries]
        if req.dry_run:
            return result
        target = self.target_args(req.name, req.prefix)
        existed = req.prefix.exists()
        try:
            with tempfile.TemporaryDirectory(prefix="dlsetup-lock-") as tmp:
                f = Path(tmp) / "explicit.txt"
                lines = [f"{r.url}#{r.md5.hex()}" if r.md5 else r.url for r in records]
                f.write_text(f"# platform: {platform}\n@EXPLICIT\n" + "\n".join(lines) + "\n")
                doc = self.run(self.file_create_args(f, target))
            prefix = Path(doc.get("prefix")) if isinstance(doc, dict) and doc.get("prefix") else \
                self._existing_after(req.name, req.prefix)
            result.prefix = str(prefix)
            if pip_entries:
                reqs = [f"{e['name']} @ {e['url']}" + (f"#sha256={e['sha256']}" if e["sha256"] else "")
                        for e in pip_entries]
                result.pip_packages = pip.install(prefix, reqs, no_deps=True) or result.pip_packages
        except BaseException:
            self._cleanup(req.name, req.prefix, existed)
            raise
        result.registered = True
        result.set_activation(self.activate_hint(req.name, Path(result.prefix)))
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    def clone(self, source: Path, name: str | None, prefix: Path, dry_run: bool = False) -> CreateResult:
        from dlsetup.envs import prefix as pfx

        start = time.perf_counter()
        result = self._result("clone", name, prefix, dry_run=dry_run, source=str(source), source_prefix=str(source))
        records = pfx.conda_records(source)
        result.packages = [Package(name=r["name"], version=str(r["version"]), build=str(r.get("build", "")),
                                   channel=str(r.get("channel") or "")) for r in records]
        result.untracked_files = len(staging.untracked_files(source))
        if dry_run:
            return result
        target = self.target_args(name, prefix)
        existed = prefix.exists()
        try:
            if self.supports_clone:
                doc = self.run(self.clone_args(source, target))
            else:  # micromamba < 2.5: no --clone; rebuild from an explicit export
                with tempfile.TemporaryDirectory(prefix="dlsetup-clone-") as tmp:
                    f = Path(tmp) / "explicit.txt"
                    f.write_text(self.export_explicit(source))
                    doc = self.run(self.file_create_args(f, target))
            new = Path(doc.get("prefix")) if isinstance(doc, dict) and doc.get("prefix") else \
                self._existing_after(name, prefix)
            result.prefix = str(new)
            if not self.copies_untracked_on_clone and result.untracked_files:
                # conda copies files no package owns (pip installs) with prefix replacement; do the same
                rels = staging.untracked_files(source)
                result.untracked_files = staging.copy_with_prefix(source, new, rels, str(source), str(new))
        except BaseException:
            self._cleanup(name, prefix, existed)
            raise
        result.registered = True
        result.set_activation(self.activate_hint(name, Path(result.prefix)))
        result.duration_s = round(time.perf_counter() - start, 3)
        return result

    def export(self, prefix: Path, fmt: str, *, from_history: bool = False, no_builds: bool = False) -> ExportResult:
        from dlsetup.envs import export
        from dlsetup.envs import prefix as pfx

        name = prefix.name if any(prefix.parent == d for d in locations.envs_dirs()) else None
        warnings: list[str] = []
        if fmt == "yaml":
            doc = self.run(self.export_yaml_args(prefix, from_history, no_builds)) or {}
            content = yaml_from_export_json(doc, prefix)
        elif fmt == "explicit":
            content = self.export_explicit(prefix)
        elif fmt == "requirements":
            content = self.export_requirements(prefix, no_builds)
        else:  # conda-meta is the same for every tool: write the lock from it directly
            records = pfx.conda_records(prefix)
            content, left_out = export.to_lock(prefix, records, pip.installed_by_pip(prefix), pfx.subdir_of(records))
            if left_out:
                from dlsetup.i18n import t

                warnings.append(t("envs.warn.pip_not_locked", names=", ".join(left_out)))
        return ExportResult(name=name, prefix=str(prefix), format=fmt, content=content, from_history=from_history,
                            no_builds=no_builds, backend=self.name, warnings=warnings)

    def remove(self, prefix: Path) -> RemoveResult:
        self.run(self.remove_args(prefix))
        unregistered = locations.unregister(prefix)
        if prefix.exists():  # some versions leave an empty directory behind
            staging.remove_tree(prefix)
        name = prefix.name if any(prefix.parent == d for d in locations.envs_dirs()) else None
        return RemoveResult(name=name, prefix=str(prefix), removed=not prefix.exists(), unregistered=unregistered,
                            backend=self.name)

    def list(self) -> EnvList:
        from dlsetup.envs import history
        from dlsetup.envs import prefix as pfx

        doc = self.run(self.list_args()) or {}
        details = doc.get("envs_details") or {} if isinstance(doc, dict) else {}
        registered = {os.path.normcase(str(p)) for p in locations.read_registry()}
        out = EnvList(envs_dirs=[str(d) for d in locations.envs_dirs()], registry=str(locations.registry_path()),
                      backend=self.name)
        for raw in (doc.get("envs") or []) if isinstance(doc, dict) else []:
            p = Path(raw)
            d = details.get(raw) or {}
            records = pfx.conda_records(p)
            base = bool(d.get("base")) or locations.is_base(p)
            name = d.get("name") or ("base" if base else (p.name if any(p.parent == e for e in locations.envs_dirs())
                                                          or p.parent.name == "envs" else None))
            out.envs.append(EnvInfo(name=name, prefix=str(p), active=bool(d.get("active")) or locations.is_active(p),
                                    base=base, registered=os.path.normcase(str(p)) in registered,
                                    packages=len(records), python=pfx.python_version(p, records),
                                    created=d.get("created") or history.created_time(p)))
        return out

    def activate_hint(self, name: str | None, prefix: Path) -> list:
        from dlsetup.platform.shell import Cmd

        return [Cmd([self.kind, "activate", str(name or prefix)])]


def yaml_from_export_json(doc: dict, prefix: Path) -> str:
    """``env export --json`` (conda or micromamba) → the environment.yml text conda writes."""
    from dlsetup.envs.export import _q

    lines = [f"name: {_q(str(doc.get('name') or prefix.name))}", "channels:"]
    lines += [f"  - {_q(str(c))}" for c in doc.get("channels") or []]
    lines.append("dependencies:")
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            lines.append("  - pip:")
            lines += [f"      - {_q(str(x))}" for x in dep["pip"] or []]
        else:
            lines.append(f"  - {_q(str(dep))}")
    lines.append(f"prefix: {_q(str(doc.get('prefix') or prefix))}")
    return "\n".join(lines) + "\n"
