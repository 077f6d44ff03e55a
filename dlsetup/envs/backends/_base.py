"""The small interface every environment backend implements (after pipx's ``backends/_base.py``).

A backend gets requests that ``dlsetup.envs.api`` has already checked (the name is free, the specs parse,
the environment to remove is neither active nor base) and returns result objects; it never prints.
Locking is the same for every backend — conda-lock's code with rattler as the solver — so it lives here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from dlsetup.envs.model import (
    CreateResult,
    EnvList,
    EnvSpec,
    ExportResult,
    LockResult,
    RecipePlan,
    RemoveResult,
)


@dataclass
class CreateRequest:
    """What ``create`` / ``install`` should build, and where."""

    name: str | None
    prefix: Path
    spec: EnvSpec
    dry_run: bool = False
    cuda: str | None = None  # virtual __cuda override ("" = none)
    offline: bool = False
    lockfile: Path | None = None
    recipe: RecipePlan | None = None
    snapshot: object | None = None  # a dlsetup Snapshot: plan for that machine (dry-run only)
    warnings: list[str] = field(default_factory=list)


class Backend(ABC):
    """create · install (from a lock) · clone · export · remove · list · lock."""

    name: str = "?"

    @abstractmethod
    def create(self, req: CreateRequest) -> CreateResult: ...

    @abstractmethod
    def install_lock(self, req: CreateRequest) -> CreateResult: ...

    @abstractmethod
    def clone(self, source: Path, name: str | None, prefix: Path, dry_run: bool = False) -> CreateResult: ...

    @abstractmethod
    def export(self, prefix: Path, fmt: str, *, from_history: bool = False, no_builds: bool = False) -> ExportResult: ...

    @abstractmethod
    def remove(self, prefix: Path) -> RemoveResult: ...

    @abstractmethod
    def list(self) -> EnvList: ...

    def lock(self, files: list[Path], platforms: list[str] | None, out: Path, *, cuda: str | None = None,
             pip_index_url: str | None = None, pypi_mapping: str | None = None) -> LockResult:
        """``conda-lock.yml`` through conda-lock's ``make_lock_files`` with rattler solving (all backends)."""
        from dlsetup.envs import locking

        return locking.lock(files, platforms, out, cuda=cuda, pip_index_url=pip_index_url, pypi_mapping=pypi_mapping)

    def activate_hint(self, name: str | None, prefix: Path) -> list:
        """How to use the environment afterwards, as commands (platform.shell ``Cmd``/``Step``) the result
        writes for the user's shell."""
        from dlsetup.platform.shell import Cmd

        return [Cmd(["conda", "activate", str(name or prefix)])]
