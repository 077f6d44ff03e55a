"""``dlsetup doctor``: parse arguments, run the doctor, emit its report."""

from __future__ import annotations

import click

from dlsetup.cli import common_options, shell_option

HELP = """Diagnose the NVIDIA driver, GPUs, CUDA, Python tooling and installed frameworks.

Every finding shows its evidence (what was observed), the cause, and the exact fix. Nothing
is imported or changed unless you ask for --deep (which imports each framework in a child
process with a timeout).

\b
Examples:
  dlsetup doctor                          # this machine, fast (no framework imports)
  dlsetup doctor --deep                   # also import torch/TF/JAX and ask them about CUDA
  dlsetup doctor --python ~/envs/dl/bin/python
  dlsetup doctor --save-snapshot me.json  # a redacted file to send to a teacher
  dlsetup doctor --snapshot student.json  # diagnose a recorded machine
  dlsetup doctor --shell cmd              # fix commands for cmd.exe (Anaconda Prompt)
  dlsetup doctor --strict --json          # for CI: exit 3 on warnings, one JSON document

\b
Exit codes: 0 no errors (notes allowed); 1 errors found; 2 bad input (nothing changed);
3 warnings only, with --strict.
"""


@click.command("doctor", help=HELP, short_help="Diagnose driver, CUDA, Python tooling and frameworks.")
@click.option("--deep", is_flag=True, help="Import each framework in a child process and check CUDA from inside.")
@click.option("--python", "python", metavar="PATH",
              help="Diagnose this interpreter (or environment prefix) instead of the active one.")
@click.option("--deep-timeout", type=click.FloatRange(min=1), default=120.0, show_default=True, metavar="SECONDS",
              help="With --deep: how long one framework import may take before it counts as hung.")
@click.option("--strict", is_flag=True, help="Exit 3 when there are warnings but no errors.")
@click.option("--snapshot", "snapshot", metavar="FILE",
              help="Diagnose a recorded machine (a file from --save-snapshot) instead of this one.")
@click.option("--save-snapshot", "save_snapshot", metavar="FILE",
              help="Also write what the probe found to FILE (JSON, redacted unless --no-redact).")
@click.option("--no-redact", is_flag=True,
              help="With --save-snapshot: keep host name, user name, home paths and GPU UUIDs "
                   "(passwords and tokens inside URLs are removed either way).")
@shell_option
@common_options
def doctor(deep: bool, python: str | None, deep_timeout: float, strict: bool, snapshot: str | None,
           save_snapshot: str | None, no_redact: bool, shell: str | None) -> int:
    from dlsetup.doctor.render import render_text
    from dlsetup.doctor.runner import run_doctor
    from dlsetup.errors import UsageError
    from dlsetup.output import emit
    from dlsetup.result import Result

    if snapshot and (deep or python):
        raise UsageError("doctor.error.snapshot_and_live", option="--deep" if deep else "--python")
    if no_redact and not save_snapshot:
        raise UsageError("doctor.error.no_redact_without_save")
    report = run_doctor(deep=deep, python=python, strict=strict, snapshot_path=snapshot,
                        save_path=save_snapshot, redact=not no_redact, deep_timeout=deep_timeout,
                        shell=shell)
    return emit(Result(command="doctor", data=report, exit_code=report.exit_code, render_text=render_text))
