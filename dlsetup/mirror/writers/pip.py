"""pip: ``global.index-url`` (+ ``trusted-host`` only for an http:// mirror), as ``pip config set`` would.

Source for the form: mirrorz-org/mirrorz-docs:pypi/pypi.zh.md (``pip config set global.index-url``);
pypa/pip ``cli/cmdoptions.py`` (``--trusted-host`` disables certificate checks for a host, so it is
added only when the mirror is plain http). A ``[install]``/``[download]`` ``index-url`` masks the
``[global]`` value; it is reported, never silently overwritten.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from dlsetup.mirror.catalog import owner_of
from dlsetup.mirror.writers import Context, Report, malformed
from dlsetup.toolconfig.ini import IniDoc
from dlsetup.toolconfig.readers import ConfigFileError, parse_ini


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def validate(text: str | None, path: Path) -> None:
    if text:
        try:
            parse_ini(text, path)
        except ConfigFileError as exc:
            raise malformed("pip", exc) from None


def apply(text: str | None, ctx: Context, report: Report) -> str | None:
    validate(text, report.path or Path("pip.conf"))
    m = ctx.mirror
    assert m is not None and m.pip
    doc = IniDoc(text or "")
    for line, header in doc.odd_headers():
        report.note("mirror.note.pip_header_text_ignored", file=str(report.path), line=line, text=header)
    old = doc.get("global", "index-url")
    if old != m.pip:
        doc.set("global", "index-url", m.pip)
        report.change(f"global.index-url = {m.pip}")
    hosts = doc.get_list("global", "trusted-host")
    # drop trusted-host entries that only other catalogue mirrors needed
    keep = [h for h in hosts if not _mirror_host(h, ctx) or (m.pip_http and h == host_of(m.pip))]
    if m.pip_http and host_of(m.pip) not in keep:
        keep.append(host_of(m.pip))
    if keep != hosts:
        doc.set_list("global", "trusted-host", keep)
        report.change(f"global.trusted-host = {' '.join(keep)}" if keep else "global.trusted-host (removed)")
    for section in ("install", "download"):
        masking = doc.get(section, "index-url")
        if masking:
            report.note("mirror.note.pip_section_masks", section=section, file=str(report.path), value=masking)
    return doc.text()


def reset(text: str | None, ctx: Context, report: Report) -> str | None:
    if text is None:
        return None
    validate(text, report.path or Path("pip.conf"))
    doc = IniDoc(text)
    current = doc.get("global", "index-url")
    if current and owner_of(current, ctx.catalog) is None:
        # not a mirror dlsetup knows (a company index, say): the user's own setting, not dlsetup's key
        report.note("mirror.note.reset_kept", setting="global.index-url", value=current, file=str(report.path))
    elif doc.remove("global", "index-url"):
        report.change("global.index-url (removed)")
    hosts = doc.get_list("global", "trusted-host")
    keep = [h for h in hosts if not _mirror_host(h, ctx)]
    if keep != hosts:
        doc.set_list("global", "trusted-host", keep)
        report.change("global.trusted-host (removed mirror hosts)")
    if not report.changes:
        return text
    new = doc.text()
    return new if new.strip() else None  # nothing left: delete the file dlsetup's keys were the only content of


def _mirror_host(host: str, ctx: Context) -> bool:
    for mirror in ctx.catalog.mirrors.values():
        for url in (mirror.pip, mirror.pip_files):
            if url and host_of(url) == host:
                return True
    return False
