"""The data the environment commands compute (rendered as text or ``--json`` from the same objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EnvSpec:
    """What should go into an environment, whatever it was read from (arguments, a file, a recipe)."""

    conda: list[str] = field(default_factory=list)  # conda match specs, e.g. "python=3.11", "numpy>=2"
    pip: list[str] = field(default_factory=list)  # pip requirements, installed with the env's own pip
    channels: list[str] = field(default_factory=list)  # names or URLs, as the user wrote them
    pip_index_url: str | None = None  # where the pip section comes from (None: the user's pip config)
    pip_extra_index_urls: list[str] = field(default_factory=list)
    name: str | None = None  # the ``name:`` of an environment.yml
    platforms: list[str] = field(default_factory=list)  # the ``platforms:`` of an environment.yml
    source: str = "arguments"  # "arguments", a file path, or "recipe:<name>"
    kind: str = "specs"  # "specs" | "environment-yaml" | "requirements" | "explicit" | "conda-lock"
    explicit_urls: list[str] = field(default_factory=list)  # @EXPLICIT files: url#md5 lines
    explicit_platform: str | None = None  # an @EXPLICIT file's ``# platform:`` line
    variables: dict[str, str] = field(default_factory=dict)  # ``variables:``, set in conda-meta/state as conda does
    origins: dict[str, str] = field(default_factory=dict)  # spec -> "file:line" it was read from
    has_dependencies: bool = True  # False: an environment.yml without a ``dependencies`` key


@dataclass
class Package:
    """One installed or planned package."""

    name: str
    version: str
    build: str = ""
    channel: str = ""  # channel URL (redacted) for conda packages, index URL for pip ones
    manager: str = "conda"  # "conda" | "pip"
    url: str | None = None
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None  # bytes to download, when the channel's repodata says


@dataclass
class RecipePlan:
    """What the resolver decided for a recipe on this machine (or on a snapshot)."""

    recipe: str
    description: str
    # one line for people, in the language shown (the facts are in the fields below and in the snapshot):
    # "linux x86_64, no NVIDIA GPU" / "linux x86_64, RTX 4090 (8.9), driver 550.54.14"
    machine_text: str
    python: str | None = None
    variant: str | None = None  # "cpu", "cu126", ...
    cuda: str | None = None
    cudnn: str | None = None
    frameworks: list[dict[str, Any]] = field(default_factory=list)  # {name, version, variant, index_url, requirement}
    reasons: list[dict[str, Any]] = field(default_factory=list)  # {text, source}
    warnings: list[str] = field(default_factory=list)
    snapshot: str | None = None  # the snapshot file planned for, when not this machine


@dataclass
class CreateResult:
    """The outcome (or, with ``--dry-run``, the plan) of create / clone / install-from-lock."""

    action: str  # "create" | "clone" | "install"
    name: str | None
    prefix: str
    backend: str
    dry_run: bool = False
    source: str = "arguments"
    channels: list[str] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    pip_index_url: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # environment variables set in the env (conda's)
    virtual_packages: list[str] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    pip_packages: list[Package] = field(default_factory=list)
    solved: bool = True
    solve_error: str | None = None
    recipe: RecipePlan | None = None
    source_prefix: str | None = None  # clone
    untracked_files: int = 0  # clone: files copied that no package owns (pip installs, user files)
    lockfile: str | None = None  # install
    platform: str | None = None
    registered: bool = False
    activate: str | None = None  # activate_steps, written for ``shell``
    activate_steps: list = field(default_factory=list)  # platform.shell Cmd/Step: how to use the environment
    shell: str | None = None
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    # how the pip wheels arrived: {"via": "engine" | "pip" | "uv", "reason", "files", "bytes_transferred", …}
    wheel_fetch: dict | None = None

    def set_activation(self, steps: list, shell: str | None = None) -> None:
        """Keep the hint as steps and write it for ``shell`` (default: the shell dlsetup runs in)."""
        self.activate_steps = list(steps)
        self.set_shell(shell)

    def set_shell(self, shell: str | None) -> None:
        from dlsetup.platform import current
        from dlsetup.platform.shell import detect_shell, join_and

        self.shell = shell or self.shell or detect_shell(current())
        if self.activate_steps:
            self.activate = join_and(self.activate_steps, self.shell) or None


@dataclass
class EnvInfo:
    """One environment ``env list`` knows about."""

    name: str | None
    prefix: str
    active: bool = False
    base: bool = False
    registered: bool = False  # listed in ~/.conda/environments.txt
    packages: int | None = None
    python: str | None = None
    created: str | None = None  # ISO 8601, from conda-meta/history


@dataclass
class EnvList:
    envs: list[EnvInfo] = field(default_factory=list)
    envs_dirs: list[str] = field(default_factory=list)
    registry: str = ""
    backend: str = "rattler"
    cleaned: list[str] = field(default_factory=list)  # stale staging dirs removed on the way


@dataclass
class ExportResult:
    name: str | None
    prefix: str
    format: str  # "yaml" | "explicit" | "lock" | "requirements"
    content: str
    from_history: bool = False
    no_builds: bool = False
    output: str | None = None  # the file written, when -o/--file was given
    backend: str = "rattler"
    warnings: list[str] = field(default_factory=list)


@dataclass
class LockResult:
    lockfile: str
    sources: list[str]
    platforms: list[str]
    packages: dict[str, int] = field(default_factory=dict)  # platform -> number of conda packages
    pip_packages: dict[str, int] = field(default_factory=dict)  # platform -> number of pip packages
    channels: list[str] = field(default_factory=list)
    solver: str = "rattler (in-process, through conda-lock's make_lock_files)"
    duration_s: float = 0.0


@dataclass
class RemoveResult:
    name: str | None
    prefix: str
    removed: bool
    unregistered: bool = False
    backend: str = "rattler"
