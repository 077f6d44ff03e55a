"""Where ``dlsetup setup`` remembers what it finished, per environment, so a second run continues.

``<state dir>/setup/<env>.json`` records each finished step with a hash of its inputs (the resolved specs,
the channels, the backend, ...). A step is skipped on the next run only when its hash is unchanged and
its output still exists; anything else runs again. The file is written atomically after every step.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

VERSION = 1


def inputs_hash(inputs: Any) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def state_file(env: str) -> Path:
    from dlsetup.paths import state_dir

    return state_dir() / "setup" / f"{env}.json"


class State:
    def __init__(self, path: Path, steps: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self.steps: dict[str, dict[str, Any]] = steps or {}

    @classmethod
    def load(cls, env: str) -> State:
        """The recorded steps; a missing or damaged file is an empty state (everything runs again)."""
        path = state_file(env)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            steps = doc.get("steps") if isinstance(doc, dict) and doc.get("version") == VERSION else None
            if not isinstance(steps, dict):
                steps = {}
        except (OSError, ValueError):
            steps = {}
        return cls(path, {k: v for k, v in steps.items() if isinstance(v, dict)})

    def finished(self, step: str, digest: str) -> dict[str, Any] | None:
        entry = self.steps.get(step)
        if entry and entry.get("inputs") == digest:
            return entry.get("data") if isinstance(entry.get("data"), dict) else {}
        return None

    def record(self, step: str, digest: str, data: dict[str, Any]) -> None:
        import datetime as dt

        from dlsetup.util.atomic import write_text_atomic

        self.steps[step] = {"inputs": digest, "data": data,
                            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        doc = {"version": VERSION, "steps": self.steps}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")

    def forget(self, *steps: str) -> None:
        for s in steps:
            self.steps.pop(s, None)
