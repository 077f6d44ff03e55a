"""Compatibility facts as a query API over data tables (``dlsetup/compat/data/*.toml``).

Knows nothing about the machine: callers pass driver versions, CUDA versions and compute
capabilities in. Every answer comes from a table row with a ``source`` and a ``confidence``; the
``*_row`` functions return that row so callers can cite it. Tables load lazily, once.

Version strings: drivers ``"580.65.06"`` (``"580"`` means the whole branch), CUDA ``"12.6"`` or
``"12.6.3"``, compute capability ``"8.6"`` (also accepted: ``(8, 6)``, ``"sm_86"``, ``"86"``).
"""

from __future__ import annotations

import functools
from typing import Any

from dlsetup.compat.tables import rows, source_text, version_tuple

__all__ = [
    "arch_coverage",
    "cc_from_name",
    "arch_covers",
    "cuda_for_driver",
    "cudnn_cc_floor",
    "driver_branch",
    "driver_branch_row",
    "driver_meets",
    "driver_runs_cuda",
    "gcc_range_for_cuda",
    "gpu_architecture",
    "parse_cc",
    "runtime_driver_floor",
    "runtime_driver_floor_row",
    "source_text",
    "toolkit_driver_floor",
    "toolkit_row",
    "torch_arch_list",
    "version_tuple",
]

OSES = ("linux", "windows")


def _os_key(os: str) -> str:
    os = (os or "linux").lower()
    if os.startswith("win"):
        return "windows"
    # WSL2 runs the Windows driver but Linux user space; NVIDIA documents the Linux floors for it.
    return "linux"


def _cuda_mm(cuda: str | tuple[int, ...]) -> tuple[int, int] | None:
    v = cuda if isinstance(cuda, tuple) else version_tuple(str(cuda))
    if len(v) == 1:
        return (v[0], 0)
    if len(v) >= 2:
        return (v[0], v[1])
    return None


# ---------------------------------------------------------------- drivers


def driver_meets(driver: str, floor: str) -> bool:
    """True when driver version ``driver`` is >= ``floor`` (``"580"`` stands for the whole R580 branch)."""
    d, f = version_tuple(driver), version_tuple(floor)
    if not d or not f:
        return False
    return d[: len(f)] >= f if len(f) < len(d) else d >= f


def driver_branch_row(driver_version: str) -> dict[str, Any] | None:
    """The branch row a driver belongs to: the largest branch number <= the driver's major version."""
    v = version_tuple(driver_version)
    if not v:
        return None
    best = None
    for row in rows("driver_branches", "branch"):
        if row["branch"] <= v[0] and (best is None or row["branch"] > best["branch"]):
            best = row
    return best


def driver_branch(driver_version: str) -> int | None:
    """``"580.95.05"`` -> 580; ``"581.57"`` (Windows) -> 580; None for a driver older than any known branch."""
    row = driver_branch_row(driver_version)
    return row["branch"] if row else None


def cuda_for_driver(driver_version: str, os: str = "linux") -> str | None:
    """The newest CUDA version a driver supports (what ``nvidia-smi`` prints as "CUDA Version").

    A driver newer than every known branch gets the newest known CUDA (a lower bound). ``os`` is
    accepted for symmetry: Windows drivers map onto the same branches (their numbers run ahead
    inside a branch, e.g. 581.57 is R580).
    """
    _os_key(os)
    row = driver_branch_row(driver_version)
    return row["cuda"] if row else None


@functools.lru_cache(maxsize=512)
def toolkit_row(cuda: str, os: str = "linux") -> dict[str, Any] | None:
    """The Table-3 row for toolkit ``cuda``: an exact ``X.Y.Z`` match, else the newest release of
    ``X.Y`` not newer than the given version (``"12.6"`` -> 12.6 GA; ``"10.1.243"`` -> 10.1.105)."""
    want = version_tuple(cuda)
    mm = _cuda_mm(want)
    if mm is None:
        return None
    candidates = [
        r for r in rows("cuda_drivers", "toolkit")
        if _cuda_mm(r["version"]) == mm and not r.get("prerelease")
    ]
    if not candidates:
        return None
    candidates.sort(key=lambda r: version_tuple(r["version"]))
    if len(want) <= 2:
        return candidates[0]  # X.Y means the GA release
    older = [r for r in candidates if version_tuple(r["version"]) <= want]
    return older[-1] if older else candidates[0]


def toolkit_driver_floor(cuda: str, os: str = "linux") -> str | None:
    """The driver a CUDA toolkit release itself needs (release notes, Table 3).

    Where NVIDIA gives only a branch (13.4 on Linux; every 13.x on Windows) the answer is the branch
    number, e.g. ``"615"``. None when the toolkit is unknown.
    """
    row = toolkit_row(cuda, os)
    if row is None:
        return None
    value = row.get(_os_key(os)) or ""
    if value:
        return value
    branch = row.get("branch")
    return str(branch) if branch else None


@functools.lru_cache(maxsize=512)
def runtime_driver_floor_row(cuda: str, os: str = "linux") -> dict[str, Any] | None:
    """The row that decides which driver a CUDA ``cuda`` runtime needs (see :func:`runtime_driver_floor`)."""
    mm = _cuda_mm(cuda)
    if mm is None:
        return None
    for row in rows("cuda_drivers", "minor_compat"):
        if row["cuda_major"] == mm[0] and mm[1] >= row.get("from_minor", 0):
            return row
    return toolkit_row(f"{mm[0]}.{mm[1]}", os)


def runtime_driver_floor(cuda: str, os: str = "linux") -> str | None:
    """The oldest driver that runs an application (a wheel) built with CUDA ``cuda``.

    CUDA 11.1+ uses minor-version compatibility: any 11.x runtime on >= 450.80.02, any 12.x on
    >= 525.60.13, any 13.x on >= 580 (Linux; Windows 452.39 / 528.33 / 580). CUDA 11.0 and 10.x and
    older have no minor-version compatibility: the toolkit's own driver (Table 3) is needed.
    """
    row = runtime_driver_floor_row(cuda, os)
    if row is None:
        return None
    key = _os_key(os)
    if "cuda_major" in row:
        return row.get(key) or None
    return row.get(key) or (str(row["branch"]) if row.get("branch") else None)


def driver_runs_cuda(driver_version: str, cuda: str, os: str = "linux") -> bool:
    """True when a driver can run a CUDA ``cuda`` runtime (natively or by minor-version compatibility)."""
    floor = runtime_driver_floor(cuda, os)
    return bool(floor) and driver_meets(driver_version, floor)


# ---------------------------------------------------------------- GPUs


def parse_cc(cc: Any) -> tuple[int, int] | None:
    """Accept ``"8.6"``, ``(8, 6)``, ``"sm_86"``, ``"86"``, ``"12.0"``, ``"120"`` -> ``(8, 6)`` / ``(12, 0)``."""
    if isinstance(cc, str):
        return _parse_cc_text(cc)
    if cc is None:
        return None
    if isinstance(cc, (tuple, list)) and len(cc) >= 2:
        try:
            return (int(cc[0]), int(cc[1]))
        except (TypeError, ValueError):
            return None
    return _parse_cc_text(str(cc))


@functools.lru_cache(maxsize=1024)
def _parse_cc_text(raw: str) -> tuple[int, int] | None:
    text = raw.strip().lower()
    for prefix in ("sm_", "compute_", "sm", "compute"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    text = text.rstrip("af")
    if "." in text:
        v = version_tuple(text)
        return (v[0], v[1]) if len(v) >= 2 else ((v[0], 0) if v else None)
    if text.isascii() and text.isdigit() and len(text) >= 2:
        return (int(text[:-1]), int(text[-1]))
    return None


@functools.lru_cache(maxsize=1024)
def _parse_arch_entry(entry: str) -> list[tuple[str, tuple[int, int], str]]:
    """``"sm_90a"`` -> [("sass", (9, 0), "a")]; ``"9.0+PTX"`` -> SASS and PTX; ``"compute_120"`` -> PTX."""
    text = str(entry).strip()
    low = text.lower()
    out: list[tuple[str, tuple[int, int], str]] = []
    if low.endswith("+ptx"):
        base = low[: -len("+ptx")]
        cc = parse_cc(base)
        if cc:
            suffix = base[-1] if base[-1] in "af" else ""
            out.append(("sass", cc, suffix))
            out.append(("ptx", cc, suffix))
        return out
    kind = "ptx" if low.startswith("compute_") else "sass"
    cc = parse_cc(low)
    if cc:
        suffix = low[-1] if low[-1] in "af" else ""
        out.append((kind, cc, suffix))
    return out


def arch_coverage(arch_list: list[str] | tuple[str, ...] | None, cc: Any) -> str | None:
    """How a build with ``arch_list`` runs on a GPU of compute capability ``cc``.

    Returns the entry that serves it: the closest SASS entry of the same major with minor <= the
    GPU's (``"sm_86"`` serves 8.9), an exact arch-specific entry (``"sm_90a"`` serves only 9.0), or
    else the newest PTX entry <= the GPU's CC, which the driver JIT-compiles (``"compute_120"``).
    None when nothing serves the GPU ("no kernel image is available for execution on the device").
    Jetson integrated GPUs (5.3, 6.2, 7.2, 8.7) need SASS for exactly their CC, and their SASS runs
    nowhere else (torch's DEVICE_REQUIREMENT); Thor's old name sm_101 is the same CC as sm_110.
    """
    want = _canonical_cc(parse_cc(cc))
    if want is None or not arch_list:
        return None
    igpus = _igpu_ccs()
    sass_hit: tuple[tuple[int, int], str] | None = None
    ptx_hit: tuple[tuple[int, int], str] | None = None
    for entry in arch_list:
        for kind, have, suffix in _parse_arch_entry(entry):
            have = _canonical_cc(have) or have
            if kind == "sass":
                if suffix == "a" or want in igpus or have in igpus:
                    # Arch-specific code, and Jetson integrated GPUs, need an exact match.
                    ok = have == want
                else:
                    ok = have[0] == want[0] and have[1] <= want[1]
                if ok and (sass_hit is None or have > sass_hit[0]):
                    sass_hit = (have, entry)
            else:
                ok = have == want if suffix == "a" else have <= want
                if ok and (ptx_hit is None or have > ptx_hit[0]):
                    ptx_hit = (have, entry)
    hit = sass_hit or ptx_hit
    return hit[1] if hit else None


@functools.cache
def _igpu_ccs() -> frozenset[tuple[int, int]]:
    return frozenset(parse_cc(r["cc"]) for r in rows("gpu_archs", "arch") if r.get("igpu"))


@functools.cache
def _cc_aliases() -> dict[tuple[int, int], tuple[int, int]]:
    out = {}
    for r in rows("gpu_archs", "arch"):
        for alias in r.get("aliases", []):
            out[parse_cc(alias)] = parse_cc(r["cc"])
    return out


def _canonical_cc(cc: tuple[int, int] | None) -> tuple[int, int] | None:
    if cc is None:
        return None
    return _cc_aliases().get(cc, cc)


def arch_covers(arch_list: list[str] | tuple[str, ...] | None, cc: Any) -> bool:
    """True when a build with ``arch_list`` has kernels (SASS or JIT-able PTX) for compute capability ``cc``."""
    return arch_coverage(arch_list, cc) is not None


def gpu_architecture(cc: Any) -> dict[str, Any] | None:
    """What is known about compute capability ``cc``: name, example GPUs, CUDA window, last driver branch.

    Keys: ``cc``, ``name``, ``examples``, ``first_cuda``, ``last_cuda_major`` (None while current),
    ``last_driver_branch`` (None while current or for Jetson boards), ``first_driver_branch`` (the oldest branch
    that drives it, where known) with ``first_driver_source``, ``jetson``, ``sbsa`` (a Jetson board that
    runs the regular aarch64 CUDA wheels: Thor), ``source``, ``confidence``, ``note``. None for an unknown
    compute capability.
    """
    want = parse_cc(cc)
    if want is None:
        return None
    for row in rows("gpu_archs", "arch"):
        if parse_cc(row["cc"]) == want:
            branch = row.get("last_driver_branch", 0)
            return {
                "cc": row["cc"],
                "name": row["name"],
                "examples": list(row.get("examples", [])),
                "first_cuda": row.get("first_cuda"),
                "last_cuda_major": row.get("last_cuda_major") or None,
                "last_driver_branch": branch if branch and branch > 0 else None,
                "first_driver_branch": row.get("first_driver_branch") or None,
                "first_driver_source": source_text({"source": row["first_driver_source"]})
                if row.get("first_driver_source") else None,
                "jetson": branch == -1,
                "sbsa": bool(row.get("sbsa")),
                "source": source_text(row),
                "confidence": row.get("confidence"),
                "note": row.get("note"),
            }
    return None


def known_ccs() -> list[str]:
    """Every compute capability in the architecture table, e.g. ``["2.0", ..., "12.1"]``."""
    return [row["cc"] for row in rows("gpu_archs", "arch")]


# ---------------------------------------------------------------- compilers


def gcc_range_for_cuda(cuda: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """``(min_inclusive, max_exclusive)`` gcc versions torch's cpp_extension accepts for CUDA ``cuda``.

    ``"12.6"`` -> ``((6, 0, 0), (14, 0))``. None for a CUDA version torch defines no bounds for.
    """
    return _compiler_range("gcc", cuda)


def clang_range_for_cuda(cuda: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Like :func:`gcc_range_for_cuda`, for clang."""
    return _compiler_range("clang", cuda)


def _compiler_range(kind: str, cuda: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    mm = _cuda_mm(cuda)
    if mm is None:
        return None
    for row in rows("compilers", kind):
        if _cuda_mm(row["cuda"]) == mm:
            return (tuple(row["min"]), tuple(row["max_exclusive"]))
    return None


# ---------------------------------------------------------------- frameworks


def torch_arch_list(torch_version: str, variant: str | None = None, arch: str = "x86_64") -> list[str] | None:
    """The ``torch.cuda.get_arch_list()`` of an official PyTorch wheel, e.g. ``["sm_50", ..., "sm_90"]``.

    ``torch_version`` may carry the local tag (``"2.14.1+cu126"``), which then gives the variant.
    ``arch`` is the CPU architecture (``"x86_64"``, also used for Windows; ``"aarch64"``). None when the
    release, the variant or its arch list is unknown, or the variant has no CUDA (cpu, rocm, xpu).
    """
    from dlsetup.compat import pytorch

    return pytorch.arch_list(torch_version, variant, arch)


@functools.cache
def _name_patterns() -> list[tuple[Any, str]]:
    import re

    pats = []
    for row in rows("gpu_archs", "arch"):
        for example in row.get("examples", []):
            norm = _norm_gpu_name(example)
            if norm:
                pats.append((re.compile(r"(?<![a-z0-9])" + re.escape(norm) + r"(?![a-z0-9])"), row["cc"], len(norm)))
        for regex in row.get("name_patterns", []):
            pats.append((re.compile(r"(?<![a-z0-9])(?:" + regex + r")(?![a-z0-9])"), row["cc"], len(regex)))
    pats.sort(key=lambda p: -p[2])  # the longest (most specific) example wins: "rtx 6000 ada" before "rtx 6000"
    return [(p, cc) for p, cc, _ in pats]


def _norm_gpu_name(name: str) -> str:
    import re

    text = name.lower().replace("nvidia", " ").replace("geforce", " ").replace("tesla", " ").replace("quadro", " ")
    text = re.sub(r"[\[\]()_,/-]+", " ", text)
    return " ".join(text.split())


def cc_from_name(name: str | None) -> str | None:
    """Guess the compute capability from a GPU name ("NVIDIA GeForce GTX 1080 Ti" -> "6.1").

    Only names matching an example in the architecture table are recognised; None otherwise.
    """
    if not name:
        return None
    norm = _norm_gpu_name(name)
    for pattern, cc in _name_patterns():
        if pattern.search(norm):
            return cc
    return None


# ---------------------------------------------------------------- cuDNN


@functools.lru_cache(maxsize=256)
def cudnn_cc_floor(cudnn: str | None) -> dict[str, Any] | None:
    """The oldest compute capability a cuDNN has kernels for (``cudnn.toml``), or None when the table says nothing.

    ``cudnn`` is what a build installs: an exact version (``"9.10.2.21"``), a major alone (``"9"``) or a range open
    upwards (``">=9.3.0.75,<10"``, ``"~=9.0"``). A major alone or an open range means pip installs the newest release
    of that major, so the newest row of the major applies. Returns ``{"min_cc", "row", "open_ended", "version"}``
    (cached: do not modify it).
    """
    text = str(cudnn or "").replace(" ", "")
    if not text:
        return None
    open_ended = not text[0].isdigit() or "." not in text
    lower = version_tuple(text.lstrip("><=~!").split(",", 1)[0])
    if not lower:
        return None
    table = sorted(rows("cudnn", "cc_floor"), key=lambda r: version_tuple(r["from"]))
    if open_ended:
        same_major = [r for r in table if version_tuple(r["from"])[0] == lower[0]]
        candidates = [r for r in table if version_tuple(r["from"]) <= lower] + same_major
    else:
        candidates = [r for r in table if version_tuple(r["from"]) <= lower]
    if not candidates:
        return None
    row = max(candidates, key=lambda r: version_tuple(r["from"]))
    return {"min_cc": row["min_cc"], "row": row, "open_ended": open_ended, "version": text}

