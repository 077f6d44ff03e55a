"""Message catalog: every user-facing string comes from here, in English or Chinese.

Catalogs are JSON files ``dlsetup/messages/<domain>.<lang>.json`` mapping ``"<domain>.<rest>"`` keys to
``str.format`` templates. The domain is the key's first dotted segment, so each capability owns its
own pair of files and loads lazily. A key missing from the Chinese catalog falls back to English;
a key missing everywhere is a bug and raises ``KeyError`` (tests check both catalogs are complete).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SUPPORTED = ("en", "zh")
_MESSAGES = Path(__file__).resolve().parent / "messages"
_current: str | None = None
_catalogs: dict[tuple[str, str], dict[str, str]] = {}


def detect_language(environ: os._Environ[str] | dict[str, str] | None = None, plat=None) -> str:
    """Pick the language: DLSETUP_LANG, LC_ALL, LC_MESSAGES, LANG, LANGUAGE (first set wins: zh* → zh,
    else en); when none is set, the Windows user's UI language (Windows sets none of those variables)."""
    env = os.environ if environ is None else environ
    for var in ("DLSETUP_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    if plat is None:
        from dlsetup.platform import current

        plat = current()
    return "zh" if plat.ui_language() == "zh" else "en"


class UnsupportedLanguage(ValueError):
    """``--lang`` names a language with no catalog (the CLI turns it into a usage error)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        super().__init__(lang)


def set_language(lang: str | None) -> str:
    """Set the output language; ``None`` means detect from the environment. Returns the language.

    Raises :class:`UnsupportedLanguage` for a language with no catalog."""
    global _current
    if lang is None:
        lang = detect_language()
    lang = lang.lower()
    if lang.startswith("zh"):
        lang = "zh"
    if lang not in SUPPORTED:
        raise UnsupportedLanguage(lang)
    _current = lang
    return lang


def reset() -> None:
    """Forget the chosen language (the CLI is also driven in-process by tests)."""
    global _current
    _current = None


def language() -> str:
    global _current
    if _current is None:
        _current = detect_language()
    return _current


def _catalog(domain: str, lang: str) -> dict[str, str]:
    key = (domain, lang)
    if key not in _catalogs:
        path = _MESSAGES / f"{domain}.{lang}.json"  # a plain path: importlib.resources costs ~20 ms to import
        try:
            _catalogs[key] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            _catalogs[key] = {}
    return _catalogs[key]


def has(key: str) -> bool:
    return key in _catalog(key.split(".", 1)[0], "en")


def t(key: str, _lang: str | None = None, **params: object) -> str:
    """Translate ``key`` into the current language (or ``_lang``) and fill ``params``."""
    domain = key.split(".", 1)[0]
    lang = _lang or language()
    template = _catalog(domain, lang).get(key)
    if template is None:
        template = _catalog(domain, "en").get(key)
    if template is None:
        raise KeyError(f"message key not in catalog: {key}")
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A placeholder mismatch must never turn a helpful message into a traceback.
        return template + " " + " ".join(f"{k}={v}" for k, v in params.items())


def catalog_domains() -> list[str]:
    """All domains that have an English catalog (used by the completeness tests)."""
    names = [p.name for p in _MESSAGES.iterdir()]
    return sorted({n.rsplit(".", 2)[0] for n in names if n.endswith(".en.json")})


def load_catalog(domain: str, lang: str) -> dict[str, str]:
    return dict(_catalog(domain, lang))
