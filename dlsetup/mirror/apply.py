"""``dlsetup mirror NAME`` and ``dlsetup mirror reset``: plan each tool's edit, diff or write, journal.

Flow: pick the tools (present on this machine or named) → where each writes for the scope → unless
``--offline``/``--dry-run`` check the mirror really serves them → under the lock read every target,
run the writers (a malformed file stops everything before any write) → refuse read-only targets →
journal + atomic write, file by file (an error puts back the files already written) → report what
now masks the new settings.
"""

from __future__ import annotations

import difflib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlsetup.errors import OperationFailed, UsageError
from dlsetup.mirror import journal, machine
from dlsetup.mirror.catalog import Mirror, load_catalog
from dlsetup.mirror.writers import Context, Message, Report, condaenv, load_toml, msg
from dlsetup.mirror.writers import conda as conda_writer
from dlsetup.mirror.writers import hf as hf_writer
from dlsetup.mirror.writers import pip as pip_writer
from dlsetup.mirror.writers import pixi as pixi_writer
from dlsetup.mirror.writers import torch as torch_writer
from dlsetup.mirror.writers import uv as uv_writer
from dlsetup.paths import home
from dlsetup.toolconfig import conda as conda_cfg
from dlsetup.toolconfig import hf as hf_cfg
from dlsetup.toolconfig import layers
from dlsetup.toolconfig import pip as pip_cfg
from dlsetup.toolconfig import pixi as pixi_cfg
from dlsetup.toolconfig import uv as uv_cfg
from dlsetup.toolconfig import verify as verify_edit
from dlsetup.util.redact import redact_url

TOOLS = ("pip", "conda", "uv", "pixi", "torch", "hf")
SCOPES = ("user", "env", "project")


@dataclass
class ToolOutcome:
    tool: str
    status: str  # "changed" | "unchanged" | "skipped" | "would-change"
    file: str | None = None
    changes: list[str] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)


@dataclass
class FileOutcome:
    path: str
    tools: list[str]
    action: str  # "created" | "modified" | "deleted" | "unchanged"
    diff: str | None = None


@dataclass
class ApplyResult:
    action: str  # "apply" | "reset"
    mirror: str | None
    mirror_name: str | None
    scope: str
    dry_run: bool
    offline: bool
    variant: str | None
    variant_source: str | None
    tools: list[ToolOutcome] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    journal_id: int | None = None
    hf_source: str | None = None  # hf_steps, written for ``shell``
    hf_snippet: str | None = None  # the HF_ENDPOINT snippet written (user scope)
    hf_endpoint: str | None = None
    hf_steps: list = field(default_factory=list)  # platform.shell steps that put HF_ENDPOINT in force
    shell: str | None = None
    checked: list[dict[str, Any]] = field(default_factory=list)  # probe checks run before writing
    duration_ms: float = 0.0

    def set_shell(self, shell: str) -> None:
        """The HF_ENDPOINT hint for ``shell``: bash and zsh source the snippet (a line for ~/.bashrc); fish,
        PowerShell and cmd cannot read it, so the variable is set for new windows (``setx``, ``set -Ux``) and
        for this one."""
        from dlsetup.platform.shell import POSIX_SHELLS, persist_env, render_all_lines, source_scripts

        self.shell = shell
        if not self.hf_snippet:
            return
        if shell in POSIX_SHELLS:
            self.hf_steps = [source_scripts(self.hf_snippet)]
        else:
            self.hf_steps = [persist_env("HF_ENDPOINT", self.hf_endpoint or "")]
        self.hf_source = "\n".join(render_all_lines(self.hf_steps, shell)) or None


@dataclass
class _Step:
    tool: str
    path: Path
    fn: Any  # (text, ctx, report) -> text | None
    ctx: Context


# ---------------------------------------------------------------------------------------- detection


def _which(env: dict[str, str], *names: str) -> bool:
    path = env.get("PATH", os.defpath)
    return any(shutil.which(n, path=path) for n in names)


def detect_tools(env: dict[str, str], cwd: Path) -> set[str]:
    """Tools present on this machine (binary on PATH, or a config file of theirs exists)."""
    found = {"pip"} if _which(env, "pip", "pip3") or _pip_importable() else set()
    if _which(env, "conda", "mamba", "micromamba") or env.get("CONDA_EXE") or conda_cfg.files(env):
        found.add("conda")
    if _which(env, "uv") or uv_cfg.user_file(env).is_file() or uv_cfg.project_file(cwd):
        found.add("uv")
    if _which(env, "pixi") or (pixi_cfg.pixi_home(env) / "bin" / "pixi").exists() or \
            any(p.is_file() for p in pixi_cfg.files(env, cwd)) or pixi_cfg.project_root(cwd):
        found.add("pixi")
    return found


def _pip_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None


def _capable(m: Mirror, tool: str) -> bool:
    return {
        "pip": bool(m.pip), "conda": bool(m.conda and m.conda_channels), "uv": bool(m.pip or m.python_install),
        "pixi": bool(m.pip or (m.conda and m.conda_channels)), "torch": m.torch is not None, "hf": bool(m.hf),
    }[tool]


def parse_tools(value: str | None) -> list[str] | None:
    if not value:
        return None
    tools = [t.strip().lower() for t in value.split(",") if t.strip()]
    bad = [t for t in tools if t not in TOOLS]
    if bad:
        raise UsageError("mirror.error.unknown_tool", tool=bad[0], tools=", ".join(TOOLS))
    return list(dict.fromkeys(tools))


# ---------------------------------------------------------------------------------------- targets


def _project_uv_file(cwd: Path) -> Path:
    found = uv_cfg.project_file(cwd)
    if found:
        return found
    try:
        start = cwd.resolve()
    except OSError:
        start = cwd
    for d in (start, *start.parents):
        if (d / "pyproject.toml").is_file():
            return d / "pyproject.toml"
    return cwd / "uv.toml"


def _plan_steps(tools: list[str], scope: str, env: dict[str, str], cwd: Path, ctx: Context, hf_ctx: Context | None,
                reset: bool) -> tuple[list[_Step], dict[str, ToolOutcome]]:
    steps: list[_Step] = []
    outcomes: dict[str, ToolOutcome] = {}

    def skip(_tool: str, _key: str, **params: Any) -> None:
        outcomes[_tool] = ToolOutcome(_tool, "skipped", notes=[Message(_key, params)])

    def add(tool: str, path: Path, fn, c: Context = ctx) -> None:
        steps.append(_Step(tool, path, fn, c))

    venv, conda_prefix = env.get("VIRTUAL_ENV"), env.get("CONDA_PREFIX")
    for tool in tools:
        if tool == "pip":
            if scope == "project":
                skip(tool, "mirror.skip.no_project_scope", tool=tool)
                continue
            path = pip_cfg.user_file(env) if scope == "user" else Path(venv or conda_prefix or "") / pip_cfg.basename()
            add(tool, path, pip_writer.reset if reset else pip_writer.apply)
        elif tool == "torch":
            if scope in ("user", "env"):
                path = pip_cfg.user_file(env) if scope == "user" else Path(venv or conda_prefix or "") / pip_cfg.basename()
                add(tool, path, torch_writer.reset_pip if reset else torch_writer.apply_pip)
            if scope == "project" or ("uv" in tools and scope == "user"):
                path = uv_cfg.user_file(env) if scope == "user" else _project_uv_file(cwd)
                add(tool, path, _uv_torch_only(reset))
        elif tool == "conda":
            if scope == "project":
                skip(tool, "mirror.skip.no_project_scope", tool=tool)
            elif scope == "env" and not conda_prefix:
                skip(tool, "mirror.skip.conda_no_env")
            else:
                path = home(env) / ".condarc" if scope == "user" else Path(conda_prefix) / ".condarc"
                add(tool, path, conda_writer.reset if reset else conda_writer.apply)
        elif tool == "uv":
            if scope == "env":
                if not conda_prefix:
                    skip(tool, "mirror.skip.uv_no_env_file")
                    continue
                add(tool, Path(conda_prefix) / "conda-meta" / "state", _uv_conda_env(reset))
                continue
            path = uv_cfg.user_file(env) if scope == "user" else _project_uv_file(cwd)
            add(tool, path, _uv_fn(reset))
        elif tool == "pixi":
            if scope == "env":
                skip(tool, "mirror.skip.pixi_no_env")
                continue
            if scope == "project":
                root = pixi_cfg.project_root(cwd)
                if root is None:
                    skip(tool, "mirror.skip.pixi_no_project", cwd=str(cwd))
                    continue
                path = root / ".pixi" / "config.toml"
            else:
                path = pixi_cfg.user_file(env)
            add(tool, path, pixi_writer.reset if reset else pixi_writer.apply)
        elif tool == "hf":
            c = hf_ctx or ctx
            if scope == "project":
                skip(tool, "mirror.skip.no_project_scope", tool=tool)
            elif scope == "env":
                if not conda_prefix:
                    skip(tool, "mirror.skip.hf_no_conda_env")
                    continue
                add(tool, Path(conda_prefix) / "conda-meta" / "state",
                    hf_writer.reset_conda_state if reset else hf_writer.apply_conda_state, c)
            else:
                add(tool, hf_cfg.snippet_file(env), hf_writer.reset_snippet if reset else hf_writer.apply_snippet, c)
    return steps, outcomes


def _uv_fn(reset: bool):
    def fn(text, ctx, report):
        if reset:
            return uv_writer.reset(text, ctx, report, include_torch=False)
        return uv_writer.apply(text, ctx, report, include_torch=False)

    return fn


def _uv_torch_only(reset: bool):
    def fn(text, ctx, report):
        import tomlkit

        doc = load_toml("uv", text, report.path)
        pyproject = report.path.name == "pyproject.toml"
        table = uv_writer._table(doc, pyproject, create=not reset)
        if table is None:
            return text
        if reset:
            torch_writer.reset_uv(table, ctx, report, project=pyproject)
        else:
            torch_writer.apply_uv(table, ctx, report, project=pyproject, root=doc if pyproject else None)
        return tomlkit.dumps(doc) if report.changes else text

    fn.__name__ = "torch_uv"
    return fn


def _uv_conda_env(reset: bool):
    def fn(text, ctx, report):
        if reset:
            return condaenv.unset_vars(text, ["UV_DEFAULT_INDEX", "UV_PYTHON_INSTALL_MIRROR"], report)
        values = {}
        if ctx.mirror.pip:
            values["UV_DEFAULT_INDEX"] = ctx.mirror.pip
        if ctx.mirror.python_install:
            values["UV_PYTHON_INSTALL_MIRROR"] = ctx.mirror.python_install
        return condaenv.set_vars(text, values, report)

    return fn


# ------------------------------------------------------------------------------------------ run


def _read(path: Path) -> bytes | None:
    from dlsetup.util.atomic import read_regular_bytes

    try:
        return read_regular_bytes(path)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise UsageError("mirror.error.not_a_file", path=str(path)) from None
    except NotADirectoryError:
        raise UsageError("mirror.error.not_writable", path=str(path), reason="a parent is not a directory") from None
    except OSError as exc:
        raise UsageError("mirror.error.not_readable", path=str(path), reason=exc.strerror or str(exc)) from None


def _codec(path: Path) -> str:
    """The encoding the file's tool decodes it with: pip uses the locale's (``_construct_parser``), the
    TOML and YAML tools and dlsetup's own files UTF-8. An edit is written back in the same encoding."""
    if path.name in ("pip.conf", "pip.ini"):
        return pip_cfg.encoding()
    return "utf-8"


def _decode(path: Path, data: bytes | None, tool: str) -> str | None:
    if data is None:
        return None
    codec = _codec(path)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError("mirror.error.malformed", tool=tool, where=f"{path}:{line}", reason=f"not {codec} text") from None


def _write_target(path: Path) -> Path:
    """The file to edit: a symlinked config (dotfile managers) is edited where it points, as ``pip config``
    and ``conda config`` do, so the link survives and ``restore`` puts back the very same layout."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _same_file_set(paths) -> set[str]:
    return {os.path.realpath(p) for p in paths}


def _check_writable(path: Path, new: bytes | None) -> None:
    """Refuse before writing anything: a read-only file (no write bit, even for root) or directory."""
    reason = None
    if path.exists():
        st = path.stat()
        if not os.access(path, os.W_OK) or not (st.st_mode & 0o222):
            reason = "the file is read-only"
    d = path.parent
    while not d.exists() and d.parent != d:
        d = d.parent
    if reason is None:
        if not d.is_dir():
            reason = f"{d} is not a directory"
        elif not os.access(d, os.W_OK) or not (d.stat().st_mode & 0o222):
            reason = f"the directory {d} is read-only"
    if reason:
        raise UsageError("mirror.error.not_writable", path=str(path), reason=reason)


def _diff(path: Path, old: str | None, new: str | None) -> str:
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, fromfile=str(path) if old is not None else "/dev/null",
                                 tofile=str(path) if new is not None else "/dev/null")
    out = "".join(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines)
    return redact_url(out)


def run(
    name: str | None,
    *,
    tools: list[str] | None = None,
    scope: str = "user",
    dry_run: bool = False,
    offline: bool = False,
    conda_defaults: bool = False,
    variant: str | None = None,
    hf: str | None = None,
    package: str = "pip",
    timeout: float = 8.0,
    reset: bool = False,
    environ: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> ApplyResult:
    """Apply mirror ``name`` (or, with ``reset=True``, remove dlsetup's keys) for the chosen tools."""
    t0 = time.perf_counter()
    env = dict(os.environ if environ is None else environ)
    where = Path(cwd) if cwd is not None else Path.cwd()
    if scope not in SCOPES:
        raise UsageError("mirror.error.unknown_scope", scope=scope, scopes=", ".join(SCOPES))
    catalog = load_catalog()
    mirror = None if reset else catalog.get(name or "")
    hf_mirror = catalog.get(hf) if hf else None
    if hf_mirror is not None and not hf_mirror.hf:
        raise UsageError("mirror.error.no_hf", name=hf_mirror.id)
    if scope == "env" and not (env.get("VIRTUAL_ENV") or env.get("CONDA_PREFIX")):
        raise UsageError("mirror.error.no_env")

    if tools is None:
        present = detect_tools(env, where)
        if reset:
            tools = [t for t in ("pip", "conda", "uv", "pixi") if t in present] + ["torch", "hf"]
        else:
            tools = [t for t in ("pip", "conda", "uv", "pixi") if t in present and _capable(mirror, t)]
            if "pip" in tools or "uv" in tools:
                tools.append("torch")  # even without wheels on the mirror: the result says torch stays upstream
            if mirror.hf or hf_mirror:
                tools.append("hf")
            if not tools:
                tools = [t for t in TOOLS if _capable(mirror, t)]
    elif hf_mirror is not None and "hf" not in tools:
        tools = tools + ["hf"]
    tools = [t for t in TOOLS if t in tools]

    variant_source = "option" if variant else None
    if "torch" in tools and not variant and not reset and mirror.torch is not None:
        variant, variant_source = machine.default_variant()  # asks the resolver: only worth it with wheels
    result = ApplyResult("reset" if reset else "apply", mirror.id if mirror else None, mirror.name if mirror else None,
                         scope, dry_run, offline, variant, variant_source)
    outcomes: dict[str, ToolOutcome] = {}
    if not reset:
        for t in list(tools):
            if t == "torch" or (t == "hf" and hf_mirror is not None) or _capable(mirror, t):
                continue
            outcomes[t] = ToolOutcome(t, "skipped", notes=[msg("mirror.skip.mirror_lacks", mirror=mirror.id, tool=t)])
            tools.remove(t)
        if not [t for t in tools if t != "torch" or mirror.torch is not None]:
            raise UsageError("mirror.error.nothing_to_do", name=mirror.id, tools=", ".join(outcomes) or "-")

    ctx = Context(mirror=mirror, catalog=catalog, scope=scope, variant=variant, conda_defaults=conda_defaults,
                  env=env, platform=machine.platform_name(), torch="torch" in tools)
    hf_ctx = Context(mirror=hf_mirror, catalog=catalog, scope=scope, env=env, platform=ctx.platform) if hf_mirror else None

    if not reset and not offline and not dry_run:
        _verify(mirror, hf_mirror, tools, ctx, package, timeout, result, outcomes)

    steps, skipped = _plan_steps(tools, scope, env, where, ctx, hf_ctx, reset)
    outcomes.update(skipped)
    with journal.locked():
        _execute(steps, result, outcomes, dry_run, reset, env)
    for t in TOOLS:
        if t in outcomes:
            result.tools.append(outcomes[t])
    if not dry_run:
        _warn_masked(result, env, where)
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result


def _verify(mirror: Mirror, hf_mirror: Mirror | None, tools: list[str], ctx: Context, package: str, timeout: float,
            result: ApplyResult, outcomes: dict[str, ToolOutcome]) -> None:
    """Check the mirror serves what will be written; pip/conda/hf failures stop, torch failures skip torch."""
    from dlsetup.i18n import t as tr
    from dlsetup.mirror import probe

    want = []
    if ("pip" in tools or "uv" in tools or "pixi" in tools) and mirror.pip:
        want.append("pip")
    if ("conda" in tools or "pixi" in tools) and mirror.conda and mirror.conda_channels:
        want.append("conda")
    if ("torch" in tools and ctx.variant and mirror.torch and mirror.torch.serves(ctx.variant)
            and mirror.torch.layout != "stable_html"):
        want.append("torch")
    plan: dict[str, tuple[Mirror, list[str]]] = {mirror.id: (mirror, want)}
    if "hf" in tools:
        hm = hf_mirror or mirror
        if hm.hf:
            plan.setdefault(hm.id, (hm, []))[1].append("hf")
    failures = []
    for m, checks in plan.values():
        if not checks:
            continue
        opts = probe.ProbeOptions(package=package, variant=ctx.variant, tools=tuple(checks), timeout=timeout)
        report = probe.probe_mirrors([m], opts, cache=False)  # keep the cache of the last full probe
        for c in report.mirrors[0].checks:
            result.checked.append({"mirror": m.id, "tool": c.tool, "ok": c.ok, "code": c.code,
                                   "url": redact_url(c.url), "detail": c.detail})
            if c.ok:
                continue
            if c.tool == "torch":
                tools.remove("torch")
                outcomes["torch"] = ToolOutcome("torch", "skipped", notes=[
                    msg("mirror.note.torch_check_failed", mirror=m.id, variant=ctx.variant, reason=c.detail)])
            else:
                failures.append(f"{c.tool}: {c.detail}")
    if failures:
        raise OperationFailed("mirror.error.check_failed", name=mirror.id, reason="; ".join(failures),
                              hint=tr("mirror.hint.offline"))


def _execute(steps: list[_Step], result: ApplyResult, outcomes: dict[str, ToolOutcome], dry_run: bool, reset: bool,
             env: dict[str, str]) -> None:
    # Read each file once, chain the writers that edit it, in step order.
    order: list[Path] = []
    old_bytes: dict[Path, bytes | None] = {}
    text: dict[Path, str | None] = {}
    tools_of: dict[Path, list[str]] = {}
    for step in steps:
        p = _write_target(step.path)
        if p not in old_bytes:
            order.append(p)
            old_bytes[p] = _read(p)
            text[p] = _decode(p, old_bytes[p], step.tool)
        report = Report(step.tool, p)
        text[p] = step.fn(text[p], step.ctx, report)
        tools_of.setdefault(p, []).append(step.tool)
        o = outcomes.setdefault(step.tool, ToolOutcome(step.tool, "unchanged", str(p)))
        o.file = o.file or str(p)
        o.changes += report.changes
        o.notes += [n for n in report.notes if n not in o.notes]
        if report.skipped and not report.changes:
            o.status = "skipped"
        if step.tool == "hf" and not reset and p.name == hf_cfg.SNIPPET_NAME:
            result.hf_snippet, result.hf_endpoint = str(p), step.ctx.mirror.hf
    changed = []
    for p in order:
        codec = _codec(p)
        try:
            new = text[p].encode(codec) if text[p] is not None else None
        except UnicodeEncodeError:
            raise UsageError("toolconfig.error.unsafe_edit", tool=tools_of[p][0], where=str(p),
                             reason=f"the new text cannot be written in the file's encoding ({codec})") from None
        old = old_bytes[p]
        if new == old:
            result.files.append(FileOutcome(str(p), tools_of[p], "unchanged"))
            continue
        old_text = old.decode(codec) if old is not None else None
        try:  # re-read with the tool's own rules before anything is written
            verify_edit.check(p, tools_of[p], old_text, text[p])
        except verify_edit.EditRejected as exc:
            raise UsageError("toolconfig.error.rejected_result", tool=tools_of[p][0], where=exc.path,
                             reason=exc.reason) from None
        action = "created" if old is None else "deleted" if new is None else "modified"
        diff = _diff(p, old_text, text[p]) if dry_run else None
        result.files.append(FileOutcome(str(p), tools_of[p], action, diff))
        changed.append((p, old, new))
    for o in outcomes.values():
        if o.status == "unchanged" and o.changes:
            o.status = "would-change" if dry_run else "changed"
    if dry_run or not changed:
        return
    for p, _, new in changed:
        _check_writable(p, new)
    entry = journal.new_entry(result.action, result.mirror, result.scope, [t.tool for t in outcomes.values()])
    result.journal_id = entry.id
    written: list[tuple[Path, bytes | None]] = []
    try:
        for p, old, new in changed:
            journal.write_file(entry, p, "+".join(tools_of[p]), old, new)
            written.append((p, old))
    except OSError as exc:
        for p, old in reversed(written):
            try:
                if old is None:
                    p.unlink(missing_ok=True)
                else:
                    from dlsetup.util.atomic import write_bytes_atomic

                    write_bytes_atomic(p, old)
            except OSError:
                pass
        journal.finish(entry, "rolled-back")
        failed = changed[len(written)][0] if len(written) < len(changed) else changed[-1][0]
        raise OperationFailed("mirror.error.write_failed", path=str(failed), reason=exc.strerror or str(exc)) from None
    journal.finish(entry, "done")


def _owner_id(value: str) -> str | None:
    from dlsetup.mirror.catalog import load_catalog, owner_of

    owner = owner_of(value, load_catalog()) if "://" in value else None
    return owner.id if owner else None


def _warn_masked(result: ApplyResult, env: dict[str, str], cwd: Path) -> None:
    """After writing: say when another file or variable masks what was just written."""
    written = {f.path for f in result.files if f.action in ("created", "modified")}
    if not written or result.action != "apply":
        return
    from dlsetup.mirror.status import masked_label

    written_real = _same_file_set(written)
    collected = layers.collect(env, cwd)
    seen = set()
    for f in collected.found:
        s = f.setting
        # only what this run wrote (a value of the applied mirror): an older value it now masks is no warning
        if os.path.realpath(s.source) in written_real and not s.effective and f.masked_by and (s.source, s.key) not in seen \
                and _owner_id(s.value) == result.mirror:
            seen.add((s.source, s.key))
            result.warnings.append(msg("mirror.warn.masked", tool=s.tool, setting=s.key, file=s.source,
                                           by=masked_label(f.masked_by, f.masked_by_key)))
    for tool in ("pip", "uv"):
        consulted = _same_file_set(collected.files.get(tool, []))
        for f in result.files:
            if f.action in ("created", "modified") and tool in f.tools and os.path.realpath(f.path) not in consulted \
                    and not f.path.endswith("state"):
                why = [n for n in collected.notes if n.tool == tool and n.kind in ("files-ignored", "no-config",
                                                                                      "config-file-replaces")]
                result.warnings.append(msg("mirror.warn.file_ignored", tool=tool, file=f.path,
                                               by=why[0].source if why else "?"))
