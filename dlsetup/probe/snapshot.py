"""Save, load and redact machine snapshots (what ``doctor --save-snapshot`` / ``--snapshot`` use).

Redaction (the default when saving) removes what identifies a person or a machine before a student
sends the file to a teacher: the host name, the user name, the home directory (paths become ``~/...``),
GPU and MIG UUIDs, and credentials inside URLs. Everything a diagnosis needs stays.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from dlsetup.probe.model import Snapshot
from dlsetup.util.redact import redact_url

HOST = "<hostname>"
USER = "<user>"
_UUID = re.compile(r"\b(GPU|MIG)-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")
# The account name left in ``https://name:***@host`` once redact_url has hidden the password: it names a person too.
_URL_USER = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@:\s]+(?=:\*\*\*@)")
# Path segments that are too common to treat as a user name (user "lib" must not rewrite /usr/lib).
_COMMON_SEGMENTS = {
    "root", "lib", "lib64", "bin", "sbin", "usr", "local", "opt", "share", "etc", "var", "tmp", "home", "cuda",
    "python", "conda", "envs", "nvidia", "data", "work", "src", "include", "dev", "proc", "sys", "run", "mnt",
}


class _Redactor:
    def __init__(self, home: str | None, user: str | None, host: str | None) -> None:
        homes = {h.rstrip("/\\") for h in (home, os.path.realpath(home) if home else None) if h and len(h) > 1}
        self.homes = sorted(homes, key=len, reverse=True)
        self.user = user if user and user not in _COMMON_SEGMENTS and len(user) >= 2 else None
        self.host = host if host and len(host) >= 4 else None
        self.uuids: dict[str, str] = {}

    def uuid_label(self, uuid: str) -> str:
        if uuid not in self.uuids:
            kind = uuid.split("-", 1)[0]
            self.uuids[uuid] = f"{kind}-redacted-{len(self.uuids)}"
        return self.uuids[uuid]

    def device_list(self, value: str) -> str:
        """A CUDA_VISIBLE_DEVICES-style list: CUDA also accepts a UUID prefix ("GPU-5a3c91e2"), which names the
        same GPU as the full UUID, so it gets that GPU's label (the replayed check then still matches it)."""
        out = []
        for tok in value.split(","):
            s = tok.strip()
            if re.match(r"(?i)(GPU|MIG)-[0-9a-f]", s) and not _UUID.fullmatch(s):
                full = next((u for u in self.uuids if u.upper().startswith(s.upper())), None)
                tok = tok.replace(s, self.uuid_label(full or s))
            out.append(tok)
        return ",".join(out)

    def text(self, s: str) -> str:
        s = _URL_USER.sub(lambda m: m.group("scheme") + USER, redact_url(s))
        for h in self.homes:
            # Windows paths compare case-insensitively (c:\users\x is C:\Users\X): so does their redaction.
            flags = re.IGNORECASE if re.match(r"[A-Za-z]:[\\/]", h) else 0
            s = re.sub(re.escape(h) + r"(?=[/\\:\s'\"]|$)", "~", s, flags=flags)
        if self.user:
            flags = re.IGNORECASE if any(re.match(r"[A-Za-z]:[\\/]", h) for h in self.homes) else 0
            s = re.sub(r"(?<=[/\\])" + re.escape(self.user) + r"(?=[/\\:\s'\"]|$)", USER, s, flags=flags)
        if self.host:
            s = re.sub(r"\b" + re.escape(self.host) + r"\b", HOST, s, flags=re.IGNORECASE)  # DNS ignores case
        return _UUID.sub(lambda m: self.uuid_label(m.group(0)), s)

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self.walk(v) for k, v in value.items()}
        return value


def redact_snapshot(snapshot: Snapshot) -> Snapshot:
    """A copy of ``snapshot`` without host name, user name, home paths, GPU UUIDs or URL credentials."""
    if snapshot.redacted:
        return Snapshot.from_dict(snapshot.to_dict())
    sysinfo = snapshot.system
    r = _Redactor(sysinfo.home, sysinfo.user, sysinfo.hostname)
    data = snapshot.to_dict()
    for gpu in data.get("nvidia", {}).get("gpus", []):
        if gpu.get("uuid"):
            gpu["uuid"] = r.uuid_label(gpu["uuid"]) if _UUID.fullmatch(gpu["uuid"]) else f"GPU-redacted-{gpu['index']}"
    data = r.walk(data)
    env = data.get("env") or {}
    for name in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
        if isinstance(env.get(name), str):
            env[name] = r.device_list(env[name])
    system = data["system"]
    system["hostname"] = HOST if sysinfo.hostname else None
    system["user"] = USER if sysinfo.user else None
    system["home"] = "~" if sysinfo.home else None
    data["redacted"] = True
    return Snapshot.from_dict(data)


def _secrets_only(value: Any) -> Any:
    """Credentials inside URLs go even with ``--no-redact``: a diagnosis never needs a password or token."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, list):
        return [_secrets_only(v) for v in value]
    if isinstance(value, dict):
        return {k: _secrets_only(v) for k, v in value.items()}
    return value


def snapshot_json(snapshot: Snapshot, *, redact: bool = True) -> str:
    data = redact_snapshot(snapshot).to_dict() if redact else _secrets_only(snapshot.to_dict())
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_snapshot(snapshot: Snapshot, path: str | os.PathLike[str], *, redact: bool = True) -> Path:
    """Write the snapshot as JSON, atomically; redacted unless ``redact=False`` (URL credentials are removed
    either way). Returns the path.

    A directory or an unwritable destination raises UsageError (``probe.error.snapshot_*``); nothing is
    half-written.
    """
    from dlsetup.errors import UsageError
    from dlsetup.util.atomic import write_text_atomic

    p = Path(path)
    text = snapshot_json(snapshot, redact=redact)
    if p.is_dir():
        raise UsageError("probe.error.snapshot_is_dir", path=str(p))
    try:
        write_text_atomic(p, text)
    except OSError as exc:
        raise UsageError("probe.error.snapshot_not_writable", path=str(p), reason=exc.strerror or str(exc)) from None
    return p


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read a snapshot file; a missing, corrupt or foreign file is a one-line UsageError.

    A file that is JSON but not a snapshot says what it is instead, in the user's language: most often a
    ``doctor --json`` report sent in place of the ``--save-snapshot`` file.
    """
    from dlsetup.errors import UsageError

    try:
        return Snapshot.load(path)
    except UsageError as err:
        if err.key != "core.error.snapshot_invalid":
            raise
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise err from None
        if not isinstance(doc, dict) or doc.get("kind") == "dlsetup.snapshot":
            raise
        if doc.get("command") == "doctor" and "findings" in doc:
            raise UsageError("probe.error.snapshot_is_report", path=str(path)) from None
        raise UsageError("probe.error.snapshot_foreign", path=str(path)) from None
