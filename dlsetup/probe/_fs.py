"""File reads relative to a root directory, so tests can hand the probe a fake /proc, /sys, /dev, /usr tree."""

from __future__ import annotations

import os
from pathlib import Path


class Root:
    """The machine's file system seen from ``base`` ("/" live; a tmp tree in tests).

    Every method takes an absolute machine path ("/proc/driver/nvidia/version") and never raises:
    a missing or unreadable file reads as ``None`` / ``False`` / ``[]``.
    """

    def __init__(self, base: str | os.PathLike[str] = "/") -> None:
        self.base = Path(base)
        self.live = str(self.base) == os.sep

    def path(self, machine_path: str | os.PathLike[str]) -> Path:
        p = str(machine_path)
        if self.live:
            return Path(p)
        return self.base / p.lstrip("/\\")

    def read_text(self, machine_path: str | os.PathLike[str], limit: int = 1 << 20) -> str | None:
        try:
            with open(self.path(machine_path), encoding="utf-8", errors="replace") as fh:
                return fh.read(limit)
        except (OSError, ValueError):
            return None

    def read_bytes(self, machine_path: str | os.PathLike[str], limit: int = 8 << 20) -> bytes | None:
        try:
            with open(self.path(machine_path), "rb") as fh:
                return fh.read(limit)
        except (OSError, ValueError):
            return None

    def exists(self, machine_path: str | os.PathLike[str]) -> bool:
        try:
            return self.path(machine_path).exists()
        except OSError:
            return False

    def is_dir(self, machine_path: str | os.PathLike[str]) -> bool:
        try:
            return self.path(machine_path).is_dir()
        except OSError:
            return False

    def listdir(self, machine_path: str | os.PathLike[str]) -> list[str]:
        try:
            return sorted(os.listdir(self.path(machine_path)))
        except OSError:
            return []

    def readlink_name(self, machine_path: str | os.PathLike[str]) -> str | None:
        """The last component of a symlink's target (``/sys/.../driver`` → ``nvidia``), or None."""
        try:
            return os.path.basename(os.readlink(self.path(machine_path)))
        except OSError:
            return None

    def to_machine(self, real_path: str) -> str:
        """A real path inside the test tree → the machine path it stands for (unchanged when live)."""
        if self.live:
            return real_path
        for base in dict.fromkeys((os.path.abspath(self.base), os.path.realpath(self.base))):
            p = os.path.abspath(real_path)
            if p == base or p.startswith(base + os.sep):
                return "/" + os.path.relpath(p, base)
        return real_path

    def realpath(self, machine_path: str | os.PathLike[str]) -> str | None:
        """The resolved path of a file, expressed as a machine path (root prefix removed)."""
        try:
            p = self.path(machine_path)
            if not p.exists():
                return None
            real = os.path.realpath(p)
        except OSError:
            return None
        if self.live:
            return real
        base = os.path.realpath(self.base)
        return "/" + os.path.relpath(real, base) if real.startswith(base) else real
