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


def reject(plan: Plan, cand: Candidate) -> None:
    first = cand.failures[0]
    detail = "; ".join(f.text for f in cand.failures)
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
        if rule not in best:
            best[rule] = (cand, cand.failures[0])
    out = []
    order = list(FIXABLE) + ["ptx_driver"]
    for rule in sorted(best, key=order.index):
        cand, failure = best[rule]
        out.append(Hint(text=hint_text(rule, failure, cand), rule=rule))
    return out


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
