"""A per-framework answer (:class:`Plan`) and helpers every framework resolver uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlsetup.compat.tables import source_text
from dlsetup.i18n import t
from dlsetup.resolve.model import Hint, Package, Reason, Rejected
from dlsetup.resolve.rules import FIXABLE, Failure


@dataclass
class InstallGroup:
    """One pip invocation: requirements and where they come from."""

    requirements: list[str]
    index_url: str | None = None  # None: the configured default index
    index_kind: str = "default"  # "default" | "index-url" | "extra-index-url" | "find-links"


@dataclass
class CondaRoute:
    channel: str  # "conda-forge"
    specs: list[str]
    needs_cuda: str | None = None  # the __cuda the solver must see (pixi system-requirements)


@dataclass
class Candidate:
    label: str  # "torch 2.14.1+cu126"
    version: str
    variant: str
    cuda: str | None
    failures: list[Failure] = field(default_factory=list)
    rank: tuple = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Plan:
    family: str
    ok: bool = False
    packages: list[Package] = field(default_factory=list)
    cuda: str | None = None
    cudnn: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    groups: list[InstallGroup] = field(default_factory=list)
    conda: CondaRoute | None = None
    conda_note: str | None = None  # why there is no conda route
    unverified: list[str] = field(default_factory=list)

    def reason(self, key: str, row: dict[str, Any] | None = None, source: str | None = None, **params: Any) -> None:
        """Add a reason citing ``row`` (its source and confidence) or an explicit ``source``."""
        conf = (row or {}).get("confidence", "verified") if row is not None else "verified"
        src = source if source is not None else (source_text(row) if row else "")
        text = t(key, **params)
        if conf != "verified":
            text += " " + t("resolve.label.confidence", confidence=t(f"resolve.confidence.{conf}"))
            if src and src not in self.unverified:
                self.unverified.append(src)
        self.reasons.append(Reason(text=text, source=src, confidence=conf))


def cudnn_pin(plan: Plan, pin: dict[str, Any] | None, requirements: list[str]) -> None:
    """Add the cuDNN pin :func:`rules.check_cudnn` asked for (``nvidia-cudnn-cu12<9.11``) to ``requirements``
    and say why."""
    if not pin:
        return
    requirements.append(f"{pin['package']}<{pin['below']}")
    ccs = ", ".join(sorted({g.cc for g in pin["gpus"]}))
    gpus = ", ".join(g.label() for g in pin["gpus"])
    plan.reason("resolve.reason.cudnn_pin", pin["row"], gpus=gpus, cc=ccs, below=pin["below"], package=pin["package"])


def note_text(row: dict[str, Any]) -> str:
    """A data row's ``note`` in the output language (``note_zh`` in Chinese, when the row has one)."""
    from dlsetup.i18n import language

    if language() == "zh" and row.get("note_zh"):
        return row["note_zh"]
    return row.get("note", "")


def reject(plan: Plan, cand: Candidate) -> None:
    first = cand.failures[0]
    detail = t("resolve.label.detail_sep").join(f.text for f in cand.failures)
    plan.rejected.append(Rejected(candidate=cand.label, rule=first.rule, detail=detail, source=first.source))


def hints_from(rejected: list[Candidate], newer_than: tuple | None = None) -> list[Hint]:
    """One hint per fixable rule: the best candidate that fails on that rule alone."""
    best: dict[str, tuple[Candidate, Failure]] = {}
    for cand in rejected:
        rules = {f.rule for f in cand.failures}
        if len(rules) != 1:
            continue
        rule = next(iter(rules))
        if rule not in FIXABLE and rule != "ptx_driver":
            continue
        if newer_than is not None and cand.data.get("release_key", ()) <= newer_than:
            continue
        # The hint names the build that would be chosen once the rule passes: the newest release, the smallest
        # driver upgrade that reaches it, then the best-ranked build (torch 2.15.0+cu132, not the secondary cu130
        # listed before it).
        if rule not in best or _hint_key(cand) > _hint_key(best[rule][0]):
            best[rule] = (cand, cand.failures[0])
    out = []
    order = list(FIXABLE) + ["ptx_driver"]
    for rule in sorted(best, key=order.index):
        cand, failure = best[rule]
        out.append(Hint(text=hint_text(rule, failure, cand), rule=rule))
    return out


def _hint_key(cand: Candidate) -> tuple:
    from dlsetup.compat.tables import version_tuple

    floor = cand.failures[0].fix.get("driver") if cand.failures else None
    ease = tuple(-x for x in version_tuple(floor)) if floor else ()
    return (cand.data.get("release_key", ()), ease, cand.rank)


def hint_text(rule: str, failure: Failure, cand: Candidate) -> str:
    fix = failure.fix
    if rule == "driver":
        return t("resolve.hint.driver", floor=fix.get("driver", "?"), candidate=cand.label)
    if rule == "ptx_driver":
        return t("resolve.hint.ptx_driver", cuda=fix.get("driver_cuda", "?"), candidate=cand.label)
    if rule == "python":
        return t("resolve.hint.python", python=fix.get("python", "?"), candidate=cand.label)
    if rule == "os":
        return t("resolve.hint.wsl", candidate=cand.label)
    if rule == "glibc":
        return t("resolve.hint.glibc", glibc=fix.get("glibc", "?"), candidate=cand.label)
    if rule == "cuda_pin":
        return t("resolve.hint.cuda_pin", cuda=fix.get("cuda", "?"), candidate=cand.label)
    if rule == "platform":
        return t("resolve.hint.platform", candidate=cand.label)
    if rule == "companion":
        return t("resolve.hint.companion", package=fix.get("package", "?"), candidate=cand.label)
    return failure.text


def kernel_reasons(plan: Plan, gpus: list, served: dict[int, str], arch_row: dict[str, Any] | None, variant: str,
                   archs: list[str]) -> None:
    """One reason per group of identical GPUs saying which kernels of the build serve them."""
    from dlsetup.resolve.model import group_label

    groups: dict[tuple, list] = {}
    for i, entry in sorted(served.items()):
        g = gpus[i]
        groups.setdefault((g.name, g.cc, entry), []).append(g)
    for (_, cc, entry), members in groups.items():
        key = "resolve.reason.kernels_ptx" if entry.startswith("compute_") else "resolve.reason.kernels"
        plan.reason(key, arch_row, gpu=group_label(members), cc=cc, entry=entry, variant=variant, archs=" ".join(archs))


def machine_blocked(plan: Plan, machine: Any, framework: str, candidate: str) -> bool:
    """The GPU-side facts that rule out every build before any is tried: a driver branch that no longer (or not
    yet) drives a GPU, a Jetson board, a GPU of unknown compute capability. Records the reasons, rejections and
    hints on ``plan``; True when nothing can be planned. The same gate for every framework."""
    from dlsetup.resolve import rules

    blockers = (rules.check_gpu_supported_by_driver(machine) + rules.check_gpu_newer_than_driver(machine)
                + rules.check_jetson(machine, framework))
    if blockers:
        for f in blockers:
            plan.reason("resolve.reason.blocker", source=f.source, text=f.text)
            plan.rejected.append(Rejected(candidate=candidate, rule=f.rule, detail=f.text, source=f.source))
            if f.rule == "gpu_driver":
                hint = Hint(text=t("resolve.hint.gpu_driver", branch=f.fix.get("driver_branch")), rule=f.rule)
            elif f.rule == "gpu_driver_old":
                hint = Hint(text=t("resolve.hint.gpu_driver_old", branch=f.fix.get("driver_branch")), rule=f.rule)
            else:
                continue
            if hint.text not in {h.text for h in plan.hints}:
                plan.hints.append(hint)
        return True
    if not rules.gpus_with_cc(machine):
        plan.reason("resolve.reason.cc_unknown", source=machine.source)
        plan.hints.append(Hint(text=t("resolve.hint.gpu_cc"), rule="cc"))
        return True
    return False

