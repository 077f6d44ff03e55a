"""``dlsetup compat refresh``: fetch the package-index part of the compatibility data into the user cache."""

from __future__ import annotations

import click

from dlsetup.cli import common_options

HELP = """The compatibility data dlsetup decides with.

\b
Examples:
  dlsetup compat refresh             # new releases from the package index, without a new dlsetup
  dlsetup compat refresh --dry-run   # fetch and verify, install nothing
  dlsetup compat refresh --json
"""

REFRESH_HELP = """Fetch which wheels exist (per release, platform and Python), Requires-Python, and the CUDA /
cuDNN / NCCL pins of the index builds from the Python package index into dlsetup's cache.

The result is verified (every project present, no known release lost) and versioned (a manifest with each
file's SHA-256) before it replaces the previous copy; the data shipped with dlsetup stays the offline
fallback. Answers are cached (ETag-aware), so a second refresh takes seconds.

\b
Examples:
  dlsetup compat refresh
  dlsetup compat refresh --dry-run --json
"""


@click.group("compat", help=HELP, context_settings={"max_content_width": 100})
def compat() -> None:
    pass


@compat.command("refresh", help=REFRESH_HELP)
@click.option("--dry-run", is_flag=True, help="Fetch and verify, but do not install the new data.")
@common_options
def refresh(dry_run: bool) -> int:
    from dlsetup import exitcodes
    from dlsetup.output import emit
    from dlsetup.result import Result

    res = run_refresh(dry_run=dry_run)
    return emit(Result(command="compat refresh", data=res, exit_code=exitcodes.OK if res.ok else exitcodes.FAILED,
                       render_text=render))


def run_refresh(dry_run: bool = False, transport=None):
    """Refresh (progress on stderr); network and disk errors become a one-line error with exit code 1."""
    from dlsetup.compat.update import refresh_checked
    from dlsetup.output import log

    return refresh_checked(dry_run=dry_run, transport=transport, progress=lambda m: log(m, level=0))


def render(console, res) -> None:
    from rich.markup import escape

    from dlsetup.i18n import t

    lines = []
    if res.ok:
        key = "compat.refresh.dry_run" if res.dry_run else "compat.refresh.done"
        lines.append(t(key, projects=res.projects, releases=res.releases, seconds=res.seconds, requests=res.requests))
        if not res.dry_run:
            lines.append(t("compat.refresh.where", path=res.target))
        if res.new_releases:
            items = ", ".join(f"{r['project']} {r['version']}" for r in res.new_releases[:20])
            more = f" (+{len(res.new_releases) - 20})" if len(res.new_releases) > 20 else ""
            lines.append(t("compat.refresh.new", items=items + more))
        else:
            lines.append(t("compat.refresh.none_new"))
    else:
        lines.append(t("compat.refresh.failed"))
        lines.extend(f"  - {p}" for p in res.problems)
    console.print("\n".join(escape(x) for x in lines), highlight=False)
