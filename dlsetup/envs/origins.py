"""Say where a failing spec came from: the file and line, and the channels by URL.

A solve error from rattler names packages, not files; :func:`name_origin` adds "``spec`` is at
``file:line``" for each spec of the request that the error mentions, and replaces an unknown channel with
the URLs of the channels that were asked. :func:`check_explicit_digests` holds an @EXPLICIT list's md5 /
sha256 against the records the channel serves (rattler then verifies the downloaded archives against
those records, so the chain reaches the file's hashes).
"""

from __future__ import annotations

import re

from dlsetup.envs.model import EnvSpec
from dlsetup.errors import DlsetupError, UsageError


def name_origin(exc: DlsetupError, spec: EnvSpec, channel_urls: list[str]) -> None:
    """Add the file:line of the specs ``exc`` mentions, and the channel URLs when it names none."""
    from dlsetup.envs.matchspec import name_of
    from dlsetup.i18n import t
    from dlsetup.util.redact import redact_url

    if exc.params.get("channel") in (None, "", "?") and "channel" in exc.params:
        exc.params["channel"] = ", ".join(redact_url(u) for u in channel_urls) or "?"
    if "detail" not in exc.params or not spec.origins:
        return
    detail = str(exc.params["detail"])
    notes = []
    for s, where in spec.origins.items():
        name = name_of(s)
        if name and re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", detail, re.I):
            notes.append(t("envs.label.spec_at", spec=s, where=where))
    if notes:
        exc.params["detail"] = f"{detail}; " + "; ".join(notes)


def check_explicit_digests(spec: EnvSpec, records: list) -> None:
    """Every ``#md5`` / ``#sha256:`` of an @EXPLICIT list equals the channel's record, or a UsageError."""
    from dlsetup.envs.specfile import explicit_digests
    from dlsetup.util.redact import redact_url

    digests = explicit_digests(spec.explicit_urls)
    for r in records:
        stem = f"{r.name.normalized}-{r.version}-{r.build}"
        if stem not in digests:
            continue
        kind, expected = digests[stem]
        got = getattr(r, kind, None)
        actual = got.hex() if got else None
        if actual is not None and actual != expected:
            url = next((u for u in spec.explicit_urls if stem in u), stem).split("#", 1)[0]
            raise UsageError("envs.error.hash_mismatch", package=stem, where=spec.origins.get(url, spec.source),
                             kind=kind, expected=expected, channel=redact_url(str(r.channel or "")),
                             actual=actual)
