"""``dlsetup mirror restore`` and ``dlsetup mirror history``: undo journaled changes exactly.

``restore`` undoes the newest change still in force; ``restore --to ID`` undoes every change after
entry ID (``--to 0``: everything dlsetup ever changed). Undone entries stay in the journal, marked
``reverted``, so a second ``restore`` goes one step further back instead of redoing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlsetup.errors import UsageError
from dlsetup.mirror import journal


@dataclass
class RestoreResult:
    dry_run: bool
    to: int | None
    undone: list[int] = field(default_factory=list)
    files: list[journal.RestoredFile] = field(default_factory=list)


def restore(to: int | None = None, *, force: bool = False, dry_run: bool = False) -> RestoreResult:
    with journal.locked():
        all_entries = journal.entries()
        active = journal.active_entries()
        if to is not None and to != 0 and to not in {e.id for e in all_entries}:
            raise UsageError("mirror.error.unknown_entry", id=to)
        if not active:
            raise UsageError("mirror.error.nothing_to_restore")
        targets = [active[-1]] if to is None else [e for e in reversed(active) if e.id > to]
        if not targets:
            raise UsageError("mirror.error.already_at", id=to)
        # Rehearse first: a conflict in any entry stops the restore before a single file changes.
        virtual: dict[str, str | None] = {}
        rehearsal = []
        for e in targets:
            rehearsal += journal.undo_entry(e, force=force, dry_run=True, virtual=virtual)
        result = RestoreResult(dry_run=dry_run, to=to, undone=[e.id for e in targets])
        if dry_run:
            result.files = rehearsal
            return result
        for e in targets:
            result.files += journal.undo_entry(e, force=force)
            journal.mark_reverted(e)
        return result


@dataclass
class HistoryEntry:
    id: int
    time: str
    action: str
    mirror: str | None
    scope: str | None
    status: str
    reverted_at: str | None
    files: list[dict]


@dataclass
class HistoryResult:
    entries: list[HistoryEntry]
    journal_dir: str


def history(limit: int | None = None) -> HistoryResult:
    out = []
    for e in journal.entries():
        out.append(HistoryEntry(
            e.id, e.time, e.action, e.mirror, e.scope, e.status, e.reverted_at,
            [{"path": f.path, "tool": f.tool, "existed": f.existed, "deleted": f.new_sha is None} for f in e.files],
        ))
    if limit:
        out = out[-limit:]
    return HistoryResult(list(reversed(out)), str(journal.root() / "journal"))
