"""Which shell a command's printed commands are written for, when ``--shell`` did not say: the shell dlsetup
runs in for this machine; for a snapshot of another machine or ``--os``, that machine's usual shell
(PowerShell on Windows), as ``doctor`` and ``resolve`` choose (:func:`dlsetup.platform.shell.shell_for`)."""

from __future__ import annotations


def choose(shell: str | None, *, snapshot: str | None = None, os_name: str | None = None) -> str:
    from dlsetup.platform import current
    from dlsetup.platform.shell import detect_shell, shell_for

    if shell:
        return shell
    if snapshot:
        from dlsetup.probe.snapshot import load_snapshot

        return shell_for(load_snapshot(snapshot).system.os)
    if os_name:
        return shell_for(os_name)
    return detect_shell(current())
