"""Which stages run, in what order, with which time limits: the validated form of the command line."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from dlsetup.errors import UsageError

# Run order. "dcgm" runs in dlsetup itself (it calls the system's dcgmi); all others run in the target
# interpreter. "distributed" comes last but one so that rank 0 can gather every other stage's result.
STAGES = ["env", "ops", "autograd", "amp", "agreement", "extension", "train", "frameworks", "perf", "burn",
          "distributed", "dcgm"]
HOST_STAGES = {"dcgm"}
MODES: dict[str, list[str]] = {
    "quick": ["env", "ops", "autograd"],
    "default": ["env", "ops", "autograd", "amp", "agreement", "extension", "train", "frameworks", "distributed"],
    "full": ["env", "ops", "autograd", "amp", "agreement", "extension", "train", "frameworks", "perf",
             "distributed", "dcgm"],
}
# Seconds. Generous against the measured CPU times (ops ~1 s, cold C++ build ~25 s on 2 cores, CUDA
# build ~40 s) because a stage that is merely slow must not be called hung; "setup" covers the
# interpreter start and `import torch` (a CUDA wheel on a cold disk can take tens of seconds).
DEFAULT_TIMEOUTS: dict[str, float] = {
    "setup": 300, "env": 120, "ops": 180, "autograd": 180, "amp": 120, "agreement": 180, "extension": 900,
    "train": 600, "frameworks": 600, "perf": 300, "burn": 120, "distributed": 600, "dcgm": 600,
}
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass
class Plan:
    mode: str
    stages: list[str]
    device: str = "auto"
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    rebuild: bool = False
    burn_s: float | None = None
    nproc: int | None = None
    distributed: bool = False
    seed: int = 0
    ext_root: str | None = None

    @property
    def suite_stages(self) -> list[str]:
        return [s for s in self.stages if s not in HOST_STAGES]

    def suite_config(self, stages: list[str]) -> dict[str, Any]:
        """The document the suite reads on stdin."""
        return {
            "protocol": 1, "stages": stages, "mode": self.mode, "device": self.device, "seed": self.seed,
            "ext_root": self.ext_root, "rebuild": self.rebuild, "burn_s": self.burn_s, "nproc": self.nproc,
            "distributed": self.distributed,
            # the rendezvous must give up before dlsetup's own limit for the stage does
            "dist_timeout_s": max(10.0, self.timeouts["distributed"] - 30),
            "framework_timeout_s": max(10.0, self.timeouts["frameworks"] / 2 - 5),
        }


def _names(values: tuple[str, ...] | list[str]) -> list[str]:
    out = []
    for value in values:
        for name in value.split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in STAGES:
                raise UsageError("verify.error.unknown_stage", stage=name, known=", ".join(STAGES))
            out.append(name)
    return out


def make_plan(*, quick: bool = False, full: bool = False, device: str = "auto", only: tuple[str, ...] = (),
              skip: tuple[str, ...] = (), perf: bool = False, burn: float | None = None, dcgm: bool = False,
              distributed: bool = False, nproc: int | None = None, rebuild: bool = False,
              stage_timeouts: tuple[str, ...] = (), ext_root: str | None = None) -> Plan:
    """Validate the options (UsageError on bad input) and decide the stage list."""
    if quick and full:
        raise UsageError("verify.error.quick_and_full")
    device = (device or "auto").strip().lower()
    if not _DEVICE.match(device):
        raise UsageError("verify.error.bad_device", device=device)
    if burn is not None and not (math.isfinite(burn) and burn > 0):  # nan or inf would never end
        raise UsageError("verify.error.bad_burn", seconds=burn)
    if nproc is not None and nproc < 2:
        raise UsageError("verify.error.bad_nproc", nproc=nproc)
    if nproc is not None and distributed:
        raise UsageError("verify.error.nproc_and_distributed")
    if distributed and device.startswith("cuda:"):  # every rank would pick the same GPU (NCCL refuses that)
        raise UsageError("verify.error.device_index_distributed", device=device)
    mode = "quick" if quick else "full" if full else "default"
    stages = list(MODES[mode])
    extra = (["perf"] if perf else []) + (["burn"] if burn else []) + (["dcgm"] if dcgm else [])
    extra += ["distributed"] if (distributed or nproc) else []
    wanted = _names(only)
    if wanted:
        stages = ["env"] + wanted  # the environment stage always runs: everything else is judged against it
    stages = [s for s in STAGES if s in set(stages) | set(extra)]
    for name in _names(skip):
        if name == "env":
            raise UsageError("verify.error.skip_env")
        stages = [s for s in stages if s != name]
    timeouts = dict(DEFAULT_TIMEOUTS)
    if burn:
        timeouts["burn"] = burn + DEFAULT_TIMEOUTS["burn"]
    for item in stage_timeouts:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in DEFAULT_TIMEOUTS:
            raise UsageError("verify.error.bad_timeout", value=item, known=", ".join(DEFAULT_TIMEOUTS))
        try:
            seconds = float(value)
        except ValueError:
            raise UsageError("verify.error.bad_timeout", value=item, known=", ".join(DEFAULT_TIMEOUTS)) from None
        if not (math.isfinite(seconds) and seconds > 0):  # nan times out at once, inf never
            raise UsageError("verify.error.bad_timeout", value=item, known=", ".join(DEFAULT_TIMEOUTS))
        timeouts[name] = seconds
    return Plan(mode=mode, stages=stages, device=device, timeouts=timeouts, rebuild=rebuild, burn_s=burn,
                nproc=nproc, distributed=distributed, ext_root=ext_root)
