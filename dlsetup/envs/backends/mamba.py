"""mamba: version 1 is conda's command line with a faster solver; version 2 is micromamba.

``mamba --version`` tells them apart (ensureconda/api.py ``determine_mamba_version`` relies on the same):
mamba 1 prints ``mamba 1.5.8`` then ``conda 24.x``; mamba 2 prints a bare ``2.0.5``.
"""

from __future__ import annotations

from dlsetup.envs.backends._base import Backend
from dlsetup.envs.backends._cli import CliBackend
from dlsetup.envs.backends.micromamba import MicromambaBackend, parse_version


class MambaV1Backend(CliBackend):
    kind = "mamba"
    supports_clone = True
    copies_untracked_on_clone = True  # mamba 1 delegates clone to conda's clone_env


class MambaV2Backend(MicromambaBackend):
    kind = "mamba"


def make_mamba_backend(exe: str) -> Backend:
    from dlsetup.util.proc import run

    res = run([exe, "--version"], timeout=20)
    first = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
    version = parse_version(first)
    if version is not None and version[0] < 2:
        return MambaV1Backend(exe)
    return MambaV2Backend(exe, version)
