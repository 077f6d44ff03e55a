"""Backend selection: ``--backend`` > ``DLSETUP_BACKEND`` > auto (``venv`` is only used when asked for).

Auto uses the conda-family tool the user already has — ``$CONDA_EXE`` (set inside an activated conda
shell), ``$MAMBA_EXE`` (set by ``micromamba shell init`` / mamba 2), then ``conda``, ``mamba``,
``micromamba`` on PATH — and the embedded rattler backend when there is none.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from dlsetup.envs.backends._base import Backend, CreateRequest
from dlsetup.errors import UsageError

BACKENDS = ("rattler", "conda", "mamba", "micromamba", "venv")

__all__ = ["BACKENDS", "Backend", "CreateRequest", "Tool", "detect_tools", "select_backend"]


@dataclass(frozen=True)
class Tool:
    kind: str  # "conda" | "mamba" | "micromamba"
    path: str
    source: str  # "CONDA_EXE" | "MAMBA_EXE" | "PATH"


def _kind(path: str) -> str | None:
    base = Path(path).name.lower().removesuffix(".exe").removesuffix(".bat")
    for kind in ("micromamba", "mamba", "conda"):
        if base == kind or base.startswith(kind + "-"):
            return kind
    return None


def detect_tools() -> list[Tool]:
    """conda-family executables found, most specific first (no subprocess is run)."""
    found: list[Tool] = []
    seen: set[str] = set()

    def add(path: str | None, source: str) -> None:
        if not path:
            return
        p = Path(path).expanduser()
        if not (p.is_file() and os.access(p, os.X_OK)):
            return
        kind = _kind(str(p))
        real = os.path.realpath(p)
        if kind is None or real in seen:
            return
        seen.add(real)
        found.append(Tool(kind, str(p), source))

    add(os.environ.get("CONDA_EXE"), "CONDA_EXE")
    add(os.environ.get("MAMBA_EXE"), "MAMBA_EXE")
    for name in ("conda", "mamba", "micromamba"):
        add(shutil.which(name), "PATH")
    return found


def _make(tool: Tool) -> Backend:
    if tool.kind == "conda":
        from dlsetup.envs.backends.conda import CondaBackend

        return CondaBackend(tool.path)
    if tool.kind == "mamba":
        from dlsetup.envs.backends.mamba import make_mamba_backend

        return make_mamba_backend(tool.path)
    from dlsetup.envs.backends.micromamba import MicromambaBackend

    return MicromambaBackend(tool.path)


def select_backend(name: str | None = None) -> Backend:
    """The backend to use; a UsageError when the one asked for is unknown or not installed."""
    choice = (name or os.environ.get("DLSETUP_BACKEND") or "auto").strip().lower()
    if choice == "rattler":
        from dlsetup.envs.backends.rattler import RattlerBackend

        return RattlerBackend()
    if choice == "venv":  # no conda at all: uv (or python -m venv + pip)
        from dlsetup.envs.backends.venv import VenvBackend

        return VenvBackend()
    tools = detect_tools()
    if choice == "auto":
        if tools:
            return _make(tools[0])
        from dlsetup.envs.backends.rattler import RattlerBackend

        return RattlerBackend()
    if choice not in BACKENDS:
        raise UsageError("envs.error.bad_backend", backend=choice, known=", ".join(("auto", *BACKENDS)))
    for tool in tools:
        if tool.kind == choice:
            return _make(tool)
    raise UsageError("envs.error.backend_missing", backend=choice)
