"""Pick framework builds for a machine: joins probe facts (``Machine``) with compat data.

Public API: :func:`resolve` (``Request`` -> ``Resolution``), :func:`machine_from_snapshot`,
:func:`apply_overrides`, and the model types. Imports stay light: heavy work happens inside calls.
"""

from __future__ import annotations

from dlsetup.resolve.engine import resolve
from dlsetup.resolve.machine import apply_overrides, bare_machine, live_machine, machine_from_snapshot
from dlsetup.resolve.model import GpuSpec, Machine, Package, Reason, Rejected, Request, Resolution, Spec
from dlsetup.resolve.specs import parse_specs

__all__ = [
    "GpuSpec",
    "Machine",
    "Package",
    "Reason",
    "Rejected",
    "Request",
    "Resolution",
    "Spec",
    "apply_overrides",
    "bare_machine",
    "live_machine",
    "machine_from_snapshot",
    "parse_specs",
    "resolve",
]
