"""Windows facts for the doctor's Windows checks: long paths, the Visual C++ runtime, the interpreter's
bitness, a non-ASCII home, conda's PowerShell hook. Registry reads through ``winreg`` (no subprocess);
every value may be unknown (None), and nothing here raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlsetup.probe.model import WindowsInfo

FILESYSTEM_KEY = "SYSTEM\\CurrentControlSet\\Control\\FileSystem"
VC_RUNTIME_KEY = "SOFTWARE\\Microsoft\\VisualStudio\\14.0\\VC\\Runtimes\\x64"


def _read(winreg: Any, path: str, name: str) -> Any:
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
            return winreg.QueryValueEx(key, name)[0]
    except OSError:
        return None


def _profile_has_conda_hook(home: str | None) -> bool | None:
    """``conda init powershell`` writes a "#region conda initialize" block into the user's PowerShell
    profile (Documents\\WindowsPowerShell for 5.1, Documents\\PowerShell for 7); conda/conda
    ``conda/core/initialize.py`` (``init_powershell_user``)."""
    if not home:
        return None
    import ntpath

    for folder in ("WindowsPowerShell", "PowerShell"):
        for name in ("profile.ps1", "Microsoft.PowerShell_profile.ps1"):
            path = ntpath.join(home, "Documents", folder, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    if "conda initialize" in fh.read():
                        return True
            except OSError:
                continue
    return False


def probe_windows(environ: Mapping[str, str], *, winreg: Any = None, python_bits: int | None = None,
                  read_profile: bool = True) -> WindowsInfo:
    info = WindowsInfo(python_bits=python_bits)
    home = environ.get("USERPROFILE")
    if home is not None:
        info.home_ascii = home.isascii()
    if winreg is None:
        try:
            import winreg  # type: ignore[no-redef]
        except ImportError:
            winreg = None
    if winreg is not None:
        value = _read(winreg, FILESYSTEM_KEY, "LongPathsEnabled")
        info.long_paths_enabled = None if value is None else bool(value)
        version = _read(winreg, VC_RUNTIME_KEY, "Version")
        info.vc_runtime = str(version).lstrip("v") if version else None
        info.vc_runtime_checked = True
    if read_profile:
        info.powershell_conda_init = _profile_has_conda_hook(home)
    return info
