"""pixi: ``[mirrors]`` in ``config.toml``, keyed by the upstream URL prefix (prefix-dev/pixi
docs/reference/pixi_configuration.md; key mapping as posted in tuna/issues#2522).

Conda channels map ``<channel alias>/<name>`` to ``<mirror>/anaconda/cloud/<name>``; pixi's PyPI
resolution needs the simple index and, where the mirror serves files under its own prefix, the files
host too. Other ``[mirrors]`` keys are kept.
"""

from __future__ import annotations

from pathlib import Path

from dlsetup.mirror.catalog import owner_of
from dlsetup.mirror.writers import Context, Report, load_toml

CONDA_ALIAS = "https://conda.anaconda.org"
PYPI_SIMPLE = "https://pypi.org/simple"
PYPI_FILES = "https://files.pythonhosted.org/packages"
CHANNELS = ("conda-forge", "bioconda", "pytorch", "nvidia")


def wanted(ctx: Context) -> dict[str, str]:
    """upstream prefix → mirror URL for what this mirror carries."""
    m = ctx.mirror
    assert m is not None
    out: dict[str, str] = {}
    carried = m.cloud_channels()
    for ch in CHANNELS:
        if ch in carried:
            out[f"{CONDA_ALIAS}/{ch}"] = m.channel_url(f"cloud/{ch}")
    if m.pip:
        out[PYPI_SIMPLE] = m.pip.rstrip("/")
        if m.pip_files:
            out[PYPI_FILES] = m.pip_files.rstrip("/")
    return out


def apply(text: str | None, ctx: Context, report: Report) -> str | None:
    import tomlkit

    doc = load_toml("pixi", text, report.path or Path("config.toml"))
    pypi = doc.get("pypi-config")
    if hasattr(pypi, "get") and isinstance(pypi.get("index-url"), str):
        report.note("mirror.note.pixi_pypi_config", value=str(pypi["index-url"]), file=str(report.path))
    mirrors = doc.get("mirrors")
    if mirrors is None:
        mirrors = tomlkit.table()
        doc["mirrors"] = mirrors
    want = wanted(ctx)
    for upstream, url in want.items():
        current = mirrors.get(upstream)
        if list(current or []) != [url]:
            mirrors[upstream] = [url]
            report.change(f'[mirrors] "{upstream}" = ["{url}"]')
    for upstream in list(mirrors):
        if upstream in want:
            continue
        values = mirrors[upstream]
        values = list(values) if isinstance(values, list) else [values]
        owners = {owner_of(str(v), ctx.catalog) for v in values}
        if owners and all(o is not None and o.id != ctx.mirror.id for o in owners):
            del mirrors[upstream]
            report.change(f'[mirrors] "{upstream}" (removed: another mirror)')
    if not report.changes:
        return text
    return tomlkit.dumps(doc)


def reset(text: str | None, ctx: Context, report: Report) -> str | None:
    import tomlkit

    if text is None:
        return None
    doc = load_toml("pixi", text, report.path or Path("config.toml"))
    pypi = doc.get("pypi-config")
    if hasattr(pypi, "get") and isinstance(pypi.get("index-url"), str):
        report.note("mirror.note.pixi_pypi_config", value=str(pypi["index-url"]), file=str(report.path))
    mirrors = doc.get("mirrors")
    if mirrors is None:
        return text
    for upstream in list(mirrors):
        values = mirrors[upstream]
        values = list(values) if isinstance(values, list) else [values]
        if values and all(owner_of(str(v), ctx.catalog) is not None for v in values):
            del mirrors[upstream]
            report.change(f'[mirrors] "{upstream}" (removed)')
    if not report.changes:
        return text
    if len(mirrors) == 0:
        del doc["mirrors"]
    new = tomlkit.dumps(doc)
    return new if new.strip() else None
