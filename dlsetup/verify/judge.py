"""Checks that need dlsetup's data, applied to the facts the suite reported.

The suite only knows torch; this side knows which builds cover which GPUs (``dlsetup.compat``), which
host compilers each CUDA release accepts, and the GPUs' datasheet peaks. Functions here take a stage
event as the suite sent it and return it with the extra checks added and its status recomputed.
"""

from __future__ import annotations

import platform
from typing import Any

from dlsetup.verify.model import FAIL, INFO, PASS, WARN, worst


def _check(check_name: str, variant: str | None, status: str, key: str | None = None, /, *, value: Any = None,
           limit: Any = None, metric: str | None = None, **params: Any) -> dict[str, Any]:
    return {"name": check_name, "variant": variant, "status": status, "value": value, "limit": limit, "metric": metric,
            "note": {"key": key, "params": params} if key else None, "error": None}


def _vt(text: str | None) -> tuple[int, ...]:
    out = []
    for part in str(text or "").split("."):
        digits = "".join(ch for ch in part if ch in "0123456789")
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _dotted(v: tuple[int, ...]) -> str:
    return ".".join(map(str, v))


def judge(event: dict[str, Any]) -> dict[str, Any]:
    """Add dlsetup's own checks to a stage event (in place) and recompute its status."""
    if event.get("status") == "not_run":
        return event
    extra: list[dict[str, Any]] = []
    if event.get("stage") == "env" and (event.get("details") or {}).get("torch"):
        extra = env_checks(event["details"])
    elif event.get("stage") == "perf":
        perf_checks(event)
    if extra:
        event["checks"] = list(event.get("checks") or []) + extra
    if event.get("checks"):
        statuses = [c["status"] for c in event["checks"]]
        event["status"] = worst(statuses + ([FAIL] if event.get("status") == FAIL else []))
    return event


# ---- environment -------------------------------------------------------------------------------------

def covering_builds(torch_version: str, cc: str, machine: str | None = None) -> list[str]:
    """Wheel variants of this torch release whose arch list covers ``cc`` (from dlsetup's compat data)."""
    from dlsetup.compat import arch_covers, pytorch, torch_arch_list

    arch = "aarch64" if (machine or platform.machine()).lower() in ("aarch64", "arm64") else "x86_64"
    release = pytorch.release_for_version(torch_version)
    if release is None:
        return []
    names: list[str] = []
    for row in pytorch.variants(release):
        name = row.get("name")
        if not name or name in names or not name.startswith("cu"):
            continue
        archs = torch_arch_list(torch_version.split("+", 1)[0], name, arch)
        if archs and arch_covers(archs, cc):
            names.append(name)
    return names


def _install_hint(torch_version: str, variants: list[str]) -> str:
    """The pip command for the first covering variant: the oldest CUDA runs on the widest range of drivers."""
    public = torch_version.split("+", 1)[0]
    if not variants:
        return "dlsetup resolve torch"
    try:
        from dlsetup.compat import pytorch

        release = pytorch.release_for_version(public)
        url = pytorch.index_url(release, variants[0]) if release else None
    except Exception:
        url = None
    if url:
        return f"pip install torch=={public} --index-url {url}"
    return f"pip install torch=={public}+{variants[0]}"


def resolver_fix(torch_version: str, facts: dict[str, Any]) -> str | None:
    """The resolver's pip command for this torch release on a machine with these GPUs and driver (the
    same decision ``dlsetup resolve torch==X`` makes); "dlsetup resolve torch" when it finds no build (it
    explains why, e.g. a driver too old); None when the resolver cannot be asked."""
    try:
        from dlsetup.compat import cuda_for_driver
        from dlsetup.resolve import GpuSpec, Machine, Request, resolve

        os_name, _, arch = (facts.get("platform") or "linux-x86_64").partition("-")
        driver = facts.get("driver")
        machine = Machine(
            os=os_name or "linux", arch=arch or "x86_64", python=".".join(str(facts.get("python", "")).split(".")[:2]),
            driver=driver, cuda_driver=cuda_for_driver(driver) if driver else None, nvidia_present=True,
            gpus=[GpuSpec(index=g.get("index"), name=g.get("name"), cc=g.get("cc")) for g in facts.get("gpus") or []],
            source="dlsetup verify",
        )
        res = resolve(Request(packages=[f"torch=={torch_version.split('+', 1)[0]}"], machine=machine))
    except Exception:  # the hint must never break the verdict
        return None
    return ((res.commands or {}).get("pip") if res.ok else None) or "dlsetup resolve torch"


def env_checks(facts: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    torch_version = facts.get("torch") or ""
    torch_cuda = facts.get("torch_cuda")
    arch_list = facts.get("arch_list") or []
    machine = (facts.get("platform") or "").rsplit("-", 1)[-1] or None
    if torch_cuda and facts.get("gpus") and arch_list:
        from dlsetup.compat import arch_coverage

        for gpu in facts["gpus"]:
            cc = gpu.get("cc")
            label = f"GPU{gpu.get('index', 0)} {gpu.get('name', '')} (CC {cc})"
            entry = arch_coverage(arch_list, cc)
            if entry:
                out.append(_check("arch", label, PASS, "verify.note.arch_ok", entry=entry))
            else:
                builds = covering_builds(torch_version, cc, machine)
                fix = resolver_fix(torch_version, facts) or _install_hint(torch_version, builds)
                out.append(_check("arch", label, FAIL, "verify.note.arch_missing", gpu=gpu.get("name", "?"), cc=cc,
                                  torch=torch_version, archs=" ".join(arch_list),
                                  builds=", ".join(builds) or "-", fix=fix))

    nvcc = facts.get("nvcc") or {}
    cxx = facts.get("cxx") or {}
    nvcc_v = nvcc.get("version")
    if torch_cuda:
        if not nvcc_v:
            out.append(_check("nvcc", None, WARN, "verify.note.no_nvcc", cuda=torch_cuda))
        elif _vt(nvcc_v)[:1] != _vt(torch_cuda)[:1]:
            out.append(_check("nvcc", nvcc_v, FAIL, "verify.note.nvcc_mismatch", nvcc=nvcc_v, torch_cuda=torch_cuda))
        elif _vt(nvcc_v)[:2] != _vt(torch_cuda)[:2]:
            out.append(_check("nvcc", nvcc_v, WARN, "verify.note.nvcc_minor", nvcc=nvcc_v, torch_cuda=torch_cuda))
        else:
            out.append(_check("nvcc", nvcc_v, PASS, "verify.note.nvcc_ok", path=nvcc.get("path") or "-"))

    if not cxx.get("path"):
        key = "verify.note.no_msvc" if cxx.get("kind") == "msvc" else "verify.note.no_cxx"
        out.append(_check("cxx", cxx.get("name"), WARN, key, name=cxx.get("name") or "c++"))
    else:
        kind, version = cxx.get("kind") or "gcc", cxx.get("version") or ""
        label = f"{kind} {version}".strip()
        bounds = None
        if torch_cuda and nvcc_v and kind in ("gcc", "clang"):  # MSVC has its own table (not in compat yet)
            from dlsetup.compat import clang_range_for_cuda, gcc_range_for_cuda

            bounds = (gcc_range_for_cuda if kind == "gcc" else clang_range_for_cuda)(nvcc_v)
        if bounds and _vt(version):
            lo, hi = bounds
            if not (tuple(lo) <= _vt(version) < tuple(hi)):
                out.append(_check("cxx", label, FAIL, "verify.note.cxx_range", compiler=label, cuda=nvcc_v,
                                  low=_dotted(tuple(lo)), high=_dotted(tuple(hi))))
            else:
                out.append(_check("cxx", label, PASS, "verify.note.cxx_ok", compiler=label, cuda=nvcc_v,
                                  low=_dotted(tuple(lo)), high=_dotted(tuple(hi))))
        elif kind == "gcc" and _vt(version) and _vt(version) < (5,):
            out.append(_check("cxx", label, WARN, "verify.note.cxx_old", compiler=label))
        else:
            out.append(_check("cxx", label, PASS))

    ninja = facts.get("ninja") or {}
    if ninja.get("path"):
        out.append(_check("ninja", ninja.get("version"), PASS))
    else:
        out.append(_check("ninja", None, WARN, "verify.note.no_ninja"))

    if str(facts.get("device", "")).startswith("cuda"):
        tf32 = facts.get("tf32") or {}
        out.append(_check("tf32", None, INFO, "verify.note.tf32_state", matmul=tf32.get("matmul", "?"),
                          conv=tf32.get("cudnn_conv", "?"), capable=bool(facts.get("tf32_capable"))))
    bf16 = facts.get("bf16_native")
    out.append(_check("bf16", None, INFO, "verify.note.bf16_native" if bf16 else "verify.note.bf16_emulated"))
    return out


# ---- --perf ------------------------------------------------------------------------------------------

def perf_checks(event: dict[str, Any]) -> None:
    """Compare the measured GEMM and copy figures with the GPU's datasheet peak: warn below half."""
    from dlsetup.verify.peaks import peak_for

    details = event.get("details") or {}
    name = details.get("device_name")
    peak = peak_for(name)
    details["peak"] = {k: peak.get(k) for k in ("name", "source", "confidence")} if peak else None
    for c in event.get("checks") or []:
        if c.get("error") or not isinstance(c.get("value"), (int, float)):
            continue
        if c["name"] == "gemm":
            ref = (peak or {}).get("bf16_tflops" if c.get("variant") == "bfloat16" else "fp16_tflops")
            unit = "TFLOP/s"
        elif c["name"] == "copy":
            ref = (peak or {}).get("memory_gbs")
            unit = "GB/s"
        else:
            continue
        if not ref:
            c["status"] = INFO
            c["note"] = {"key": "verify.note.no_peak", "params": {"gpu": name or "?"}}
            continue
        ratio = c["value"] / ref
        c["limit"] = round(ref * 0.5, 1)
        c["status"] = WARN if ratio < 0.5 else PASS
        c["note"] = {"key": "verify.note.perf_low" if ratio < 0.5 else "verify.note.perf_ok",
                     "params": {"value": c["value"], "peak": ref, "unit": unit, "percent": round(100 * ratio),
                                "gpu": peak.get("name")}}
