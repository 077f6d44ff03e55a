"""``dlsetup mirror``: argument parsing only; the work is in :mod:`dlsetup.mirror`."""

from __future__ import annotations

import click

from dlsetup import exitcodes
from dlsetup.cli import common_options, shell_option
from dlsetup.output import emit
from dlsetup.result import Result

GROUP_HELP = """Point pip, conda, uv, pixi, PyTorch wheels and Hugging Face at a mirror; measure; undo.

\b
dlsetup mirror NAME writes each tool's own config (user scope by default), after checking that the
mirror serves what you need (--offline skips the check). Every write is journaled: `restore` puts
the files back byte for byte; `reset` removes dlsetup's keys so each tool is back on its upstream.

\b
Examples:
  dlsetup mirror list                    # the catalogue (tuna, ustc, aliyun, ... and your own)
  dlsetup mirror tuna --dry-run          # show the diff of every file, write nothing
  dlsetup mirror tuna                    # pip, conda, uv, pixi (those installed)
  dlsetup mirror aliyun --tools pip,torch --variant cu126
  dlsetup mirror tuna --hf hf-mirror     # also HF_ENDPOINT (hf-mirror.com, a personal project)
  dlsetup mirror status                  # what each tool uses now, and what masks what
  dlsetup mirror restore                 # undo the last change exactly
  dlsetup mirror probe tuna ustc aliyun  # which mirror serves torch / repodata / wheels, how fast
  dlsetup mirror fastest --apply
"""

APPLY_HELP = """Apply mirror NAME (a catalogue name, an alias such as tsinghua, or a custom mirror).

\b
Tools: those present on this machine, or --tools pip,conda,uv,pixi,torch,hf.
Scopes: user (default: ~/.config/pip/pip.conf, ~/.condarc, ~/.config/uv/uv.toml, $PIXI_HOME/config.toml,
an HF_ENDPOINT snippet); env (the active venv or conda env: $VIRTUAL_ENV/pip.conf, $CONDA_PREFIX/.condarc,
conda env variables); project (uv.toml / pyproject.toml [tool.uv], <project>/.pixi/config.toml).

\b
Examples:
  dlsetup mirror tuna
  dlsetup mirror tsinghua --dry-run
  dlsetup mirror ustc --tools conda --scope env
  dlsetup mirror nju --tools uv,torch --scope project --variant cu126
  dlsetup mirror tuna --offline          # no network check before writing
"""


class MirrorGroup(click.Group):
    """``dlsetup mirror NAME ...`` runs the hidden ``apply`` command; known words run sub-commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first, skip = None, False
        for a in args:
            if skip:
                skip = False
            elif a == "--lang":  # the one group-level option that takes a value
                skip = True
            elif not a.startswith("-"):
                first = a
                break
        if first is not None and first not in self.commands:
            args = ["apply", *args]
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(80)) for name, cmd in self.commands.items() if not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=MirrorGroup, help=GROUP_HELP, invoke_without_command=False, no_args_is_help=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@common_options
def mirror() -> None:
    pass


def _tools_option(func):
    return click.option("--tools", metavar="LIST",
                        help="Comma-separated: pip,conda,uv,pixi,torch,hf (default: the tools present).")(func)


def _scope_option(func):
    return click.option("--scope", type=click.Choice(["user", "env", "project"]), default="user", show_default=True,
                        help="Which config files to write.")(func)


@mirror.command("apply", hidden=True, help=APPLY_HELP)
@click.argument("name")
@_tools_option
@_scope_option
@click.option("--dry-run", is_flag=True, help="Print a unified diff per file; write nothing.")
@click.option("--offline", is_flag=True, help="Apply from the catalogue without checking the mirror first.")
@click.option("--conda-defaults", is_flag=True,
              help="Also use Anaconda's 'defaults' channels from the mirror (Anaconda's terms apply).")
@click.option("--variant", metavar="VARIANT", help="PyTorch wheel variant: cpu, cu126, cu128, ... (default: resolver).")
@click.option("--hf", "hf", metavar="NAME", help="Take HF_ENDPOINT from this catalogue entry (e.g. hf-mirror).")
@click.option("--package", default="pip", show_default=True, help="Package whose index page the pre-write check reads.")
@click.option("--timeout", type=click.FloatRange(0.1, 120), default=8.0, show_default=True,
              help="Seconds per check before writing.")
@shell_option
@common_options
def apply_cmd(name, tools, scope, dry_run, offline, conda_defaults, variant, hf, package, timeout, shell) -> int:
    from dlsetup.commands.shellchoice import choose
    from dlsetup.mirror import apply as mirror_apply
    from dlsetup.mirror.render import render_apply

    result = mirror_apply.run(name, tools=mirror_apply.parse_tools(tools), scope=scope, dry_run=dry_run,
                              offline=offline, conda_defaults=conda_defaults, variant=variant, hf=hf,
                              package=package, timeout=timeout)
    result.set_shell(choose(shell))
    return emit(Result(command="mirror", data=result, render_text=render_apply))


@mirror.command("list")
@common_options
def list_cmd() -> int:
    """The mirror catalogue (with your custom mirrors).

    \b
    Examples:
      dlsetup mirror list
      dlsetup mirror list --json
    """
    from dlsetup.mirror.catalog import custom_file, load_catalog
    from dlsetup.mirror.render import render_list

    cat = load_catalog()
    data = {"mirrors": [m.to_dict() for m in cat.mirrors.values()], "custom_file": str(custom_file())}
    return emit(Result(command="mirror list", data=data, render_text=render_list))


@mirror.command("status")
@common_options
def status_cmd() -> int:
    """What each tool uses now, which file or variable set it, and what masks what.

    \b
    Examples:
      dlsetup mirror status
      dlsetup mirror status --json
    """
    from dlsetup.mirror.render import render_status
    from dlsetup.mirror.status import status

    return emit(Result(command="mirror status", data=status(), render_text=render_status))


@mirror.command("restore")
@click.option("--to", "to", type=click.IntRange(min=0), metavar="ID",
              help="Undo every change after journal entry ID (0: everything dlsetup changed).")
@click.option("--force", is_flag=True, help="Restore even files changed since dlsetup wrote them.")
@click.option("--dry-run", is_flag=True, help="Say what would be restored; change nothing.")
@common_options
def restore_cmd(to, force, dry_run) -> int:
    """Put the config files back exactly as they were (the last change, or back to --to ID).

    \b
    Examples:
      dlsetup mirror restore            # undo the last apply or reset
      dlsetup mirror restore --to 0     # undo everything dlsetup mirror ever changed
      dlsetup mirror history            # the IDs
    """
    from dlsetup.mirror.history import restore
    from dlsetup.mirror.render import render_restore

    return emit(Result(command="mirror restore", data=restore(to, force=force, dry_run=dry_run),
                       render_text=render_restore))


@mirror.command("reset")
@_tools_option
@_scope_option
@click.option("--dry-run", is_flag=True, help="Print a unified diff per file; write nothing.")
@common_options
def reset_cmd(tools, scope, dry_run) -> int:
    """Remove dlsetup's mirror keys so each tool is back on its upstream default (journaled).

    \b
    Examples:
      dlsetup mirror reset
      dlsetup mirror reset --tools pip --dry-run
    """
    from dlsetup.mirror import apply as mirror_apply
    from dlsetup.mirror.render import render_apply

    result = mirror_apply.run(None, tools=mirror_apply.parse_tools(tools), scope=scope, dry_run=dry_run, reset=True)
    return emit(Result(command="mirror reset", data=result, render_text=render_apply))


@mirror.command("history")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N entries.")
@common_options
def history_cmd(limit) -> int:
    """The journal: every apply/reset with its files, newest first.

    \b
    Examples:
      dlsetup mirror history
      dlsetup mirror history --json
    """
    from dlsetup.mirror.history import history
    from dlsetup.mirror.render import render_history

    return emit(Result(command="mirror history", data=history(limit), render_text=render_history))


def _probe_options(func):
    options = [
        click.option("--package", default="torch", show_default=True, help="Package whose simple page must be served."),
        click.option("--version", "version", metavar="VER", help="Version the simple page must list."),
        click.option("--variant", metavar="VARIANT", help="PyTorch variant to check (default: resolver, else cpu)."),
        click.option("--torch-version", metavar="VER", help="torch version of the wheel to check (default: newest)."),
        click.option("--python", "python", metavar="X.Y", help="Python the wheel must fit (default: this one)."),
        click.option("--subdir", metavar="SUBDIR", help="conda subdir (default: this machine's, e.g. linux-64)."),
        click.option("--checks", metavar="LIST", default="pip,conda,torch,hf", show_default=True,
                     help="Which checks: pip,conda,torch,hf."),
        click.option("--timeout", type=click.FloatRange(0.1, 120), default=8.0, show_default=True,
                     help="Seconds per check."),
        click.option("--max-bytes", type=click.IntRange(min=1024), default=1 << 20, show_default=True,
                     help="Byte cap per file check (Range request)."),
        click.option("--jobs", type=click.IntRange(1, 64), default=32, show_default=True, help="Parallel requests (bounded pool)."),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func


def _run_probe(names, package, version, variant, torch_version, python, subdir, checks, timeout, max_bytes, jobs,
               default_all: bool):
    from dlsetup.errors import UsageError
    from dlsetup.i18n import t
    from dlsetup.mirror import machine, probe
    from dlsetup.mirror.catalog import load_catalog
    from dlsetup.output import progress_bar

    cat = load_catalog()
    mirrors = [cat.get(n) for n in names] if names else cat.auto_candidates()
    mirrors = list({m.id: m for m in mirrors}.values())
    tools = tuple(c.strip() for c in checks.split(",") if c.strip())
    bad = [c for c in tools if c not in ("pip", "conda", "torch", "hf")]
    if bad:
        raise UsageError("mirror.error.unknown_check", check=bad[0])
    source = "option"
    if not variant and "torch" in tools:
        variant, source = machine.default_variant()
        variant = variant or "cpu"
    opts = probe.ProbeOptions(package=package, version=version, variant=variant, variant_source=source,
                              torch_version=torch_version, python=python, subdir=subdir, tools=tools,
                              timeout=timeout, max_bytes=max_bytes, jobs=jobs)
    with progress_bar() as bar:
        task = bar.add_task(t("mirror.probe.progress", count=len(mirrors)), total=probe.count_checks(mirrors, opts))
        return probe.probe_mirrors(mirrors, opts, on_progress=lambda: bar.advance(task))


@mirror.command("probe")
@click.argument("names", nargs=-1)
@_probe_options
@common_options
def probe_cmd(names, package, version, variant, torch_version, python, subdir, checks, timeout, max_bytes, jobs) -> int:
    """Check, in parallel, that mirrors serve what you need (and how fast). Default: all auto mirrors.

    \b
    Examples:
      dlsetup mirror probe                       # every catalogue mirror
      dlsetup mirror probe tuna ustc aliyun --package torch --version 2.6.0
      dlsetup mirror probe aliyun nju --variant cu126 --checks torch
    """
    from dlsetup.mirror.render import render_probe

    report = _run_probe(names, package, version, variant, torch_version, python, subdir, checks, timeout, max_bytes,
                        jobs, True)
    code = exitcodes.OK if report.fastest else exitcodes.FAILED
    return emit(Result(command="mirror probe", data=report, exit_code=code, render_text=render_probe))


@mirror.command("fastest")
@click.argument("names", nargs=-1)
@click.option("--apply", "do_apply", is_flag=True, help="Apply the fastest passing mirror.")
@click.option("--offline", is_flag=True, help="Use the cached probe results; no network.")
@click.option("--max-age", type=click.FloatRange(min=0), default=None, metavar="MINUTES",
              help="Reuse cached results younger than this instead of probing.")
@_tools_option
@_scope_option
@_probe_options
@shell_option
@common_options
def fastest_cmd(names, do_apply, offline, max_age, tools, scope, package, version, variant, torch_version, python,
                subdir, checks, timeout, max_bytes, jobs, shell) -> int:
    """Probe mirrors and name (or --apply) the fastest one that passes every check.

    \b
    Examples:
      dlsetup mirror fastest
      dlsetup mirror fastest --apply --tools pip,uv
      dlsetup mirror fastest --offline --apply    # from the last probe's cache
    """
    import time

    from dlsetup.errors import OperationFailed, UsageError
    from dlsetup.mirror import apply as mirror_apply
    from dlsetup.mirror import probe
    from dlsetup.mirror.render import render_fastest

    report = None
    if offline or max_age is not None:
        report = probe.load_cache()
        if report is not None and max_age is not None and not offline:
            if time.time() - report.created_unix > max_age * 60:
                report = None
        if report is None and offline:
            raise UsageError("mirror.error.no_cache", path=str(probe.cache_file()))
        if report is not None and names:
            from dlsetup.mirror.catalog import load_catalog

            catalog = load_catalog()
            wanted = {catalog.get(n).id for n in names}  # aliases (tsinghua) name the cached ids (tuna)
            report.mirrors = [m for m in report.mirrors if m.mirror in wanted]
            report.fastest = next((m.mirror for m in report.mirrors if m.ok), None)
    if report is None:
        report = _run_probe(names, package, version, variant, torch_version, python, subdir, checks, timeout,
                            max_bytes, jobs, True)
    applied = None
    if do_apply:
        if not report.fastest:
            raise OperationFailed("mirror.error.none_passed")
        applied = mirror_apply.run(report.fastest, tools=mirror_apply.parse_tools(tools), scope=scope, offline=True,
                                   variant=variant)
        from dlsetup.commands.shellchoice import choose

        applied.set_shell(choose(shell))
    code = exitcodes.OK if report.fastest else exitcodes.FAILED
    return emit(Result(command="mirror fastest", data={"probe": report, "applied": applied}, exit_code=code,
                       render_text=render_fastest))
