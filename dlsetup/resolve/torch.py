"""Resolve torch (with torchvision / torchaudio on the same version line and variant)."""

from __future__ import annotations

from typing import Any

from dlsetup import compat
from dlsetup.compat import pytorch as pt
from dlsetup.compat.tables import source_text, version_tuple
from dlsetup.i18n import t
from dlsetup.resolve import rules, wheels
from dlsetup.resolve.model import Machine, Package, Request, Spec
from dlsetup.resolve.plan import (
    Candidate,
    CondaRoute,
    InstallGroup,
    Plan,
    cudnn_pin,
    hints_from,
    kernel_reasons,
    machine_blocked,
    note_text,
    reject,
)
from dlsetup.resolve.specs import spec_matches

COMPANIONS = ("torchvision", "torchaudio")


def _matches(spec: Spec | None, version: str) -> bool:
    return spec_matches(spec, version)


def _pick_version(candidates: list[str], spec: Spec | None, variant: str | None = None) -> str | None:
    """The newest version the spec admits. Matched with the build's local tag (``2.6.0+cu124``), as pip does, so
    ``torch==2.6.0+cu124`` from a course note picks that build and ``torch==2.6.0`` any build of 2.6.0."""
    for v in sorted(candidates, key=version_tuple, reverse=True):
        if _matches(spec, f"{v}+{variant}" if variant else v):
            return v
    return None


def resolve_torch(machine: Machine, request: Request, specs: dict[str, Spec]) -> Plan:
    plan = Plan(family="torch")
    plat = pt.platform_key(machine.os, machine.arch)
    want = [n for n in ("torch",) + COMPANIONS if n in specs or n == "torch"]
    torch_spec = specs.get("torch")
    gpu = machine.gpu_machine

    if gpu and machine_blocked(plan, machine, "PyTorch", "torch"):
        return plan
    accel = rules.other_accelerator(machine)  # "rocm" / "xpu": an AMD or Intel GPU PyTorch has builds for

    candidates: list[Candidate] = []
    for release in pt.releases():
        rkey = version_tuple(release["versions"][-1])
        for row in pt.variants(release):
            name = row["name"]
            if gpu and not row.get("cuda"):
                continue  # never a CPU build on a GPU machine: that is what --no-gpu is for
            if not gpu and (name != "cpu" or plat not in row["platforms"]) and not (
                    accel and name.startswith(accel) and plat in row["platforms"]):
                continue
            if gpu and plat not in row["platforms"] and any(
                    r["name"] == name and plat in r["platforms"] for r in pt.variants(release)):
                continue  # another row of the same variant covers this platform
            versions = [v for v in release["versions"] if not row.get("versions") or v in row["versions"]]
            version = _pick_version(versions, torch_spec, name)
            if version is None:
                continue
            cand = _candidate(machine, request, specs, release, row, version, plat)
            cand.data["release_key"] = rkey
            candidates.append(cand)

    passing = [c for c in candidates if c.ok]
    if accel and any(c.variant.startswith(accel) for c in passing):
        passing = [c for c in passing if c.variant.startswith(accel)]  # the GPU build, not the CPU one
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


def _candidate(machine: Machine, request: Request, specs: dict[str, Spec], release: dict[str, Any],
               row: dict[str, Any], version: str, plat: str) -> Candidate:
    name = row["name"]
    cuda = row.get("cuda")
    label = f"torch {version}+{name}"
    cand = Candidate(label=label, version=version, variant=name, cuda=cuda)
    cand.data.update(release=release, row=row)
    rel_src = source_text(release)
    f = cand.failures
    lo, hi = pt.python_range(release, version)
    if not wheels.covers(machine, "torch", version):  # else the index's wheels per platform decide (below)
        f += rules.check_python(machine, lo, hi, label, rel_src)
    if plat not in row["platforms"]:
        f.append(rules.Failure("platform", t("resolve.rule.platform", candidate=label, platform=plat), source_text(row)))
    f += rules.check_glibc(machine, pt.manylinux_glibc(release, row, plat), label,
                           source_text(row) if row.get("glibc") else rel_src)
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
        if not arch_failures:  # wheels pin cuDNN exactly: nothing to pin, only to check
            f += rules.check_cudnn(machine, row.get("cudnn"), label)[0]
        cand.data.update(archs=archs, arch_row=arch_row, served=served)
    elif request.cuda:
        f.append(rules.Failure("cuda_pin", t("resolve.rule.cuda_pin", candidate=label, cuda="-", pin=request.cuda), ""))
    for comp in COMPANIONS:
        if comp in specs:
            cver = pt.companion(release, comp, version, name)
            if cver is None:
                f.append(rules.Failure("companion", t("resolve.rule.companion", candidate=label, package=comp),
                                       rel_src, {"package": comp}))
            elif not (_matches(specs[comp], cver) or _matches(specs[comp], f"{cver}+{name}")):
                f.append(rules.Failure("spec", t("resolve.rule.companion_spec", candidate=label, package=comp,
                                                 version=cver, spec=specs[comp].specifier), rel_src))
            else:
                f += _companion_build_failures(machine, cand, comp, cver, name, label)
                cand.data[comp] = cver
    on_pypi = _on_pypi(release, name, plat, bool(cuda))
    cand.data["on_pypi"] = on_pypi
    # Every wheel of the answer must exist for this OS, arch, Python and glibc (the index's own files; a
    # vendor-index build is judged by the index builds' Python x platform matrix of the same release).
    wheel_failures = wheels.check(machine, f"torch=={version}", label, proxy=not on_pypi)
    for comp in COMPANIONS:
        if comp in cand.data and not wheel_failures:
            wheel_failures += wheels.check(machine, f"{comp}=={cand.data[comp]}", label, proxy=not on_pypi)
    wheels.merge(f, wheel_failures)
    native = rules.native_cuda(machine, cuda)
    cand.data["native"] = native
    # Prefer: stable over experimental, the package index's own build (no second index) when it serves the GPU,
    # builds whose existence is verified, then the newest CUDA line.
    confs = [row.get("confidence", "verified")] + [b.get("confidence", "verified")
                                                   for b in cand.data.get("companion_builds", {}).values()]
    conf = min({"verified": 2, "secondary": 1}.get(c, 0) for c in confs)
    line = cuda or (name.removeprefix("rocm") if name.startswith("rocm") else "0")  # the newest ROCm, too
    cand.rank = (not row.get("experimental", False), on_pypi, conf, version_tuple(line), version_tuple(version))
    return cand


def _on_pypi(release: dict[str, Any], variant: str, plat: str, gpu_build: bool) -> bool:
    """True when ``variant`` of ``release`` is the build the package index itself serves on ``plat``."""
    if release.get("index_form") == "lts" or pt.pypi_default(release, plat) != variant:
        return False
    # The package-index Linux x86_64 wheel is the CUDA build: a CPU answer there comes from the PyTorch index.
    return not (plat == "linux-x86_64" and not gpu_build)


def _companion_build_failures(machine: Machine, cand: Candidate, package: str, version: str, variant: str,
                              label: str) -> list[rules.Failure]:
    """A companion that serves several torch releases (torchaudio 2.11.0, stable ABI) exists only for some variants
    and Pythons: torch of another variant (cu132) cannot use it."""
    build, restricted = pt.companion_build_for(package, version, variant)
    if not restricted:
        return []
    if build is None:
        others = sorted({v for r in pt.companion_builds(package, version) for v in r["variants"]})
        src = "; ".join(dict.fromkeys(part for r in pt.companion_builds(package, version)
                                      for part in source_text(r).split("; ")))
        return [rules.Failure("companion", t("resolve.rule.companion_variant", candidate=label, package=package,
                                             version=version, variant=variant, variants=", ".join(others)),
                              src, {"package": package})]
    cand.data.setdefault("companion_builds", {})[package] = build
    lo, hi = build["python"]
    py = version_tuple(machine.python)[:2]
    if not version_tuple(lo) <= py <= version_tuple(hi):
        target = hi if py > version_tuple(hi) else lo
        return [rules.Failure("python", t("resolve.rule.companion_python", candidate=label, package=package,
                                          version=version, lo=lo, hi=hi, python=machine.python),
                              source_text(build), {"python": target})]
    return []


def _success(plan: Plan, machine: Machine, request: Request, specs: dict[str, Spec], chosen: Candidate,
             same: list[Candidate], plat: str, gpu: bool) -> None:
    release = chosen.data["release"]
    row = chosen.data["row"]
    plan.ok = True
    plan.cuda = chosen.cuda
    plan.cudnn = row.get("cudnn")
    form = release.get("index_form", "index-url")
    default = pt.pypi_default(release, plat)
    on_pypi = chosen.data["on_pypi"]

    lo, hi = pt.python_range(release, chosen.version)
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
    elif chosen.variant.startswith(("rocm", "xpu")):
        rules.accelerator_reasons(plan, machine, release, chosen.version, chosen.variant)
    elif machine.os == "macos" and machine.arch == "aarch64":
        plan.reason("hw.reason.mps", release, version=chosen.version)
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
        mirror = request.wheel_source(chosen.variant) if request.wheel_source else None
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
            build = chosen.data.get("companion_builds", {}).get(name)
            if build is not None:
                plan.reason("resolve.reason.companion_abi", build, package=name, version=ver, torch=chosen.version,
                            variant=chosen.variant)
            else:
                plan.reason("resolve.reason.companion", release, package=name, version=ver, torch=chosen.version)
    plan.groups.append(InstallGroup(requirements=reqs, index_url=index_url, index_kind=kind))
    if release.get("note"):
        plan.reason("resolve.reason.release_note", release, line=release["line"], note=note_text(release))


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
    best = _conda_fit(machine, plat, pin, lambda v: version_tuple(v) <= version_tuple(chosen.version))
    if best is None:
        plan.conda_note = t("resolve.conda.none_fits")
        return
    version, cuda, row = best
    specs = _conda_specs(plan, machine, version, cuda, want)
    plan.conda = CondaRoute(channel="conda-forge", specs=specs, needs_cuda=cuda.split(".")[0])
    key = "resolve.reason.conda_same" if version == chosen.version else "resolve.reason.conda_older"
    plan.reason(key, row, version=version, cuda=cuda, chosen=chosen.version)


def _conda_only(plan: Plan, machine: Machine, want: list[str], plat: str, spec: Spec | None,
                pin: str | None) -> None:
    """No pip wheel fits, but a conda-forge build may (it targets more architectures than the wheels)."""
    best = _conda_fit(machine, plat, pin, lambda v: _matches(spec, v))
    if best is None:
        return
    version, cuda, row = best
    plan.ok = True
    plan.cuda = cuda
    specs = _conda_specs(plan, machine, version, cuda, want)
    plan.conda = CondaRoute(channel="conda-forge", specs=specs, needs_cuda=cuda.split(".")[0])
    plan.packages.append(Package(name="pytorch", version=version, variant=f"conda-forge cuda{cuda}",
                                 index_url="conda-forge", requirement=f"pytorch={version}=cuda*",
                                 index_kind="conda"))
    plan.reason("resolve.reason.conda_only", row, version=version, cuda=cuda,
                archs=" ".join(row["archs"].get(cuda, [])))
    plan.hints = [h for h in plan.hints if h.rule != "no_gpu"]


def _conda_specs(plan: Plan, machine: Machine, version: str, cuda: str, want: list[str]) -> list[str]:
    """``pytorch=V=cuda*``, ``cuda-version=X.Y``, the companions, and a cudnn pin for pre-Turing GPUs
    (conda-forge's pytorch accepts any cudnn 9.x and the solver takes the newest)."""
    specs = [f"pytorch={version}=cuda*", f"cuda-version={cuda}"] + [n for n in want if n != "torch"]
    cudnn_pin(plan, rules.check_cudnn(machine, "9", "conda-forge pytorch", package="cudnn")[1], specs)
    return specs


def _conda_fit(machine: Machine, plat: str, pin: str | None, version_ok) -> tuple[str, str, dict[str, Any]] | None:
    """The newest conda-forge ``(version, cuda, row)`` whose CUDA the driver runs, whose kernels serve every GPU,
    and whose torch release supports the machine's Python (conda-forge builds no Python the release lacks)."""
    for row in sorted(pt.conda_forge_rows(), key=lambda r: version_tuple(r["versions"][-1]), reverse=True):
        for version in sorted(row["versions"], key=version_tuple, reverse=True):
            if not version_ok(version):
                continue
            release = pt.release_for_version(version)
            if release is None or not pt.python_supported(release, machine.python):
                continue
            for cuda in sorted(row["cuda"].get(plat, []), key=version_tuple, reverse=True):
                if (rules.check_cuda_pin(pin, cuda, "x") or rules.check_driver(machine, cuda, "x")
                        or rules.check_arch(machine, row["archs"].get(cuda), "x", "", cuda)[0]
                        or rules.check_glibc(machine, row.get("glibc", {}).get(cuda), "x", "")):
                    continue
                return version, cuda, row
    return None


def _why_not(machine: Machine, chosen: Candidate, other: Candidate) -> str:
    """Why ``other`` (a newer CUDA line that also fits) ranked below ``chosen``."""
    if other.data["row"].get("experimental") and not chosen.data["row"].get("experimental"):
        return t("resolve.why.experimental", other=other.variant)
    conf = other.data["row"].get("confidence", "verified")
    if conf == "verified":  # the companion build (torchaudio) is the less certain part
        confs = [b.get("confidence", "verified") for b in other.data.get("companion_builds", {}).values()]
        conf = "unverified" if "unverified" in confs else "secondary"
    return t(f"resolve.why.{conf}", other=other.variant)
