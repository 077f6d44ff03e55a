"""The package graph only points down: an AST pass over every ``dlsetup`` import (module level and inside
functions alike, since a lazy import is still a dependency).

Layers, lowest first (a unit may import units of lower layers; inside one layer, the edges must not form
a cycle, and between the capabilities of layer 4 there are none at all: the layer above composes them):
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "dlsetup"

LAYERS: list[set[str]] = [
    # 0: foundation (and the data-only packages: message catalogs, recipes)
    {"__init__", "util", "errors", "exitcodes", "i18n", "output", "result", "paths", "messages", "recipes"},
    # 1: what the machine and its tools are, and data about releases: platform (per-OS facts), tool
    #    configuration, compat data and the hardware tables next to it; download: fetching files with checks
    {"platform", "toolconfig", "compat", "hw", "download"},
    # 2: reading this machine
    {"probe"},
    # 3: joining machine and data
    {"resolve"},
    # 4: capabilities
    {"doctor", "mirror", "envs", "verify"},
    # 5: workflows over several capabilities (offline: bundles over download, resolve and envs)
    {"setup", "report", "offline"},
    # 6: the command line
    {"commands", "cli", "__main__"},
]
CAPABILITIES = LAYERS[4]
LAYER_OF = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every ``dlsetup.*`` module named by an import in ``path`` (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from dlsetup import compat`` names a submodule: count each name that is one
            if target == "dlsetup":
                out += [(f"dlsetup.{a.name}" if _is_module(a.name) else "dlsetup", node.lineno) for a in node.names]
            else:
                out.append((target, node.lineno))
    return [(name, line) for name, line in out if name == "dlsetup" or name.startswith("dlsetup.")]


def _is_module(name: str) -> bool:
    return (ROOT / f"{name}.py").is_file() or (ROOT / name / "__init__.py").is_file()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _edges() -> dict[tuple[str, str], list[str]]:
    """(from module, to module) -> where; modules are dlsetup's files, dotted."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "suite" in path.relative_to(ROOT).parts:  # the verify suite runs in the target interpreter, alone
            continue
        src = _module_name(path)
        for target, line in _imports(path):
            edges.setdefault((src, target), []).append(f"{path.relative_to(ROOT.parent)}:{line}")
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_unit_has_a_layer():
    units = {p.name if p.is_dir() else p.stem for p in ROOT.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")}
    units |= {"messages"} if (ROOT / "messages").is_dir() else set()
    assert units - set(LAYER_OF) == set(), "add the new package or module to LAYERS"


def test_no_import_points_up_or_sideways_between_capabilities():
    bad = []
    for (src, dst), where in _edges().items():
        a, b = _unit(src), _unit(dst)
        if a == b:
            continue
        la, lb = LAYER_OF[a], LAYER_OF[b]
        if lb > la or (la == lb and a in CAPABILITIES):
            bad.append(f"{a} (layer {la}) -> {b} (layer {lb}) at {', '.join(where)}")
    assert bad == []


@pytest.mark.parametrize("level", ["unit", "module"])
def test_the_import_graph_has_no_cycle(level):
    graph: dict[str, set[str]] = {}
    for src, dst in _edges():
        if level == "unit":
            a, b = _unit(src), _unit(dst)
        else:
            a, b = src, dst
            # ``import dlsetup.x.y`` runs ``dlsetup/x/__init__``: a package is not a cycle with its own modules
            if b.startswith(a + ".") or a.startswith(b + "."):
                continue
        if a != b:
            graph.setdefault(a, set()).add(b)
    assert _cycles(graph) == []


def test_the_checker_sees_a_violation(tmp_path):
    """The checker itself can fail: an upward edge and a cycle planted in a small graph are found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    f = tmp_path / "x.py"
    f.write_text("from dlsetup.mirror import api\nimport dlsetup.probe.model\n")
    assert [n for n, _ in _imports_outside(f)] == ["dlsetup.mirror", "dlsetup.probe.model"]


def _imports_outside(path: Path) -> list[tuple[str, int]]:
    """:func:`_imports` for a file outside the package (absolute imports only)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out.append((node.module or "", node.lineno))
    return out


def test_no_except_importerror_around_dlsetups_own_imports():
    """A guard around dlsetup's own import hides a broken graph (third-party and platform guards are fine)."""
    bad = []
    for path in ROOT.rglob("*.py"):
        if "suite" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            catches = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if not catches & {"ImportError", "ModuleNotFoundError"}:
                continue
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and (stmt.level or (stmt.module or "").startswith("dlsetup")):
                    bad.append(f"{path.relative_to(ROOT.parent)}:{stmt.lineno}")
                if isinstance(stmt, ast.Import) and any(a.name.startswith("dlsetup") for a in stmt.names):
                    bad.append(f"{path.relative_to(ROOT.parent)}:{stmt.lineno}")
    assert bad == []

