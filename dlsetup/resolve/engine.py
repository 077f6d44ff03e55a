"""resolve(request) -> Resolution: run each framework's resolver and assemble one answer."""

from __future__ import annotations

from typing import Any

from dlsetup import compat
from dlsetup.compat.tables import source_text
from dlsetup.i18n import t
from dlsetup.resolve import commands, rules
from dlsetup.resolve.model import Machine, Reason, Request, Resolution, Spec, group_gpus, group_label
from dlsetup.resolve.plan import Plan
from dlsetup.resolve.specs import FAMILIES, spec_notes


def default_shell(machine: Machine) -> str:
    """The shell the printed commands are for: the one dlsetup runs in when planning for this machine,
    PowerShell for a Windows machine known only from a snapshot or ``--os windows``, else bash."""
    from dlsetup.platform import current
    from dlsetup.platform.shell import detect_shell

    here = current()
    if machine.os == here.os:
        return detect_shell(here)
    return "powershell" if machine.os == "windows" else "bash"


def resolve(request: Request) -> Resolution:
    """Pick builds for ``request.specs`` (default: torch) on ``request.machine`` (default: this machine)."""
    machine = request.machine
    if machine is None:
        from dlsetup.resolve.machine import live_machine

        machine = live_machine()
    specs = request.specs or [Spec(name="torch", requested_as="torch")]
    families: dict[str, dict[str, Spec]] = {}
    for spec in specs:
        families.setdefault(FAMILIES[spec.name], {})[spec.name] = spec

    plans: list[Plan] = []
    for family, fam_specs in families.items():
        plan = _resolve_family(family, machine, request, fam_specs)
        if not plan.ok:
            _hint_relaxed(plan, family, machine, request, fam_specs)
        plans.append(plan)

    res = Resolution(ok=all(p.ok for p in plans), machine=machine_summary(machine), explain=request.explain)
    res.reasons.extend(machine_reasons(machine))
    for key in spec_notes(specs):
        res.reasons.append(Reason(text=t(key), source=_dead_name_source(), confidence="verified"))
    for plan in plans:
        res.packages.extend(plan.packages)
        # Facts about the machine (a driver that no longer drives the GPU) reach every framework's plan: say them once.
        res.reasons.extend(r for r in plan.reasons if (r.text, r.source) not in {(x.text, x.source) for x in res.reasons})
        res.rejected.extend(plan.rejected)
        res.hints.extend(h for h in plan.hints if h.text not in {x.text for x in res.hints})
        res.warnings.extend(plan.warnings)
        for src in plan.unverified:
            if src not in res.unverified:
                res.unverified.append(src)
    _data_notes(res, families)
    first = next((p for p in plans if p.ok), None)
    if first is not None:
        res.cuda, res.cudnn = first.cuda, first.cudnn
    if res.ok:
        groups = [g for p in plans for g in p.groups]
        routes = [p.conda for p in plans if p.conda is not None]
        conda_ok = len(routes) == len(plans)
        res.argv = {
            "pip": commands.pip_cmds(groups),
            "uv": commands.uv_cmds(groups),
            "conda": commands.conda_cmds(routes) if conda_ok else [],
            "pixi": commands.pixi_cmds(routes) if conda_ok else [],
        }
        res.set_shell(default_shell(machine))
        if not conda_ok:
            notes = [p.conda_note for p in plans if p.conda is None and p.conda_note]
            tables = ", ".join(f"dlsetup/compat/data/{_TABLES.get(p.family, p.family)}.toml" for p in plans
                               if p.conda is None)
            res.reasons.append(Reason(text=t("resolve.reason.no_conda", why="; ".join(notes) or "-"), source=tables))
        elif any(r.needs_cuda for r in routes):
            cuda = next(r.needs_cuda for r in routes if r.needs_cuda)
            res.reasons.append(Reason(text=t("resolve.reason.pixi_cuda", cuda=cuda),
                                      source="https://pixi.sh/latest/workspace/system_requirements/"))
    else:
        res.shell = default_shell(machine)
        res.commands = {"pip": None, "uv": None, "conda": None, "pixi": None}
    if "driver" in machine.overrides and not machine.gpu_machine and not machine.no_gpu:
        # --driver describes a GPU machine, but no GPU is known: the CPU answer is probably not what was meant.
        from dlsetup.resolve.model import Hint

        res.hints.append(Hint(text=t("resolve.hint.driver_without_gpu"), rule="gpu_cc"))
    accel_build = any(p.variant.startswith(("rocm", "xpu")) for p in res.packages)
    if machine.other_gpus and not machine.gpu_machine and not machine.no_gpu and not accel_build:
        # Never a CPU build on a GPU box without saying so (a GPU with no ROCm / XPU route, or another framework).
        labels = [g['vendor'].upper() if g['vendor'] == 'amd' else g['vendor'].title() for g in machine.other_gpus]
        names = ", ".join(g["name"] if g["name"].lower().startswith(lab.lower()) else f"{lab} {g['name']}"
                          for lab, g in zip(labels, machine.other_gpus, strict=True))
        res.warnings.append(t("resolve.warn.other_gpu", gpus=names))
    if machine.gpu_machine and not res.ok:
        res.hints = [h for h in res.hints if h.rule != "no_gpu"] + [h for h in res.hints if h.rule == "no_gpu"]
    return res


_TABLES = {"torch": "pytorch", "tensorflow": "tensorflow", "jax": "jax", "paddlepaddle": "paddle",
           "onnxruntime": "onnxruntime", "mindspore": "mindspore"}


def _hint_relaxed(plan: Plan, family: str, machine: Machine, request: Request, specs: dict[str, Spec]) -> None:
    """Nothing fits under the user's version constraints or --cuda: say what fits without them."""
    from dlsetup.resolve.model import Hint

    if not request.cuda and not any(s.specifier for s in specs.values()):
        return
    relaxed = {name: Spec(name=name, requested_as=name) for name in specs}
    other = _resolve_family(family, machine, Request(specs=list(relaxed.values()), machine=machine), relaxed)
    if other.ok and other.packages:
        p = other.packages[0]
        plan.hints.insert(0, Hint(text=t("resolve.hint.relax", package=p.name, version=p.version, variant=p.variant),
                                  rule="constraint"))


def _resolve_family(family: str, machine: Machine, request: Request, specs: dict[str, Spec]) -> Plan:
    if family == "torch":
        from dlsetup.resolve.torch import resolve_torch

        return resolve_torch(machine, request, specs)
    if family == "tensorflow":
        from dlsetup.resolve.tensorflow import resolve_tensorflow

        return resolve_tensorflow(machine, request, specs)
    from dlsetup.resolve.tier2 import resolve_tier2

    return resolve_tier2(family, machine, request, specs)


# The distribution whose releases stand for each family, and its hand-kept table.
_MAIN = {"torch": ("torch", "pytorch"), "tensorflow": ("tensorflow", "tensorflow"), "jax": ("jax", "jax"),
         "paddlepaddle": ("paddlepaddle", "paddle"), "onnxruntime": ("onnxruntime", "onnxruntime"),
         "mindspore": ("mindspore", "mindspore")}


def _data_notes(res: Resolution, families: dict[str, dict[str, Spec]]) -> None:
    """Say which package-index data decided the answer and how old it is; warn when the index has a newer release
    of an asked framework than the hand-kept tables know (it cannot be planned before the tables learn it)."""
    import calendar
    import time

    from dlsetup.compat import generated as gen
    from dlsetup.compat.tables import rows, version_tuple

    for family in families:
        name, table = _MAIN.get(family, (family, family))
        info = gen.data_info(name)
        if info is None:
            continue
        stamp = info.get("generated") or ""
        ymd = version_tuple(stamp[:10].replace("-", "."))  # "2026-12-07T04:14:43Z" (time.strptime costs ~15 ms)
        days = int((time.time() - calendar.timegm((*ymd, 0, 0, 0))) // 86400) if len(ymd) == 3 else -1
        origin = t("resolve.label.data_shipped") if info["origin"] == "shipped" else info["origin"]
        res.reasons.append(Reason(text=t("resolve.reason.index_data", framework=name, date=stamp[:10] or "?",
                                         days=max(days, 0), origin=origin),
                                  source=(gen.project(name) or {}).get("index", "")))
        newest = gen.newest(name)
        known = [v for r in rows(table, "release") for v in r.get("versions", [])]
        if newest and known and version_tuple(newest) > max(version_tuple(v) for v in known):
            top = max(known, key=version_tuple)
            res.warnings.append(t("resolve.warn.newer_release", framework=name, version=newest, known=top))


def _dead_name_source() -> str:
    row = compat.tables.load("tensorflow").get("dead_names", {}).get("tensorflow-gpu", {})
    return source_text(row) if row else ""


def machine_summary(machine: Machine) -> dict[str, Any]:
    return {
        "os": machine.os,
        "arch": machine.arch,
        "python": machine.python,
        "driver": machine.driver,
        "cuda_driver": machine.cuda_driver,
        "gpus": [{"index": g.index, "name": g.name, "cc": g.cc, "cc_source": g.cc_source} for g in machine.gpus],
        "no_gpu": machine.no_gpu,
        "nvidia_present": machine.nvidia_present,
        "wsl": machine.wsl,
        "glibc": machine.glibc,
        "driver_problem": machine.driver_problem,
        "driver_library": machine.driver_library,
        "other_gpus": list(machine.other_gpus),
        "source": machine.source,
        "overrides": list(machine.overrides),
        "chosen": dict(machine.chosen),
    }


def source_label(machine: Machine) -> str:
    """Where the machine facts come from, for a person: "live probe", "snapshot FILE", "command-line options",
    with the overridden facts named ("live probe, with --python, --driver from the command line")."""
    src = machine.source or ""
    if src == "live probe":
        base = t("resolve.label.src_probe")
    elif src == "overrides":
        base = t("resolve.label.src_overrides")
    elif src == "doctor":
        base = t("resolve.label.src_doctor")
    elif src.startswith("snapshot "):
        base = t("resolve.label.src_snapshot", path=src[len("snapshot "):])
    else:
        base = src
    if machine.overrides and src != "overrides":
        base = t("resolve.label.src_with_overrides", base=base,
                 flags=", ".join(f"--{name}" for name in machine.overrides))
    by_whom: dict[str, list[str]] = {}
    for fact, who in machine.chosen.items():
        by_whom.setdefault(who, []).append(fact)
    for who, facts in by_whom.items():
        kind, _, name = who.partition(":")
        base = t("resolve.label.src_chosen", base=base, facts=", ".join(_fact_label(f) for f in facts),
                 who=t(f"resolve.label.chooser_{kind}", name=name) if kind in ("recipe", "local") else who)
    return base


def _fact_label(fact: str) -> str:
    return t(f"resolve.label.fact_{fact.replace('-', '_')}") if fact in ("python", "no-gpu") else f"--{fact}"


def machine_reasons(machine: Machine) -> list[Reason]:
    out: list[Reason] = []
    where = machine.os + (" (WSL2)" if machine.wsl else "")
    out.append(Reason(text=t("resolve.reason.machine", os=where, arch=machine.arch, python=machine.python,
                             source=source_label(machine)), source=machine.source))
    if machine.driver:
        row = compat.driver_branch_row(machine.driver)
        out.append(Reason(text=t("resolve.reason.driver", driver=machine.driver, branch=row["branch"] if row else "?",
                                 cuda=machine.cuda_driver or (row or {}).get("cuda", "?")),
                          source=source_text(row) if row else "", confidence=(row or {}).get("confidence", "verified")))
    elif machine.driver_problem:
        out.append(Reason(text=t("resolve.reason.driver_problem", problem=machine.driver_problem), source=machine.source))
    elif machine.gpus and not machine.no_gpu:
        out.append(Reason(text=t("resolve.reason.driver_none"), source=machine.source))
    for group in group_gpus(machine.gpus):
        gpu = group[0]
        label = group_label(group)
        info = compat.gpu_architecture(gpu.cc) if gpu.cc else None
        if info:
            last = t("resolve.label.current") if not info["last_cuda_major"] else t(
                "resolve.label.last_cuda", cuda=info["last_cuda_major"], branch=info["last_driver_branch"] or "-")
            how = t(f"resolve.label.cc_from_{gpu.cc_source}") if gpu.cc_source in ("name", "override", "pci_id", "gpu") else ""
            out.append(Reason(text=t("resolve.reason.gpu", gpu=label, cc=gpu.cc, arch=info["name"], last=last,
                                     how=how).rstrip(), source=info["source"], confidence=info["confidence"] or "verified"))
        elif gpu.cc:
            out.append(Reason(text=t("resolve.reason.gpu_unknown", gpu=label, cc=gpu.cc), source=machine.source))
        else:
            out.append(Reason(text=t("resolve.reason.gpu_cc_missing", gpu=label), source=machine.source))
    if machine.no_gpu:
        out.append(Reason(text=t("resolve.reason.no_gpu_flag"), source="--no-gpu"))
    elif not machine.gpus and not machine.nvidia_present and not rules.other_accelerator(machine):
        out.append(Reason(text=t("resolve.reason.no_nvidia"), source=machine.source))
    return out
