"""Fix commands several checks share (driver installs, loader-path edits).

Commands are data and never translated; a remark between them is a :class:`Note` (a ``doctor.cmd.*`` key and
its parameters), translated only when it is shown.
"""

from __future__ import annotations

from dlsetup.doctor import facts
from dlsetup.platform import for_snapshot
from dlsetup.platform.shell import Cmd, Note, Step, persist_env, set_env, unset_env
from dlsetup.probe.model import Snapshot

_UBUNTU_LIKE = ("ubuntu", "pop", "linuxmint", "elementary", "zorin", "neon")
_FEDORA_LIKE = ("fedora", "nobara")


def driver_install(snap: Snapshot, branch: str | None = None) -> list[str | Note]:
    """Commands that install an NVIDIA driver (of ``branch``, e.g. ``"580"``, when given) on this distro.

    Empty when the distro has no simple packaged route: the fix text then points at NVIDIA's site.
    """
    if snap.system.os == "windows" and not snap.system.wsl:
        return [Note("doctor.cmd.windows_driver")]
    if snap.system.wsl or snap.system.os != "linux":
        return []  # the driver is installed on the Windows host (or by the vendor on macOS)
    distro = facts.distro_id(snap)
    if distro.startswith(_UBUNTU_LIKE):
        if branch:
            return ["sudo apt update", f"sudo apt install nvidia-driver-{branch}", "sudo reboot"]
        return ["sudo ubuntu-drivers install", "sudo reboot"]
    if distro.startswith("debian"):
        return ["sudo apt update", "sudo apt install nvidia-driver firmware-misc-nonfree", "sudo reboot"]
    if distro.startswith(_FEDORA_LIKE):
        return ["sudo dnf install akmod-nvidia", "sudo reboot"]
    return []


def reboot_or_reload() -> list[str | Note]:
    """After a driver update: reboot, or unload and reload the kernel modules (no GPU process running)."""
    return [
        "sudo reboot",
        Note("doctor.cmd.reload_modules",
          command="sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia"),
    ]


def ld_library_path_without(snap: Snapshot, drop: set[str]) -> list[Step]:
    """``export LD_LIBRARY_PATH=...`` without the ``drop`` entries (``unset`` when nothing is left)."""
    raw = snap.env.get("LD_LIBRARY_PATH")
    if raw is None:
        entries = [d.path for d in snap.cuda.ld_library_path]
    else:
        entries = raw.split(":")
    dropped = {p.rstrip("/") for p in drop}
    keep = [e for e in entries if e and e.rstrip("/") not in dropped]
    if not keep:
        return [unset_env("LD_LIBRARY_PATH")]
    return [set_env("LD_LIBRARY_PATH", ":".join(keep))]


def python(snap: Snapshot, *args: str) -> Cmd:
    """``<this interpreter> <args>`` as an argument list (the path is quoted for the shell when rendered)."""
    return Cmd([snap.tooling.python.executable or "python", *args])


def pip(snap: Snapshot, *args: str) -> Cmd:
    """``<this interpreter> -m pip <args>`` — the pip that belongs to the diagnosed interpreter."""
    return python(snap, "-m", "pip", *args)


def is_windows(snap: Snapshot) -> bool:
    return for_snapshot(snap).is_windows


def persist_step(name: str, value: str) -> Step:
    """Set a variable for this shell and every new one (``setx`` on Windows)."""
    return persist_env(name, value)
