"""uv: ``[[index]] url = ... default = true`` (+ ``python-install-mirror``), edited with tomlkit.

Form from astral-sh/uv docs/concepts/indexes.md and mirrorz-docs / ustclug help:
only the entry with ``default = true`` is replaced, the user's named indexes stay; ``python-install-mirror``
is a uv.toml-only key (not valid in pyproject.toml). The deprecated ``index-url`` is left alone: an
``[[index]]`` default beats it (checked with uv 0.13.9).
"""

from __future__ import annotations

from pathlib import Path

from dlsetup.mirror.catalog import is_mirror_torch_url, owner_of
from dlsetup.mirror.writers import Context, Report, append_table, load_toml
from dlsetup.mirror.writers import torch as torch_writer


def _table(doc, pyproject: bool, create: bool):
    import tomlkit

    if not pyproject:
        return doc
    tool = doc.get("tool")
    if tool is None:
        if not create:
            return None
        tool = tomlkit.table(is_super_table=True)
        doc["tool"] = tool
    uv = tool.get("uv")
    if uv is None:
        if not create:
            return None
        uv = tomlkit.table()
        tool["uv"] = uv
    return uv


def apply(text: str | None, ctx: Context, report: Report, *, include_torch: bool = False) -> str | None:
    """Set the default index (and python-install-mirror); with ``include_torch`` also the PyTorch index."""
    import tomlkit

    path = report.path or Path("uv.toml")
    pyproject = path.name == "pyproject.toml"
    doc = load_toml("uv", text, path)
    table = _table(doc, pyproject, create=True)
    m = ctx.mirror
    assert m is not None
    if m.pip:
        indexes = table.get("index")
        if indexes is None:
            indexes = tomlkit.aot()
            table["index"] = indexes
        default = next((e for e in indexes if hasattr(e, "get") and e.get("default") is True), None)
        if default is None:
            entry = tomlkit.table()
            entry["url"] = m.pip
            entry["default"] = True
            append_table(indexes, entry)
            report.change(f"[[index]] url = {m.pip}, default = true")
        elif default.get("url") != m.pip:
            default["url"] = m.pip
            report.change(f"[[index]] (default) url = {m.pip}")
        # uv asks the other [[index]] entries (and extra-index-url) before the default index
        # (docs/concepts/indexes.md): a package they carry never comes from the mirror
        for e in indexes:
            url = str(e.get("url", "")) if hasattr(e, "get") else ""
            if url and e.get("default") is not True and not is_mirror_torch_url(url, ctx.catalog):
                report.note("mirror.note.uv_index_first", url=url, file=str(path))
        extra = table.get("extra-index-url")
        for url in [extra] if isinstance(extra, str) else list(extra or []):
            report.note("mirror.note.uv_index_first", url=str(url), file=str(path))
    if m.python_install:
        if pyproject:
            report.note("mirror.note.uv_python_mirror_pyproject", url=m.python_install)
        elif table.get("python-install-mirror") != m.python_install:
            table["python-install-mirror"] = m.python_install
            report.change(f"python-install-mirror = {m.python_install}")
    elif table.get("python-install-mirror") and not pyproject:
        owner = owner_of(str(table["python-install-mirror"]), ctx.catalog)
        if owner and owner.id != m.id:
            report.note("mirror.note.uv_python_mirror_kept", mirror=m.id, owner=owner.id)
    if include_torch:
        torch_writer.apply_uv(table, ctx, report, project=pyproject, root=doc if pyproject else None)
    new = tomlkit.dumps(doc)
    return new if report.changes else text


def reset(text: str | None, ctx: Context, report: Report, *, include_torch: bool = True) -> str | None:
    if text is None:
        return None
    path = report.path or Path("uv.toml")
    pyproject = path.name == "pyproject.toml"
    doc = load_toml("uv", text, path)
    table = _table(doc, pyproject, create=False)
    if table is None:
        return text
    indexes = table.get("index")
    if indexes is not None:
        for item in list(indexes):
            if hasattr(item, "get") and item.get("default") is True:
                url = str(item.get("url", ""))
                if owner_of(url, ctx.catalog) is None:  # the user's own default index: not dlsetup's
                    report.note("mirror.note.reset_kept", setting="[[index]] default = true", value=url,
                                file=str(path))
                    continue
                indexes.remove(item)
                report.change(f"[[index]] default {url} (removed)")
        if len(indexes) == 0:
            del table["index"]
    if "python-install-mirror" in table and not pyproject:
        value = str(table["python-install-mirror"])
        if owner_of(value, ctx.catalog) is None:
            report.note("mirror.note.reset_kept", setting="python-install-mirror", value=value, file=str(path))
        else:
            del table["python-install-mirror"]
            report.change("python-install-mirror (removed)")
    if include_torch:
        torch_writer.reset_uv(table, ctx, report, project=pyproject)
    if not report.changes:
        return text
    if pyproject and len(table) == 0:
        del doc["tool"]["uv"]
        if len(doc["tool"]) == 0:
            del doc["tool"]
    import tomlkit

    new = tomlkit.dumps(doc)
    if not pyproject and not new.strip():
        return None
    return new
