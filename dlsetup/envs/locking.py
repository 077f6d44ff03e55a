"""``conda-lock.yml`` through conda-lock's own code, with py-rattler as the solver (research §4.3-2).

conda-lock parses the inputs, builds its fake virtual-package channel, solves the pip section with its
vendored Poetry resolver, applies categories, hashes and writes the file; only the conda solve is swapped:
``conda_lock.conda_solver.solve_specs_for_arch`` (which would run ``<conda> create --dry-run --json``) is
replaced, for the duration of one call, by a rattler solve that returns the same ``{"actions": {"FETCH":
[...]}}`` document. conda-lock never looks for or downloads a conda executable on this path, and the
PyPI→conda name mapping comes from a local file, never from GitHub.

These are private conda-lock hooks, so ``pyproject.toml`` pins ``conda-lock>=4.0.3,<4.1`` and
``tests/envs/test_lock_contract.py`` fails loudly when an upgrade changes them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from dlsetup.envs.model import LockResult
from dlsetup.errors import OperationFailed, UsageError

FAKE_CHANNEL_MARK = "conda-lock-fake-repodata"  # conda_lock.virtual_package: the fake channel's dir name
EXECUTABLE_LABEL = "dlsetup-rattler-in-process"  # what conda-lock sees as its "conda"
_PATCH_LOCK = threading.Lock()


def import_conda_lock() -> None:
    """Import the conda-lock modules dlsetup uses, undoing their import-time side effect.

    conda-lock's vendored conda (``conda_lock/_vendor/conda/__init__.py``) sets ``os.environ["CONDA_ROOT"]
    = sys.prefix`` when it is imported, which would make dlsetup's own virtualenv look like a conda base
    installation (and put named environments in ``<venv>/envs``).
    """
    import warnings

    saved = os.environ.get("CONDA_ROOT")
    try:
        with warnings.catch_warnings():  # its vendored conda warns about its own deprecations on import
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            _import_modules()
    finally:
        if saved is None:
            os.environ.pop("CONDA_ROOT", None)
        else:
            os.environ["CONDA_ROOT"] = saved


def _import_modules() -> None:
    import conda_lock.conda_lock  # noqa: F401
    import conda_lock.conda_solver  # noqa: F401
    import conda_lock.lockfile  # noqa: F401
    import conda_lock.lockfile.v2prelim.models  # noqa: F401
    import conda_lock.models.channel  # noqa: F401
    import conda_lock.models.pip_repository  # noqa: F401
    import conda_lock.virtual_package  # noqa: F401


def mapping_url() -> str:
    """The PyPI→conda name mapping shipped with dlsetup (a ``file://`` URL conda-lock reads directly)."""
    path = resources.files("dlsetup.envs").joinpath("data/pypi-conda-mapping.json")
    return Path(str(path)).resolve().as_uri()


def _fake_virtual_packages(channel_url: str, platform: str) -> list:
    """conda-lock's fake channel → rattler GenericVirtualPackages for the *target* platform."""
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    root = Path(channel_url.removeprefix("file://"))
    out = []
    for subdir in (platform, "noarch"):
        try:
            data = json.loads((root / subdir / "repodata.json").read_text())
        except (OSError, ValueError):
            continue
        for rec in (data.get("packages") or {}).values():
            out.append(GenericVirtualPackage(PackageName(rec["name"]), Version(str(rec["version"])),
                                             BuildString(str(rec.get("build") or "0"))))
    return out


def record_to_fetch(record) -> dict[str, Any]:
    """A rattler RepoDataRecord as an entry of conda's ``create --dry-run --json`` FETCH list."""
    d = json.loads(record.to_json())
    d.update({"url": record.url, "fn": record.file_name, "channel": record.channel,
              "name": record.name.normalized, "version": str(record.version)})
    return d


def rattler_solve_specs_for_arch(conda, channels, specs, platform):  # noqa: ANN001 - conda-lock's signature
    """Drop-in for ``conda_lock.conda_solver.solve_specs_for_arch`` that solves with py-rattler."""
    import asyncio

    from dlsetup.envs import channels as chmod
    from dlsetup.envs.solve import solve_records

    real, vps = [], []
    for ch in channels:
        url = ch.env_replaced_url()
        if FAKE_CHANNEL_MARK in url:
            vps += _fake_virtual_packages(url, platform)
        else:
            real.append(url)
    urls = chmod.channel_urls(real)
    try:
        records = asyncio.run(solve_records(urls, list(specs), platform=platform, virtual_packages=vps))
    except Exception as exc:  # noqa: BLE001 - one line that also says which of the locked platforms failed
        from dlsetup.envs.errors import explain

        err = explain(exc, during="lock")
        if "detail" in err.params:
            err.params["detail"] = f"{platform}: {err.params['detail']}"
        raise err from None
    fetch = [record_to_fetch(r) for r in records]
    return {"actions": {"FETCH": fetch, "LINK": []}}


@contextlib.contextmanager
def rattler_as_conda_solver(pip_index_url: str | None = None) -> Iterator[None]:
    """Swap conda-lock's conda solve for rattler (and, optionally, give its pip solve an index)."""
    import_conda_lock()
    import conda_lock.conda_lock as cl
    import conda_lock.conda_solver as cs

    with _PATCH_LOCK:
        original_solve = cs.solve_specs_for_arch
        original_spec = cl.make_lock_spec
        cs.solve_specs_for_arch = rattler_solve_specs_for_arch

        if pip_index_url:
            def make_lock_spec(**kwargs):  # noqa: ANN003
                spec = original_spec(**kwargs)
                if not spec.pip_repositories:
                    from conda_lock.models.pip_repository import PipRepository

                    spec = spec.model_copy(update={"pip_repositories": [PipRepository.from_string(pip_index_url)],
                                                   "allow_pypi_requests": False})
                return spec

            cl.make_lock_spec = make_lock_spec
        try:
            yield
        finally:
            cs.solve_specs_for_arch = original_solve
            cl.make_lock_spec = original_spec


def lock(files: list[Path], platforms: list[str] | None, out: Path, *, cuda: str | None = None,
         pip_index_url: str | None = None, pypi_mapping: str | None = None) -> LockResult:
    """Solve ``files`` for ``platforms`` and write ``out`` (atomically) in conda-lock's unified format."""
    from dlsetup.envs import specfile
    from dlsetup.envs.virtual import current_platform
    from dlsetup.output import log

    start = time.perf_counter()
    files = [Path(f).expanduser().resolve() for f in files]
    file_platforms: list[str] = []
    for f in files:
        spec = specfile.read(f)  # validates the file (UsageError naming it)
        if spec.kind != "environment-yaml":
            raise UsageError("envs.error.lock_input", path=str(f))
        file_platforms += [p for p in spec.platforms if p not in file_platforms]
    chosen = list(dict.fromkeys(platforms or file_platforms or [current_platform()]))
    _validate_platforms(chosen)
    out = Path(out).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"
    mapping = pypi_mapping or mapping_url()
    if pypi_mapping and "://" not in pypi_mapping:
        mapping = Path(pypi_mapping).expanduser().resolve().as_uri()
    captured = io.StringIO()
    import_conda_lock()
    try:
        from conda_lock.conda_lock import make_lock_files

        with rattler_as_conda_solver(pip_index_url), contextlib.redirect_stderr(captured):
            make_lock_files(conda=EXECUTABLE_LABEL, src_files=files, kinds=["lock"], lockfile_path=tmp,
                            platform_overrides=chosen, mapping_url=mapping, with_cuda=cuda)
        # conda-lock's header names the file it wrote; make it name the real one
        text = tmp.read_text(encoding="utf-8").replace(tmp.name, out.name)
        from dlsetup.util.atomic import write_text_atomic

        write_text_atomic(out, text)  # through a symlink, keeping owner and mode; never over a device
        tmp.unlink(missing_ok=True)
    except (UsageError, OperationFailed):
        raise
    except Exception as exc:  # noqa: BLE001 - conda-lock / Poetry raise many types; each becomes one line
        from dlsetup.envs.errors import explain

        raise explain(exc, during="lock") from None
    finally:
        for line in captured.getvalue().splitlines():
            log(line, 2)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return summarize(out, files, time.perf_counter() - start)


def _validate_platforms(platforms: list[str]) -> None:
    known = {"linux-64", "linux-aarch64", "linux-ppc64le", "linux-s390x", "osx-64", "osx-arm64", "win-64",
             "win-arm64", "noarch", "emscripten-wasm32", "wasi-wasm32"}
    for p in platforms:
        if p not in known:
            raise UsageError("envs.error.bad_platform", platform=p, known=", ".join(sorted(known - {"noarch"})))


def summarize(path: Path, sources: list[Path], duration: float = 0.0) -> LockResult:
    import_conda_lock()
    from conda_lock.lockfile import parse_conda_lock_file

    from dlsetup.util.redact import redact_url

    lf = parse_conda_lock_file(path)
    conda_counts: dict[str, int] = {}
    pip_counts: dict[str, int] = {}
    for dep in lf.package:
        bucket = conda_counts if dep.manager == "conda" else pip_counts
        bucket[dep.platform] = bucket.get(dep.platform, 0) + 1
    return LockResult(lockfile=str(path), sources=[str(s) for s in sources], platforms=list(lf.metadata.platforms),
                      packages=conda_counts, pip_packages=pip_counts,
                      channels=[redact_url(c.url) for c in lf.metadata.channels], duration_s=round(duration, 3))


# ------------------------------------------------------------------------------------ reading a lock


def channel_of_url(url: str) -> str:
    """``https://host/conda-forge/linux-64/x-1-0.conda`` → ``https://host/conda-forge``."""
    return url.rsplit("/", 2)[0] if url.count("/") >= 3 else url


def read_lock(path: Path, platform: str) -> tuple[list, list[dict[str, Any]], list[str]]:
    """(conda RepoDataRecords, pip entries {name, version, url, sha256}, channels) of one platform."""
    from rattler import LockFile

    try:
        lf = LockFile.from_path(path)
    except Exception as exc:  # noqa: BLE001 - rattler's parse errors
        raise UsageError("envs.error.bad_file", path=str(path), reason=str(exc).splitlines()[0]) from None
    plats = [p for p in lf.platforms() if p.name == platform]
    if not plats:
        raise UsageError("envs.error.lock_platform", path=str(path), platform=platform,
                         platforms=", ".join(p.name for p in lf.platforms()) or "none")
    env = lf.default_environment()
    if env is None:
        raise UsageError("envs.error.bad_file", path=str(path), reason="no default environment")
    # the LockPlatform must come from the file itself (a standalone one panics in py-rattler 0.28)
    records = env.conda_repodata_records_for_platform(plats[0]) or []
    for r in records:
        if not r.channel:  # conda-lock files do not store it: the URL minus /<subdir>/<file>
            r.channel = channel_of_url(r.url)
    pip_entries = []
    for pkg in env.pypi_packages_for_platform(plats[0]) or []:
        hashes = pkg.hashes
        sha = hashes.sha256.hex() if hashes is not None and hashes.sha256 else None
        pip_entries.append({"name": pkg.name, "version": pkg.version, "url": pkg.location, "sha256": sha})
    channels = [str(c) for c in env.channels()]
    return records, pip_entries, channels
