"""Resolve TensorFlow: the newest release whose CUDA the driver runs and whose kernels serve every GPU."""

from __future__ import annotations

from typing import Any

from dlsetup.compat.tables import load, rows, source_text, version_tuple
from dlsetup.i18n import t
from dlsetup.resolve import rules, wheels
from dlsetup.resolve.model import Machine, Package, Request, Spec
from dlsetup.resolve.plan import (
    Candidate,
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


def releases() -> list[dict[str, Any]]:
    return sorted(rows("tensorflow", "release"), key=lambda r: version_tuple(r["versions"][-1]), reverse=True)


def arch_list(name: str) -> tuple[list[str] | None, dict[str, Any] | None]:
    row = load("tensorflow").get("arch_list", {}).get(name)
    return (list(row["archs"]) if row else None), row


def python_range(release: dict[str, Any], version: str) -> tuple[str, str]:
    """The Python range of one TF version: patch releases that dropped a Python (2.11.1 has no cp37 wheels) say so
    in the release row's ``python_by_version``."""
    lo, hi = release.get("python_by_version", {}).get(version) or release["python"]
    return lo, hi


def _python_ok(machine: Machine, release: dict[str, Any], version: str) -> bool:
    lo, hi = python_range(release, version)
    return version_tuple(lo) <= version_tuple(machine.python)[:2] <= version_tuple(hi)


def resolve_tensorflow(machine: Machine, request: Request, specs: dict[str, Spec]) -> Plan:
    plan = Plan(family="tensorflow")
    spec = specs.get("tensorflow")
    gpu = machine.gpu_machine
    if gpu and machine_blocked(plan, machine, "TensorFlow", "tensorflow"):
        return plan
    candidates: list[Candidate] = []
    for release in releases():
        matching = [v for v in sorted(release["versions"], key=version_tuple, reverse=True) if spec_matches(spec, v)]
        if not matching:
            continue
        # the newest patch with wheels for this Python (else the newest, which the Python rule then rejects)
        version = next((v for v in matching if _python_ok(machine, release, v)), matching[0])
        cand = _candidate(machine, request, release, version, gpu)
        cand.data["release_key"] = version_tuple(version)
        candidates.append(cand)
    passing = [c for c in candidates if c.ok]
    if not passing:
        for c in candidates:
            reject(plan, c)
        plan.hints.extend(hints_from(candidates))
        if gpu:
            plan.hints.append(_hint(t("resolve.hint.no_gpu")))
        if not candidates:
            plan.reason("resolve.reason.no_candidates", source="dlsetup/compat/data/tensorflow.toml", framework="tensorflow",
                        platform=f"{machine.os}-{machine.arch}")
        return plan
    chosen = passing[0]
    for c in candidates:
        if c is chosen:
            break
        reject(plan, c)
    plan.hints.extend(hints_from([c for c in candidates if c.failures], newer_than=chosen.data["release_key"]))
    _success(plan, machine, chosen, gpu)
    return plan


def _hint(text: str):
    from dlsetup.resolve.model import Hint

    return Hint(text=text, rule="no_gpu")


def _candidate(machine: Machine, request: Request, release: dict[str, Any], version: str, gpu: bool) -> Candidate:
    linux = machine.os == "linux"
    and_cuda = bool(release.get("and_cuda")) and linux and gpu
    variant = "and-cuda" if and_cuda else ("system-cuda" if gpu else "cpu")
    cuda = (release.get("and_cuda_cuda") if and_cuda else release.get("cuda")) if gpu else None
    label = f"tensorflow {version}" + (f" (CUDA {cuda})" if cuda else "")
    cand = Candidate(label=label, version=version, variant=variant, cuda=cuda)
    cand.data.update(release=release, and_cuda=and_cuda)
    src = source_text(release)
    f = cand.failures
    lo, hi = python_range(release, version)
    if not wheels.covers(machine, "tensorflow", version):  # else the index's wheels per platform decide (below)
        f += rules.check_python(machine, lo, hi, label, src)
    if machine.os == "macos" or (machine.arch != "x86_64" and gpu):
        if gpu:
            f.append(rules.Failure("platform", t("resolve.rule.platform", candidate=label,
                                                 platform=f"{machine.os}-{machine.arch}"), src))
    if gpu:
        if machine.os == "windows" and not release.get("windows_gpu"):
            f.append(rules.Failure("os", t("resolve.rule.tf_windows", candidate=label), src, {"os": "wsl2"}))
        f += rules.check_glibc(machine, release.get("glibc"), label, src)
        f += rules.check_cuda_pin(request.cuda, cuda, label)
        f += rules.check_driver(machine, cuda, label)
        archs, arch_row = arch_list(release["archs"])
        arch_failures, served = rules.check_arch(machine, archs, label, source_text(arch_row) if arch_row else "",
                                                 cuda)
        f += arch_failures
        # [and-cuda] installs cuDNN by pip (2.20+ with an open range: the newest 9.x); before 2.14 the user brings it
        cudnn = release.get("and_cuda_cudnn") if and_cuda else release.get("cudnn")
        cudnn_failures, pin = rules.check_cudnn(machine, cudnn, label,
                                                release.get("and_cuda_cudnn_package") if and_cuda else None)
        f += [] if arch_failures else cudnn_failures
        cand.data.update(archs=archs, arch_row=arch_row, served=served, cudnn_pin=pin)
    else:
        f += rules.check_glibc(machine, release.get("glibc"), label, src)
    wheel_failures = wheels.check(machine, f"tensorflow{'[and-cuda]' if and_cuda else ''}=={version}", label)
    wheels.merge(f, wheel_failures)
    return cand


def _success(plan: Plan, machine: Machine, chosen: Candidate, gpu: bool) -> None:
    from dlsetup import compat

    release = chosen.data["release"]
    plan.ok = True
    plan.cuda = chosen.cuda
    and_cuda = chosen.data["and_cuda"]
    plan.cudnn = (release.get("and_cuda_cudnn") if and_cuda else release.get("cudnn")) if gpu else None
    lo, hi = python_range(release, chosen.version)
    plan.reason("resolve.reason.tf_newest", release, version=chosen.version)
    plan.reason("resolve.reason.python_ok", release, python=machine.python, framework="tensorflow",
                line=release["line"], lo=lo, hi=hi)
    if gpu:
        floor_row = compat.runtime_driver_floor_row(chosen.cuda, rules.machine_os(machine))
        floor = compat.runtime_driver_floor(chosen.cuda, rules.machine_os(machine))
        if machine.driver:
            plan.reason("resolve.reason.driver_ok", floor_row, variant=f"TF {chosen.version}", cuda=chosen.cuda,
                        floor=floor, driver=machine.driver)
        else:
            plan.reason("resolve.reason.driver_needed", floor_row, variant=f"TF {chosen.version}", cuda=chosen.cuda,
                        floor=floor)
            plan.hints.insert(0, _hint_driver(floor, chosen.label))
        gpus = rules.gpus_with_cc(machine)
        archs = chosen.data.get("archs") or []
        kernel_reasons(plan, gpus, chosen.data.get("served", {}), chosen.data.get("arch_row"), f"TF {chosen.version}",
                       archs)
        if and_cuda:
            req = f"tensorflow[and-cuda]=={chosen.version}"
            plan.reason("resolve.reason.tf_and_cuda", release, cuda=chosen.cuda, cudnn=plan.cudnn)
            today = and_cuda_today(chosen.version)
            if today:  # 2.20+: floors only, pip takes the newest CUDA 12 / cuDNN 9 wheels there are
                plan.cuda = today["cuda_line"]
                plan.reason("resolve.reason.tf_and_cuda_floor", source=today["source"], version=chosen.version,
                            floor=chosen.cuda, cuda=today["cuda"], cudnn=today["cudnn"])
        else:
            req = f"tensorflow=={chosen.version}"
            plan.reason("resolve.reason.tf_system_cuda", release, cuda=chosen.cuda, cudnn=plan.cudnn)
            plan.warnings.append(t("resolve.warn.tf_system_cuda", cuda=chosen.cuda, cudnn=plan.cudnn))
    else:
        req = f"tensorflow=={chosen.version}"
        plan.reason("resolve.reason.tf_cpu", release, version=chosen.version)
    if release.get("note"):
        plan.reason("resolve.reason.release_note", release, line=release["line"], note=note_text(release))
    plan.packages.append(Package(name="tensorflow", version=chosen.version, variant=chosen.variant, index_url=None,
                                 requirement=req, index_kind="default"))
    reqs = [req]
    cudnn_pin(plan, chosen.data.get("cudnn_pin"), reqs)
    plan.groups.append(InstallGroup(requirements=reqs))
    plan.conda_note = t("resolve.conda.tf_none")


def and_cuda_today(version: str) -> dict[str, str] | None:
    """What ``pip install tensorflow[and-cuda]==VERSION`` installs today when the extra sets only floors (2.20+):
    the newest CUDA runtime and cuDNN wheels the generated data knows within the extra's ranges. None when the
    extra pins exact versions (then the hand-kept CUDA is what gets installed) or the data does not cover it."""
    from dlsetup.compat import generated as gen

    row = gen.release("tensorflow", version)
    pins = (gen.meta_for(row, "linux-x86_64") or {}).get("pins") if row else None
    if not pins or "cuda" not in pins or "==" in pins["cuda"]:
        return None
    out = {"source": f"{(gen.project('tensorflow') or {}).get('index', '')} "
                     f"({gen.meta_for(row, 'linux-x86_64').get('file', '')})"}
    for key in ("cuda", "cudnn"):
        spec = pins.get(key, "")
        name = spec.split("<", 1)[0].split(">", 1)[0].split("=", 1)[0].split("~", 1)[0].split("!", 1)[0]
        versions = [v for v, r in gen.releases(name).items()
                    if not r.get("yanked") and gen.spec_contains(spec[len(name):], v)]
        if not versions:
            return None
        out[key] = max(versions, key=version_tuple)
    out["cuda_line"] = ".".join(out["cuda"].split(".")[:2])
    return out


def _hint_driver(floor: str | None, label: str):
    from dlsetup.resolve.model import Hint

    return Hint(text=t("resolve.hint.install_driver", floor=floor, candidate=label), rule="driver")
