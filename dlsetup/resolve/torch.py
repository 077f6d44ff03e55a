"""Resolve torch (with torchvision / torchaudio on the same version line and variant)."""

from __future__ import annotations

from typing import Any

from dlsetup import compat
from dlsetup.compat import pytorch as pt
from dlsetup.compat.tables import source_text, version_tuple
from dlsetup.i18n import t
from dlsetup.resolve import rules
from dlsetup.resolve.model import Machine, Package, Request, Spec
from dlsetup.resolve.plan import Candidate, CondaRoute, InstallGroup, Plan, hints_from, kernel_reasons, reject
from dlsetup.resolve.specs import spec_matches

COMPANIONS = ("torchvision", "torchaudio")


def _matches(spec: Spec | None, version: str) -> bool:
    return spec_matches(spec, version)


def _pick_version(candidates: list[str], spec: Spec | None) -> str | None:
    for v in sorted(candidates, key=version_tuple, reverse=True):
        if _matches(spec, v):
            return v
    return None


def resolve_torch(machine: Machine, request: Request, specs: dict[str, Spec]) -> Plan:
    plan = Plan(family="torch")
    plat = pt.platform_key(machine.os, machine.arch)
    want = [n for n in ("torch",) + COMPANIONS if n in specs or n == "torch"]
    torch_spec = specs.get("torch")
    gpu = machine.gpu_machine

    if gpu:
        blockers = rules.check_gpu_supported_by_driver(machine) + rules.check_jetson(machine, "PyTorch")
        if blockers:
            plan.rejected.extend(_machine_rejections(blockers))
            for f in blockers:
                plan.reason("resolve.reason.blocker", source=f.source, text=f.text)
                if f.rule == "gpu_driver":
                    plan.hints.append(_hint("gpu_driver", t("resolve.hint.gpu_driver",
                                                            branch=f.fix.get("driver_branch"))))
            return plan
        if not rules.gpus_with_cc(machine):
            plan.reason("resolve.reason.cc_unknown", source=machine.source)
            plan.hints.append(_hint("cc", t("resolve.hint.gpu_cc")))
            return plan

    candidates: list[Candidate] = []
    for release in pt.releases():
        rkey = version_tuple(release["versions"][-1])
        for row in pt.variants(release):
            name = row["name"]
            if gpu and not row.get("cuda"):
                continue  # never a CPU build on a GPU machine: that is what --no-gpu is for
            if not gpu and (name != "cpu" or plat not in row["platforms"]):
                continue
            if gpu and plat not in row["platforms"] and any(
                    r["name"] == name and plat in r["platforms"] for r in pt.variants(release)):
                continue  # another row of the same variant covers this platform
            versions = [v for v in release["versions"] if not row.get("versions") or v in row["versions"]]
            version = _pick_version(versions, torch_spec)
            if version is None:
                continue
            cand = _candidate(machine, request, specs, release, row, version, plat)
            cand.data["release_key"] = rkey
            candidates.append(cand)

    passing = [c for c in candidates if c.ok]
    if not passing:
        _explain_failure(plan, machine, candidates, gpu, plat)
        if gpu and candidates:
            _conda_only(plan, machine, want, plat, torch_spec, request.cuda)
        return plan

    best_release_key = max(c.data["release_key"] for c in passing)
    same = [c for c in passing if c.data["release_key"] == best_release_key]
    chosen = max(same, key=lambda c: c.rank)
    for c in candidates:
        if c.failures and c.data["release_key"] >= best_release_key:
            reject(plan, c)
    _success(plan, machine, request, specs, chosen, same, plat, gpu)
    plan.hints.extend(hints_from([c for c in candidates if c.failures], newer_than=best_release_key))
    if machine.driver is None and gpu and chosen.cuda:
        floor = compat.runtime_driver_floor(chosen.cuda, rules.machine_os(machine))
        plan.hints.insert(0, _hint("driver", t("resolve.hint.install_driver", floor=floor, candidate=chosen.label)))
    _conda_route(plan, machine, chosen, want, gpu, plat, request.cuda)
    return plan


def _hint(rule: str, text: str):
    from dlsetup.resolve.model import Hint

    return Hint(text=text, rule=rule)


def _machine_rejections(failures):
    from dlsetup.resolve.model import Rejected

    return [Rejected(candidate="torch", rule=f.rule, detail=f.text, source=f.source) for f in failures]


def _candidate(machine: Machine, request: Request, specs: dict[str, Spec], release: dict[str, Any],
               row: dict[str, Any], version: str, plat: str) -> Candidate:
    name = row["name"]
    cuda = row.get("cuda")
    label = f"torch {version}+{name}"
    cand = Candidate(label=label, version=version, variant=name, cuda=cuda)
    cand.data.update(release=release, row=row)
    rel_src = source_text(release)
    f = cand.failures
    lo, hi = pt.python_range(release)
    f += rules.check_python(machine, lo, hi, label, rel_src)
    if plat not in row["platforms"]:
        f.append(rules.Failure("platform", t("resolve.rule.platform", candidate=label, platform=plat), source_text(row)))
    f += rules.check_glibc(machine, pt.manylinux_glibc(release), label, rel_src)
    if cuda:
        f += rules.check_cuda_pin(request.cuda, cuda, label)
        f += rules.check_driver(machine, cuda, label)
        a64 = machine.arch == "aarch64" and machine.os == "linux"
        list_name = row.get("archs_aarch64") if a64 else row.get("archs")
        archs = pt.arch_list_named(list_name)
        arch_row = pt.arch_list_row(list_name)
        arch_failures, served = rules.check_arch(machine, archs, label, source_text(arch_row) if arch_row else "",
                                                 cuda)
        f += arch_failures
        cand.data.update(archs=archs, arch_row=arch_row, served=served)
    elif request.cuda:
        f.append(rules.Failure("cuda_pin", t("resolve.rule.cuda_pin", candidate=label, cuda="-", pin=request.cuda), ""))
    for comp in COMPANIONS:
        if comp in specs:
            cver = pt.companion(release, comp, version)
            if cver is None:
                f.append(rules.Failure("companion", t("resolve.rule.companion", candidate=label, package=comp),
                                       rel_src, {"package": comp}))
            elif not _matches(specs[comp], cver):
                f.append(rules.Failure("spec", t("resolve.rule.companion_spec", candidate=label, package=comp,
                                                 version=cver, spec=specs[comp].specifier), rel_src))
            else:
                cand.data[comp] = cver
    native = rules.native_cuda(machine, cuda)
    cand.data["native"] = native
    # Prefer: stable over experimental, builds whose existence is verified, then the newest CUDA line.
    conf = {"verified": 2, "secondary": 1}.get(row.get("confidence", "verified"), 0)
    cand.rank = (not row.get("experimental", False), conf, version_tuple(cuda or "0"), version_tuple(version))
    return cand


def _success(plan: Plan, machine: Machine, request: Request, specs: dict[str, Spec], chosen: Candidate,
             same: list[Candidate], plat: str, gpu: bool) -> None:
    release = chosen.data["release"]
    row = chosen.data["row"]
    plan.ok = True
    plan.cuda = chosen.cuda
    plan.cudnn = row.get("cudnn")
    form = release.get("index_form", "index-url")
    default = pt.pypi_default(release, plat)
    on_pypi = default == chosen.variant and form != "lts"
    if not gpu and plat == "linux-x86_64" and chosen.variant == "cpu":
        on_pypi = False  # the package-index Linux wheel is the CUDA build; the cpu build is much smaller

    lo, hi = pt.python_range(release)
    plan.reason("resolve.reason.torch_newest", release, version=chosen.version, variant=chosen.variant)
    plan.reason("resolve.reason.python_ok", release, python=machine.python, framework="torch", line=release["line"],
                lo=lo, hi=hi)
    if chosen.cuda:
        floor_row = compat.runtime_driver_floor_row(chosen.cuda, rules.machine_os(machine))
        floor = compat.runtime_driver_floor(chosen.cuda, rules.machine_os(machine))
        if machine.driver:
            plan.reason("resolve.reason.driver_ok", floor_row, variant=chosen.variant, cuda=chosen.cuda, floor=floor,
                        driver=machine.driver)
        else:
            plan.reason("resolve.reason.driver_needed", floor_row, variant=chosen.variant, cuda=chosen.cuda, floor=floor)
        arch_row = chosen.data.get("arch_row")
        archs = chosen.data.get("archs") or []
        gpus = rules.gpus_with_cc(machine)
        kernel_reasons(plan, gpus, chosen.data.get("served", {}), arch_row, chosen.variant, archs)
        if plan.cudnn:
            plan.reason("resolve.reason.cudnn", row, cudnn=plan.cudnn, variant=chosen.variant)
        if machine.driver and not chosen.data.get("native"):
            plan.reason("resolve.reason.minor_compat", floor_row, variant=chosen.variant, cuda=chosen.cuda,
                        have=machine.cuda_driver or "?")
        for other in sorted((c for c in same if c is not chosen and c.ok and c.cuda
                             and version_tuple(c.cuda) > version_tuple(chosen.cuda)), key=lambda c: version_tuple(c.cuda)):
            plan.reason("resolve.reason.variant_over", row, variant=chosen.variant, other=other.variant,
                        why=_why_not(machine, chosen, other))
        lower = sorted({c.variant for c in same if c.ok and c.cuda and version_tuple(c.cuda) < version_tuple(chosen.cuda)},
                       key=version_tuple)
        if lower:
            plan.reason("resolve.reason.variant_others", row, variant=chosen.variant, others=", ".join(lower))
        if row.get("experimental"):
            plan.warnings.append(t("resolve.warn.experimental", variant=chosen.variant))
    else:
        plan.reason("resolve.reason.cpu_build", release, version=chosen.version)

    # where the wheels come from
    base = pt.index_base()
    if on_pypi:
        index_url, kind = None, "default"
        plan.reason("resolve.reason.index_default", release, variant=chosen.variant, platform=plat)
    else:
        index_url = pt.index_url(release, chosen.variant, base)
        kind = {"find-links": "find-links", "extra-index-url": "extra-index-url", "lts": "extra-index-url"}.get(
            form, "index-url")
        plan.reason("resolve.reason.index_torch", release, variant=chosen.variant, platform=plat,
                    default=default or "-", url=index_url)
        mirror = _mirror_source(chosen.variant)
        if mirror and form == "index-url":
            index_url = mirror["url"]
            kind = "index-url" if mirror.get("layout") == "simple" else "find-links"
            plan.reason("resolve.reason.index_mirror", source="dlsetup mirror", mirror=mirror.get("mirror", "?"),
                        url=index_url, variant=chosen.variant)
    local = kind in ("find-links", "extra-index-url") and form != "lts"
    reqs = []
    names = ["torch"] + [c for c in COMPANIONS if c in specs]
    for name in names:
        ver = chosen.version if name == "torch" else chosen.data[name]
        tag = f"+{chosen.variant}" if local and not (name == "torchaudio" and form != "index-url") else ""
        if name == "torchaudio" and not version_tuple(ver) >= (2, 0, 0) and tag:
            tag = ""  # torchaudio 0.x wheels on the old pages carry no local tag
        req = f"{name}=={ver}{tag}"
        reqs.append(req)
        plan.packages.append(Package(name=name, version=ver, variant=chosen.variant, index_url=index_url,
                                     requirement=req, index_kind=kind))
        if name != "torch":
            plan.reason("resolve.reason.companion", release, package=name, version=ver, torch=chosen.version)
    plan.groups.append(InstallGroup(requirements=reqs, index_url=index_url, index_kind=kind))
    if release.get("note"):
        plan.reason("resolve.reason.release_note", release, line=release["line"], note=release["note"])


def _state_dir():
    """dlsetup's state directory without importing platformdirs on Linux (same answer as paths.state_dir)."""
    import os
    import sys
    from pathlib import Path

    override = os.environ.get("DLSETUP_STATE_DIR")
    if override:
        return Path(override)
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_STATE_HOME", "").strip() or os.path.expanduser("~/.local/state")
        return Path(base) / "dlsetup"
    from dlsetup.paths import state_dir

    return state_dir()


def _mirror_source(variant: str) -> dict[str, str] | None:
    """Where the mirror the user applied with ``dlsetup mirror`` serves ``variant`` (None: no such mirror)."""
    # No journal, no applied mirror: skip importing the mirror layer (it costs more than resolving).
    if not (_state_dir() / "mirror" / "journal").is_dir():
        return None
    try:
        from dlsetup.mirror.api import torch_wheel_source
    except ImportError:
        return None
    try:
        return torch_wheel_source(variant)
    except Exception:  # a broken mirror journal must not break resolve
        return None


def _explain_failure(plan: Plan, machine: Machine, candidates: list[Candidate], gpu: bool, plat: str) -> None:
    for c in candidates:
        reject(plan, c)
    if not candidates:
        plan.reason("resolve.reason.no_candidates", source="dlsetup/compat/data/pytorch.toml", framework="torch",
                    platform=plat)
        return
    plan.hints.extend(hints_from(candidates))
    rules_seen = {f.rule for c in candidates for f in c.failures}
    if rules_seen == {"arch"} or (gpu and all(any(f.rule == "arch" for f in c.failures) for c in candidates)):
        gpus = ", ".join(f"{g.label()} (sm_{g.cc.replace('.', '')})" for g in rules.gpus_with_cc(machine))
        plan.reason("resolve.reason.no_kernels", source="dlsetup/compat/data/pytorch.toml", gpus=gpus)
    if gpu:
        plan.hints.append(_hint("no_gpu", t("resolve.hint.no_gpu")))


def _conda_route(plan: Plan, machine: Machine, chosen: Candidate, want: list[str], gpu: bool, plat: str,
                 pin: str | None = None) -> None:
    """conda-forge `pytorch` (CUDA builds keyed on the __cuda virtual package), when a build fits."""
    if not gpu:
        specs = [f"pytorch={chosen.version}"] + [n for n in want if n != "torch"]
        if pt.conda_forge_builds(chosen.version) is None:
            plan.conda_note = t("resolve.conda.none_version", version=chosen.version)
            return
        plan.conda = CondaRoute(channel="conda-forge", specs=specs)
        return
    best = None
    for row in sorted(pt.conda_forge_rows(), key=lambda r: version_tuple(r["versions"][-1]), reverse=True):
        for version in sorted(row["versions"], key=version_tuple, reverse=True):
            if version_tuple(version) > version_tuple(chosen.version):
                continue
            for cuda in sorted(row["cuda"].get(plat, []), key=version_tuple, reverse=True):
                archs = row["archs"].get(cuda)
                if (rules.check_cuda_pin(pin, cuda, "x") or rules.check_driver(machine, cuda, "x")
                        or rules.check_arch(machine, archs, "x", "", cuda)[0]):
                    continue
                best = (version, cuda, row)
                break
            if best:
                break
        if best:
            break
    if best is None:
        plan.conda_note = t("resolve.conda.none_fits")
        return
    version, cuda, row = best
    specs = [f"pytorch={version}=cuda*", f"cuda-version={cuda}"] + [n for n in want if n != "torch"]
    plan.conda = CondaRoute(channel="conda-forge", specs=specs, needs_cuda=cuda.split(".")[0])
    key = "resolve.reason.conda_same" if version == chosen.version else "resolve.reason.conda_older"
    plan.reason(key, row, version=version, cuda=cuda, chosen=chosen.version)


def _conda_only(plan: Plan, machine: Machine, want: list[str], plat: str, spec: Spec | None,
                pin: str | None) -> None:
    """No pip wheel fits, but a conda-forge build may (it targets more architectures than the wheels)."""
    for row in sorted(pt.conda_forge_rows(), key=lambda r: version_tuple(r["versions"][-1]), reverse=True):
        for version in sorted(row["versions"], key=version_tuple, reverse=True):
            if not _matches(spec, version):
                continue
            for cuda in sorted(row["cuda"].get(plat, []), key=version_tuple, reverse=True):
                if (rules.check_cuda_pin(pin, cuda, "x") or rules.check_driver(machine, cuda, "x")
                        or rules.check_arch(machine, row["archs"].get(cuda), "x", "", cuda)[0]):
                    continue
                plan.ok = True
                plan.cuda = cuda
                specs = [f"pytorch={version}=cuda*", f"cuda-version={cuda}"] + [n for n in want if n != "torch"]
                plan.conda = CondaRoute(channel="conda-forge", specs=specs, needs_cuda=cuda.split(".")[0])
                plan.packages.append(Package(name="pytorch", version=version, variant=f"conda-forge cuda{cuda}",
                                             index_url="conda-forge", requirement=f"pytorch={version}=cuda*",
                                             index_kind="conda"))
                plan.reason("resolve.reason.conda_only", row, version=version, cuda=cuda,
                            archs=" ".join(row["archs"].get(cuda, [])))
                plan.hints = [h for h in plan.hints if h.rule != "no_gpu"]
                return


def _why_not(machine: Machine, chosen: Candidate, other: Candidate) -> str:
    """Why ``other`` (a newer CUDA line that also fits) ranked below ``chosen``."""
    if other.data["row"].get("experimental") and not chosen.data["row"].get("experimental"):
        return t("resolve.why.experimental", other=other.variant)
    conf = other.data["row"].get("confidence", "verified")
    return t("resolve.why.confidence", other=other.variant, confidence=t(f"resolve.confidence.{conf}"))
