"""Terminal output: colour rules, JSON emission, logging and progress on stderr.

Rules: ``--json`` prints exactly one JSON document on stdout and nothing else; progress and logs go
to stderr. ``NO_COLOR`` or a non-TTY stream turns colour and spinners off.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Settings:
    json: bool = False
    verbose: int = 0
    quiet: bool = False
    command: str | None = None  # the invoked command path, e.g. "env remove" (for error documents)


settings = Settings()


def reset() -> None:
    """Back to defaults (the CLI is also driven in-process by tests)."""
    settings.json = False
    settings.verbose = 0
    settings.quiet = False
    settings.command = None


def _color_allowed(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_console(stderr: bool = False):
    """A rich Console for stdout (or stderr) that honours NO_COLOR and non-TTY output."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    color = _color_allowed(stream)
    return Console(
        file=stream,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not color,
        width=None if color else 120,
        emoji=False,
    )


def emit(result: Any) -> int:
    """Render a :class:`dlsetup.result.Result` as JSON or text; return its exit code."""
    from dlsetup.util import textsafe

    if settings.json or result.render_text is None:
        sys.stdout.write(textsafe.dumps(result.to_json(), indent=2) + "\n")
        sys.stdout.flush()
    else:  # every string drawn for a person is redacted and sanitised here, in this one place
        result.render_text(make_console(), textsafe.sanitize_data(result.data))
    return result.exit_code


def emit_error(command: str, code: str, message: str, exit_code: int) -> None:
    """A one-line error on stderr; with --json also an error document on stdout."""
    from dlsetup.util.textsafe import clean, dumps

    if settings.json:
        doc = {
            "schema_version": 1,
            "command": command,
            "exit_code": exit_code,
            "error": {"code": code, "message": message},
        }
        sys.stdout.write(dumps(doc, indent=2) + "\n")
    sys.stderr.write(f"dlsetup: error: {clean(message)}\n")
    sys.stderr.flush()


def log(message: str, level: int = 1) -> None:
    """Write a log line to stderr when ``--verbose`` reached ``level`` (0 = always unless quiet)."""
    if settings.quiet and level > -1:
        return
    if settings.verbose >= level:
        from dlsetup.util.textsafe import clean

        sys.stderr.write(clean(message) + "\n")


def warn(message: str) -> None:
    if not settings.quiet:
        from dlsetup.util.textsafe import clean

        sys.stderr.write(f"dlsetup: warning: {clean(message)}\n")


def progress_enabled() -> bool:
    return not settings.quiet and _color_allowed(sys.stderr)


@contextmanager
def status(text: str):
    """A spinner on stderr while a long step runs (only on a TTY, never with --quiet)."""
    if not progress_enabled():
        yield None
        return
    console = make_console(stderr=True)
    with console.status(text) as st:
        yield st


def progress_bar(transient: bool = True):
    """A rich Progress on stderr, or a no-op stand-in when progress is disabled."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=make_console(stderr=True),
        transient=transient,
        disable=not progress_enabled(),
    )
