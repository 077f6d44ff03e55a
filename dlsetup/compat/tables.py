"""Load the compatibility tables (``dlsetup/compat/data/*.toml``) lazily, once per process.

Each table file may declare ``[sources]``: short tags that rows use in their ``source`` field. The
loader expands them, so every row a caller sees carries a full URL or ``owner/repo:path`` /
``owner/repo#N`` reference, and a ``confidence`` of ``verified``, ``secondary`` or ``unverified``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"

CONFIDENCE = ("verified", "secondary", "unverified")

# Which keys of each file hold lists of rows that must carry a source and a confidence.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "cuda_drivers": ("minor_compat", "toolkit"),
    "cudnn": ("cc_floor",),
    "driver_branches": ("branch",),
    "gpu_archs": ("arch",),
    "compilers": ("gcc", "clang"),
    "pytorch": ("arch_list", "release", "variant", "conda_forge", "companion_build"),
    "tensorflow": ("arch_list", "release", "dead_names"),
    "jax": ("arch_list", "release", "variant"),
    "paddle": ("arch_list", "release", "variant"),
    "onnxruntime": ("arch_list", "release", "variant"),
    "mindspore": ("arch_list", "release", "variant"),
}


def table_names() -> list[str]:
    """The names of all shipped tables (file stems)."""
    return sorted(p.name[:-5] for p in DATA_DIR.iterdir() if p.name.endswith(".toml"))


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed table ``name`` with row sources expanded. Cached: the file is read once per process,
    and parsed TOML is kept as JSON in the cache directory (keyed on the file's content) because
    parsing TOML costs ~100 ms for the PyTorch table, reading JSON a few ms."""
    raw = (DATA_DIR / f"{name}.toml").read_bytes()
    data = _parse_cached(name, raw)
    tags: dict[str, str] = data.get("sources", {})
    for key in ROW_KEYS.get(name, ()):
        for row in _rows(data.get(key)):
            src = row.get("source")
            if isinstance(src, str) and src in tags:
                row["source"] = tags[src]
            elif isinstance(src, list):
                row["source"] = [tags.get(s, s) for s in src]
    return data


def _cache_dir() -> Path:
    from dlsetup.paths import cache_dir

    return cache_dir()


def cache_key(name: str, raw: bytes) -> str:
    """The cache file stem for table ``name`` with content ``raw``: any change to the data file gives a new key
    (size, CRC-32 and Adler-32 of the bytes; zlib is cheap to import, hashlib is not)."""
    import zlib

    return f"{name}-{len(raw)}-{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}"


def _parse_cached(name: str, raw: bytes) -> dict[str, Any]:
    import json

    path = None
    try:
        path = _cache_dir() / "compat" / f"{cache_key(name, raw)}.json"
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, dict):
            return cached
    except (OSError, ValueError):
        pass
    from dlsetup.util import toml

    data = toml.loads(raw.decode("utf-8"))
    if path is not None:
        try:
            from dlsetup.util.atomic import write_text_atomic

            text = json.dumps(data, ensure_ascii=False)
            write_text_atomic(path, text)
            # Older versions of this table are dead weight: their key can never match again.
            for old in path.parent.glob(f"{name}-*.json"):
                if old != path and old.name[len(name) + 1:len(name) + 2].isdigit():
                    old.unlink(missing_ok=True)
        except (OSError, TypeError, ValueError):  # a read-only cache (or a value JSON cannot hold): parse next time
            pass
    return data


def _rows(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [r for r in value if isinstance(r, dict)]
    if isinstance(value, dict):  # a table of named rows, e.g. [arch_list.cu126]
        return [r for r in value.values() if isinstance(r, dict)]
    return []


def rows(name: str, key: str) -> list[dict[str, Any]]:
    """The rows under ``key`` of table ``name`` (a list, even for tables of named rows)."""
    return _rows(load(name).get(key))


def source_text(row: dict[str, Any]) -> str:
    """A row's source as one string (several sources are joined with '; ')."""
    src = row.get("source", "")
    return "; ".join(src) if isinstance(src, list) else str(src)


@functools.lru_cache(maxsize=4096)
def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"580.65.06"`` -> ``(580, 65, 6)``; ``"12.6"`` -> ``(12, 6)``. Non-digits end the parse."""
    if not text:
        return ()
    out: list[int] = []
    for part in str(text).strip().lstrip("vVrR").split("."):
        digits = ""
        for ch in part:
            if "0" <= ch <= "9":  # ASCII only: int() refuses "²", and a snapshot may hold anything
                digits += ch
            else:
                break
        if not digits or len(digits) > 18:
            break
        out.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(out)
