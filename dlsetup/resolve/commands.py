"""Turn install groups and conda routes into pip / uv / conda / pixi command lines."""

from __future__ import annotations

import shlex

from dlsetup.resolve.plan import CondaRoute, InstallGroup
from dlsetup.util.redact import redact_url


def _q(arg: str) -> str:
    # Quote what a shell would mangle ([extras], <, >, *, =cuda*), keep plain requirements readable.
    return shlex.quote(arg) if any(ch in arg for ch in "[]<>*;&|$ ") else arg


def _index_args(group: InstallGroup, tool: str) -> list[str]:
    if group.index_kind == "default" or not group.index_url:
        return []
    url = redact_url(group.index_url)
    if group.index_kind == "find-links":
        return ["-f" if tool == "pip" else "--find-links", url]
    if group.index_kind == "extra-index-url":
        return ["--extra-index-url", url]
    return ["--index-url", url]


def pip_command(groups: list[InstallGroup]) -> str | None:
    lines = []
    for g in groups:
        if g.requirements:
            lines.append(" ".join(["python -m pip install", *(_q(r) for r in g.requirements), *_index_args(g, "pip")]))
    return " && ".join(lines) or None


def uv_command(groups: list[InstallGroup]) -> str | None:
    lines = []
    for g in groups:
        if g.requirements:
            lines.append(" ".join(["uv pip install", *(_q(r) for r in g.requirements), *_index_args(g, "uv")]))
    return " && ".join(lines) or None


def _channel(route: CondaRoute) -> str:
    # The channel *name*: conda and pixi map it through the user's own channel_alias / custom_channels
    # (a mirror configured with `dlsetup mirror`), so the printed command follows the mirror by itself.
    return route.channel


def conda_command(routes: list[CondaRoute]) -> str | None:
    if not routes:
        return None
    channel = _channel(routes[0])
    specs = [s for r in routes for s in r.specs]
    return " ".join(["conda install -c", _q(channel), *(_q(s) for s in specs)])


def pixi_command(routes: list[CondaRoute]) -> str | None:
    if not routes:
        return None
    specs = [s for r in routes for s in r.specs]
    # pixi picks CUDA builds only when the workspace declares the __cuda it may assume
    # (system-requirements cuda = "12"); the resolver says so in its reasons.
    return " ".join(["pixi add", *(_q(s) for s in specs)])
