"""Never print secrets: credentials inside URLs become ``***``."""

from __future__ import annotations

import re

# scheme://user:password@host  or  scheme://token@host
_URL_CRED = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*)(?::(?P<pw>[^/@\s]*))?@")


def redact_url(text: str) -> str:
    """``https://user:secret@host/x`` → ``https://user:***@host/x``; ``https://tok@host`` → ``https://***@host``."""

    def repl(m: re.Match[str]) -> str:
        if m.group("pw") is not None:
            return f"{m.group('scheme')}{m.group('user')}:***@"
        return f"{m.group('scheme')}***@"

    return _CONDA_TOKEN.sub(r"\g<pre>***", _URL_CRED.sub(repl, text))


# Anaconda's token-in-path form: https://conda.anaconda.org/t/<token>/<channel>
_CONDA_TOKEN = re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+(?:/[^\s/]+)*?/t/)(?P<tok>[^/\s]+)(?=/)")
