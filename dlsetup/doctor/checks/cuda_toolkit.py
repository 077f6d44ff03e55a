"""The CUDA toolkit (nvcc): newer than the driver supports, a different major than torch's CUDA (extension
builds fail), or a host gcc outside the range the toolkit accepts.

Facts from ``dlsetup.compat``: driver floors (NVIDIA release notes) and gcc bounds (torch's
``cpp_extension.CUDA_GCC_VERSIONS``).
"""

from __future__ import annotations

import os

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import ERROR, GROUP_CUDA, INFO, WARNING, Finding, ev, finding
from dlsetup.platform import for_snapshot
from dlsetup.platform.shell import Cmd, Note, prepend_path, set_env
from dlsetup.probe.model import Snapshot, Toolkit


def _toolkit_at(snap: Snapshot, path: str | None) -> Toolkit | None:
    if not path:
        return None
    want = os.path.normpath(path)
    for tk in snap.cuda.toolkits:
        if os.path.normpath(tk.path) == want or want in (os.path.normpath(a) for a in tk.aliases):
            return tk
    return None


def active_toolkit(snap: Snapshot) -> tuple[str, str, str] | None:
    """(version, path, how) of the toolkit extension builds use — torch's order: CUDA_HOME/CUDA_PATH, then
    ``nvcc`` on PATH, then ``/usr/local/cuda``. None when no toolkit is known."""
    cuda = snap.cuda
    if cuda.cuda_home:
        tk = _toolkit_at(snap, cuda.cuda_home)
        if tk and tk.version:
            return tk.version, tk.path, "CUDA_HOME"
    if cuda.nvcc_path and cuda.nvcc_version:
        return cuda.nvcc_version, cuda.nvcc_path, "PATH"
    tk = _toolkit_at(snap, "/usr/local/cuda")
    if tk and tk.version:
        return tk.version, tk.path, "/usr/local/cuda"
    for tk in cuda.toolkits:
        if tk.version:
            return tk.version, tk.path, "found"
    return None


def _toolkit_ev(version: str, path: str, how: str) -> str:
    """Evidence line for the active toolkit and how it was picked (CUDA_HOME, PATH, /usr/local/cuda, or found)."""
    if how == "found":
        return ev("toolkit_found", version=version, path=path)
    return ev("toolkit", version=version, path=path, how=how)


def newer_than_driver(snap: Snapshot) -> list[Finding]:
    """``nvcc`` is a newer CUDA than the driver supports: across majors nothing it builds runs; within a
    major only minor-version compatibility holds (no PTX JIT of newer code)."""
    tk = active_toolkit(snap)
    driver = snap.nvidia.driver_version
    if tk is None or not driver:
        return []
    from dlsetup import compat

    version, path, how = tk
    toolkit_mm = facts.major_minor(version)
    driver_cuda = snap.nvidia.cuda_driver_version or compat.cuda_for_driver(driver)
    if not toolkit_mm or not driver_cuda or not facts.version_lt(driver_cuda, toolkit_mm):
        return []
    os_name = "windows" if snap.system.os == "windows" else "linux"
    runs = compat.driver_runs_cuda(driver, toolkit_mm, os_name)
    needed = compat.toolkit_driver_floor(toolkit_mm, os_name) or "?"
    evidence = [_toolkit_ev(version, path, how),
                ev("driver_cuda", version=driver, cuda=driver_cuda),
                ev("toolkit_floor", cuda=toolkit_mm, floor=needed)]
    branch = needed.split(".")[0] if needed != "?" else None
    commands = remedies.driver_install(snap, branch=branch)
    if runs:
        return [finding("toolkit.newer_than_driver_minor", INFO, GROUP_CUDA, evidence=evidence, commands=commands,
                        toolkit=toolkit_mm, cuda=driver_cuda, floor=needed)]
    return [finding("toolkit.newer_than_driver", ERROR, GROUP_CUDA, evidence=evidence, commands=commands,
                    toolkit=toolkit_mm, cuda=driver_cuda, floor=needed)]


def _install_toolkit(snap: Snapshot, cuda: str) -> list[str | Note | Cmd]:
    major, _, minor = cuda.partition(".")
    distro = facts.distro_id(snap)
    if snap.system.os == "linux" and distro.startswith(("ubuntu", "debian")):
        return [Note("doctor.cmd.from_cuda_repo"), f"sudo apt install cuda-toolkit-{major}-{minor or '0'}"]
    return [Cmd(["conda", "install", "-c", "nvidia", f"cuda-toolkit={cuda}"])]


def _use_toolkit(snap: Snapshot, home: str) -> list:
    """Point builds at the toolkit in ``home``: CUDA_HOME (and CUDA_PATH, which the Windows installer sets
    and torch's extension builder reads first there) and its ``bin`` at the front of PATH."""
    plat = for_snapshot(snap)
    steps: list = [set_env("CUDA_HOME", home)]
    if plat.is_windows:
        steps.append(set_env("CUDA_PATH", home))
    steps.append(prepend_path(plat.join(home, "bin")))
    return steps


def nvcc_vs_torch(snap: Snapshot) -> list[Finding]:
    """torch's CUDA major ≠ the toolkit's: torch.utils.cpp_extension refuses to build extensions."""
    torch = facts.framework(snap, facts.TORCH)
    torch_cuda = facts.cuda_of(torch) if torch else None
    tk = active_toolkit(snap)
    if not torch_cuda or tk is None:
        return []
    version, path, how = tk
    if facts.version_tuple(version)[:1] == facts.version_tuple(torch_cuda)[:1]:
        return []
    evidence = [_toolkit_ev(version, path, how),
                ev("framework_build", name="torch", version=torch.version or "?",
                   variant=facts.variant_of(torch) or "?", cuda=torch_cuda)]
    same_major = [tk for tk in snap.cuda.toolkits
                  if tk.version and facts.version_tuple(tk.version)[:1] == facts.version_tuple(torch_cuda)[:1]]
    if same_major:
        home = same_major[0].path
        commands = _use_toolkit(snap, home)
        fix_key = "fix_switch"
    else:
        plat = for_snapshot(snap)
        home = (f"C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v{torch_cuda}" if plat.is_windows
                else f"/usr/local/cuda-{torch_cuda}")
        commands = [*_install_toolkit(snap, torch_cuda), *_use_toolkit(snap, home)]
        fix_key = "fix"
    return [finding("toolkit.torch_mismatch", WARNING, GROUP_CUDA, evidence=evidence, commands=commands,
                    fix_key=fix_key, toolkit=facts.major_minor(version) or version, torch_cuda=torch_cuda,
                    home=home)]


def _fmt(v: tuple[int, ...]) -> str:
    return ".".join(str(x) for x in v)


def gcc_range(snap: Snapshot) -> list[Finding]:
    """The host gcc is outside the range nvcc (and torch's extension builder) accept for this toolkit."""
    tk = active_toolkit(snap)
    gcc = snap.cuda.gcc_version
    if tk is None or not gcc:
        return []
    from dlsetup import compat

    version, path, how = tk
    bounds = compat.gcc_range_for_cuda(facts.major_minor(version) or version)
    if bounds is None:
        return []
    lo, hi = bounds
    have = facts.version_tuple(gcc)
    if not have or lo <= have[: len(lo)] and have[: len(hi)] < hi:
        return []
    pick = max(hi[0] - 1, lo[0])
    evidence = [ev("gcc", version=gcc), _toolkit_ev(version, path, how),
                ev("gcc_range", cuda=facts.major_minor(version) or version, lo=_fmt(lo), hi=_fmt(hi))]
    commands = []
    if facts.distro_id(snap).startswith(("ubuntu", "debian")):
        commands.append(f"sudo apt install gcc-{pick} g++-{pick}")
    elif facts.distro_id(snap).startswith(("fedora", "rhel", "rocky", "almalinux", "centos")):
        commands.append(f"sudo dnf install gcc-toolset-{pick}")
    commands += [set_env("CC", f"gcc-{pick}"), set_env("CXX", f"g++-{pick}"), set_env("CUDAHOSTCXX", f"g++-{pick}"),
                 set_env("NVCC_CCBIN", f"g++-{pick}")]
    return [finding("toolkit.gcc_unsupported", WARNING, GROUP_CUDA, evidence=evidence, commands=commands,
                    gcc=gcc, cuda=facts.major_minor(version) or version, lo=_fmt(lo), hi=_fmt(hi), pick=pick)]


CHECKS = [newer_than_driver, nvcc_vs_torch, gcc_range]
