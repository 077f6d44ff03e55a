"""Commands for the user's shell: argument lists in, one pasteable line per shell out.

Result objects keep commands as :class:`Cmd` (an argument list, plus the environment it needs) or as
:class:`Step` (set/unset/persist a variable, find a program); this module is the ONE place they become
text. Quoting follows each shell's documented rules:

* bash, zsh: POSIX single quotes (:func:`shlex.quote`); a single-quoted string has no expansion at all.
  https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_02_02
* fish: single quotes, in which only ``\\'`` and ``\\\\`` are escapes.
  https://fishshell.com/docs/current/language.html#quotes
* PowerShell (5.1 and 7): single-quoted (verbatim) strings, a ``'`` inside is written twice; PowerShell
  also treats the typographic quotes U+2018..U+201B as single quotes, so they are doubled too. A quoted
  program name needs the call operator ``&``. Windows PowerShell 5.1 has no ``&&``/``||`` (added in 7.0),
  so steps are joined with ``; if ($?) { ... }``.
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_pipeline_chain_operators
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_operators#call-operator-
* cmd.exe: double quotes protect ``& | < > ^ ( )`` and spaces; ``^`` escapes a character outside quotes;
  ``%NAME%`` is expanded even inside quotes, so a ``%`` is written outside quotes as ``^%`` (the variable
  name then ends in ``^`` and is never defined, and the caret is removed afterwards). A ``"`` cannot be
  quoted for cmd (Windows paths cannot contain one), so it is replaced by ``?`` and the line is inert.
  https://learn.microsoft.com/windows-server/administration/windows-commands/cmd
  https://learn.microsoft.com/windows-server/administration/windows-commands/set_1
  https://learn.microsoft.com/windows-server/administration/windows-commands/setx
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh", "fish", "powershell", "cmd")
POSIX_SHELLS = ("bash", "zsh")


@dataclass(frozen=True)
class Cmd:
    """A command as data: ``argv`` and the variables it needs (``env``), never a pre-quoted string."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    def __init__(self, argv: Sequence[str], env: Iterable[tuple[str, str]] | dict[str, str] = ()) -> None:
        object.__setattr__(self, "argv", tuple(str(a) for a in argv))
        items = env.items() if isinstance(env, dict) else env
        object.__setattr__(self, "env", tuple((str(k), str(v)) for k, v in items))

    def to_json(self) -> dict:
        return {"argv": list(self.argv), "env": dict(self.env)}


@dataclass(frozen=True)
class Step:
    """A shell action that is not a program run: ``set``/``unset``/``persist`` a variable, ``prepend_path``,
    ``which`` (every program of that name on PATH), ``rehash`` (forget cached program locations)."""

    kind: str
    name: str = ""
    value: str = ""
    extra: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {"step": self.kind, "name": self.name, "value": self.value}


@dataclass(frozen=True)
class Note:
    """A remark between commands ("if that fails:", "on the host:"): a message key and its parameters, never
    text. It is translated only when shown, so a fix's commands are the same facts in every language."""

    key: str
    params: tuple[tuple[str, str], ...] = ()

    def __init__(self, key: str, **params: object) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", tuple((k, str(v)) for k, v in params.items()))


Command = Cmd | Step


def set_env(name: str, value: str) -> Step:
    return Step("set", name, value)


def unset_env(name: str) -> Step:
    return Step("unset", name)


def persist_env(name: str, value: str) -> Step:
    """Set a variable for every new shell (``setx`` on Windows, a line in the shell's start-up file elsewhere)."""
    return Step("persist", name, value)


def prepend_path(*dirs: str) -> Step:
    return Step("prepend_path", "PATH", "", tuple(dirs))


def which(program: str) -> Step:
    return Step("which", program)


def rehash() -> Step:
    return Step("rehash")


# Activation scripts, by the shell that reads them: conda's activate.d convention (conda/activate.py,
# ``_get_activate_scripts``: ``*.sh`` for POSIX shells, ``*.fish``, ``*.ps1``, ``*.bat``).
SCRIPT_EXT = {"bash": ".sh", "zsh": ".sh", "fish": ".fish", "powershell": ".ps1", "cmd": ".bat"}


def source_scripts(*paths: str) -> Step:
    """Run, in the current shell, those of ``paths`` written for it (by extension: :data:`SCRIPT_EXT`)."""
    return Step("source", "", "", tuple(str(p) for p in paths))


def activate_venv(prefix: str, os_name: str) -> Step:
    """A virtual environment's own activation script for the shell (https://docs.python.org/3/library/venv.html,
    "How venvs work"): ``bin/activate`` (bash/zsh), ``bin/activate.fish``, ``bin/Activate.ps1`` on POSIX;
    ``Scripts\\activate`` (Git Bash), ``Scripts\\activate.fish``, ``Scripts\\Activate.ps1`` (PowerShell) and
    ``Scripts\\activate.bat`` (cmd.exe) on Windows. ``os_name`` is the machine the environment lives on."""
    return Step("activate_venv", str(prefix), "windows" if str(os_name).lower().startswith("win") else "posix")


_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_POSIX_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
_PS_SAFE = re.compile(r"^[A-Za-z0-9_+=:./\\-]+$")  # no , (array), no @ $ ` ( ) { } ; & | < > # ' "
_CMD_SAFE = re.compile(r"^[A-Za-z0-9_+=:,./\\-]+$")
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def check_shell(shell: str) -> str:
    if shell not in SHELLS:
        raise ValueError(f"unknown shell: {shell}")
    return shell


def _var(name: str) -> str:
    if not _VAR.match(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    return name


def quote(arg: str, shell: str) -> str:
    """One argument, quoted so that the shell passes it through verbatim (and runs nothing inside it)."""
    arg = str(arg)
    if shell in (*POSIX_SHELLS, "fish") and arg.startswith("~/") and len(arg) > 2:
        # A home-relative path (a redacted snapshot writes ``~/...``): the ~ stays outside the quotes so the
        # shell expands it; the rest is quoted as usual.
        return "~/" + quote(arg[2:], shell)
    if shell in POSIX_SHELLS:
        # A leading = is zsh's "=cmd" expansion; a leading ~ is tilde expansion (not in the safe set).
        if arg.startswith("="):
            return "'" + arg.replace("'", "'\"'\"'") + "'"  # shlex.quote leaves = unquoted
        return arg if _POSIX_SAFE.match(arg) else shlex.quote(arg)
    if shell == "fish":
        if _POSIX_SAFE.match(arg) and "%" not in arg:  # fish expands %self
            return arg
        return "'" + arg.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "powershell":
        # Bare: plain words and option names; a leading digit could parse as a number (1e5), a leading
        # - with more than a name could be --% (stop-parsing) or -name:value.
        if re.match(r"^--?[A-Za-z0-9][A-Za-z0-9-]*$|^\d+$", arg) or (
                _PS_SAFE.match(arg) and not arg[0].isdigit() and not arg.startswith("-")):
            return arg
        return "'" + "".join(c * 2 if c in _PS_QUOTES else c for c in arg) + "'"
    if shell == "cmd":
        if _CMD_SAFE.match(arg):
            return arg
        arg = re.sub(r"[\r\n\x00\"]", "?", arg)
        parts = arg.split("%")
        return "^%".join(f'"{p}"' if p else "" for p in parts) or '""'
    raise ValueError(f"unknown shell: {shell}")


def _argv(argv: Sequence[str], shell: str) -> str:
    words = [quote(a, shell) for a in argv]
    if shell == "powershell" and words and words[0] != argv[0]:
        words[0] = "& " + words[0]  # a quoted program name is a string, not a command, without &
    return " ".join(words)


def _set(name: str, value: str, shell: str) -> str:
    name = _var(name)
    if shell in POSIX_SHELLS:
        return f"export {name}={quote(value, shell)}"
    if shell == "fish":
        return f"set -gx {name} {quote(value, shell)}"
    if shell == "powershell":
        return f"$env:{name} = '" + "".join(c * 2 if c in _PS_QUOTES else c for c in value) + "'"
    # cmd: set "NAME=value" keeps trailing spaces out and & | < > literal.
    return f"set {name}={value}" if _CMD_SAFE.match(value) else "set " + quote(f"{name}={value}", "cmd")


def _unset(name: str, shell: str) -> str:
    name = _var(name)
    if shell in POSIX_SHELLS:
        return f"unset {name}"
    if shell == "fish":
        return f"set -e {name}"
    if shell == "powershell":
        return f"Remove-Item Env:{name} -ErrorAction SilentlyContinue"
    return f"set {name}="


def _persist(name: str, value: str, shell: str) -> list[str]:
    name = _var(name)
    if shell in ("powershell", "cmd"):
        # setx writes HKCU\Environment; new windows see it, this one does not, hence the set as well.
        return [f"setx {name} {quote(value, shell)}", _set(name, value, shell)]
    if shell == "fish":
        return [f"set -Ux {name} {quote(value, shell)}"]
    rc = "~/.zshrc" if shell == "zsh" else "~/.bashrc"
    line = _set(name, value, shell)
    return [f"echo {shlex.quote(line)} >> {rc}", line]


def _prepend_path(dirs: Sequence[str], shell: str) -> str:
    if shell in POSIX_SHELLS:
        return "export PATH=" + ":".join(quote(d, shell) for d in dirs) + ':"$PATH"'
    if shell == "fish":
        return "set -gx PATH " + " ".join(quote(d, shell) for d in dirs) + " $PATH"
    if shell == "powershell":
        joined = ";".join(dirs)
        return "$env:PATH = '" + "".join(c * 2 if c in _PS_QUOTES else c for c in joined) + ";' + $env:PATH"
    # cmd: set "PATH=C:\a;C:\b;%PATH%" (the %PATH% at the end is meant to expand).
    return "set " + quote("PATH=" + ";".join(dirs) + ";", "cmd").removesuffix('"') + '%PATH%"'


def _which(program: str, shell: str) -> str:
    if shell in POSIX_SHELLS:
        return "which -a " + quote(program, shell)
    if shell == "fish":
        return "type -a " + quote(program, shell)
    if shell == "powershell":
        return "where.exe " + quote(program, shell)  # plain `where` is Where-Object in PowerShell
    return "where " + quote(program, shell)


def _dot(path: str, shell: str) -> str:
    """Run a script in the current shell: ``.`` (POSIX, PowerShell dot-sourcing), ``source`` (fish), ``call`` (cmd)."""
    if shell == "cmd":
        return "call " + quote(path, shell)
    if shell == "fish":
        return "source " + quote(path, shell)
    return ". " + quote(path, shell)


_VENV_SCRIPT = {"bash": "activate", "zsh": "activate", "fish": "activate.fish", "powershell": "Activate.ps1",
                "cmd": "activate.bat"}


def _activate_venv(prefix: str, where: str, shell: str) -> str:
    import ntpath
    import posixpath

    pm, folder = (ntpath, "Scripts") if where == "windows" else (posixpath, "bin")
    return _dot(pm.join(prefix, folder, _VENV_SCRIPT[shell]), shell)


def render_lines(cmd: Command, shell: str) -> list[str]:
    """The lines that perform ``cmd`` in ``shell`` (several when a variable has to be set first)."""
    check_shell(shell)
    if isinstance(cmd, str):  # a literal line kept from before commands were data (shell-neutral text)
        return [cmd]
    if isinstance(cmd, Step):
        if cmd.kind == "set":
            return [_set(cmd.name, cmd.value, shell)]
        if cmd.kind == "unset":
            return [_unset(cmd.name, shell)]
        if cmd.kind == "persist":
            return _persist(cmd.name, cmd.value, shell)
        if cmd.kind == "prepend_path":
            return [_prepend_path(cmd.extra, shell)]
        if cmd.kind == "which":
            return [_which(cmd.name, shell)]
        if cmd.kind == "rehash":
            if shell in POSIX_SHELLS:
                return ["hash -r"]
            return []  # fish, PowerShell and cmd look programs up afresh each time
        if cmd.kind == "source":
            return [_dot(p, shell) for p in cmd.extra if p.lower().endswith(SCRIPT_EXT[shell])]
        if cmd.kind == "activate_venv":
            return [_activate_venv(cmd.name, cmd.value, shell)]
        raise ValueError(f"unknown step: {cmd.kind}")
    if not cmd.env:
        return [_argv(cmd.argv, shell)]
    if shell in POSIX_SHELLS:
        prefix = " ".join(f"{_var(k)}={quote(v, shell)}" for k, v in cmd.env)
        return [f"{prefix} {_argv(cmd.argv, shell)}"]
    if shell == "fish":
        prefix = " ".join(f"{_var(k)}={quote(v, shell)}" for k, v in cmd.env)
        return [f"env {prefix} {_argv(cmd.argv, shell)}"]
    return [_set(k, v, shell) for k, v in cmd.env] + [_argv(cmd.argv, shell)]


def render(cmd: Command, shell: str) -> str:
    """One command as text for ``shell`` (multi-line where a shell needs several statements)."""
    return "\n".join(render_lines(cmd, shell))


def join_and(cmds: Sequence[Command], shell: str) -> str:
    """Run the commands in order, each only when the one before succeeded, on one line.

    bash/zsh/fish (3.0+)/cmd use ``&&``; Windows PowerShell 5.1 has none, so ``a; if ($?) { b }``.
    """
    lines = [line for c in cmds for line in render_lines(c, shell)]
    if not lines:
        return ""
    if shell == "powershell":
        out = lines[0]
        for line in lines[1:]:
            out += f"; if ($?) {{ {line} }}"
        return out
    return " && ".join(lines)


def comment(text: str, shell: str) -> str:
    return ("REM " if shell == "cmd" else "# ") + text


# -- which shell the user runs ------------------------------------------------------------------------

_BY_PROCESS = {
    "bash": "bash", "sh": "bash", "dash": "bash", "zsh": "zsh", "fish": "fish",
    "powershell": "powershell", "pwsh": "powershell", "cmd": "cmd",
}


def _process_shell(parent_names: Iterable[str]) -> str | None:
    for name in parent_names:
        base = name.lower().rsplit("\\", 1)[-1].rsplit("/", 1)[-1].removesuffix(".exe").lstrip("-")
        if base in _BY_PROCESS:
            return _BY_PROCESS[base]
    return None


def _parent_names(limit: int = 4) -> list[str]:
    """Names of the processes above this one (psutil), nearest first; empty when they cannot be read.
    Walks by ppid (one small read per process) rather than Process.parent(), which re-checks each one."""
    try:
        import os

        import psutil

        names: list[str] = []
        pid = os.getppid()
        while pid > 0 and len(names) < limit:
            proc = psutil.Process(pid)
            names.append(proc.name())
            if _process_shell(names[-1:]):
                break  # the nearest shell is all detect_shell needs
            pid = proc.ppid()
        return names
    except Exception:  # noqa: BLE001 - a guess at the shell must never fail a command
        return []


def detect_shell(plat, parent_names: Iterable[str] | None = None) -> str:
    """The shell the user most likely types into.

    ``DLSETUP_SHELL`` (bash, zsh, fish, powershell, cmd) wins when set. Otherwise the nearest shell among the parent processes wins (``python.exe`` started by ``py.exe`` or a conda
    launcher sits between). Without one, environment heuristics: PowerShell puts the user's own module
    folder (``Documents\\WindowsPowerShell\\Modules`` or ``Documents\\PowerShell\\Modules``) in front of
    ``PSModulePath``, which the system-wide value that cmd.exe inherits does not have; cmd.exe sets
    ``PROMPT`` (default ``$P$G``); POSIX shells set ``SHELL``. A recorded or planned Windows machine
    defaults to PowerShell (Windows 11's default terminal profile), any other to bash.
    """
    forced = (plat.environ.get("DLSETUP_SHELL") or "").strip().lower()
    if forced in SHELLS:  # the user's own choice, for every command (Git Bash users set it once)
        return forced
    live = plat.environ is __import__("os").environ
    names = list(parent_names) if parent_names is not None else (_parent_names() if live else [])
    found = _process_shell(names)
    if found:
        return found
    env = plat.environ
    if plat.is_windows:
        ps = env.get("PSModulePath", "")
        if any(re.search(r"documents[\\/](windows)?powershell[\\/]modules", p, re.I) for p in ps.split(";")):
            return "powershell"
        if "PROMPT" in env:
            return "cmd"
        if env.get("SHELL") and live:  # Git Bash / MSYS2
            return _process_shell([env["SHELL"]]) or "bash"
        return "powershell"
    return _process_shell([env.get("SHELL", "")]) or "bash"


def shell_for(target_os: str, *, here=None) -> str:
    """The shell commands for a machine running ``target_os`` are written for, when none was chosen:
    the shell dlsetup runs in when the target has this machine's OS, PowerShell for another Windows
    machine (a snapshot, ``--os windows``; Windows 11's default terminal profile), else bash."""
    from dlsetup.platform import current, normalize_os

    here = here or current()
    target = normalize_os(target_os)
    if target == here.os:
        return detect_shell(here)
    return "powershell" if target == "windows" else "bash"


def render_all_lines(commands: Sequence[object], shell: str, *, snapshot_file: str | None = None) -> list[str]:
    """The lines of :func:`render_with_notes` (for lists that hold no :class:`Note`)."""
    lines, notes = render_with_notes(commands, shell, snapshot_file=snapshot_file)
    if notes:
        raise ValueError("these commands carry notes: use render_with_notes")
    return lines


def render_with_notes(commands: Sequence[object], shell: str, *,
                      snapshot_file: str | None = None) -> tuple[list[str], list[dict]]:
    """A fix's commands (``Cmd``, ``Step``, literal command text, or ``Note`` remarks between them) as
    (lines for ``shell``, notes). Each note is ``{"at": i, "id": key, "params": {...}}``: it stands before
    line ``i`` (``i == len(lines)`` after the last); the renderer translates it.
    ``--snapshot FILE`` placeholders get the snapshot's real file name."""
    lines: list[str] = []
    notes: list[dict] = []
    for c in commands:
        if isinstance(c, Note):
            notes.append({"at": len(lines), "id": c.key, "params": dict(c.params)})
            continue
        if isinstance(c, str):  # a literal command line
            lines.append(c)
            continue
        if snapshot_file and isinstance(c, Cmd) and "FILE" in c.argv:
            argv = list(c.argv)
            i = argv.index("FILE")
            if i > 0 and argv[i - 1] == "--snapshot":
                argv[i] = snapshot_file
                c = Cmd(argv, c.env)
        lines.extend(render_lines(c, shell))  # type: ignore[arg-type]
    return lines, notes
