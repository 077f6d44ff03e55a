"""What ``dlsetup report`` computes: one row per machine, one entry per cause, the files that failed."""

from __future__ import annotations

from dataclasses import dataclass, field

OK = "ok"
WARNING = "warning"
ERROR = "error"


@dataclass
class MachineRow:
    """One snapshot, diagnosed. ``name`` is the file name without ``.json`` (``%N`` under Slurm)."""

    name: str
    path: str
    status: str  # "ok" | "warning" | "error" (the most severe finding; notes do not count)
    os: str
    gpus: list[str]
    driver: str | None
    cuda_driver: str | None
    torch: str | None  # "2.6.0+cpu"
    errors: int
    warnings: int
    notes: int
    findings: list[str]  # finding ids, in doctor's order


@dataclass
class FixVariant:
    """One wording of a cause's fix and the machines it applies to (most causes have exactly one)."""

    fix: str
    commands: list[str]
    machines: list[str]
    notes: list[dict] = field(default_factory=list)  # doctor's remarks between the commands (Finding.notes)

    def lines(self) -> list[tuple[str, str]]:
        """("note", text) and ("command", line) in the order they are shown."""
        out: list[tuple[str, str]] = []
        for i in range(len(self.commands) + 1):
            out += [("note", str(n.get("text") or "")) for n in self.notes if n.get("at") == i]
            if i < len(self.commands):
                out.append(("command", self.commands[i]))
        return out


@dataclass
class Cause:
    """All machines with one finding id."""

    id: str
    severity: str  # the most severe seen for this id
    group: str
    title: str  # the most common title
    count: int
    machines: list[str]
    fixes: list[FixVariant] = field(default_factory=list)


@dataclass
class Unreadable:
    name: str
    path: str
    error: str  # one line


@dataclass
class Totals:
    files: int = 0
    machines: int = 0
    ok: int = 0
    warning: int = 0
    error: int = 0
    unreadable: int = 0


@dataclass
class Overview:
    """Everything ``dlsetup report`` prints (the JSON document is this, field by field)."""

    totals: Totals
    causes: list[Cause]
    machines: list[MachineRow]
    unreadable: list[Unreadable]
    exit_code: int
    strict: bool = False
    html: str | None = None
