"""``dlsetup setup``: parse arguments, run (or plan) setup, emit its result."""

from __future__ import annotations

import click

from dlsetup.cli import common_options, shell_option

HELP = """From a fresh machine to a verified deep-learning environment, in one command.

Checks the machine (and stops with the exact fix when the driver or GPU needs attention), picks the
framework build this machine needs, chooses a mirror, shows the whole plan (what is downloaded, what
is written where, and why) and asks once; then creates the environment, writes its lock file,
verifies it and writes an HTML report. Running it again continues where it stopped.

\b
Examples:
  dlsetup setup                      # asks once, then does everything
  dlsetup setup --yes                # for scripts: no question
  dlsetup setup --dry-run            # only the plan; writes nothing
  dlsetup setup --mirror auto --yes  # also pick the fastest mirror that serves this machine
  dlsetup setup --env course --recipe cpu-minimal --verify none
  dlsetup setup --dry-run --snapshot student.json   # plan for another machine
  dlsetup setup --backend venv --yes # a virtual environment (uv) instead of a conda one
  dlsetup setup --shell powershell   # commands to paste into Windows PowerShell

\b
Exit codes: 0 ready and verified (or, with --dry-run, planned); 1 blocked by the machine, failed,
or declined; 2 bad input, or not confirmed (no terminal and no --yes; nothing changed).
"""


@click.command("setup", help=HELP, short_help="From a fresh machine to a verified environment in one command.")
@click.option("--recipe", default="pytorch", show_default=True, help="The stack (see dlsetup create env --help).")
@click.option("--env", "env_name", default="dl", show_default=True, metavar="NAME", help="Name of the environment.")
@click.option("--backend", default=None, metavar="rattler|conda|venv",
              help="Who creates the environment (default: rattler, built in, needs nothing installed; the plan "
                   "says why).")
@click.option("--mirror", default="none", show_default=True, metavar="auto|NAME|none",
              help="auto: probe the catalogue and take the fastest that serves this machine; NAME: that mirror.")
@click.option("--python", "python", metavar="X.Y", help="Python version (default: the newest the framework has builds for).")
@click.option("--verify", "verify_mode", default="quick", show_default=True, metavar="quick|default|full|none",
              help="How thoroughly to verify the new environment.")
@click.option("--out", "out_dir", metavar="DIR", help="Where the lock file and the report go (default: dlsetup's state dir).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; go ahead with the plan.")
@click.option("--dry-run", is_flag=True, help="Only show the plan; write nothing.")
@click.option("--offline", is_flag=True, help="No network for the mirror choice and the solve (caches only).")
@click.option("--snapshot", metavar="FILE", help="With --dry-run: plan for the machine a doctor snapshot describes.")
@shell_option
@common_options
def setup(recipe: str, env_name: str, backend: str, mirror: str, python: str | None, verify_mode: str,
          out_dir: str | None, yes: bool, dry_run: bool, offline: bool, snapshot: str | None,
          shell: str | None) -> int:
    from dlsetup.output import emit, settings
    from dlsetup.result import Result
    from dlsetup.setup.render import confirm_text, render_text
    from dlsetup.setup.runner import Options, run_setup

    def confirm(result) -> bool:
        from dlsetup.output import make_console

        render_text(make_console(stderr=True), result)  # the plan, before the one question
        return click.confirm(confirm_text(result), default=True, err=True)

    opts = Options(recipe=recipe, env=env_name, backend=backend.strip().lower() if backend else None, mirror=mirror,
                   yes=yes,
                   dry_run=dry_run, offline=offline, snapshot=snapshot, python=python, verify=verify_mode,
                   out=out_dir, shell=shell)
    result = run_setup(opts, confirm=None if settings.json else confirm)
    return emit(Result(command="setup", data=result, exit_code=result.exit_code, render_text=render_text))
