"""Whether the CLI must leave without interpreter teardown after py-rattler ran.

py-rattler runs its async calls on a tokio runtime owned by pyo3-async-runtimes (0.29.0 is linked into
py-rattler 0.28.0's ``rattler.abi3.so``). That runtime has no shutdown hook, so its worker threads can still be
running when ``Py_Finalize`` tears the interpreter down, and crash it: SIGSEGV or SIGABRT at exit, exit code
139/134 instead of the command's. Upstream: https://github.com/PyO3/pyo3-async-runtimes/issues/40 ("Do we need
some kind of shutdown method?", open); the same race fixed in another binding by shutting the runtime down
from ``atexit``: https://github.com/lancedb/lancedb/pull/4175.

The gate names the py-rattler releases the workaround was verified for; raise it only after re-running
``tests/test_cli.py``'s exit-code loop against the new release.
"""

from __future__ import annotations

AFFECTED_BELOW = (0, 29)  # py-rattler < 0.29: the pinned range (pyproject: py-rattler>=0.28,<0.29)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch in "0123456789")
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def needs_hard_exit(version: str | None = None) -> bool:
    """True for the py-rattler releases whose runtime can crash interpreter teardown (or when unknown)."""
    if version is None:
        try:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            version = dist_version("py-rattler")
        except (ImportError, PackageNotFoundError):
            return True
    parsed = _version_tuple(version)
    return not parsed or parsed < AFFECTED_BELOW
