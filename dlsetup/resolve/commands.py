"""Turn install groups and conda routes into pip / uv / conda / pixi commands.

The commands are argument lists (:class:`dlsetup.platform.shell.Cmd`); they become text only in
:func:`dlsetup.platform.shell.join_and`, for the shell the user runs (``--shell``), so a requirement
such as ``cudnn<9.11`` is double-quoted for cmd.exe and steps are not joined with ``&&`` for
Windows PowerShell 5.1.
"""

from __future__ import annotations

from dlsetup.platform.shell import Cmd, join_and
from dlsetup.resolve.plan import CondaRoute, InstallGroup
from dlsetup.util.redact import redact_url

TOOLS = ("pip", "uv", "conda", "pixi")


def _index_args(group: InstallGroup, tool: str) -> list[str]:
    if group.index_kind == "default" or not group.index_url:
        return []
    url = redact_url(group.index_url)
    if group.index_kind == "find-links":
        return ["-f" if tool == "pip" else "--find-links", url]
    if group.index_kind == "extra-index-url":
        return ["--extra-index-url", url]
    return ["--index-url", url]


def pip_cmds(groups: list[InstallGroup]) -> list[Cmd]:
    return [Cmd(["python", "-m", "pip", "install", *g.requirements, *_index_args(g, "pip")])
            for g in groups if g.requirements]


def uv_cmds(groups: list[InstallGroup]) -> list[Cmd]:
    return [Cmd(["uv", "pip", "install", *g.requirements, *_index_args(g, "uv")]) for g in groups if g.requirements]


def _channel(route: CondaRoute) -> str:
    # The channel *name*: conda and pixi map it through the user's own channel_alias / custom_channels
    # (a mirror configured with `dlsetup mirror`), so the printed command follows the mirror by itself.
    return route.channel


def conda_cmds(routes: list[CondaRoute]) -> list[Cmd]:
    if not routes:
        return []
    specs = [s for r in routes for s in r.specs]
    return [Cmd(["conda", "install", "-c", _channel(routes[0]), *specs])]


def pixi_cmds(routes: list[CondaRoute]) -> list[Cmd]:
    if not routes:
        return []
    # pixi picks CUDA builds only when the workspace declares the __cuda it may assume
    # (system-requirements cuda = "12"); the resolver says so in its reasons.
    return [Cmd(["pixi", "add", *(s for r in routes for s in r.specs)])]


def render_all(argv: dict[str, list[Cmd]], shell: str) -> dict[str, str | None]:
    """Each tool's commands as one line for ``shell`` (None where the tool has no route)."""
    return {tool: (join_and(argv.get(tool) or [], shell) or None) for tool in TOOLS}


# Text forms for bash, kept for callers that want one line (and for the tests of the plan).
def pip_command(groups: list[InstallGroup], shell: str = "bash") -> str | None:
    return join_and(pip_cmds(groups), shell) or None


def uv_command(groups: list[InstallGroup], shell: str = "bash") -> str | None:
    return join_and(uv_cmds(groups), shell) or None


def conda_command(routes: list[CondaRoute], shell: str = "bash") -> str | None:
    return join_and(conda_cmds(routes), shell) or None


def pixi_command(routes: list[CondaRoute], shell: str = "bash") -> str | None:
    return join_and(pixi_cmds(routes), shell) or None
