"""micromamba (and mamba ≥ 2, which *is* micromamba: mamba docs ``developer_zone/changes-2.0.rst``).

Differences from conda (mamba-org/mamba snapshot 03564bf): ``create -f`` takes an
environment.yml, an ``@EXPLICIT`` file or a conda-lock file alike; ``env list --json`` has ``envs`` only;
``env export`` spells ``--no-build`` and ``--explicit`` (micromamba/src/env.cpp); ``list --export`` does
not exist, so requirements are written from ``conda-meta`` directly; ``create --clone`` exists only
from 2.5.0 (PR #4102) and, unlike conda, does not copy untracked files — dlsetup copies them itself.
"""

from __future__ import annotations

from pathlib import Path

from dlsetup.envs.backends._base import CreateRequest
from dlsetup.envs.backends._cli import CliBackend

CLONE_SINCE = (2, 5, 0)


def parse_version(text: str) -> tuple[int, ...] | None:
    """``micromamba --version`` prints a bare version (``2.0.5``); mamba 1 prints ``mamba 1.5.8``."""
    import re

    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x) for x in m.groups(default="0")) if m else None


class MicromambaBackend(CliBackend):
    kind = "micromamba"
    copies_untracked_on_clone = False

    def __init__(self, exe: str, version: tuple[int, ...] | None = None) -> None:
        super().__init__(exe)
        self._version = version

    @property
    def version(self) -> tuple[int, ...] | None:
        if self._version is None:
            from dlsetup.util.proc import run

            res = run([self.exe, "--version"], timeout=20)
            self._version = parse_version(res.stdout.strip().splitlines()[0] if res.stdout.strip() else "")
        return self._version

    @property
    def supports_clone(self) -> bool:  # type: ignore[override]
        v = self.version
        return v is not None and v >= CLONE_SINCE

    def create_args(self, req: CreateRequest, target: list[str]) -> list[str]:
        spec = req.spec
        args = ["create", "-y", "--json", *target]
        if spec.kind == "environment-yaml":
            args += ["-f", spec.source]
            return [*args, "--dry-run"] if req.dry_run else args
        if spec.channels:
            args.append("--override-channels")
            for ch in spec.channels:
                args += ["-c", ch]
        if req.dry_run:
            args.append("--dry-run")
        return [*args, *spec.conda]

    def file_create_args(self, path: Path, target: list[str]) -> list[str]:
        return ["create", "-y", "--json", *target, "-f", str(path)]

    def export_yaml_args(self, prefix: Path, from_history: bool, no_builds: bool) -> list[str]:
        args = ["env", "export", "--json", "-p", str(prefix)]
        if from_history:
            args.append("--from-history")
        if no_builds:
            args.append("--no-build")
        return args

    def export_explicit(self, prefix: Path) -> str:
        return self.run(["env", "export", "-p", str(prefix), "--explicit"], want_json=False)

    def export_requirements(self, prefix: Path, no_builds: bool) -> str:
        from dlsetup.envs import export, pip
        from dlsetup.envs import prefix as pfx

        records = pfx.conda_records(prefix)
        return export.to_requirements(records, pip.installed_by_pip(prefix), pfx.subdir_of(records), no_builds=no_builds)
