"""What ``dlsetup setup`` computes: one entry per step, the plan it showed, what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STEPS = ("doctor", "resolve", "mirror", "plan", "create", "lock", "verify", "report")

# step statuses
DONE = "done"  # ran now and finished
CACHED = "cached"  # finished in an earlier run with the same inputs: skipped
PLANNED = "planned"  # --dry-run: would run
BLOCKED = "blocked"  # doctor found something a new environment cannot fix
FAILED = "failed"
NOT_RUN = "not_run"  # an earlier step stopped the run
SKIPPED = "skipped"  # nothing to do (e.g. no mirror chosen)

# overall outcomes
OK = "ok"
PLAN_ONLY = "planned"
NEEDS_CONFIRMATION = "needs_confirmation"
DECLINED = "declined"


@dataclass
class Step:
    name: str
    status: str
    summary: str = ""  # one translated line
    data: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass
class SetupResult:
    """Everything ``dlsetup setup`` prints (the ``--json`` document is this, field by field)."""

    env: str
    prefix: str
    recipe: str
    backend: str
    dry_run: bool
    outcome: str  # ok | planned | blocked | failed | needs_confirmation | declined
    steps: list[Step]
    plan: dict[str, Any] = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)  # commands to run next (driver fix, or the activate line)
    # remarks between them ("then run dlsetup setup again"): {"at": i, "id": key, "params": {...}, "text": ...},
    # shown before next_steps[i]; only "text" follows --lang
    next_notes: list[dict[str, Any]] = field(default_factory=list)
    activate: str | None = None  # activate_steps, written for ``shell``
    activate_steps: list = field(default_factory=list)  # platform.shell Cmd/Step
    shell: str = "bash"  # the shell next_steps and activate are written for
    lock: str | None = None
    report: str | None = None
    state_file: str | None = None
    exit_code: int = 0

    def add_note(self, key: str, **params: Any) -> None:
        """A remark after the next steps so far (its text in the language shown; key and params are the facts)."""
        from dlsetup.i18n import t

        self.next_notes.append({"at": len(self.next_steps), "id": key, "params": params, "text": t(key, **params)})

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)
