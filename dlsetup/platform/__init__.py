"""The platform layer: what differs between Linux, macOS and Windows, for the live machine or a recorded one.

Code above this layer asks a :class:`Platform` instead of testing ``sys.platform`` itself, so that a
Windows snapshot read on Linux (the teacher's workflow) is judged with Windows rules: paths compare
with :mod:`ntpath`, case-insensitively; the interpreter lives in ``python.exe`` with ``Scripts\\`` and
``Library\\bin`` beside it; the user's folders are ``%APPDATA%``/``%LOCALAPPDATA%``/``%ProgramData%``.

Sources:
* Known folders and their environment variables: https://learn.microsoft.com/windows/win32/shell/knownfolderid
* Windows path case-insensitivity: https://learn.microsoft.com/windows/win32/fileio/naming-a-file
* venv layout (``Scripts`` on Windows, ``bin`` elsewhere): https://docs.python.org/3/library/venv.html
* conda prefix layout on Windows (``Library\\bin``, ``Scripts``): conda/conda ``conda/activate.py``
  ``_get_path_dirs`` (the folders activation puts on PATH).
* XDG base directories: https://specifications.freedesktop.org/basedir-spec/latest/
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

WINDOWS = "windows"
LINUX = "linux"
MACOS = "macos"


def live_os() -> str:
    if sys.platform.startswith("win"):
        return WINDOWS
    if sys.platform == "darwin":
        return MACOS
    return LINUX


def normalize_os(name: str | None) -> str:
    """``win32``/``Windows``/``windows`` → ``windows``; ``darwin``/``macOS`` → ``macos``; else ``linux``."""
    low = (name or "").lower()
    if low.startswith("win"):
        return WINDOWS
    if low in ("darwin", "macos", "mac", "osx"):
        return MACOS
    return LINUX if low else live_os()


@dataclass(frozen=True)
class Platform:
    """One machine's OS rules. ``environ`` is its environment (the live one, or what a snapshot recorded)."""

    os: str
    environ: Mapping[str, str] = field(default_factory=dict)
    home: str | None = None
    # Windows only: the user's UI language id (an LCID, e.g. 0x0804 zh-CN); injectable for tests.
    ui_language_id: Callable[[], int | None] | None = None

    # -- paths
    @property
    def is_windows(self) -> bool:
        return self.os == WINDOWS

    @property
    def path(self) -> ModuleType:
        """``ntpath`` or ``posixpath``: the path rules of this machine (not of the host reading it)."""
        return ntpath if self.is_windows else posixpath

    def norm(self, p: str) -> str:
        """A path in the form two paths compare in: normalised, and case-folded on Windows."""
        pm = self.path
        return pm.normcase(pm.normpath(p)) if p else ""

    def same_path(self, a: str | None, b: str | None) -> bool:
        return bool(a and b) and self.norm(a) == self.norm(b)  # type: ignore[arg-type]

    def is_within(self, p: str | None, root: str | None) -> bool:
        """``p`` is ``root`` or below it (by this machine's rules, no file system access)."""
        if not p or not root:
            return False
        np, nr = self.norm(p), self.norm(root)
        if np == nr:
            return True
        sep = "\\" if self.is_windows else "/"
        return np.startswith(nr.rstrip(sep) + sep)

    def join(self, *parts: str) -> str:
        return self.path.join(*parts)

    # -- the user's folders
    def _env(self, name: str) -> str | None:
        if self.is_windows:  # Windows environment names are case-insensitive
            low = name.lower()
            for k, v in self.environ.items():
                if k.lower() == low and v:
                    return v
            return None
        return self.environ.get(name) or None

    def home_dir(self) -> str | None:
        """``%USERPROFILE%`` on Windows (what Python, pip and conda use, not a Git Bash ``HOME``), ``$HOME`` elsewhere."""
        if self.is_windows:
            return self._env("USERPROFILE") or self.home or self._env("HOME")
        return self._env("HOME") or self.home

    def user_dirs(self) -> dict[str, str | None]:
        """``config``, ``data`` (roaming/XDG data), ``cache`` (local), ``program_data`` (machine-wide config)."""
        home = self.home_dir()
        if self.is_windows:
            appdata = self._env("APPDATA") or (home and ntpath.join(home, "AppData", "Roaming"))
            local = self._env("LOCALAPPDATA") or (home and ntpath.join(home, "AppData", "Local"))
            return {
                "config": appdata,
                "data": appdata,
                "cache": local,
                "local": local,
                "program_data": self._env("ProgramData") or self._env("ALLUSERSPROFILE") or "C:\\ProgramData",
            }
        if self.os == MACOS:
            lib = home and posixpath.join(home, "Library")
            return {
                "config": self._env("XDG_CONFIG_HOME") or (home and posixpath.join(home, ".config")),
                "data": lib and posixpath.join(lib, "Application Support"),
                "cache": lib and posixpath.join(lib, "Caches"),
                "local": lib and posixpath.join(lib, "Application Support"),
                "program_data": "/Library/Application Support",
            }
        return {
            "config": self._env("XDG_CONFIG_HOME") or (home and posixpath.join(home, ".config")),
            "data": self._env("XDG_DATA_HOME") or (home and posixpath.join(home, ".local", "share")),
            "cache": self._env("XDG_CACHE_HOME") or (home and posixpath.join(home, ".cache")),
            "local": self._env("XDG_DATA_HOME") or (home and posixpath.join(home, ".local", "share")),
            "program_data": "/etc/xdg",
        }

    def pip_cache_dir(self) -> str | None:
        """pip's cache: ``%LOCALAPPDATA%\\pip\\Cache`` on Windows (pip/_internal/locations via platformdirs)."""
        override = self._env("PIP_CACHE_DIR")
        if override:
            return override
        cache = self.user_dirs()["cache"]
        if not cache:
            return None
        return self.join(cache, "pip", "Cache") if self.is_windows else self.join(cache, "pip")

    # -- interpreters and environments
    def exe(self, name: str) -> str:
        return name + ".exe" if self.is_windows and not name.lower().endswith(".exe") else name

    def interpreter_layout(self, prefix: str, *, conda: bool = False) -> dict[str, str | list[str]]:
        """Where an environment keeps its interpreter, scripts and DLLs; ``path_dirs`` are what activation
        puts on PATH, in order."""
        pm = self.path
        if self.is_windows:
            scripts = pm.join(prefix, "Scripts")
            dirs = [prefix]
            if conda:
                dirs += [pm.join(prefix, "Library", "mingw-w64", "bin"), pm.join(prefix, "Library", "usr", "bin"),
                         pm.join(prefix, "Library", "bin")]
            dirs.append(scripts)
            if conda:
                dirs.append(pm.join(prefix, "bin"))
            # A conda env has python.exe at its root; a venv has it in Scripts\.
            python = pm.join(prefix, "python.exe") if conda else pm.join(scripts, "python.exe")
            return {"python": python, "scripts": scripts, "path_dirs": dirs,
                    "library_bin": pm.join(prefix, "Library", "bin")}
        bindir = pm.join(prefix, "bin")
        return {"python": pm.join(bindir, "python"), "scripts": bindir, "path_dirs": [bindir], "library_bin": bindir}

    def script(self, prefix: str, name: str, *, conda: bool = False) -> str:
        """A console script of an environment: ``<prefix>\\Scripts\\ninja.exe`` / ``<prefix>/bin/ninja``."""
        return self.path.join(str(self.interpreter_layout(prefix, conda=conda)["scripts"]), self.exe(name))

    def scripts_dir_of(self, python: str) -> str:
        """The scripts folder that belongs to an interpreter path."""
        pm = self.path
        d = pm.dirname(python)
        if self.is_windows and pm.basename(d).lower() != "scripts":
            return pm.join(d, "Scripts")
        return d

    # -- the user's language and shell
    def ui_language(self) -> str | None:
        """``zh``/``en``/... from the Windows user UI language (``GetUserDefaultUILanguage``); None elsewhere."""
        if not self.is_windows:
            return None
        getter = self.ui_language_id or _windows_ui_language_id
        try:
            lcid = getter()
        except Exception:  # noqa: BLE001 - the language is a preference, never a failure
            return None
        if not lcid:
            return None
        # The primary language is the low 10 bits of the LANGID (MAKELANGID); LANG_CHINESE = 0x04.
        # https://learn.microsoft.com/windows/win32/intl/language-identifier-constants-and-strings
        primary = int(lcid) & 0x3FF
        return {0x04: "zh", 0x09: "en"}.get(primary, "other")

    def default_shell(self) -> str:
        from dlsetup.platform.shell import detect_shell

        return detect_shell(self)


def _windows_ui_language_id() -> int | None:
    import ctypes

    windll = getattr(ctypes, "windll", None)
    if windll is None:
        return None
    return int(windll.kernel32.GetUserDefaultUILanguage())


_live: Platform | None = None


def current() -> Platform:
    """The machine dlsetup runs on."""
    global _live
    if _live is None or _live.environ is not os.environ:
        _live = Platform(os=live_os(), environ=os.environ, home=os.path.expanduser("~"))
    return _live


def for_os(name: str | None, environ: Mapping[str, str] | None = None, home: str | None = None) -> Platform:
    """The rules of another OS (``--os windows``), with what is known of its environment."""
    os_name = normalize_os(name)
    if os_name == live_os() and environ is None:
        return current()
    return Platform(os=os_name, environ=dict(environ or {}), home=home)


def for_snapshot(snap) -> Platform:
    """The rules of the machine a snapshot recorded (works on 0.1.0 snapshots: only ``system.os`` is needed)."""
    system = getattr(snap, "system", None)
    env = dict(getattr(snap, "env", None) or {})
    return Platform(os=normalize_os(getattr(system, "os", None)), environ=env, home=getattr(system, "home", None))
