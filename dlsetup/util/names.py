"""Project names as the packaging standards compare them.

:func:`canonical_name` is PEP 503's normative rule (``re.sub(r"[-_.]+", "-", name).lower()``), the rule
``packaging.utils.canonicalize_name`` implements; it is written out here because importing
``packaging.utils`` (it pulls in ``packaging.tags``) costs ~50-100 ms on doctor's start-up path. A test
checks the two agree. This is the one place dlsetup normalises a name.
"""

from __future__ import annotations

import re

_RUNS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """PEP 503: ``Torch_Vision`` → ``torch-vision``."""
    return _RUNS.sub("-", name).lower()


def same_project(a: str, b: str) -> bool:
    """Do two spellings name the same project (``.dist-info`` directories use ``_`` for the runs)?"""
    return canonical_name(a) == canonical_name(b)
