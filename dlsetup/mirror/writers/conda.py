"""conda: ``.condarc`` with an explicit ``channels`` list, ``default_channels`` and ``custom_channels``.

The form TUNA and USTC document (mirrorz-org/mirrorz-docs:anaconda/usage.zh.md, ustclug/mirrorhelp:
docs/anaconda.md), never the stale ``conda config --add channels <url>`` recipe:

* ``channels`` — written explicitly (conda 25.9 stopped adding ``defaults`` implicitly): ``conda-forge``
  by default; ``defaults`` only with ``--conda-defaults`` (Anaconda's terms apply to it). An existing
  list is kept, with old mirror URLs from the stale recipe turned back into channel names.
* ``default_channels`` — the mirror's ``pkgs/main`` and ``pkgs/r`` (+ ``pkgs/msys2`` on Windows), only
  when the mirror really carries them (USTC does not: its pkgs/* redirect to TUNA).
* ``custom_channels`` — ``<name>: <mirror>/anaconda/cloud`` for the community channels it carries.

Edited with ruamel.yaml round-trip and spliced back into the original text
(:mod:`dlsetup.toolconfig.condarc`): settings that do not change keep their bytes (indentation, ``True``,
comments, CRLF); the changed ones are indented like the file's own lists.
"""

from __future__ import annotations

import re
from pathlib import Path

from dlsetup.mirror.catalog import Mirror, owner_of
from dlsetup.mirror.writers import Context, Report, malformed
from dlsetup.toolconfig import condarc
from dlsetup.toolconfig.readers import ConfigFileError

# Community channels written to custom_channels when the mirror carries them (DL-relevant first).
CHANNELS = (
    "conda-forge", "bioconda", "pytorch", "pytorch-lts", "pytorch3d", "nvidia", "rapidsai", "dglteam",
    "fastai", "menpo", "simpleitk", "Paddle", "deepmodeling",
)

def _load(text: str | None, path: Path):
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = condarc.make_yaml(text or "")
    if not text or not text.strip():
        return yaml, CommentedMap()
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise malformed("conda", ConfigFileError(path, f"not valid YAML ({exc.problem or exc.context})", line)) from None
    except YAMLError as exc:
        raise malformed("conda", ConfigFileError(path, f"not valid YAML ({exc})")) from None
    if data is None:
        return yaml, CommentedMap()
    if not isinstance(data, dict):
        raise malformed("conda", ConfigFileError(path, "the top level is not a mapping of settings", 1))
    for key in ("channels", "default_channels"):
        if key in data and data[key] is not None and not isinstance(data[key], list):
            raise malformed("conda", ConfigFileError(path, f"'{key}' must be a list", _line(data, key)))
    if "custom_channels" in data and data["custom_channels"] is not None and not isinstance(data["custom_channels"], dict):
        raise malformed("conda", ConfigFileError(path, "'custom_channels' must be a mapping", _line(data, "custom_channels")))
    return yaml, data


def _line(data, key) -> int | None:
    try:
        return data.lc.key(key)[0] + 1
    except Exception:
        return None


def _stale_channel(entry: str, ctx: Context) -> str | None:
    """A mirror URL in ``channels`` (the old recipe) → the channel name it stands for ('' = drop)."""
    if "://" not in entry:
        return None
    owner = owner_of(entry, ctx.catalog)
    if owner is None or not owner.conda:
        return None
    base = owner.conda.rstrip("/")
    rest = re.sub(r"://[^/@]*@", "://", entry).rstrip("/")
    if not rest.lower().startswith(base.lower() + "/"):
        return None
    path = rest[len(base) + 1 :]
    if path.startswith("cloud/"):
        name = path.split("/", 1)[1]
        # only a channel the catalogue says this mirror serves: anything else (TUNA's cloud/msys2, dropped
        # from its sync in 2024) stays a URL, since as a bare name it would resolve upstream
        return name if name.split("/", 1)[0] in owner.cloud_channels() else None
    if path in ("pkgs/main", "pkgs/r", "pkgs/msys2"):
        return "defaults"
    if path == "pkgs/free":
        return ""
    return None


def default_channel_urls(m: Mirror, platform: str) -> list[str]:
    wanted = ["pkgs/main", "pkgs/r"] + (["pkgs/msys2"] if platform == "windows" else [])
    return [m.channel_url(p) for p in wanted if m.carries(p)]


def apply(text: str | None, ctx: Context, report: Report) -> str | None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    path = report.path or Path(".condarc")
    yaml, data = _load(text, path)
    before = condarc.plain(data)
    m = ctx.mirror
    assert m is not None and m.conda
    # channels
    current = list(data.get("channels") or [])
    new_channels: list[str] = []
    for entry in current:
        name = _stale_channel(str(entry), ctx)
        if name is None:
            name = str(entry)
            if _uncarried_cloud(name, ctx):
                report.note("mirror.note.conda_channel_kept", entry=name)
        elif not name:
            report.note("mirror.note.conda_stale_dropped", entry=str(entry))
        elif name != str(entry):
            report.note("mirror.note.conda_stale_channel", entry=str(entry), name=name)
        if name and name not in new_channels:
            new_channels.append(name)
    if not new_channels:
        new_channels = ["defaults"] if ctx.conda_defaults else ["conda-forge"]
    elif ctx.conda_defaults and "defaults" not in new_channels:
        new_channels.append("defaults")
    if new_channels != [str(c) for c in current]:
        seq = CommentedSeq(new_channels)
        if "channels" in data:
            data["channels"] = seq
        else:
            data.insert(0, "channels", seq)
        report.change("channels = [" + ", ".join(new_channels) + "]")
    # default_channels
    urls = default_channel_urls(m, ctx.platform)
    if urls:
        existing = [str(u) for u in (data.get("default_channels") or [])]
        if existing != urls:
            if existing and not all(owner_of(u, ctx.catalog) for u in existing):
                report.note("mirror.note.conda_default_channels_replaced", file=str(path), value=", ".join(existing))
            data["default_channels"] = CommentedSeq(urls)
            report.change("default_channels = [" + ", ".join(urls) + "]")
    else:
        existing = data.get("default_channels")
        if existing and all(owner_of(str(u), ctx.catalog) for u in existing):
            del data["default_channels"]
            report.change("default_channels (removed: other mirror)")
        if "defaults" in new_channels:
            report.note("mirror.note.conda_no_pkgs", mirror=m.id)
    # custom_channels
    carried = m.cloud_channels()
    wanted = [c for c in CHANNELS if c in carried]
    wanted += [c for c in new_channels if c in carried and c not in wanted]
    cc = data.get("custom_channels")
    if cc is None:
        cc = CommentedMap()
    location = m.channel_url("cloud")
    changed = []
    for name in wanted:
        if str(cc.get(name, "")).rstrip("/") != location:
            cc[name] = location
            changed.append(name)
    for name in list(cc):
        if name in wanted:
            continue
        owner = owner_of(str(cc[name]), ctx.catalog)
        if owner is not None and owner.id != m.id:
            del cc[name]
            changed.append(f"{name} (removed: {owner.id} location)")
    if changed:
        data["custom_channels"] = cc
        report.change(f"custom_channels: {', '.join(changed)} -> {location}")
    missing = [c for c in new_channels if c not in ("defaults",) and "://" not in c and c not in carried]
    if missing:
        report.note("mirror.note.conda_channels_upstream", mirror=m.id, channels=", ".join(missing))
    if "show_channel_urls" not in data:
        data["show_channel_urls"] = True
        report.change("show_channel_urls = true")
    if not report.changes:
        return text
    return condarc.splice(text or "", before, data, yaml)


def reset(text: str | None, ctx: Context, report: Report) -> str | None:
    if text is None:
        return None
    path = report.path or Path(".condarc")
    yaml, data = _load(text, path)
    before = condarc.plain(data)
    if "default_channels" in data:
        existing = [str(u) for u in (data["default_channels"] or [])]
        if all(owner_of(u, ctx.catalog) is not None for u in existing):
            del data["default_channels"]
            report.change("default_channels (removed)")
        else:  # the user's own (a company repo, say): not dlsetup's key
            report.note("mirror.note.reset_kept", setting="default_channels", value=", ".join(existing),
                        file=str(path))
    cc = data.get("custom_channels")
    if isinstance(cc, dict):
        for name in list(cc):
            if owner_of(str(cc[name]), ctx.catalog) is not None:
                del cc[name]
                report.change(f"custom_channels.{name} (removed)")
        if len(cc) == 0:
            del data["custom_channels"]
    chans = data.get("channels")
    if isinstance(chans, list):
        fixed = []
        for entry in chans:
            name = _stale_channel(str(entry), ctx)
            name = str(entry) if name is None else name
            if name and name not in fixed:
                fixed.append(name)
        if fixed != [str(c) for c in chans]:
            from ruamel.yaml.comments import CommentedSeq

            data["channels"] = CommentedSeq(fixed)
            report.change("channels = [" + ", ".join(fixed) + "] (mirror URLs turned back into names)")
    if not report.changes:
        return text
    return condarc.splice(text or "", before, data, yaml)


def _uncarried_cloud(entry: str, ctx: Context) -> bool:
    """A URL under a catalogue mirror's ``cloud/`` for a channel that mirror does not serve."""
    if "://" not in entry:
        return False
    owner = owner_of(entry, ctx.catalog)
    if owner is None or not owner.conda:
        return False
    base = owner.conda.rstrip("/") + "/cloud/"
    rest = re.sub(r"://[^/@]*@", "://", entry).rstrip("/")
    return rest.lower().startswith(base.lower()) and \
        rest[len(base):].split("/", 1)[0] not in owner.cloud_channels()
