"""Text rendering of download / pack results (the ``--json`` form is the same objects)."""

from __future__ import annotations

from dlsetup.i18n import t


def bundle(console, r) -> None:
    tgt = r.target
    head = "download.render.plan" if r.dry_run else ("download.render.failed" if r.failed else "download.render.done")
    console.print(t(head, path=r.path, platform=tgt.platform, python=tgt.python, conda=len(r.conda_packages),
                    wheels=len(r.wheels)))
    if tgt.machine:
        console.print("  " + t("download.render.machine", machine=tgt.machine))
    if r.dry_run:
        for name in [*r.conda_packages, *r.wheels]:
            console.print(f"  {name}")
        return
    console.print("  " + t("download.render.bytes", mib=f"{r.bytes_total / 2**20:.1f}",
                           transferred=f"{r.bytes_transferred / 2**20:.1f}", seconds=f"{r.duration_s:.1f}"))
    if r.from_cache or r.retried or r.fallbacks:
        console.print("  " + t("download.render.network", cached=r.from_cache, retried=r.retried,
                               fallbacks=len(r.fallbacks)))
    for f in r.fallbacks:
        console.print("  " + t("download.render.fallback", file=f["file"], url=f["url"] or "-"))
    for f in r.failed:
        console.print("  " + t("download.render.file_failed", file=f["file"], error=f["error"]))
    if r.next_command:
        console.print("  " + t("download.render.next", command=r.next_command))
