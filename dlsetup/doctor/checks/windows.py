"""Root causes that only Windows machines have, each with its evidence, cause and a Windows fix.

Every check runs only for a Windows machine (live, or a snapshot read anywhere) and uses the platform
layer for paths (ntpath, case-insensitive). Sources are cited next to each check.
"""

from __future__ import annotations

import re

from dlsetup.doctor import facts, remedies
from dlsetup.doctor.model import (
    ERROR,
    GROUP_CUDA,
    GROUP_FRAMEWORKS,
    GROUP_PYTHON,
    INFO,
    WARNING,
    Finding,
    ev,
    finding,
)
from dlsetup.platform import for_snapshot
from dlsetup.platform.shell import Cmd, unset_env
from dlsetup.probe.model import Snapshot

# Microsoft's permanent link to the latest supported Visual C++ 2015-2022 x64 redistributable:
# https://learn.microsoft.com/cpp/windows/latest-supported-vc-redist
VC_REDIST = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
PYTHON_ORG = "https://www.python.org/downloads/windows/"


def _win(snap: Snapshot) -> bool:
    return for_snapshot(snap).is_windows


def store_alias(snap: Snapshot) -> list[Finding]:
    """The Microsoft Store's ``python.exe`` alias (``%LOCALAPPDATA%\\Microsoft\\WindowsApps``) runs instead of
    a real Python: without the Store app it only opens the Store; with it, packages land in a sandboxed
    ``LocalCache`` folder. https://docs.python.org/3/using/windows.html#the-microsoft-store-package"""
    if not _win(snap):
        return []
    py = snap.tooling.python.executable or ""
    on_path = getattr(snap.tooling, "python_on_path", None) or ""
    hits = [p for p in (py, on_path) if re.search(r"[\\/]Microsoft[\\/]WindowsApps[\\/]", p, re.I)]
    if not hits:
        return []
    return [finding("windows.store_alias", ERROR if hits[0] == py else WARNING, GROUP_PYTHON,
                    evidence=[ev("python_path", path=p) for p in dict.fromkeys(hits)],
                    commands=[Cmd(["py", "-0p"])], url=PYTHON_ORG)]


def python_32bit(snap: Snapshot) -> list[Finding]:
    """A 32-bit Python: PyTorch, TensorFlow and JAX publish Windows wheels for 64-bit (win_amd64) only,
    so pip answers "No matching distribution found for torch". https://pytorch.org/get-started/locally/"""
    win = snap.windows
    if not _win(snap) or win is None or win.python_bits != 32:
        return []
    return [finding("windows.python_32bit", ERROR, GROUP_PYTHON,
                    evidence=[ev("python_bits", bits=32, python=snap.tooling.python.executable)],
                    commands=[Cmd(["py", "-0p"])], url=PYTHON_ORG)]


# The longest file path in the torch 2.13.0 wheel (measured on the installed wheel: 119 characters), below
# an environment's Lib\\site-packages; with the prefix it must stay under MAX_PATH (260) when long paths are off.
_DEEP_TORCH = ("Lib\\site-packages\\torch\\include\\ATen\\native\\transformers\\cuda\\mem_eff_attention\\"
               "iterators\\predicated_tile_access_iterator_residual_last.h")
MAX_PATH = 260


def long_paths(snap: Snapshot) -> list[Finding]:
    """``LongPathsEnabled`` = 0 and an environment path so long that pip fails on torch's deepest files
    ("[Errno 2] No such file or directory" / "OSError: [WinError 206]").
    https://learn.microsoft.com/windows/win32/fileio/maximum-file-path-limitation"""
    win = snap.windows
    prefix = snap.tooling.python.prefix or ""
    if not _win(snap) or win is None or win.long_paths_enabled is not False or not prefix:
        return []
    length = len(prefix) + 1 + len(_DEEP_TORCH)
    if length < MAX_PATH:
        return []
    return [finding("windows.long_paths", WARNING, GROUP_PYTHON,
                    evidence=[ev("long_paths_off"), ev("path_length", prefix=prefix, length=length)],
                    commands=[Cmd(["reg", "add", "HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem", "/v",
                                   "LongPathsEnabled", "/t", "REG_DWORD", "/d", "1", "/f"])],
                    length=length)]


def _deep_errors(snap: Snapshot) -> list[tuple[str, str]]:
    out = []
    for fw in snap.frameworks.items:
        if fw.deep is not None and fw.deep.error:
            out.append((fw.name, fw.deep.error))
    return out


def vc_runtime(snap: Snapshot) -> list[Finding]:
    """torch's DLLs need the Visual C++ runtime; without it the import fails with ``[WinError 126] The
    specified module could not be found. Error loading "...\\torch\\lib\\c10.dll"`` (or fbgemm.dll).
    pytorch/pytorch#131662 and https://pytorch.org/get-started/locally/ (Windows prerequisites)."""
    if not _win(snap):
        return []
    hits = [(name, err) for name, err in _deep_errors(snap)
            if re.search(r"WinError 126", err) and re.search(r"(c10|fbgemm|torch_cpu|torch_python|asmjit)\.dll", err, re.I)]
    win = snap.windows
    missing = win is not None and win.vc_runtime_checked and not win.vc_runtime
    if not hits and not (missing and facts.framework(snap, facts.TORCH)):
        return []
    evidence = [ev("import_error", name=name, error=err[:300]) for name, err in hits]
    if missing:
        evidence.append(ev("vc_runtime_missing"))
    return [finding("windows.vc_runtime", ERROR if hits else WARNING, GROUP_FRAMEWORKS, evidence=evidence,
                    commands=[Cmd(["winget", "install", "--id", "Microsoft.VCRedist.2015+.x64", "-e"])],
                    url=VC_REDIST)]


def stale_cuda_path(snap: Snapshot) -> list[Finding]:
    """``CUDA_PATH`` (set by the CUDA installer, read by torch's extension builder and by nvcc users)
    points at a toolkit that is not there any more (uninstalled or upgraded)."""
    value = snap.env.get("CUDA_PATH")
    if not _win(snap) or not value:
        return []
    plat = for_snapshot(snap)
    toolkits = [tk.path for tk in snap.cuda.toolkits if tk.path]
    if any(plat.same_path(value, p) for p in toolkits):
        return []
    evidence = [ev("env_var", name="CUDA_PATH", value=value), ev("no_toolkit_at", path=value)]
    evidence += [ev("toolkit_installed", path=p) for p in toolkits]
    commands: list = [unset_env("CUDA_PATH"),
                      Cmd(["reg", "query", "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment",
                           "/v", "CUDA_PATH"])]
    return [finding("windows.stale_cuda_path", WARNING, GROUP_CUDA, evidence=evidence, commands=commands,
                    path=value, toolkits=", ".join(toolkits) or "-")]


def conda_powershell(snap: Snapshot) -> list[Finding]:
    """conda is installed but its PowerShell hook is not: ``conda activate`` fails in PowerShell ("Run
    'conda init' before 'conda activate'"). https://docs.conda.io/projects/conda/en/stable/commands/init.html"""
    win = snap.windows
    if not _win(snap) or win is None or win.powershell_conda_init is not False:
        return []
    conda = next((t for t in snap.tooling.tools if t.name == "conda" and t.found), None)
    if conda is None:
        return []
    return [finding("windows.conda_powershell", INFO, GROUP_PYTHON,
                    evidence=[ev("tool_found", name="conda", path=conda.path or "?"), ev("no_conda_hook")],
                    commands=[Cmd(["conda", "init", "powershell"]),
                              Cmd(["powershell", "-NoProfile", "-Command",
                                   "Set-ExecutionPolicy -Scope CurrentUser RemoteSigned"])])]


def non_ascii_paths(snap: Snapshot) -> list[Finding]:
    """A user folder or environment path with non-ASCII characters (a Chinese user name): MSVC/nvcc
    extension builds (torch.utils.cpp_extension, triton) and some tools fail on such paths."""
    if not _win(snap):
        return []
    py = snap.tooling.python
    paths = [p for p in (py.prefix, py.executable) if p and not p.isascii()]
    home_bad = snap.windows is not None and snap.windows.home_ascii is False
    if not paths and not home_bad:
        return []
    evidence = [ev("non_ascii_path", path=p) for p in dict.fromkeys(paths)]
    if home_bad:
        evidence.append(ev("non_ascii_home"))
    return [finding("windows.non_ascii_path", WARNING, GROUP_PYTHON, evidence=evidence,
                    commands=[Cmd(["conda", "create", "-p", "C:\\envs\\dl", "python=3.12"]),
                              remedies.persist_step("TORCH_EXTENSIONS_DIR", "C:\\torch_extensions")])]


def paging_file(snap: Snapshot) -> list[Finding]:
    """``OSError: [WinError 1455] The paging file is too small for this operation to complete`` when
    torch's DLLs load (often in DataLoader workers, each loading them again): the page file is too small."""
    if not _win(snap):
        return []
    hits = [(name, err) for name, err in _deep_errors(snap) if "WinError 1455" in err]
    if not hits:
        return []
    return [finding("windows.paging_file", ERROR, GROUP_FRAMEWORKS,
                    evidence=[ev("import_error", name=n, error=e[:300]) for n, e in hits],
                    commands=[Cmd(["SystemPropertiesAdvanced.exe"])])]


CHECKS = [store_alias, python_32bit, long_paths, vc_runtime, stale_cuda_path, conda_powershell, non_ascii_paths,
          paging_file]
