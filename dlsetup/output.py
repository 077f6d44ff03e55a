"""Terminal output: colour rules, JSON emission, logging and progress on stderr.

Rules: ``--json`` prints exactly one JSON document on stdout and nothing else; progress and logs go
to stderr. ``NO_COLOR`` or a non-TTY stream turns colour and spinners off.

Output never crashes on the stream's encoding. A redirect on Chinese Windows writes cp936 (GBK), on
Western Windows cp1252 (Python uses the ANSI code page for files and pipes:
https://docs.python.org/3/library/sys.html#sys.stdout). :func:`setup_streams` gives text streams that
cannot encode everything the ``dlsetup-ascii`` error handler: a symbol the code page lacks becomes its
ASCII form (✓ → ok, • → -, → → ->), anything else ``?``. ``--json`` is always UTF-8 bytes.
"""

from __future__ import annotations

import json
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


# Symbols used in the catalogs and renderers, and what a stream that cannot encode them gets instead.
ASCII_FALLBACKS = {
    "\u2713": "ok", "\u2714": "ok", "\u2717": "x", "\u2718": "x", "\u2022": "-", "\u00b7": ".",
    "\u2192": "->", "\u2190": "<-", "\u21d2": "=>", "\u2265": ">=", "\u2264": "<=", "\u2260": "!=",
    "\u2014": "--", "\u2013": "-", "\u2026": "...", "\u201c": '"', "\u201d": '"', "\u2018": "'",
    "\u2019": "'", "\u00d7": "x", "\u00a7": "S.", "\u2502": "|", "\u251c": "|-", "\u2514": "`-",
    "\u2500": "-", "\u00a0": " ", "\u3002": ".", "\u3001": ",",
}
ERRORS = "dlsetup-ascii"


def _ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    import unicodedata

    out = []
    for ch in exc.object[exc.start:exc.end]:
        sub = ASCII_FALLBACKS.get(ch)
        if sub is None:
            folded = unicodedata.normalize("NFKC", ch)  # fullwidth ： ， （ → : , (
            sub = folded if folded.isascii() else "?"
        out.append(sub)
    return "".join(out), exc.end


def _register() -> None:
    import codecs

    try:
        codecs.lookup_error(ERRORS)
    except LookupError:
        codecs.register_error(ERRORS, _ascii_fallback)


def _is_utf(encoding: str | None) -> bool:
    return (encoding or "").lower().replace("-", "").replace("_", "").startswith("utf")


def setup_streams(streams: tuple[Any, ...] | None = None) -> None:
    """Let stdout/stderr write whatever their encoding: keep UTF-8 streams as they are; give the others
    the ASCII fallback handler instead of ``strict`` (what a console or a redirect on Windows gets)."""
    _register()
    for stream in streams if streams is not None else (sys.stdout, sys.stderr):
        if stream is None or _is_utf(getattr(stream, "encoding", None)):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError):  # a closed or detached stream: nothing will be written to it
            pass


def write_json(doc: Any) -> None:
    """One JSON document on stdout, always UTF-8 (bytes to the buffer when the text layer is not UTF-8)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None and not _is_utf(getattr(sys.stdout, "encoding", None)):
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
        return
    sys.stdout.write(text)
    sys.stdout.flush()


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
    if settings.json or result.render_text is None:
        write_json(result.to_json())
    else:
        result.render_text(make_console(), result.data)
    return result.exit_code


def emit_error(command: str, code: str, message: str, exit_code: int) -> None:
    """A one-line error on stderr; with --json also an error document on stdout."""
    if settings.json:
        doc = {
            "schema_version": 1,
            "command": command,
            "exit_code": exit_code,
            "error": {"code": code, "message": message},
        }
        write_json(doc)
    from dlsetup.i18n import t

    sys.stderr.write(t("core.error.prefix", message=message) + "\n")
    sys.stderr.flush()


def log(message: str, level: int = 1) -> None:
    """Write a log line to stderr when ``--verbose`` reached ``level`` (0 = always unless quiet)."""
    if settings.quiet and level > -1:
        return
    if settings.verbose >= level:
        sys.stderr.write(message + "\n")


def warn(message: str) -> None:
    if not settings.quiet:
        from dlsetup.i18n import t

        sys.stderr.write(t("core.warning.prefix", message=message) + "\n")


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
