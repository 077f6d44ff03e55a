"""Every message key the verify code uses is in both catalogs; the suite imports only stdlib and torch."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from dlsetup.i18n import load_catalog
from dlsetup.verify.plan import STAGES

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "dlsetup" / "verify"
SUITE = VERIFY / "suite" / "dlverify"
KEY = re.compile(r'"(verify\.[a-z_]+\.[a-z0-9_]+)"')


def used_keys() -> set[str]:
    files = list(VERIFY.rglob("*.py")) + [ROOT / "dlsetup" / "commands" / "verify.py"]
    return {k for f in files for k in KEY.findall(f.read_text(encoding="utf-8"))}


def test_every_used_key_is_catalogued_in_both_languages():
    en, zh = load_catalog("verify", "en"), load_catalog("verify", "zh")
    keys = used_keys() | {f"verify.stage.{s}" for s in STAGES}
    keys |= {f"verify.status.{s}" for s in ("pass", "warn", "fail", "skip", "not_run", "info")}
    keys |= {f"verify.mode.{m}" for m in ("quick", "default", "full")}
    assert len(keys) > 100
    missing = sorted(k for k in keys if k not in en or k not in zh)
    assert not missing


def test_chinese_catalog_is_translated():
    en, zh = load_catalog("verify", "en"), load_catalog("verify", "zh")
    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # CJK text or full-width punctuation
    untranslated = [k for k in en if not cjk.search(zh[k]) and k not in ("verify.label.verdict_pass",)]
    # Only labels that are data (product names, PASS-style verdicts) may stay Latin.
    assert untranslated == [], untranslated


@pytest.mark.parametrize("path", sorted(SUITE.glob("*.py")), ids=lambda p: p.name)
def test_suite_imports_only_stdlib_and_torch(path):
    allowed = set(sys.stdlib_module_names) | {"torch", "dlverify", "__future__"}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_suite_sources_ship_with_the_package():
    assert (SUITE / "csrc" / "dlverify_ext.cpp").is_file() and (SUITE / "csrc" / "dlverify_kernel.cu").is_file()
    assert (VERIFY / "suite" / "__init__.py").is_file() and (VERIFY / "data" / "gpu_peaks.toml").is_file()
