"""``conda-lock.yml`` through conda-lock's own code, with py-rattler as the solver.

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
import re
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


def conda_lock_available() -> str | None:
    """None when conda-lock (the ``dlsetup[lock]`` extra) can be imported, else why not."""
    import importlib.util

    try:
        found = importlib.util.find_spec("conda_lock")
    except (ImportError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None if found is not None else "No module named 'conda_lock'"


def require_conda_lock() -> None:
    """A UsageError saying how to get conda-lock when the optional extra is not installed."""
    why = conda_lock_available()
    if why is None:
        try:
            import_conda_lock()
            return
        except ImportError as exc:
            why = str(exc)
    raise UsageError("envs.error.lock_needs_extra", reason=why)


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
    require_conda_lock()
    file_platforms: list[str] = []
    from dlsetup.envs.model import EnvSpec

    where = EnvSpec()  # every spec's file:line, to name it when the solve fails
    for f in files:
        spec = specfile.read(f)  # validates the file (UsageError naming it)
        for key, value in spec.origins.items():
            where.origins.setdefault(key, value)
        where.channels += [c for c in spec.channels if c not in where.channels]
        if spec.kind != "environment-yaml":
            raise UsageError("envs.error.lock_input", path=str(f))
        if not spec.has_dependencies:  # conda-lock would fail with a bare KeyError: 'dependencies'
            raise UsageError("envs.error.no_dependencies", path=str(f))
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
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except (UsageError, OperationFailed) as exc:
        from dlsetup.envs import channels as chmod
        from dlsetup.envs import origins

        origins.name_origin(exc, where, chmod.channel_urls(where.channels))
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


def normalize_conda_lock(data: dict) -> dict:
    """A conda-lock file as py-rattler 0.28 reads it, whichever conda-lock wrote it.

    Three shapes real files have that rattler rejects (all in conda/conda-lock's own tests):
    - conda-lock 1.x files have no ``version:`` and list channels as strings (``tests/test-lockfile/
      conda-lock.yml``: ``invalid type: string "conda-forge", expected struct Channel``);
    - conda-lock writes a pip package's dependency constraints in Poetry's syntax — ``'*'`` (2.x/3.x,
      ``tests/test-v2-to-v3-upgrade/conda-lock-v3.0.3.yml``) or ``>=2.0.2,<3.0.5 || >3.0.5`` (1.x,
      ``tests/test-pypi-resolve-gh155/conda-lock.yml``) — which is not PEP 440: ``data did not match any
      variant of untagged enum MapOrVec``;
    - a pip package from git records the 40-hex commit as its ``sha256`` (same file: ``failed to parse
      digest``). That hash is dropped (the URL still pins the commit); every other hash is kept.
    """
    out = dict(data)
    out.setdefault("version", 1)
    meta = dict(out.get("metadata") or {})
    meta["channels"] = [c if isinstance(c, dict) else {"url": str(c), "used_env_vars": []}
                        for c in meta.get("channels") or []]
    out["metadata"] = meta
    packages = []
    for pkg in out.get("package") or []:
        pkg = dict(pkg)
        if pkg.get("manager") == "pip":
            deps = pkg.get("dependencies") or {}
            if isinstance(deps, dict):
                pkg["dependencies"] = {k: _pep440_or_empty(v) for k, v in deps.items()}
        hashes = {k: v for k, v in dict(pkg.get("hash") or {}).items()
                  if (k == "md5" and re.fullmatch(r"[0-9a-f]{32}", str(v)))
                  or (k == "sha256" and re.fullmatch(r"[0-9a-f]{64}", str(v)))}
        if hashes or pkg.get("manager") != "pip":
            pkg["hash"] = hashes
        else:  # a pip source pinned by a git commit: rattler wants no hash rather than an empty one
            pkg.pop("hash", None)
        packages.append(pkg)
    out["package"] = packages
    return out


def _pep440_or_empty(constraint: object) -> str:
    """A pip dependency's constraint if PEP 440 accepts it; ``''`` for ``*`` and Poetry's ``a || b`` forms
    (only informative here: locked pip packages are installed with ``--no-deps``)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = "" if constraint is None else str(constraint).strip()
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return ""
    return text


def load_lock(path: Path):
    """``rattler.LockFile`` of a conda-lock file of any conda-lock version (UsageError naming it if bad)."""
    import tempfile

    from rattler import LockFile
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return LockFile.from_path(path)
    except Exception as first:  # noqa: BLE001 - rattler's parse errors; try the known variants below
        error = str(first).splitlines()[0]
    try:
        data = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8"))
    except (OSError, YAMLError, UnicodeDecodeError):
        raise UsageError("envs.error.bad_file", path=str(path), reason=error) from None
    if not isinstance(data, dict) or "package" not in data:
        raise UsageError("envs.error.bad_file", path=str(path), reason=error)
    with tempfile.TemporaryDirectory(prefix="dlsetup-lock-") as tmp:
        fixed = Path(tmp) / "conda-lock.yml"
        with fixed.open("w", encoding="utf-8") as fh:
            YAML(typ="safe", pure=True).dump(normalize_conda_lock(data), fh)
        try:
            return LockFile.from_path(fixed)
        except Exception:  # noqa: BLE001
            raise UsageError("envs.error.bad_file", path=str(path), reason=error) from None


def read_lock(path: Path, platform: str) -> tuple[list, list[dict[str, Any]], list[str]]:
    """(conda RepoDataRecords, pip entries {name, version, url, sha256}, channels) of one platform."""
    lf = load_lock(path)
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
        try:  # py-rattler 0.28 wraps a missing hash in a PackageHashes whose properties raise
            sha256 = pkg.hashes.sha256 if pkg.hashes is not None else None
        except AttributeError:
            sha256 = None
        sha = sha256.hex() if sha256 else None
        pip_entries.append({"name": pkg.name, "version": pkg.version, "url": pkg.location, "sha256": sha})
    channels = [str(c) for c in env.channels()]
    return records, pip_entries, channels
