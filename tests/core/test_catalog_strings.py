"""Every user-facing string in the code comes from the message catalogs.

An AST scan of dlsetup/ (the verify suite runs in the user's interpreter and reports keys, so it is
judged by dlsetup) for string literals passed to what prints or raises for the user: print/echo/write/
warn/log and the error classes. A literal that is a catalog key must exist in the catalog; any other
literal with words in it is a defect unless it is on the allow-list below, with its reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dlsetup import i18n

ROOT = Path(__file__).resolve().parents[2] / "dlsetup"
SINKS = {"print", "echo", "secho", "write", "warn", "log", "status", "UsageError", "DlsetupError",
         "ClickException", "BadParameter", "UsageErrorWithHint"}
KEY = re.compile(r"[a-z_]+\.[A-Za-z0-9_.]+")
ALLOWED = {
    # The report header: the program name and machine facts between markup, no sentence to translate.
    ("doctor/render.py", "[bold]dlsetup doctor[/bold]"),
    # A -v debug line naming the stage id and its status keyword (ids are not translated, like check ids).
    ("verify/api.py", "dlsetup: verify:"),
    # The maintainers' data-generation script (python -m dlsetup.compat.refresh), not the user CLI; the
    # user-facing `dlsetup compat refresh` reports through the catalog.
    ("compat/refresh.py", "refresh failed: "),
    # The maintainers' GPU-database generator (python -m dlsetup.hw.generate), not the user CLI.
    ("hw/generate.py", ":  rows"),
    # A machine row of the class report: facts between markup; "torch" is the package's name.
    ("report/render.py", "    [][/]  ·   · torch"),
}


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return ""


def _calls(root: Path = ROOT):
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("verify/suite/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name in SINKS:
                yield rel, node.lineno, name, node.args[0]


def test_no_user_facing_literal_outside_the_catalog():
    bad = []
    for rel, line, name, arg in _calls():
        text = _text(arg)
        if isinstance(arg, ast.Constant) and KEY.fullmatch(text or ""):
            continue
        words = re.sub(r"\[/?[a-z ]+\]", "", text)  # rich markup is not text
        if not re.search(r"[A-Za-z]{3,}", words):
            continue
        if any(rel == f and text.startswith(prefix) for f, prefix in ALLOWED):
            continue
        bad.append(f"dlsetup/{rel}:{line}: {name}({text[:60]!r})")
    assert not bad, "user-facing text not from the catalog:\n" + "\n".join(bad)


def test_every_key_literal_passed_to_an_error_exists():
    missing = []
    for rel, line, name, arg in _calls():
        if name.endswith("Error") and isinstance(arg, ast.Constant) and KEY.fullmatch(str(arg.value)):
            if not i18n.has(arg.value):
                missing.append(f"dlsetup/{rel}:{line}: {arg.value}")
    assert not missing, missing


def test_the_scan_finds_what_it_should(tmp_path):
    """The scanner itself: a planted English literal is reported (a check that cannot fail is a defect)."""
    (tmp_path / "planted.py").write_text('import sys\nsys.stderr.write(f"something went {x} wrong")\n'
                                         'raise UsageError("core.error.file_not_found", path=p)\n', encoding="utf-8")
    texts = [(name, _text(a)) for _, _, name, a in _calls(tmp_path)]
    assert texts == [("write", "something went  wrong"), ("UsageError", "core.error.file_not_found")]
