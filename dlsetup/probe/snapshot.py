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
            s = re.sub(re.escape(h) + r"(?=[/\\:\s'\"]|$)", "~", s)
        if self.user:
            s = re.sub(r"(?<=[/\\])" + re.escape(self.user) + r"(?=[/\\:\s'\"]|$)", USER, s)
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
    from dlsetup.util.textsafe import dumps

    return dumps(data, indent=2) + "\n"


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


# Limits for a file from a stranger. A real snapshot is 5-60 KB with nesting under 10 levels.
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 200_000
MAX_STRING = 64 * 1024
MAX_VERSION = 128  # a version, kernel or driver string longer than this is not one
MAX_INT_DIGITS = 30
_VERSION_KEY = re.compile(r"^(?!proc_)(?:\w+_)?version$|^(?:kernel|glibc|cuda|cudnn|nccl|compute_capability|driver)$")
_VERSION_MAPS = {"packages", "conda_records"}  # name -> version


class _Limit(Exception):
    def __init__(self, key: str, where: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.where, self.params = key, where, params


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Limit("probe.limit.number", "", value=text[:12] + "…")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _Limit("probe.limit.number", "", value=text[:12] + ("…" if len(text) > 12 else ""))
    return value


def _parse_constant(text: str) -> Any:  # NaN, Infinity, -Infinity: not JSON
    raise _Limit("probe.limit.number", "", value=text)


def _max_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside strings, without recursion (json's parser recurses)."""
    depth = best = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        tok = m.group(0)
        if tok in "[{":
            depth += 1
            if depth > best:
                best = depth
                if best > MAX_DEPTH:
                    return best
        elif tok in "]}":
            depth -= 1
    return best


def _check_values(data: Any) -> None:
    """Count values and check every string (no lone surrogates, bounded length, versions short)."""
    count = 0
    stack: list[tuple[Any, str, str]] = [(data, "", "")]
    while stack:
        value, where, key = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _Limit("probe.limit.count", where or "<root>", limit=MAX_VALUES)
        if isinstance(value, dict):
            for k, v in value.items():
                _check_string(k, f"{where}.{k[:40]}" if where else k[:40], "")
                stack.append((v, f"{where}.{k[:40]}" if where else k[:40], "version" if key in _VERSION_MAPS else k))
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", key) for i, v in enumerate(value))
        elif isinstance(value, str):
            _check_string(value, where, key)


def _check_string(value: str, where: str, key: str) -> None:
    limit = MAX_VERSION if _VERSION_KEY.search(key.lower()) else MAX_STRING
    if len(value) > limit:
        raise _Limit("probe.limit.string", where or "<root>", limit=limit)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Limit("probe.limit.surrogate", where or "<root>") from None


def read_document(path: str | os.PathLike[str]) -> Any:
    """Parse a snapshot file someone else may have made: the JSON document, or a one-line UsageError.

    Only a regular file is opened (a FIFO would block forever and ``/dev/zero`` never ends): it is
    checked with ``stat`` before the open, opened non-blocking and checked again on the descriptor.
    At most :data:`MAX_BYTES` are read; nesting, value count, number size (no 4300-digit integers,
    no ``1e400``, no NaN) and string length are bounded, and lone surrogates are refused.
    """
    import stat

    from dlsetup.errors import UsageError
    from dlsetup.i18n import t

    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise UsageError("core.error.file_not_found", path=str(p)) from None
    except OSError as exc:
        raise UsageError("core.error.file_unreadable", path=str(p), reason=exc.strerror or str(exc)) from None

    def kind_of(mode: int) -> str:
        for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                           (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
            if test(mode):
                return name
        return "special file"

    if not stat.S_ISREG(st.st_mode):
        raise UsageError("probe.error.snapshot_not_regular", path=str(p), kind=kind_of(st.st_mode))
    if st.st_size > MAX_BYTES:
        raise UsageError("probe.error.snapshot_too_large", path=str(p), size=st.st_size, limit=MAX_BYTES)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UsageError("core.error.file_unreadable", path=str(p), reason=exc.strerror or str(exc)) from None
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):  # swapped for something else between stat and open
            raise UsageError("probe.error.snapshot_not_regular", path=str(p), kind=kind_of(fst.st_mode))
        chunks, total = [], 0
        while total <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise UsageError("core.error.file_unreadable", path=str(p), reason=exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if total > MAX_BYTES:
        raise UsageError("probe.error.snapshot_too_large", path=str(p), size=total, limit=MAX_BYTES)

    def limit_error(what: str, where: str) -> UsageError:
        return UsageError("probe.error.snapshot_limits", path=str(p), what=what, where=where)

    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise limit_error(t("probe.limit.encoding", detail=f"byte {exc.start}"), "<file>") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if _max_depth(text) > MAX_DEPTH:
        raise limit_error(t("probe.limit.depth", limit=MAX_DEPTH), "<root>")
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
        _check_values(data)
    except _Limit as lim:
        raise limit_error(t(lim.key, **lim.params), lim.where or "<number>") from None
    except json.JSONDecodeError as exc:
        raise UsageError("core.error.snapshot_invalid", path=str(p),
                         reason=f"not JSON ({exc.msg}, line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError("core.error.snapshot_invalid", path=str(p), reason=str(exc)[:200]) from None
    return data


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
            doc = read_document(path)
        except UsageError:
            raise err from None
        if not isinstance(doc, dict) or doc.get("kind") == "dlsetup.snapshot":
            raise
        if doc.get("command") == "doctor" and "findings" in doc:
            raise UsageError("probe.error.snapshot_is_report", path=str(path)) from None
        raise UsageError("probe.error.snapshot_foreign", path=str(path)) from None
