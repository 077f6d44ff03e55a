"""JAX, PaddlePaddle and ONNX Runtime: one data-driven resolver over jax.toml / paddle.toml / onnxruntime.toml.

Same rules as torch: Python, platform (native Windows GPU -> the WSL2 hint), --cuda pin, driver
(minor-version compatibility), kernels for every GPU. Newest release first, then builds whose
existence is verified, then the newest CUDA line.
"""

from __future__ import annotations

from typing import Any

from dlsetup import compat
from dlsetup.compat.pytorch import platform_key
from dlsetup.compat.tables import load, rows, source_text, version_tuple
from dlsetup.i18n import t
from dlsetup.resolve import rules, wheels
from dlsetup.resolve.model import Hint, Machine, Package, Request, Spec
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

TABLES = {"jax": "jax", "paddlepaddle": "paddle", "onnxruntime": "onnxruntime", "mindspore": "mindspore"}


def resolve_tier2(family: str, machine: Machine, request: Request, specs: dict[str, Spec]) -> Plan:
    table = TABLES[family]
    plan = Plan(family=family)
    spec = specs.get(family)
    gpu = machine.gpu_machine
    plat = platform_key(machine.os, machine.arch)
    if gpu and machine_blocked(plan, machine, family, load(table)["package"]["name"]):
        return plan
    releases = sorted(rows(table, "release"), key=lambda r: version_tuple(r["versions"][-1]), reverse=True)
    by_line: dict[str, list[dict[str, Any]]] = {}
    for v in rows(table, "variant"):
        by_line.setdefault(v["line"], []).append(v)
    candidates: list[Candidate] = []
    for release in releases:
        line_rows = by_line.get(release["line"], [])
        for row in line_rows:
            is_gpu = bool(row.get("cuda"))
            if gpu != is_gpu:
                continue
            if not gpu and plat not in row["platforms"]:
                continue
            # A row may cover only some releases of its line (`versions`): the newest the spec admits.
            allowed = [v for v in release["versions"] if not row.get("versions") or v in row["versions"]]
            version = next((v for v in sorted(allowed, key=version_tuple, reverse=True) if spec_matches(spec, v)), None)
            if version is None:
                continue
            if gpu and plat not in row["platforms"] and any(
                    r is not row and r["name"] == row["name"] and plat in r["platforms"]
                    and (not r.get("versions") or version in r["versions"]) for r in line_rows):
                continue  # another row of the same build covers this platform and version (ORT aarch64 from 1.29)
            cand = _candidate(table, machine, request, release, row, version, plat)
            cand.data["release_key"] = version_tuple(version)
            candidates.append(cand)
    passing = [c for c in candidates if c.ok]
    if not passing:
        for c in candidates:
            reject(plan, c)
        plan.hints.extend(hints_from(candidates))
        if gpu:
            plan.hints.append(Hint(text=t("resolve.hint.no_gpu"), rule="no_gpu"))
        if not candidates:
            plan.reason("resolve.reason.no_candidates", source=f"dlsetup/compat/data/{table}.toml", framework=family,
                        platform=plat)
        return plan
    top = max(c.data["release_key"] for c in passing)
    chosen = max((c for c in passing if c.data["release_key"] == top), key=lambda c: c.rank)
    for c in candidates:
        if c.failures and c.data["release_key"] >= top:
            reject(plan, c)
    plan.hints.extend(hints_from([c for c in candidates if c.failures], newer_than=top))
    _success(plan, table, machine, chosen, gpu)
    return plan


def _candidate(table: str, machine: Machine, request: Request, release: dict[str, Any], row: dict[str, Any],
               version: str, plat: str) -> Candidate:
    name = load(table)["package"]["name"]
    cuda = row.get("cuda")
    label = f"{name} {version}" + (f" ({row['name']})" if cuda else "")
    cand = Candidate(label=label, version=version, variant=row["name"], cuda=cuda)
    cand.data.update(release=release, row=row)
    src = source_text(release)
    f = cand.failures
    lo, hi = (release.get("python_by_version") or {}).get(version) or release["python"]
    req = wheels.parse(row["requirement"].format(version=version))
    if row.get("index_url") or req is None or not wheels.covers(machine, req[0], version):
        f += rules.check_python(machine, lo, hi, label, src)  # else the index's wheels decide (below)
    f += rules.check_glibc(machine, row.get("glibc"), label, source_text(row))
    if plat not in row["platforms"]:
        if plat.startswith("windows") and "linux-x86_64" in row["platforms"]:
            f.append(rules.Failure("os", t("resolve.rule.no_windows_gpu", candidate=label), source_text(row), {"os": "wsl2"}))
        else:
            f.append(rules.Failure("platform", t("resolve.rule.platform", candidate=label, platform=plat), source_text(row)))
    if cuda:
        f += rules.check_cuda_pin(request.cuda, cuda, label)
        f += rules.check_driver(machine, cuda, label)
        arch_row = load(table).get("arch_list", {}).get(row.get("archs", ""))
        archs = list(arch_row["archs"]) if arch_row else None
        arch_failures, served = rules.check_arch(machine, archs, label, source_text(arch_row) if arch_row else "", cuda)
        f += arch_failures
        cudnn_failures, pin = rules.check_cudnn(machine, row.get("cudnn"), label, row.get("cudnn_package"))
        f += [] if arch_failures else cudnn_failures
        cand.data.update(archs=archs, arch_row=arch_row, served=served, cudnn_pin=pin)
    if not row.get("index_url"):
        # The package index's own wheels (and the plugins an extra pins) must exist for this machine.
        wheel_failures = wheels.check(machine, row["requirement"].format(version=version), label)
        wheels.merge(f, wheel_failures)
    native = rules.native_cuda(machine, cuda)
    cand.data["native"] = native
    conf = {"verified": 2, "secondary": 1}.get(row.get("confidence", "verified"), 0)
    cand.rank = (conf, version_tuple(cuda or "0"))
    return cand


def _success(plan: Plan, table: str, machine: Machine, chosen: Candidate, gpu: bool) -> None:
    data = load(table)
    name = data["package"]["name"]
    release, row = chosen.data["release"], chosen.data["row"]
    plan.ok = True
    plan.cuda = chosen.cuda
    plan.cudnn = row.get("cudnn")
    lo, hi = (release.get("python_by_version") or {}).get(chosen.version) or release["python"]
    plan.reason("resolve.reason.tier2_newest", release, framework=name, version=chosen.version, variant=chosen.variant)
    plan.reason("resolve.reason.python_ok", release, python=machine.python, framework=name, line=release["line"],
                lo=lo, hi=hi)
    if chosen.cuda:
        floor_row = compat.runtime_driver_floor_row(chosen.cuda, rules.machine_os(machine))
        floor = compat.runtime_driver_floor(chosen.cuda, rules.machine_os(machine))
        label = f"{name} {chosen.version} ({chosen.variant})"
        if machine.driver:
            plan.reason("resolve.reason.driver_ok", floor_row, variant=label, cuda=chosen.cuda, floor=floor,
                        driver=machine.driver)
        else:
            plan.reason("resolve.reason.driver_needed", floor_row, variant=label, cuda=chosen.cuda, floor=floor)
            plan.hints.insert(0, Hint(text=t("resolve.hint.install_driver", floor=floor, candidate=label), rule="driver"))
        gpus = rules.gpus_with_cc(machine)
        archs = chosen.data.get("archs") or []
        kernel_reasons(plan, gpus, chosen.data.get("served", {}), chosen.data.get("arch_row"), label, archs)
        if plan.cudnn:
            plan.reason("resolve.reason.cudnn", row, cudnn=plan.cudnn, variant=label)
    if row.get("note"):
        plan.reason("resolve.reason.release_note", row, line=f"{name} {chosen.variant}", note=note_text(row))
    if release.get("note"):
        plan.reason("resolve.reason.release_note", release, line=f"{name} {release['line']}", note=note_text(release))
    req = row["requirement"].format(version=chosen.version)
    index_url = row.get("index_url")
    kind = "index-url" if index_url else "default"
    if index_url:
        plan.reason("resolve.reason.index_own", row, framework=name, url=index_url)
    pkg_name = req.split("[", 1)[0].split("=", 1)[0]
    plan.packages.append(Package(name=pkg_name, version=chosen.version, variant=chosen.variant, index_url=index_url,
                                 requirement=req, index_kind=kind))
    reqs = [req]
    cudnn_pin(plan, chosen.data.get("cudnn_pin"), reqs)
    plan.groups.append(InstallGroup(requirements=reqs, index_url=index_url, index_kind=kind))
    plan.conda_note = t("resolve.conda.tier2_none", framework=name)
