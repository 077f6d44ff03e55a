"""Text rendering (rich) of the environment results; ``--json`` prints the same objects instead."""

from __future__ import annotations

from dlsetup.envs.model import CreateResult, EnvList, ExportResult, LockResult, RemoveResult
from dlsetup.i18n import t


def _p(console, text: str) -> None:
    """Print data verbatim: package specs like ``tensorflow[and-cuda]`` must not be read as rich markup."""
    console.print(text, markup=False, highlight=False)


def _row(table, *cells: str) -> None:
    from rich.text import Text

    table.add_row(*(Text(str(c)) for c in cells))


def _table(*headers: str):
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for h in headers:
        table.add_column(h)
    return table


def create(console, r: CreateResult) -> None:
    head_key = f"envs.label.{r.action}" + ("_dry" if r.dry_run else "")
    _p(console, t(head_key, prefix=r.prefix, backend=r.backend))
    if r.recipe is not None:
        plan = r.recipe
        _p(console, t("envs.label.recipe", recipe=plan.recipe, machine=plan.machine_text))
        if plan.snapshot:
            _p(console, "  " + t("envs.label.snapshot", path=plan.snapshot))
        for fw in plan.frameworks:
            _p(console, f"  • {fw.get('requirement')}  [{fw.get('variant') or '-'}]  " +
                          t("envs.label.from_index", url=fw.get("index_url") or t("envs.label.default_index")))
        if plan.cuda:
            _p(console, "  " + t("envs.label.cuda", cuda=plan.cuda, cudnn=plan.cudnn or "-"))
        if plan.python:
            _p(console, "  " + t("envs.label.python", python=plan.python))
        for reason in plan.reasons[:6]:
            src = f"  ({reason.get('source')})" if reason.get("source") else ""
            _p(console, f"    - {reason.get('text')}{src}")
    if r.source_prefix:
        _p(console, "  " + t("envs.label.source", source=r.source_prefix))
    if r.lockfile:
        _p(console, "  " + t("envs.label.lockfile", path=r.lockfile, platform=r.platform or ""))
    if r.channels:
        _p(console, "  " + t("envs.label.channels", channels=", ".join(r.channels)))
    if r.specs and r.action == "create":
        _p(console, "  " + t("envs.label.specs", specs=" ".join(r.specs)))
    if r.pip and r.action == "create":
        idx = r.pip_index_url or t("envs.label.default_index")
        _p(console, "  " + t("envs.label.pip", specs=" ".join(r.pip), index=idx))
    if r.virtual_packages:
        _p(console, "  " + t("envs.label.virtual", packages=", ".join(r.virtual_packages)))
    if r.variables:
        _p(console, "  " + t("envs.label.variables", variables=", ".join(f"{k}={v}" for k, v in r.variables.items())))
    if not r.solved:
        _p(console, "  " + t("envs.label.not_solved", reason=r.solve_error or "?"))
    if r.packages or r.pip_packages:
        table = _table(t("envs.col.package"), t("envs.col.version"), t("envs.col.build"), t("envs.col.source"))
        for p in r.packages:
            _row(table, p.name, p.version, p.build, p.channel)
        for p in r.pip_packages:
            _row(table, p.name, p.version, "pip", p.channel or (p.url or ""))
        console.print(table)
        _p(console, t("envs.label.count", conda=len(r.packages), pip=len(r.pip_packages)))
    wf = r.wheel_fetch
    if wf and wf.get("via") == "engine" and wf.get("files"):
        _p(console, t("envs.label.wheels_engine", files=wf["files"], mib=f"{wf.get('bytes_transferred', 0) / 2**20:.1f}",
                      cached=wf.get("from_cache", 0), resumed=wf.get("resumed", 0), fallbacks=wf.get("fallbacks", 0)))
    elif wf and wf.get("via") != "engine":
        _p(console, t("envs.label.wheels_plain", tool=wf["via"], reason=wf.get("reason") or "?"))
    if r.untracked_files:
        _p(console, t("envs.label.untracked", count=r.untracked_files))
    for w in r.warnings:
        _p(console, t("envs.label.warning", text=w))
    if not r.dry_run and r.activate:
        _p(console, t("envs.label.activate", command=r.activate, seconds=f"{r.duration_s:.2f}"))


def env_list(console, r: EnvList) -> None:
    if not r.envs:
        _p(console, t("envs.label.no_envs", dirs=", ".join(r.envs_dirs)))
    else:
        table = _table(t("envs.col.name"), t("envs.col.python"), t("envs.col.packages"), t("envs.col.flags"),
                       t("envs.col.prefix"))
        for e in r.envs:
            flags = []
            if e.active:
                flags.append("*")
            if e.base:
                flags.append("base")
            if not e.registered:
                flags.append(t("envs.label.unregistered"))
            _row(table, e.name or "-", e.python or "-", str(e.packages if e.packages is not None else "-"),
                          " ".join(flags), e.prefix)
        console.print(table)
    for name in r.cleaned:
        _p(console, t("envs.label.cleaned", name=name))


def export(console, r: ExportResult) -> None:
    import sys

    for w in r.warnings:
        sys.stderr.write(t("core.warning.prefix", message=w) + "\n")
    if r.output:
        _p(console, t("envs.label.exported", path=r.output, format=r.format))
    else:
        # the file itself, byte for byte, so `dlsetup env export demo > environment.yml` works
        sys.stdout.write(r.content)
        sys.stdout.flush()


def lock(console, r: LockResult) -> None:
    _p(console, t("envs.label.locked", path=r.lockfile, seconds=f"{r.duration_s:.2f}"))
    table = _table(t("envs.col.platform"), t("envs.col.conda"), t("envs.col.pip"))
    for p in r.platforms:
        _row(table, p, str(r.packages.get(p, 0)), str(r.pip_packages.get(p, 0)))
    console.print(table)
    _p(console, t("envs.label.lock_next", path=r.lockfile))


def remove(console, r: RemoveResult) -> None:
    if r.removed:
        _p(console, t("envs.label.removed", prefix=r.prefix))
    else:
        _p(console, t("envs.label.would_remove", prefix=r.prefix))
