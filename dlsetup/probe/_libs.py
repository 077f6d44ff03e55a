"""Where the dynamic loader would find a shared library, without loading it (file reads only)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from dlsetup.probe._fs import Root

# Directories the NVIDIA user-space driver lands in across distributions, WSL and containers.
STANDARD_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib64",
    "/lib",
    "/usr/lib64/nvidia",
    "/usr/lib/nvidia",
    "/usr/lib/wsl/lib",
    "/usr/local/nvidia/lib64",  # images built for the NVIDIA container runtime
)


def ld_library_path(environ: Mapping[str, str]) -> list[str]:
    return [p for p in environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]


_CACHE: dict[tuple[str, int, int], list[tuple[str, str]]] = {}
_PATH_IN_CACHE = re.compile(rb"(/[\x21-\x7e]+\.so[\x21-\x7e]*)\x00")


def _ld_cache_all(root: Root) -> list[tuple[str, str]]:
    """(file name, path) of every library in ``/etc/ld.so.cache``, parsed once per file version."""
    path = root.path("/etc/ld.so.cache")
    try:
        st = os.stat(path)
    except OSError:
        return []
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        data = root.read_bytes("/etc/ld.so.cache") or b""
        paths = dict.fromkeys(m.group(1).decode("ascii", "replace") for m in _PATH_IN_CACHE.finditer(data))
        _CACHE[key] = [(p.rsplit("/", 1)[-1], p) for p in paths]
    return _CACHE[key]


def ld_cache_paths(root: Root, soname_prefix: str) -> list[str]:
    """Full paths in ``/etc/ld.so.cache`` whose file name starts with ``soname_prefix``."""
    return [p for name, p in _ld_cache_all(root) if name.startswith(soname_prefix)]


def find_library(root: Root, soname: str, environ: Mapping[str, str], extra_dirs: tuple[str, ...] = ()) -> list[str]:
    """Machine paths of ``soname`` in loader order: LD_LIBRARY_PATH, ld.so.cache, standard dirs."""
    found: list[str] = []

    def add(path: str) -> None:
        if path not in found and root.exists(path):
            found.append(path)

    for d in ld_library_path(environ):
        add(os.path.join(d, soname))
    for path in ld_cache_paths(root, soname):
        if os.path.basename(path) == soname:
            add(path)
    for d in (*STANDARD_DIRS, *extra_dirs):
        add(os.path.join(d, soname))
    return found


def version_from_soname(path: str | None, stem: str) -> str | None:
    """``libnvidia-ml.so.580.65.06`` → ``580.65.06`` (None for ``.so.1`` or a plain file)."""
    if not path:
        return None
    name = os.path.basename(path)
    m = re.fullmatch(re.escape(stem) + r"\.so\.(\d+\.\d+(?:\.\d+)?)", name)
    return m.group(1) if m else None
