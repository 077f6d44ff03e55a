"""Environment variables and the loader path: CUDA_VISIBLE_DEVICES, stub libcuda, stale CUDA libraries,
forward-compatibility libraries (root causes #4, #5, #6, #9).
"""

from __future__ import annotations

import os
import re

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_CUDA, WARNING, Finding, ev, finding
from dlsetup.platform.shell import set_env, unset_env
from dlsetup.probe.model import Snapshot

_HIDE_ALL = ("", "-1", "none", "nodevfiles", "void")


def _entry(tok: str, count: int, uuids: list[str]) -> int | str | None:
    """What CUDA makes of one CUDA_VISIBLE_DEVICES entry: an ordinal, a UUID (prefix), or None where the
    list stops. Ordinals are read like ``strtoul`` ("1gpu" is 1, "-1" or "x" stops the list) and an ordinal
    the driver does not have stops it too (torch/cuda/__init__.py ``_parse_visible_devices``,
    ``_device_count_nvml``)."""
    m = re.match(r"\+?(\d+)", tok)
    if m:
        n = int(m.group(1))
        return n if n < count else None
    if tok.upper().startswith(("GPU-", "MIG-")):
        known = [u for u in uuids if u and u.upper().startswith(("GPU-", "MIG-"))]
        # Redacted snapshots hide UUIDs: a UUID we cannot compare is taken as valid.
        valid = not known or any(u.upper().startswith(tok.upper()) for u in known) or tok.upper().startswith("MIG-")
        return tok.upper() if valid else None
    return None


def visible_entries(value: str, count: int, uuids: list[str]) -> tuple[list[str], bool]:
    """(the entries CUDA uses, whether a repeated entry emptied the list). A repeated device makes CUDA see
    none at all ("Repeated ordinal results in empty set", torch/cuda/__init__.py)."""
    if value.strip().lower() in _HIDE_ALL:
        return [], False
    visible: list[str] = []
    keys: list[int | str] = []
    for tok in (t.strip() for t in value.split(",")):
        key = _entry(tok, count, uuids)
        if key is None:
            break
        if key in keys:
            return [], True
        keys.append(key)
        visible.append(tok)
    return visible, False


def cuda_visible_devices(snap: Snapshot) -> list[Finding]:
    """CUDA sees the devices listed before the first invalid entry; empty, ``-1`` or a repeated device hides
    every GPU (§4 #4)."""
    if "CUDA_VISIBLE_DEVICES" not in snap.env or not snap.nvidia.gpus:
        return []
    value = snap.env["CUDA_VISIBLE_DEVICES"]
    count = len(snap.nvidia.gpus)
    tokens = [t.strip() for t in value.split(",")]
    visible, repeated = visible_entries(value, count, [g.uuid or "" for g in snap.nvidia.gpus])
    evidence = [ev("env_var", name="CUDA_VISIBLE_DEVICES", value=value), ev("gpu_count", count=count)]
    all_gpus = ",".join(str(i) for i in range(count))
    if not visible:
        return [finding("env.cuda_visible_devices_hides_all", ERROR, GROUP_CUDA, evidence=evidence,
                        commands=[unset_env("CUDA_VISIBLE_DEVICES"), set_env("CUDA_VISIBLE_DEVICES", all_gpus)],
                        cause_key="cause_repeated" if repeated else None, value=value, count=count)]
    if len(visible) < len(tokens):
        return [finding("env.cuda_visible_devices_truncated", WARNING, GROUP_CUDA, evidence=evidence,
                        commands=[set_env("CUDA_VISIBLE_DEVICES", ",".join(visible))],
                        value=value, visible=",".join(visible), count=count)]
    return []


def _pip_cuda_wheels(snap: Snapshot) -> list:
    return [fw for fw in facts.cuda_frameworks(snap) if (fw.installer or "pip") in ("pip", "uv")]


def _stub_dirs(snap: Snapshot) -> list[str]:
    return [d.path for d in snap.cuda.ld_library_path if d.exists and d.stubs and d.libcuda]


def _shadow_dirs(snap: Snapshot) -> list[str]:
    if not _pip_cuda_wheels(snap):
        return []
    return [d.path for d in snap.cuda.ld_library_path if d.exists and (d.cudart or d.cudnn) and not d.stubs]


def harmful_ld_dirs(snap: Snapshot) -> set[str]:
    """Every LD_LIBRARY_PATH entry a fix here removes, so that the fixes of different findings agree."""
    return set(_stub_dirs(snap)) | set(_shadow_dirs(snap))


def _libcuda_is_stub(path: str | None) -> bool:
    return bool(path) and "/stubs/" in path.replace("\\", "/")


def stub_libcuda(snap: Snapshot) -> list[Finding]:
    """The CUDA toolkit's link-time stub libcuda is found before the driver's (§4 #6, CUDA error 34)."""
    if not facts.has_nvidia_hardware(snap):
        return []
    dirs = [d for d in snap.cuda.ld_library_path if d.path in _stub_dirs(snap)]
    stub_loaded = _libcuda_is_stub(snap.nvidia.libcuda_path)
    code34 = facts.cuinit_code(snap) == 34
    if not dirs and not stub_loaded and not code34:
        return []
    evidence = [ev("ld_entry_stub", path=d.path) for d in dirs]
    if stub_loaded:
        evidence.append(ev("libcuda_path", path=snap.nvidia.libcuda_path))
    if code34:
        evidence.append(ev("cuinit", error=snap.nvidia.cuinit_error))
    if dirs:
        commands = remedies.ld_library_path_without(snap, harmful_ld_dirs(snap))
        fix_key = "fix"
    elif stub_loaded:
        commands = [f"ls -l {snap.nvidia.libcuda_path}", "sudo ldconfig", "ldconfig -p | grep libcuda.so.1"]
        fix_key = "fix_link"
    else:
        commands = ["echo $LD_LIBRARY_PATH", "ldconfig -p | grep libcuda"]
        fix_key = "fix_find"
    return [finding("cuda.stub_libcuda", ERROR, GROUP_CUDA, evidence=evidence, commands=commands, fix_key=fix_key,
                    path=(dirs[0].path if dirs else snap.nvidia.libcuda_path) or "")]


def ld_path_shadows_wheels(snap: Snapshot) -> list[Finding]:
    """LD_LIBRARY_PATH holds a CUDA runtime or cuDNN while pip wheels bring their own (§4 #5)."""
    wheels = _pip_cuda_wheels(snap)
    shadow = _shadow_dirs(snap)
    dirs = [d for d in snap.cuda.ld_library_path if d.path in shadow]
    if not dirs:
        return []
    evidence = [ev("ld_entry_libs", path=d.path, libs=", ".join(n for n, on in (("cudart", d.cudart),
                                                                             ("cudnn", d.cudnn)) if on))
                for d in dirs]
    evidence += [ev("cuda_framework", name=fw.name, version=fw.version or "?", variant=facts.variant_of(fw) or "?")
                 for fw in wheels]
    return [finding("cuda.ld_path_shadows", WARNING, GROUP_CUDA, evidence=evidence,
                    commands=remedies.ld_library_path_without(snap, harmful_ld_dirs(snap)),
                    path=dirs[0].path)]


_COMPAT_SO = re.compile(r"libcuda\.so\.(\d+(?:\.\d+)+)$")


def _compat_version(dir_path: str, snap: Snapshot) -> str | None:
    """Driver version of the forward-compat libcuda in ``dir_path`` (from its file name)."""
    for lib in snap.cuda.compat_libs:
        if os.path.dirname(lib).rstrip("/") == dir_path.rstrip("/") or lib.startswith(dir_path.rstrip("/") + "/"):
            m = _COMPAT_SO.search(lib)
            if m:
                return m.group(1)
    return None


def _consumer_gpu(name: str) -> bool:
    # Forward compatibility runs only on data-center (and select professional) GPUs; GeForce/TITAN never.
    return bool(re.search(r"geforce|titan", name, re.I))


def compat_dirs(snap: Snapshot) -> list[str]:
    """Directories of cuda-compat libcuda the loader uses: LD_LIBRARY_PATH entries, or where libcuda was loaded."""
    dirs = [d.path for d in snap.cuda.ld_library_path if d.exists and d.compat]
    loaded = snap.nvidia.libcuda_path
    if loaded and "/compat/" in loaded and not any(loaded.startswith(p) for p in dirs):
        dirs.append(os.path.dirname(loaded))
    return dirs


def compat_libs(snap: Snapshot) -> list[Finding]:
    """cuda-compat libraries on the loader path: Error 804 on consumer GPUs, Error 803 when older than the
    driver (§4 #9). ``cuInit``'s own 803/804 from the libcuda rung confirms it."""
    dirs = [d for d in snap.cuda.ld_library_path if d.exists and d.compat]
    dirs_paths = compat_dirs(snap)
    if not dirs_paths or not snap.nvidia.gpus:
        return []
    code = facts.cuinit_code(snap)
    commands = (remedies.ld_library_path_without(snap, set(dirs_paths) | harmful_ld_dirs(snap)) if dirs else []) + [
        "grep -rl compat /etc/ld.so.conf.d/", "sudo ldconfig"]
    base = [ev("ld_entry_compat", path=p, version=_compat_version(p, snap) or "?") for p in dirs_paths]
    if code in (803, 804):
        base.append(ev("cuinit", error=snap.nvidia.cuinit_error))
    consumer = [g for g in snap.nvidia.gpus if _consumer_gpu(g.name)]
    if consumer or code == 804:
        gpus = consumer or snap.nvidia.gpus
        return [finding("cuda.compat_unsupported_gpu", ERROR, GROUP_CUDA,
                        evidence=[*base, *(ev("gpu", index=g.index, name=g.name, cc=g.compute_capability or "?")
                                           for g in gpus)],
                        commands=commands, path=dirs_paths[0])]
    driver = snap.nvidia.driver_version
    older = [p for p in dirs_paths
             if driver and _compat_version(p, snap) and facts.version_lt(_compat_version(p, snap), driver)]
    if older or code == 803:
        p = (older or dirs_paths)[0]
        evidence = [*base]
        if driver:
            evidence.append(ev("driver", version=driver, rung=snap.nvidia.rung or "?"))
        return [finding("cuda.compat_older_than_driver", ERROR, GROUP_CUDA, evidence=evidence, commands=commands,
                        path=p, compat=_compat_version(p, snap) or "?", driver=driver or "?")]
    return []


CHECKS = [cuda_visible_devices, stub_libcuda, ld_path_shadows_wheels, compat_libs]
