"""PyTorch wheels: point pip / uv at the mirror's wheel location for one variant (cu126, cpu, ...).

Only Aliyun, SJTU and NJU mirror PyTorch wheels, each in its own layout:

* ``simple`` (NJU ``pytorch/whl/<variant>``): pip ``extra-index-url``; uv ``[[index]]`` (named
  ``pytorch-<variant>``). Local versions (``2.6.0+cu126``) sort above the plain PyPI build, so pip picks
  the variant; uv's first-index strategy takes torch from the first index that has it.
* ``flat`` (Aliyun ``pytorch-wheels/<variant>/``): pip ``find-links``; uv ``[[index]]`` with ``format = "flat"``.
* ``stable_html`` (SJTU ``torch_stable.html``): one page lists every variant, so a global setting could
  pick the wrong one; nothing is written and the pinned command is printed instead.

Where the mirror has no wheels for the variant, nothing is written for torch and the note says that
PyTorch keeps coming from its upstream index.
"""

from __future__ import annotations

from pathlib import Path

from dlsetup.mirror.catalog import is_mirror_torch_url, is_torch_url
from dlsetup.mirror.writers import Context, Report, append_table
from dlsetup.mirror.writers import pip as pip_writer
from dlsetup.toolconfig.ini import IniDoc

UPSTREAM = "https://download.pytorch.org/whl"


def source(ctx: Context, report: Report | None = None) -> tuple[str, str] | None:
    """(url, layout) to write for ``ctx.variant``, or None (with a note saying why)."""
    m = ctx.mirror
    if m is None:
        return None
    upstream = f"{UPSTREAM}/{ctx.variant}" if ctx.variant else UPSTREAM
    note: tuple[str, dict] | None = None
    if m.torch is None:
        note = ("mirror.note.torch_none", {"mirror": m.id, "upstream": upstream})
    elif not ctx.variant:
        note = ("mirror.note.torch_no_variant", {"mirror": m.id, "variants": ", ".join(m.torch.variants)})
    elif not m.torch.serves(ctx.variant):
        note = ("mirror.note.torch_variant_missing", {"mirror": m.id, "variant": ctx.variant,
                                                      "variants": ", ".join(m.torch.variants), "upstream": upstream})
    elif m.torch.layout == "stable_html":
        note = ("mirror.note.torch_stable_html", {"mirror": m.id, "variant": ctx.variant, "url": m.torch.url})
    if note is not None:
        if report is not None:
            report.note(note[0], **note[1])
            report.skipped = True
        return None
    return m.torch.url_for(ctx.variant), m.torch.layout


# ------------------------------------------------------------------------------------------------ pip


def apply_pip(text: str | None, ctx: Context, report: Report) -> str | None:
    pip_writer.validate(text, report.path or Path("pip.conf"))
    src = source(ctx, report)
    if src is None:
        return text
    url, layout = src
    doc = IniDoc(text or "")
    key = "extra-index-url" if layout == "simple" else "find-links"
    other = "find-links" if key == "extra-index-url" else "extra-index-url"
    for k in (key, other):
        values = doc.get_list("global", k)
        kept = [v for v in values if not is_torch_url(v, ctx.catalog)]
        if k == key:
            kept.append(url)
        if kept != values:
            doc.set_list("global", k, kept)
            report.change(f"global.{k} = {' '.join(kept)}" if kept else f"global.{k} (removed PyTorch URL)")
    return doc.text()


def reset_pip(text: str | None, ctx: Context, report: Report) -> str | None:
    if text is None:
        return None
    pip_writer.validate(text, report.path or Path("pip.conf"))
    doc = IniDoc(text)
    for k in ("extra-index-url", "find-links"):
        values = doc.get_list("global", k)
        kept = [v for v in values if not is_mirror_torch_url(v, ctx.catalog)]
        if kept != values:
            doc.set_list("global", k, kept)
            report.change(f"global.{k} (removed PyTorch URL)")
    if not report.changes:
        return text
    new = doc.text()
    return new if new.strip() else None


# ------------------------------------------------------------------------------------------------- uv


def index_name(variant: str) -> str:
    return f"pytorch-{variant}"


def apply_uv(table, ctx: Context, report: Report, project: bool, root=None) -> None:
    """Edit a tomlkit table (uv.toml document, or ``[tool.uv]``) in place; ``root`` is the pyproject doc."""
    import tomlkit

    src = source(ctx, report)
    if src is None:
        return
    url, layout = src
    assert ctx.variant
    name = index_name(ctx.variant)
    indexes = table.get("index")
    if indexes is None:
        indexes = tomlkit.aot()
        table["index"] = indexes
    entry = None
    for item in list(indexes):
        if not hasattr(item, "get"):
            continue
        item_name = item.get("name")
        if item_name == name:
            entry = item
        elif (not project and isinstance(item_name, str) and item_name.startswith("pytorch-")
              and is_mirror_torch_url(str(item.get("url", "")), ctx.catalog)):
            indexes.remove(item)  # another variant dlsetup set before
            report.change(f"[[index]] {item_name} (removed)")
    if entry is None:
        entry = tomlkit.table()
        entry["name"] = name
        entry["url"] = url
        if layout == "flat":
            entry["format"] = "flat"
        if project:
            entry["explicit"] = True
        append_table(indexes, entry)
        report.change(f"[[index]] name = {name}, url = {url}" + (", format = flat" if layout == "flat" else ""))
    else:
        changed = False
        if entry.get("url") != url:
            entry["url"] = url
            changed = True
        if layout == "flat" and entry.get("format") != "flat":
            entry["format"] = "flat"
            changed = True
        if layout != "flat" and "format" in entry:
            del entry["format"]
            changed = True
        if changed:
            report.change(f"[[index]] {name}: url = {url}")
    if project and root is not None:
        sources = table.get("sources")
        if sources is None:
            sources = tomlkit.table()
            table["sources"] = sources
        for pkg in ("torch", "torchvision", "torchaudio"):
            if pkg not in sources:
                inline = tomlkit.inline_table()
                inline["index"] = name
                sources[pkg] = inline
                report.change(f"[tool.uv.sources] {pkg} = {{ index = \"{name}\" }}")


def reset_uv(table, ctx: Context, report: Report, project: bool) -> None:
    indexes = table.get("index")
    if indexes is None:
        return
    for item in list(indexes):
        if not hasattr(item, "get"):
            continue
        item_name = item.get("name")
        url = str(item.get("url", ""))
        if not (isinstance(item_name, str) and item_name.startswith("pytorch-") and is_mirror_torch_url(url, ctx.catalog)):
            continue
        variant = item_name[len("pytorch-"):]
        upstream = f"{UPSTREAM}/{variant}"
        if project:
            # [tool.uv.sources] still names this index: point it back upstream instead of deleting it.
            if url.rstrip("/") != upstream:
                item["url"] = upstream
                if "format" in item:
                    del item["format"]
                report.change(f"[[tool.uv.index]] {item_name}: url = {upstream}")
        else:
            indexes.remove(item)
            report.change(f"[[index]] {item_name} (removed)")
    if len(indexes) == 0:
        del table["index"]
