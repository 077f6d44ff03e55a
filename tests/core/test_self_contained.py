"""The project describes itself: no code, data, test or doc points at notes, paths or people outside this
repository (a reader of the repository cannot follow them)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"/work/shared|/work/\.library|shared/research|\.scratch/|anchors-[a-z]+(\.md)?\s*(§|section)|\bresearch §"
                     r"|\bhelper [A-Z]\b|\bissue \d+ goal")


def test_no_reference_leaves_the_repository():
    hits = []
    for folder in ("dlsetup", "docs", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or path.suffix not in (".py", ".md", ".toml", ".json", ".yml", ".yaml", ".txt"):
                continue
            if path == Path(__file__):
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if OUTSIDE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert hits == []
