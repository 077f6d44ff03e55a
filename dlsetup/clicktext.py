"""click's own words ("Usage:", "No such command", "Missing argument") and dlsetup's help texts from the
message catalog (``dlsetup/messages/cli.<lang>.json``).

click marks its messages with :func:`gettext.gettext` (imported as ``_`` in each click module, see
https://click.palletsprojects.com/en/stable/api/ "Click uses gettext"); :func:`install` points those
names at the catalog, so a message is looked up under ``cli.click.<English text>`` in the current
language at the moment click prints it, and stays English when the catalog has no entry. Help texts are
looked up the same way under ``cli.help.<command path>`` (the command's description) and
``cli.opt.<command path>.<option>`` / ``cli.opt.<option>`` (an option's help); a command without an
entry keeps the text written in its code. The catalog is read only when help or an error is printed.
"""

from __future__ import annotations

import click

_installed = False
_CLICK_MODULES = ("core", "exceptions", "formatting", "parser", "types", "decorators", "termui", "utils")


def _lookup(key: str) -> str | None:
    from dlsetup import i18n

    domain = key.split(".", 1)[0]
    lang = i18n.language()
    value = i18n._catalog(domain, lang).get(key)
    if not value and lang != "en":
        value = i18n._catalog(domain, "en").get(key)
    return value or None  # an empty English entry means: the text written in the command's code


def gettext(message: str) -> str:
    return _lookup("cli.click." + message) or message


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def _path_key(ctx: click.Context) -> str:
    parts = ctx.command_path.split()
    return ".".join(parts[1:]) or "root"


def help_text(ctx: click.Context) -> str | None:
    return _lookup(f"cli.help.{_path_key(ctx)}")


def option_help(ctx: click.Context, name: str | None) -> str | None:
    if not name:
        return None
    # click >= 8.5 stores --help under a reserved name; it caches the option with the help text of the
    # language active when it was first built, so its text is always looked up here.
    name = {"_click_default_help": "help"}.get(name, name)
    return _lookup(f"cli.opt.{_path_key(ctx)}.{name}") or _lookup(f"cli.opt.{name}")


def install() -> None:
    """Route click's messages and the help texts through the catalog (idempotent, cheap)."""
    global _installed
    if _installed:
        return
    _installed = True
    import importlib

    for name in _CLICK_MODULES:
        try:
            mod = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - a click without that module
            continue
        if hasattr(mod, "_"):
            mod._ = gettext
        if hasattr(mod, "ngettext"):
            mod.ngettext = ngettext

    original_help = click.Command.format_help_text
    original_record = click.Option.get_help_record

    def format_help_text(self, ctx, formatter):
        text = help_text(ctx)
        if text is None:
            return original_help(self, ctx, formatter)
        saved = self.help
        self.help = text
        try:
            return original_help(self, ctx, formatter)
        finally:
            self.help = saved

    def get_help_record(self, ctx):
        text = option_help(ctx, self.name)
        if text is None:
            return original_record(self, ctx)
        saved = self.help
        self.help = text
        try:
            return original_record(self, ctx)
        finally:
            self.help = saved

    click.Command.format_help_text = format_help_text
    click.Option.get_help_record = get_help_record
