"""Every doctor check, registered in one place.

A check is a function ``(snapshot) -> list[Finding]`` that never prints and never looks at the live
machine: everything it needs is in the snapshot, so a recorded machine replays exactly. One module per
family; adding a check means adding a function to its module's ``CHECKS`` (and a module here).
"""

from __future__ import annotations

from collections.abc import Callable

from dlsetup.doctor.model import Finding
from dlsetup.probe.model import Snapshot

Check = Callable[[Snapshot], list[Finding]]

# Render order inside a group follows severity; this order only breaks ties.
MODULES = (
    "gpu", "driver", "container", "container_host", "wsl",  # Driver & GPU
    "env_vars", "cuda_toolkit",  # CUDA
    "python_tools", "index_config", "disk",  # Python & packages
    "torch_build", "tensorflow", "frameworks", "retired",  # Frameworks
    "windows",  # Windows root causes (each check is a no-op elsewhere)
    "probe_health",
)


def registered() -> list[tuple[str, Check]]:
    """``(name, check)`` pairs in order; the name is ``<module>.<function>`` (``driver.nvml_error``)."""
    import importlib

    out: list[tuple[str, Check]] = []
    for name in MODULES:
        module = importlib.import_module(f"dlsetup.doctor.checks.{name}")
        out.extend((f"{name}.{fn.__name__}", fn) for fn in module.CHECKS)
    return out


def all_checks() -> list[Check]:
    """The registered checks, in order."""
    return [fn for _, fn in registered()]
