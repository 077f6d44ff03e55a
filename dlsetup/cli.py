"""The ``dlsetup`` command line: parse arguments, call a command module, render its result.

Sub-commands load lazily (``dlsetup --help`` imports none of them). Each command module in
``dlsetup/commands/`` only parses its arguments, calls into the capability package, and returns the
exit code from :func:`dlsetup.output.emit`. Errors reach the user as one line, never as a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from dlsetup import __version__, clicktext, exitcodes

# name -> (module, attribute, short help). Short help is kept here so --help imports nothing else.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "setup": ("dlsetup.commands.setup", "setup", "From a fresh machine to a verified environment in one command."),
    "doctor": ("dlsetup.commands.doctor", "doctor", "Diagnose driver, CUDA, Python tooling and frameworks."),
    "report": ("dlsetup.commands.report", "report", "One overview of many doctor snapshots (a class, a lab, a cluster)."),
    "resolve": ("dlsetup.commands.resolve", "resolve", "Pick compatible framework builds and print install commands."),
    "mirror": ("dlsetup.commands.mirror", "mirror", "Point pip, conda, uv, pixi, PyTorch wheels and HF at a mirror."),
    "run": ("dlsetup.commands.run", "run", "Run a command inside an environment: dlsetup run -n NAME CMD ..."),
    "create": ("dlsetup.commands.env", "create", "Create an environment: dlsetup create env NAME ..."),
    "env": ("dlsetup.commands.env", "env", "List, export, clone, lock, install and remove environments."),
    "download": ("dlsetup.commands.download", "download",
                 "Download an environment's packages (resumable, verified) into an offline bundle."),
    "verify": ("dlsetup.commands.verify", "verify", "Prove the stack computes correctly (ops, autograd, training)."),
    "compat": ("dlsetup.commands.compat", "compat", "Refresh the compatibility data from the package index."),
}

# The root help text is the catalog's ``cli.help.root`` (English and Chinese), see dlsetup/clicktext.py.
ROOT_HELP = None


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when used."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr, _ = self.lazy[cmd_name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from dlsetup import clicktext

        rows = [(name, clicktext._lookup(f"cli.short.{name}") or self.lazy[name][2])
                for name in self.list_commands(ctx) if name in self.lazy]
        rows += [
            (name, cmd.get_short_help_str(80))
            for name, cmd in sorted(self.commands.items())
            if name not in self.lazy and not cmd.hidden
        ]
        if rows:
            with formatter.section(clicktext.gettext("Commands")):
                formatter.write_dl(rows)


_early_lang: list[str | None] = [None]  # --lang as found on the command line before parsing (main)


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from dlsetup import i18n

    if value is None and ctx.parent is not None:
        return value
    try:
        i18n.set_language(value if value is not None else _early_lang[0])
    except i18n.UnsupportedLanguage as exc:
        from dlsetup.errors import UsageError

        raise UsageError("core.error.unknown_lang", lang=exc.lang, supported=", ".join(i18n.SUPPORTED)) from None
    return value


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    from dlsetup.output import settings

    if value:
        settings.json = True
    return value


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> int:
    from dlsetup.output import settings

    settings.verbose = max(settings.verbose, value or 0)
    # Every command with common_options passes here; the deepest one names the command for error documents.
    settings.command = document_name(ctx) or settings.command
    return value


def document_name(ctx: click.Context | None) -> str | None:
    """The ``command`` of the JSON documents of the command ``ctx`` runs, the same in success and error
    documents: its path without the program name; a hidden command that its group runs by default (``mirror
    NAME`` runs ``mirror apply``) is named as the user typed it, by its group."""
    words: list[str] = []
    while ctx is not None and ctx.parent is not None:
        if not (getattr(ctx.command, "hidden", False) and not words):
            words.insert(0, ctx.info_name or ctx.command.name or "")
        ctx = ctx.parent
    return " ".join(w for w in words if w) or None


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    from dlsetup.output import settings

    if value:
        settings.quiet = True
    return value


def common_options(func):
    """--json, --lang, -v/--verbose, -q/--quiet on every command (also accepted before the command)."""
    func = click.option(
        "--json", "json_output", is_flag=True, expose_value=False, is_eager=True, callback=_set_json,
        help="Print one JSON document on stdout (logs and progress go to stderr).",
    )(func)
    func = click.option(
        "--lang", metavar="zh|en", expose_value=False, is_eager=True, callback=_set_lang,
        help="Output language (default: DLSETUP_LANG, LANG/LC_ALL, the Windows display language).",
    )(func)
    func = click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_set_verbose, help="More detail (repeatable).",
    )(func)
    func = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet, help="Only errors.",
    )(func)
    return func


clicktext.install()


def shell_option(func):
    """--shell on every command that prints commands to paste (resolve, doctor, env, mirror)."""
    return click.option(
        "--shell", "shell", type=click.Choice(["bash", "zsh", "fish", "powershell", "cmd"]), default=None,
        help="Write commands for this shell (default: the shell dlsetup runs in; PowerShell for a Windows "
             "snapshot or --os windows).",
    )(func)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    help=ROOT_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="dlsetup", message="%(prog)s %(version)s")
@common_options
def cli() -> None:
    pass


def _command_name(argv: list[str]) -> str:
    from dlsetup.output import settings

    if settings.command:
        return settings.command
    for arg in argv:
        if not arg.startswith("-") and arg in COMMANDS:
            return arg
    return "dlsetup"


def _click_error_document(exc: click.ClickException, args: list[str]) -> None:
    """With --json, a usage error click found (an unknown option, a bad value) is an error document too."""
    from dlsetup.output import settings, write_json

    if not (settings.json or "--json" in args[: args.index("--") if "--" in args else len(args)]):
        return
    ctx = getattr(exc, "ctx", None)
    write_json({"schema_version": 1, "command": document_name(ctx) or _command_name(args),
                "exit_code": exc.exit_code, "error": {"code": "usage", "message": exc.format_message()}})


def _os_ui_language() -> str | None:
    """The user's UI language as the OS tells it (Windows; None elsewhere), asked only when no variable says."""
    from dlsetup.platform import current

    return current().ui_language()


def _early_language(args: list[str]) -> None:
    """Choose the language before click parses anything, so that ``--help`` and click's own messages
    ("Usage:", "No such command") follow ``--lang`` wherever it stands on the line, or the environment."""
    from dlsetup import i18n

    lang = _early_lang[0] = None
    i18n.set_ui_language_source(_os_ui_language)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            lang = args[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    # click's messages and the help texts follow i18n.language() when printed (dlsetup/clicktext.py).
    try:
        i18n.set_language(lang)
        _early_lang[0] = lang
    except i18n.UnsupportedLanguage:  # reported by the --lang option itself, as a usage error
        i18n.set_language(None)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into a one-line message and an exit code."""
    from dlsetup.errors import DlsetupError
    from dlsetup.output import setup_streams

    args = sys.argv[1:] if argv is None else list(argv)
    setup_streams()
    _early_language(args)
    try:
        code = cli.main(args=args, prog_name="dlsetup", standalone_mode=False)
        if not isinstance(code, int):
            code = exitcodes.OK
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        _click_error_document(exc, args)
        exc.show()
        code = exc.exit_code
    except click.exceptions.Abort:
        from dlsetup.i18n import t

        sys.stderr.write(t("core.aborted") + "\n")
        code = 130
    except DlsetupError as exc:
        from dlsetup.output import emit_error

        emit_error(_command_name(args), exc.key, exc.message(), exc.exit_code)
        code = exc.exit_code
    except KeyboardInterrupt:
        from dlsetup.i18n import t

        sys.stderr.write(t("core.interrupted") + "\n")
        code = 130
    except BrokenPipeError:
        code = exitcodes.FAILED
    except Exception as exc:  # the last line of defence: never a traceback unless -v
        from dlsetup.i18n import t
        from dlsetup.output import emit_error, settings

        if settings.verbose:
            import traceback

            traceback.print_exc()
        emit_error(_command_name(args), "internal", t("core.error.internal", error=f"{type(exc).__name__}: {exc}"),
                   exitcodes.FAILED)
        code = exitcodes.FAILED
    if argv is None and "rattler" in sys.modules:
        from dlsetup.envs.rattler_exit import needs_hard_exit  # PyO3/pyo3-async-runtimes#40, version-gated

        if needs_hard_exit():
            _exit_without_teardown(code)
    sys.exit(code)


def _exit_without_teardown(code: int) -> None:
    """Leave the process without interpreter teardown (real CLI runs only, never in-process callers).

    py-rattler 0.28's native worker threads can crash the teardown that follows a solve (SIGSEGV or
    SIGABRT at exit in roughly half the runs, turning exit code 1 into 139); everything is written by
    now, so flush the streams and exit directly. Upstream and version gate: ``dlsetup.envs.rattler_exit``.
    """
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe must not change the exit code
            pass
    os._exit(code)
