"""The one exception type that reaches the user: a catalogued, one-line message and an exit code."""

from __future__ import annotations

from dlsetup import exitcodes


class DlsetupError(Exception):
    """A failure the user can act on.

    ``key`` names a message in the catalog (``dlsetup/messages``); ``params`` fill its placeholders.
    ``exit_code`` is USAGE (2) for bad input and FAILED (1) for an operation that failed.
    The CLI prints ``dlsetup: error: <message>`` on one line and exits with ``exit_code``.
    """

    def __init__(self, key: str, exit_code: int = exitcodes.USAGE, **params: object) -> None:
        self.key = key
        self.exit_code = exit_code
        self.params = params
        super().__init__(key)

    def message(self) -> str:
        from dlsetup.i18n import t

        return t(self.key, **self.params)

    def __str__(self) -> str:  # pragma: no cover - convenience for logs and tracebacks in tests
        try:
            return self.message()
        except Exception:
            return f"{self.key} {self.params}"


class UsageError(DlsetupError):
    """Bad input: exit code 2, nothing changed."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, exitcodes.USAGE, **params)


class OperationFailed(DlsetupError):
    """The operation ran and failed: exit code 1."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, exitcodes.FAILED, **params)
