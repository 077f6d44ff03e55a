"""Parse what the user asked for: ``torch``, ``torch==2.6.*``, ``torch torchvision``, ``tensorflow`` ..."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Spec:
    """One requested package: ``torch``, ``torch==2.6.*``, ``torchvision``, ``tensorflow`` ..."""

    name: str  # canonical name: torch, torchvision, torchaudio, tensorflow, jax, paddlepaddle, onnxruntime
    specifier: str = ""  # PEP 440 specifier set, "" for any
    requested_as: str = ""  # what the user typed


# What users type -> the package dlsetup resolves. Values are (canonical name, note key or None).
ALIASES: dict[str, tuple[str, str | None]] = {
    "torch": ("torch", None),
    "pytorch": ("torch", None),
    "torchvision": ("torchvision", None),
    "torchaudio": ("torchaudio", None),
    "tensorflow": ("tensorflow", None),
    "tensorflow-gpu": ("tensorflow", "resolve.note.tensorflow_gpu_dead"),
    "tf": ("tensorflow", None),
    "jax": ("jax", None),
    "jaxlib": ("jax", None),
    "paddlepaddle": ("paddlepaddle", None),
    "paddlepaddle-gpu": ("paddlepaddle", None),
    "paddle": ("paddlepaddle", None),
    "onnxruntime": ("onnxruntime", None),
    "onnxruntime-gpu": ("onnxruntime", None),
    "mindspore": ("mindspore", None),
    "mindspore-gpu": ("mindspore", None),
}

FAMILIES = {
    "torch": "torch",
    "torchvision": "torch",
    "torchaudio": "torch",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "paddlepaddle": "paddlepaddle",
    "onnxruntime": "onnxruntime",
    "mindspore": "mindspore",
}


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def _split(text: str) -> tuple[str, str]:
    """``"torch==2.6.*"`` -> ``("torch", "==2.6.*")``; the specifier is validated with packaging only when
    present (importing packaging.requirements costs more than the whole resolve)."""
    from dlsetup.errors import UsageError

    m = _NAME.match(text)
    if not m:
        raise UsageError("resolve.error.bad_spec", spec=text)
    name, rest = m.group(1), m.group(2)
    if rest:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            parsed = SpecifierSet(rest)
        except InvalidSpecifier:
            raise UsageError("resolve.error.bad_spec", spec=text) from None
        if not len(parsed) or any(not s.version for s in parsed):
            raise UsageError("resolve.error.bad_spec", spec=text)
        rest = str(parsed)
    return name, rest


def parse_specs(items: list[str] | tuple[str, ...]) -> list[Spec]:
    """Requirement strings -> specs. Unknown names and bad specifiers raise UsageError (exit 2)."""
    from dlsetup.errors import UsageError

    out: list[Spec] = []
    for raw in items:
        text = str(raw).strip()
        if not text:
            continue
        req_name, spec = _split(text)
        key = req_name.lower().replace("_", "-")
        if key not in ALIASES:
            raise UsageError("resolve.error.unknown_package", name=req_name, known=", ".join(sorted(FAMILIES)))
        name, _ = ALIASES[key]
        if any(s.name == name for s in out):
            raise UsageError("resolve.error.duplicate_package", name=name)
        out.append(Spec(name=name, specifier=spec, requested_as=text))
    return out


def spec_notes(specs: list[Spec]) -> list[str]:
    """Message keys for names that need a word (e.g. the dead ``tensorflow-gpu``)."""
    notes = []
    for s in specs:
        key = _split(s.requested_as)[0].lower().replace("_", "-") if s.requested_as else s.name
        note = ALIASES.get(key, (None, None))[1]
        if note:
            notes.append(note)
    return notes


def spec_matches(spec: Spec | None, version: str) -> bool:
    """True when ``version`` satisfies the spec (no spec: always)."""
    if spec is None or not spec.specifier:
        return True
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(spec.specifier).contains(version, prereleases=True)
