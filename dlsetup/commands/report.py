"""``dlsetup report``: parse arguments, build the overview of many snapshots, emit it (and the HTML page)."""

from __future__ import annotations

import click

from dlsetup.cli import common_options

HELP = """One overview of many machines: a class, a lab, a cluster.

Give doctor snapshots (files from `dlsetup doctor --save-snapshot`) or directories holding them
(every *.json directly inside). Each machine is diagnosed as `dlsetup doctor --snapshot` would; the
findings are grouped by cause, with how many machines have it, which ones, and the fix once per cause.

A file that is not a readable snapshot is listed with its reason and skipped; the others are reported.

\b
Examples:
  dlsetup report snaps/                       # every snapshot in a directory
  dlsetup report snaps/ --html class.html     # a page with a sortable table and a chart of causes
  dlsetup report a.json b.json --json         # one JSON document for scripts
  # collect on a Slurm cluster, one snapshot per node, then report:
  srun --ntasks-per-node=1 dlsetup doctor --save-snapshot snaps/%N.json
  dlsetup report snaps/

\b
Exit codes: 0 no machine has an error; 1 some machine has an error, or some file could not be
read; 2 bad input (a path that does not exist, no snapshot could be read); 3 warnings only, with --strict.
"""


@click.command("report", help=HELP, short_help="One overview of many doctor snapshots (a class, a lab, a cluster).")
@click.argument("paths", nargs=-1, required=True, metavar="SNAPSHOT|DIR...")
@click.option("--html", "html_path", metavar="FILE", help="Also write a self-contained HTML page to FILE.")
@click.option("--strict", is_flag=True, help="Exit 3 when machines have warnings but none has an error.")
@common_options
def report(paths: tuple[str, ...], html_path: str | None, strict: bool) -> int:
    from dlsetup.output import emit
    from dlsetup.report import build_report
    from dlsetup.report.render import render_text
    from dlsetup.result import Result

    if html_path:
        from dlsetup.verify.report import check_writable

        check_writable(html_path)
    overview = build_report(list(paths), strict=strict)
    if html_path:
        import os

        from dlsetup.report.html import write_html

        overview.html = os.path.abspath(html_path)
        doc = Result(command="report", data=overview, exit_code=overview.exit_code).to_json()
        write_html(overview, doc, html_path)
    return emit(Result(command="report", data=overview, exit_code=overview.exit_code, render_text=render_text))
