"""What the resolver reads (Machine, Request) and what it answers (Resolution)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlsetup.resolve.specs import Spec  # re-exported: part of the request model


@dataclass
class GpuSpec:
    """One NVIDIA GPU as the resolver sees it."""

    index: int | None = None
    name: str | None = None
    cc: str | None = None  # "8.6"; None when unknown
    cc_source: str = "probe"  # "probe" | "name" (inferred from the GPU name) | "override"

    def label(self) -> str:
        if self.index is None:
            return self.name or "GPU"
        return f"GPU {self.index} ({self.name})" if self.name else f"GPU {self.index}"


def group_label(gpus: list[GpuSpec]) -> str:
    """One label for identical GPUs: "GPU 3 (A100)", or "GPUs 0-7 (H100)" / "GPUs 0, 2 (H100)"."""
    if len(gpus) == 1:
        return gpus[0].label()
    idx = [g.index for g in gpus]
    if all(i is not None for i in idx) and idx == list(range(idx[0], idx[0] + len(idx))):
        which = f"{idx[0]}-{idx[-1]}"
    else:
        which = ", ".join(str(i) for i in idx)
    name = gpus[0].name
    return f"GPUs {which} ({name})" if name else f"GPUs {which}"


def group_gpus(gpus: list[GpuSpec]) -> list[list[GpuSpec]]:
    """Identical GPUs (same name and compute capability) together, in index order."""
    groups: dict[tuple, list[GpuSpec]] = {}
    for g in gpus:
        groups.setdefault((g.name, g.cc, g.cc_source), []).append(g)
    return list(groups.values())


@dataclass
class Machine:
    """The facts a decision depends on: platform, Python, NVIDIA driver, GPUs."""

    os: str  # "linux" | "windows" | "macos"
    arch: str  # "x86_64" | "aarch64" | "arm64"
    python: str  # "3.11"
    driver: str | None = None  # "580.95.05"
    cuda_driver: str | None = None  # newest CUDA the driver supports, "13.0"
    gpus: list[GpuSpec] = field(default_factory=list)
    no_gpu: bool = False  # --no-gpu: plan CPU builds even if GPUs are present
    wsl: bool = False
    glibc: str | None = None  # "2.36"
    nvidia_present: bool = False  # an NVIDIA device is on the bus (even without a working driver)
    driver_problem: str | None = None  # e.g. "DriverNotLoaded" when GPUs are present but the driver is not usable
    driver_library: str | None = None  # the installed user-space driver when the kernel side does not answer
    driver_assumed: bool = False  # no driver known: planning assumes a current one
    other_gpus: list[dict[str, str]] = field(default_factory=list)  # AMD / Intel GPUs ({"vendor", "name"})
    source: str = "live probe"  # "live probe" | "snapshot FILE" | "overrides"
    overrides: list[str] = field(default_factory=list)  # which facts came from the command line
    chosen: dict[str, str] = field(default_factory=dict)  # facts someone else chose: {"python": "recipe:pytorch"}

    @property
    def gpu_machine(self) -> bool:
        """True when CUDA builds are wanted: an NVIDIA GPU is known and --no-gpu was not given."""
        return not self.no_gpu and (bool(self.gpus) or self.nvidia_present)


@dataclass
class Request:
    """What to resolve, and for which machine (None: probe this one).

    ``packages`` takes requirement strings (``["torch==2.6.*", "torchvision"]``) and is parsed into
    ``specs`` (raises UsageError on a bad one); give either.
    """

    specs: list[Spec] = field(default_factory=list)
    cuda: str | None = None  # --cuda 12.6: pin a CUDA line
    explain: bool = False
    machine: Machine | None = None
    packages: list[str] = field(default_factory=list)
    # Where a mirror serves a PyTorch variant: variant -> {"mirror", "url", "layout"} or None. The command
    # layer passes the mirror capability's answer in; resolve itself knows nothing about mirrors.
    wheel_source: Callable[[str], dict[str, str] | None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.packages and not self.specs:
            from dlsetup.resolve.specs import parse_specs

            self.specs = parse_specs(self.packages)


@dataclass
class Package:
    name: str
    version: str
    variant: str  # "cu126" | "cpu" | "and-cuda" | "cuda12" ...
    index_url: str | None  # where pip should look; None: the configured default index
    requirement: str  # "torch==2.14.1" / "torch==1.10.2+cu113" / "tensorflow[and-cuda]==2.21.0"
    index_kind: str = "default"  # "default" | "index-url" | "extra-index-url" | "find-links"


@dataclass
class Reason:
    text: str
    source: str
    confidence: str = "verified"


@dataclass
class Rejected:
    candidate: str  # "torch 2.15.0+cu132"
    rule: str  # "driver" | "arch" | "python" | "platform" | ...
    detail: str = ""  # the human sentence
    source: str = ""


@dataclass
class Hint:
    text: str
    rule: str


@dataclass
class Resolution:
    """The answer. Its fields are the ``--json`` contract (plus ``schema_version`` and ``command``)."""

    ok: bool
    machine: dict[str, Any]
    packages: list[Package] = field(default_factory=list)
    cuda: str | None = None
    cudnn: str | None = None
    commands: dict[str, str | None] = field(default_factory=lambda: {"pip": None, "uv": None, "conda": None})
    argv: dict[str, list[Any]] = field(default_factory=dict)  # tool -> [Cmd]: the commands as data
    shell: str = "bash"  # the shell ``commands`` are written for
    reasons: list[Reason] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # sources of non-verified rows the answer relies on
    explain: bool = False
    check_index: list[dict[str, Any]] | None = None

    def set_shell(self, shell: str) -> None:
        """Write ``commands`` for ``shell`` (bash, zsh, fish, powershell, cmd) from the argument lists."""
        from dlsetup.platform.shell import join_and

        self.shell = shell
        if self.argv:  # the same as resolve.commands.render_all, without importing the planner from the model
            self.commands = {tool: (join_and(self.argv.get(tool) or [], shell) or None)
                             for tool in ("pip", "uv", "conda", "pixi")}

    def to_dict(self) -> dict[str, Any]:
        from dlsetup.result import to_jsonable

        out = {
            "ok": self.ok,
            "machine": self.machine,
            "packages": [to_jsonable(p) for p in self.packages],
            "cuda": self.cuda,
            "cudnn": self.cudnn,
            "commands": dict(self.commands),
            "shell": self.shell,
            "argv": {tool: [list(c.argv) for c in cmds] for tool, cmds in self.argv.items() if cmds},
            "reasons": [to_jsonable(r) for r in self.reasons],
            "rejected": [to_jsonable(r) for r in self.rejected],
            "hints": [to_jsonable(h) for h in self.hints],
            "warnings": list(self.warnings),
            "unverified": list(self.unverified),
        }
        if self.check_index is not None:
            out["check_index"] = self.check_index
        return out
