"""Turn what rattler, conda-lock, Poetry and the file system raise into one catalogued line and an exit code.

Bad input (a spec that does not parse, a channel that does not exist) is a UsageError (exit 2); an
operation that ran and failed (no solution, a download that failed, a full disk) is OperationFailed
(exit 1). The solver's conflict tree is kept, flattened onto the one line, so the user sees *why*.
"""

from __future__ import annotations

import errno
import re

from dlsetup.errors import DlsetupError, OperationFailed, UsageError

_TREE = re.compile(r"^[\s│├└─]+")
# rattler's explanation phrases, shortened so the conflict fits on one readable line
_SHORTER = [
    (", which can be installed with any of the following options", ""),
    (" can be installed with any of the following options", ""),
    (", which cannot be installed because there are no viable options", " (no viable option)"),
    (" cannot be installed because there are no viable options", " cannot be installed"),
    ("The following packages are incompatible; ", "incompatible: "),
    (" would require; ", " would require "),
]


def flatten(message: str, limit: int = 900) -> str:
    """rattler's multi-line conflict tree → one line (tree glyphs dropped, lines joined)."""
    text = message.replace("Cannot solve the request because of: ", "")
    parts = []
    for line in text.splitlines():
        part = _TREE.sub("", line).strip().removeprefix("Caused by: ").rstrip(":").strip()
        if part:
            parts.append(part)
    out = "; ".join(parts)
    for long, short in _SHORTER:
        out = out.replace(long, short)
    out = re.sub(r"\s+", " ", out).strip().rstrip(".")
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def explain(exc: BaseException, during: str = "create") -> DlsetupError:
    """The DlsetupError to raise for ``exc``."""
    from dlsetup.util.redact import redact_url

    if isinstance(exc, DlsetupError):
        return exc
    name = type(exc).__name__
    text = redact_url(str(exc))
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left on device" in text or "os error 28" in text:
        parts = flatten(text, 10_000).split("; ")
        reason = parts[0] if len(parts) == 1 else f"{parts[0]}; {parts[-1]}"  # what failed; the root cause
        return OperationFailed("envs.error.disk_full", reason=reason)
    if name == "SolverError":
        missing = re.search(r"(__\w+) ([^,]*), for which no candidates were found", text)
        if missing:
            return OperationFailed("envs.error.virtual_missing", package=missing.group(1),
                                   spec=f"{missing.group(1)} {missing.group(2)}".strip(), detail=flatten(text))
        if "No candidates were found for" in text:
            return OperationFailed("envs.error.not_found", detail=flatten(text))
        return OperationFailed("envs.error.unsatisfiable", detail=flatten(text))
    if name in ("InvalidMatchSpecError", "InvalidPackageNameError", "InvalidVersionSpecError", "InvalidVersionError"):
        return UsageError("envs.error.bad_spec", spec="?", reason=_first_line(exc))
    if name in ("GatewayError", "FetchRepoDataError", "InvalidChannelError", "InvalidUrlError"):
        channel = re.search(r"channel '([^']+)'|url \(([^)]+)\)", text)
        where = next((g for g in channel.groups() if g), "?") if channel else "?"
        if "/repodata" in where:  # the file that failed → the channel it belongs to
            where = where.rsplit("/", 2)[0]
        if re.search(r"could not find subdir|No such file|404|Not Found|does not exist", text):
            return UsageError("envs.error.channel_missing", channel=where, reason=flatten(text, 300))
        return OperationFailed("envs.error.channel_unreachable", channel=where, reason=flatten(text, 300))
    if name in ("InstallerError", "LinkError", "TransactionError", "IoError", "ExtractError", "CacheDirError"):
        return OperationFailed("envs.error.install_failed", reason=flatten(text, 400))
    if isinstance(exc, PermissionError):
        return OperationFailed("core.error.not_writable", path=str(exc.filename or "?"), reason=exc.strerror or text)
    if name == "ValueError" and "pip specs without Python" in text:
        return UsageError("envs.error.pip_without_python")
    if during == "lock":
        return OperationFailed("envs.error.lock_failed", reason=flatten(text, 500))
    return OperationFailed("envs.error.failed", action=during, reason=f"{name}: {flatten(text, 400)}")
