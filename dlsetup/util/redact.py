"""Never print secrets: one function, :func:`redact`, used by every output path (text, ``--json``,
snapshots, journal notes, reports, errors, logs).

What it hides (each has a test that plants a secret through a real input and greps every output):

* URL userinfo — ``https://user:p@ss@host/`` → ``https://user:***@host/``. The userinfo ends at the
  **last** ``@`` of the authority, as pip's ``split_auth_from_netloc`` does (``netloc.rpartition("@")``),
  so a password holding a raw ``@`` loses its tail too; ``https://tok@host`` → ``https://***@host``;
* query-string secrets — ``?token=…``, ``access_token``, ``api_key``, ``apikey``, ``key``, ``password``,
  ``secret``, ``sig``/``signature``, AWS/Azure signed-URL fields … → ``token=***``;
* Anaconda's token in the path — ``https://conda.anaconda.org/t/<token>/channel`` → ``/t/***/``;
* ``Authorization: Bearer …`` / ``Basic …`` and a bare ``Bearer <token>`` → ``Bearer ***``;
* Hugging Face user tokens (``hf_`` followed by 30+ letters and digits) → ``hf_***``.

``redact_url`` is the historical name of the same function.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://authority — the authority ends at the first "/", "?", "#", whitespace, quote or bracket.
_URL_AUTH = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<auth>[^/?#\s'\"<>\[\]`]*@)")

_QUERY_KEYS = (
    "token", "access_token", "refresh_token", "id_token", "auth_token", "private_token", "api_key", "apikey",
    "api-key", "key", "password", "passwd", "pwd", "pass", "secret", "client_secret", "sig", "signature",
    "auth", "credential", "credentials", "session", "sessionid", "x-amz-signature", "x-amz-credential",
    "x-amz-security-token", "x-goog-signature", "x-goog-credential",
)
_QUERY = re.compile(
    r"(?P<pre>[?&;](?:" + "|".join(re.escape(k) for k in sorted(_QUERY_KEYS, key=len, reverse=True)) + r")=)"
    r"(?P<val>[^&;#\s'\"<>]+)",
    re.IGNORECASE,
)
# Anaconda's token-in-path form: https://conda.anaconda.org/t/<token>/<channel>
_CONDA_TOKEN = re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+(?:/[^\s/]+)*?/t/)(?P<tok>[^/\s]+)(?=/|\s|$)")
_AUTH_HEADER = re.compile(r"(?P<pre>\bauthorization\s*[:=]\s*(?:bearer|basic|token|digest)?\s*)(?P<val>[^\s'\"]+)",
                          re.IGNORECASE)
_BEARER = re.compile(r"(?P<pre>\bbearer\s+)(?P<val>[A-Za-z0-9._~+/=-]{6,})", re.IGNORECASE)
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")


def _auth(m: re.Match[str]) -> str:
    userinfo = m.group("auth")[:-1]  # everything up to the LAST "@" of the authority
    user, colon, _ = userinfo.partition(":")
    if colon:
        return f"{m.group('scheme')}{user}:***@"
    return f"{m.group('scheme')}***@"


def redact(text: str) -> str:
    """``text`` with every credential above replaced by ``***``; anything else is unchanged."""
    if not isinstance(text, str) or not text:
        return text
    if "@" in text:
        text = _URL_AUTH.sub(_auth, text)
    if "=" in text:
        text = _QUERY.sub(lambda m: m.group("pre") + "***", text)
    if "/t/" in text:
        text = _CONDA_TOKEN.sub(r"\g<pre>***", text)
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTH_HEADER.sub(lambda m: m.group("pre") + "***", text)
    if "bearer" in lowered:
        text = _BEARER.sub(lambda m: m.group("pre") + "***", text)
    if "hf_" in text:
        text = _HF_TOKEN.sub("hf_***", text)
    return text


redact_url = redact


def redact_data(value: Any, _depth: int = 0) -> Any:
    """A copy of plain JSON data (dicts, lists, strings) with :func:`redact` applied to every string."""
    if isinstance(value, str):
        return redact(value)
    if _depth > 200:
        return value
    if isinstance(value, dict):
        return {k: redact_data(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v, _depth + 1) for v in value]
    return value
