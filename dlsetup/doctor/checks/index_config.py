"""Package-index configuration: a mirror set in a file but masked by an environment variable, and config
files their tool cannot read. Settings and their precedence come from the probe
(``dlsetup.toolconfig``); this module only judges them.
"""

from __future__ import annotations

from dlsetup.doctor.model import GROUP_PYTHON, WARNING, Finding, ev, finding
from dlsetup.platform import for_snapshot
from dlsetup.platform.shell import Cmd, unset_env
from dlsetup.probe.model import ConfigSetting, Snapshot
from dlsetup.util.redact import redact_url


def _slot(s: ConfigSetting) -> tuple[str, str]:
    key = s.key.split(".")[-1] if s.tool == "pip" else s.key
    if s.tool == "uv" and key in ("index-url", "default"):
        key = "default-index"
    return s.tool, key


def _masker(s: ConfigSetting, settings: list[ConfigSetting]) -> ConfigSetting | None:
    if s.masked_by:
        for o in settings:
            if o.source == s.masked_by and o.tool == s.tool and o.effective:
                return o
        return ConfigSetting(s.tool, s.key, "", s.masked_by, True)
    for o in settings:
        if o.effective and o is not s and _slot(o) == _slot(s):
            return o
    return None


def masked_by_env(snap: Snapshot) -> list[Finding]:
    """A file sets an index/channel/endpoint, but an environment variable overrides it (with another value)."""
    settings = snap.tooling.settings
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for s in settings:
        if s.effective or s.key == "parse-error" or s.source.startswith("env:"):
            continue
        m = _masker(s, settings)
        if m is None or not m.source.startswith("env:"):
            continue  # file-over-file layering is ordinary configuration
        if m.value and m.value.strip() == s.value.strip():
            continue  # same value: nothing is lost
        var = m.source[4:]
        if (var, s.source) in seen:
            continue
        seen.add((var, s.source))
        evidence = [ev("setting", tool=s.tool, option=s.key, value=redact_url(s.value), source=s.source)]
        if m.value:
            evidence.append(ev("env_var", name=var, value=redact_url(m.value)))
        out.append(finding(
            "index.masked_by_env", WARNING, GROUP_PYTHON, evidence=evidence,
            commands=_unset_everywhere(snap, var),
            tool=s.tool, var=var, source=s.source,
        ))
    return out


def unreadable_config(snap: Snapshot) -> list[Finding]:
    """A config file its tool would reject: the tool fails or silently ignores it."""
    out: list[Finding] = []
    for s in snap.tooling.settings:
        if s.key != "parse-error":
            continue
        out.append(finding(
            "index.config_unreadable", WARNING, GROUP_PYTHON,
            evidence=[ev("config_error", source=s.source, detail=redact_url(s.value))],
            commands=[f"cat -A {s.source} | head -40"] if not s.source.startswith(("env:", "<")) else [],
            tool=s.tool, source=s.source,
        ))
    return out


CHECKS = [masked_by_env, unreadable_config]


def _unset_everywhere(snap: Snapshot, var: str) -> list:
    """Unset the variable here, then find where it is set for good: the shell start-up files, or on Windows
    the user's environment in the registry (``HKCU\\Environment``, where ``setx`` and System Properties write)."""
    if for_snapshot(snap).is_windows:
        return [unset_env(var), Cmd(["reg", "query", "HKCU\\Environment", "/v", var])]
    return [unset_env(var), f"grep -n {var} ~/.bashrc ~/.profile ~/.zshrc /etc/environment 2>/dev/null"]
