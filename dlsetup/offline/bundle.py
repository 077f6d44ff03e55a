"""Offline bundles: everything an environment for one machine needs, in a folder or one ``.tar``.

Layout (``manifest.json`` describes it; every path is relative to the bundle root)::

    manifest.json              target platform/Python, and every file's sha256, size and origin URL
    channel/<subdir>/*.conda   the conda packages, a local channel indexed with rattler (repodata.json)
    wheels/*.whl               the wheelhouse
    lock/explicit.txt          the conda packages as an @EXPLICIT list (url#sha256), for conda users
    lock/requirements.txt      the wheels pinned with --hash, for pip users

Like pixi-pack (and unlike conda-pack) a bundle carries the package *archives*, not an installed prefix:
installing links them into the new prefix, so prefix placeholders are patched as in any install and
nothing has to be relocated afterwards. :func:`install_bundle` installs with no network: rattler from
the local channel, pip with ``--no-index --find-links wheels/``; it checks every file's hash against the
manifest first and refuses a bundle made for another platform or Python.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlsetup.download.engine import FileRequest, Options, fetch_all, sha256_file
from dlsetup.errors import OperationFailed, UsageError

MANIFEST = "manifest.json"
INCOMPLETE = ".dlsetup-incomplete"  # present while a bundle folder is being filled
MANIFEST_VERSION = 1


@dataclass
class Target:
    """The machine a bundle is for."""

    platform: str  # conda subdir: linux-64, win-64, osx-arm64, ...
    python: str  # "3.11"
    cuda: str | None = None  # __cuda the conda solve assumed (None: no GPU)
    machine: str | None = None  # one line for people
    glibc: str | None = None

    def to_dict(self) -> dict:
        return {"platform": self.platform, "python": self.python, "cuda": self.cuda, "machine": self.machine,
                "glibc": self.glibc}


@dataclass
class BundleResult:
    action: str  # "download" | "pack"
    path: str
    target: Target
    kind: str  # "conda" (a channel + wheels) | "venv" (wheels only)
    files: int = 0
    bytes_total: int = 0
    bytes_transferred: int = 0
    conda_packages: list[str] = field(default_factory=list)
    wheels: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    from_cache: int = 0  # files dlsetup's verified cache already had
    retried: int = 0  # files that needed more than one request (drops, 5xx, a server ignoring Range)
    fallbacks: list[dict] = field(default_factory=list)  # {file, url, tried: [{url, reason}]}: not from the first URL
    mirror_chain: list[dict] = field(default_factory=list)  # [{mirror, why: named|applied|probed}], then upstream
    duration_s: float = 0.0
    dry_run: bool = False
    next_steps: list = field(default_factory=list)  # platform.shell Cmd: installing the bundle on the other machine
    next_command: str | None = None  # next_steps, written for ``shell``
    shell: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def set_shell(self, shell: str) -> None:
        """Write the follow-up command (``dlsetup create env NAME --from-bundle PATH``) for ``shell``."""
        from dlsetup.platform.shell import Cmd, join_and

        self.shell = shell
        if self.action == "download" and not self.dry_run and not self.failed:
            self.next_steps = [Cmd(["dlsetup", "create", "env", "NAME", "--from-bundle", self.path])]
        self.next_command = join_and(self.next_steps, shell) or None


def this_target() -> Target:
    from dlsetup.envs.virtual import current_platform

    return Target(platform=current_platform(), python=f"{sys.version_info[0]}.{sys.version_info[1]}")


def target_from_machine(machine, cuda: str | None = None) -> Target:
    """A resolver :class:`Machine` → Target (conda subdir, Python, the __cuda the driver allows)."""
    arm = machine.arch in ("aarch64", "arm64")
    if machine.os == "macos":
        plat = "osx-arm64" if arm else "osx-64"
    elif machine.os == "windows":
        plat = "win-arm64" if arm else "win-64"
    else:
        plat = "linux-aarch64" if arm else "linux-64"
    if cuda is None and machine.gpu_machine:
        cuda = machine.cuda_driver
    return Target(platform=plat, python=machine.python, cuda=cuda, glibc=machine.glibc,
                  machine=f"{machine.os} {machine.arch}, Python {machine.python}")


# ----------------------------------------------------------------------------------------------- wheels


def pip_platform_tags(target: Target) -> list[str]:
    """``pip --platform`` values for a conda subdir (manylinux back to 2014, the macOS and Windows tags)."""
    arch = {"64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}.get(target.platform.split("-", 1)[1], "x86_64")
    if target.platform.startswith("linux"):
        glibc = tuple(int(x) for x in (target.glibc or "2.28").split(".")[:2])
        tags = [f"manylinux_{2}_{minor}_{arch}" for minor in range(glibc[1], 16, -1)]
        return tags + [f"manylinux2014_{arch}", f"linux_{arch}"]
    if target.platform.startswith("osx"):
        if arch == "arm64":
            return [f"macosx_{v}_0_arm64" for v in range(15, 10, -1)]
        return [f"macosx_{v}_0_x86_64" for v in range(15, 10, -1)] + [f"macosx_10_{v}_x86_64" for v in range(15, 8, -1)]
    return ["win_arm64"] if arch == "arm64" else ["win_amd64"]


def pip_plan(requirements: list[str], target: Target, index_url: str | None, extra_index_urls: list[str],
             python: str | None = None) -> list[dict]:
    """Which wheels pip would install for ``target``: ``pip install --dry-run --report`` (pip's own resolver).

    Returns ``[{name, version, url, sha256}]``. Binary wheels only (an offline machine cannot build an sdist
    for another platform), the target's Python version and platform tags.
    """
    from dlsetup.i18n import t
    from dlsetup.output import log, status
    from dlsetup.util.proc import run
    from dlsetup.util.redact import redact_url

    if not requirements:
        return []
    with tempfile.TemporaryDirectory(prefix="dlsetup-dl-") as tmp:
        report = Path(tmp) / "report.json"
        reqfile = Path(tmp) / "requirements.txt"
        reqfile.write_text("".join(r.strip() + "\n" for r in requirements), encoding="utf-8")
        argv = [python or sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-input",
                "--disable-pip-version-check", "--quiet", "--report", str(report), "--only-binary=:all:",
                "--target", str(Path(tmp) / "target"), "--python-version", target.python,
                "--implementation", "cp"]
        for tag in pip_platform_tags(target):
            argv += ["--platform", tag]
        if index_url:
            argv += ["--index-url", index_url]
        for extra in extra_index_urls:
            argv += ["--extra-index-url", extra]
        argv += ["-r", str(reqfile)]
        env = dict(os.environ, PIP_NO_INPUT="1", PIP_USER="0", PIP_REQUIRE_VIRTUALENV="0")
        env.pop("PYTHONPATH", None)
        log("+ " + redact_url(" ".join(argv)), 1)
        with status(t("download.progress.planning")):
            result = run(argv, timeout=1800, env=env)
        if not result.ok:
            lines = [ln.strip() for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("ERROR:")]
            raise OperationFailed("download.error.pip_plan", reason=redact_url((errors or lines or ["pip failed"])[-1]))
        data = json.loads(report.read_text(encoding="utf-8"))
    out = []
    for item in data.get("install") or []:
        info = item.get("download_info") or {}
        meta = item.get("metadata") or {}
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        out.append({"name": meta.get("name"), "version": meta.get("version"), "url": info.get("url"),
                    "sha256": hashes.get("sha256")})
    return out


UV_PLATFORMS = {  # conda subdir → uv's --python-platform (uv docs: "uv pip compile --python-platform")
    "linux-64": "x86_64-manylinux_{glibc}", "linux-aarch64": "aarch64-manylinux_{glibc}",
    "osx-64": "x86_64-apple-darwin", "osx-arm64": "aarch64-apple-darwin",
    "win-64": "x86_64-pc-windows-msvc", "win-arm64": "aarch64-pc-windows-msvc",
}


def find_uv() -> str | None:
    """The uv executable: on PATH, else the one the ``uv`` Python package ships."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv  # type: ignore[import-not-found]

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError, AttributeError):
        return None


def uv_plan(uv: str, requirements: list[str], target: Target, index_url: str | None,
            extra_index_urls: list[str]) -> list[dict]:
    """The wheels for ``target`` from ``uv pip compile --python-platform … --format pylock.toml``.

    uv reads only the wheels' metadata (PEP 658 files or HTTP range requests), where pip 23 downloads
    every candidate wheel in full while planning — gigabytes for a CUDA torch stack.
    """
    from dlsetup.i18n import t
    from dlsetup.output import log, status
    from dlsetup.util.proc import run
    from dlsetup.util.redact import redact_url

    plat = UV_PLATFORMS.get(target.platform)
    if plat is None:
        raise UsageError("download.error.no_wheel_platform", platform=target.platform)
    glibc = "_".join((target.glibc or "2.28").split(".")[:2])
    with tempfile.TemporaryDirectory(prefix="dlsetup-dl-") as tmp:
        reqfile = Path(tmp) / "requirements.in"
        reqfile.write_text("".join(r.strip() + "\n" for r in requirements), encoding="utf-8")
        lock = Path(tmp) / "pylock.toml"
        argv = [uv, "pip", "compile", str(reqfile), "--format", "pylock.toml", "-o", str(lock), "--quiet",
                "--python-platform", plat.format(glibc=glibc), "--python-version", target.python,
                "--only-binary", ":all:", "--index-strategy", "unsafe-best-match", "--no-header"]
        if index_url:
            argv += ["--index-url", index_url]
        for extra in extra_index_urls:
            argv += ["--extra-index-url", extra]
        log("+ " + redact_url(" ".join(argv)), 1)
        env = dict(os.environ)
        if env.get("UV_CONFIG_FILE") and not Path(env["UV_CONFIG_FILE"]).is_file():
            env.pop("UV_CONFIG_FILE")  # uv refuses to start when the named file does not exist
        with status(t("download.progress.planning")):
            result = run(argv, timeout=1800, cwd=tmp, env=env)
        if not result.ok:
            lines = [ln.strip() for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
            raise OperationFailed("download.error.pip_plan", reason=redact_url(" ".join(lines[-3:]) or "uv failed"))
        return pylock_wheels(lock, target)


def pylock_wheels(path: Path, target: Target) -> list[dict]:
    """The wheels of a ``pylock.toml`` (PEP 751) that fit ``target``: ``[{name, version, url, sha256, size}]``."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from dlsetup.util import toml
    try:
        doc = toml.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError("download.error.bad_file", path=str(path), reason=str(exc).splitlines()[0]) from None
    supported = _supported_tags(target)
    out = []
    for pkg in doc.get("packages") or []:
        best = None
        for w in pkg.get("wheels") or []:
            name = w.get("name") or (w.get("url") or "").rsplit("/", 1)[-1]
            try:
                _, _, _, tags = parse_wheel_filename(name)
            except InvalidWheelFilename:
                continue
            rank = min((supported.get(str(t), 10**6) for t in tags), default=10**6)
            if rank < 10**6 and (best is None or rank < best[0]):
                best = (rank, w)
        if best is None:
            raise UsageError("download.error.no_wheel", package=str(pkg.get("name")), platform=target.platform,
                             python=target.python)
        w = best[1]
        out.append({"name": pkg.get("name"), "version": pkg.get("version"), "url": w.get("url"),
                    "sha256": (w.get("hashes") or {}).get("sha256"), "size": w.get("size")})
    return out


def _supported_tags(target: Target) -> dict[str, int]:
    from packaging import tags

    major, minor = (int(x) for x in target.python.split(".")[:2])
    plats = pip_platform_tags(target)
    ordered = list(tags.cpython_tags((major, minor), platforms=plats)) + list(
        tags.compatible_tags((major, minor), "cp" + f"{major}{minor}", platforms=plats))
    return {str(t): i for i, t in enumerate(ordered)}


# ------------------------------------------------------------------------------------------------ conda


def conda_plan(specs: list[str], channels: list[str], target: Target, snapshot=None, offline: bool = False) -> list:
    """Solve ``specs`` for the target platform (its virtual packages, never this machine's)."""
    import asyncio

    from dlsetup.envs import channels as chmod
    from dlsetup.envs import solve, virtual

    urls = chmod.channel_urls(channels or chmod.configured_channels())
    solve.validate_specs(specs)
    if snapshot is not None:
        vps = virtual.for_platform(None, cuda=target.cuda, snapshot=snapshot)
    elif target.platform == virtual.current_platform() and target.cuda is None:
        vps = virtual.for_platform(target.platform, cuda="")
    else:
        vps = [virtual._generic(n, v) for n, v in virtual.table_for(target.platform, target.cuda or "").items()]
    from dlsetup.envs.errors import explain
    from dlsetup.errors import DlsetupError

    try:
        return asyncio.run(solve.solve_records(urls, specs, platform=target.platform, virtual_packages=vps,
                                               offline=offline))
    except DlsetupError:
        raise
    except Exception as exc:  # noqa: BLE001 - rattler's many exception types: one catalogued line
        raise explain(exc) from None


def _record_entry(r) -> dict:
    sha = getattr(r, "sha256", None)
    md5 = getattr(r, "md5", None)
    return {"name": r.name.normalized, "version": str(r.version), "build": str(r.build), "subdir": r.subdir,
            "url": str(r.url), "file_name": r.file_name, "sha256": sha.hex() if sha else None,
            "md5": md5.hex() if md5 else None, "size": getattr(r, "size", None)}


# ----------------------------------------------------------------------------------------------- build


def build(out: Path, target: Target, *, conda: list[dict], wheels: list[dict], tar: bool = False,
          action: str = "download", extra: dict | None = None, opts: Options | None = None,
          mirrors: list | None = None) -> BundleResult:
    """Fetch every file with the engine into a bundle at ``out`` (a folder, or ``out`` as one .tar).

    ``mirrors`` (catalogue :class:`~dlsetup.mirror.catalog.Mirror` objects) are tried in order for a
    file whose own URL fails or serves wrong bytes, then the upstream source.
    """
    from dlsetup.offline.mirrors import alternatives, known

    t0 = time.perf_counter()
    every = known() if mirrors else []
    kind = "conda" if conda else "venv"
    out.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=".dlsetup-bundle-", dir=str(out.parent))) if tar else out
    # a folder an interrupted run left (it carries the marker) is simply filled again: the files already
    # fetched come back from dlsetup's verified cache, a half-fetched one resumes
    if not tar and out.exists() and any(out.iterdir()) and not (out / INCOMPLETE).exists():
        raise UsageError("download.error.out_not_empty", path=str(out))
    root.mkdir(parents=True, exist_ok=True)
    (root / INCOMPLETE).write_text("dlsetup download has not finished this bundle yet\n", encoding="utf-8")
    try:
        reqs: list[FileRequest] = []
        meta: list[dict] = []
        for c in conda:
            rel = f"channel/{c['subdir']}/{c['file_name']}"
            urls = alternatives(c["url"], mirrors or [], upstream=bool(mirrors), recognise=every)
            reqs.append(FileRequest(c["file_name"], urls, root / rel, c.get("sha256"), c.get("size"), c.get("md5")))
            meta.append({"path": rel, "manager": "conda", "name": c["name"], "version": c["version"],
                         "build": c["build"], "url": c["url"]})
        for w in wheels:
            if not w.get("url"):
                continue
            fn = w["url"].split("#", 1)[0].rsplit("/", 1)[-1]
            rel = f"wheels/{fn}"
            urls = alternatives(w["url"].split("#", 1)[0], mirrors or [], upstream=bool(mirrors),
                                recognise=every)
            reqs.append(FileRequest(fn, urls, root / rel, w.get("sha256"), w.get("size")))
            meta.append({"path": rel, "manager": "pip", "name": w["name"], "version": w["version"], "url": w["url"]})
        res = fetch_all(reqs, opts)
        result = BundleResult(action=action, path=str(out), target=target, kind=kind, files=len(reqs),
                              bytes_total=res.bytes_total, bytes_transferred=res.bytes_transferred,
                              conda_packages=[f"{c['name']}={c['version']}={c['build']}" for c in conda],
                              wheels=[f"{w['name']}=={w['version']}" for w in wheels])
        result.from_cache = sum(1 for f in res.files if f.status == "cached")
        result.retried = sum(1 for f in res.files if f.attempts > 1)
        result.fallbacks = [{"file": f.filename, "url": f.url, "tried": f.tried} for f in res.files
                            if f.tried and f.status != "failed"]
        if not res.ok:
            result.failed = [{"file": f.filename, "error": f.error} for f in res.failed]
            result.duration_s = round(time.perf_counter() - t0, 3)
            return result
        files = []
        for m, f in zip(meta, res.files, strict=True):
            # "url" is where the verified bytes came from (a fallback mirror, maybe); "planned_url" what the plan said
            files.append({**m, "url": f.url or m["url"], "planned_url": m["url"], "sha256": f.sha256, "size": f.size})
        if conda:
            _index(root / "channel", {c["subdir"] for c in conda})
        _write_locks(root, files)
        manifest = {"schema_version": MANIFEST_VERSION, "kind": kind, "created_by": _version(),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "target": target.to_dict(),
                    "files": files, **(extra or {})}
        (root / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (root / INCOMPLETE).unlink()
        if tar:
            tmp_tar = out.with_name(f".{out.name}.tmp")
            with tarfile.open(tmp_tar, "w") as tf:
                for p in sorted(root.rglob("*")):
                    tf.add(p, arcname=p.relative_to(root).as_posix(), recursive=False)
            os.replace(tmp_tar, out)
        result.duration_s = round(time.perf_counter() - t0, 3)
        return result
    finally:
        if tar:
            shutil.rmtree(root, ignore_errors=True)


def _index(channel: Path, subdirs: set[str]) -> None:
    import asyncio

    from rattler.index import index_fs

    for sub in {*subdirs, "noarch"}:
        (channel / sub).mkdir(parents=True, exist_ok=True)
    asyncio.run(index_fs(channel, write_zst=False, write_shards=False, force=True))


def _write_locks(root: Path, files: list[dict]) -> None:
    lock = root / "lock"
    lock.mkdir(exist_ok=True)
    conda = [f for f in files if f["manager"] == "conda"]
    pip = [f for f in files if f["manager"] == "pip"]
    if conda:
        lines = ["# dlsetup bundle: the conda packages, in install order not guaranteed", "@EXPLICIT"]
        lines += [f"{f['url']}#{f['sha256']}" for f in conda]
        (lock / "explicit.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if pip:
        lines = [f"{f['name']}=={f['version']} --hash=sha256:{f['sha256']}" for f in pip]
        (lock / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _version() -> str:
    from dlsetup import __version__

    return f"dlsetup {__version__}"


# --------------------------------------------------------------------------------------------- install


@dataclass
class OpenBundle:
    root: Path
    manifest: dict
    _tmp: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> OpenBundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_bundle(path: str | Path) -> OpenBundle:
    """A bundle folder or ``.tar`` → its root and manifest (UsageError, exit 2, when it is not one)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError("core.error.file_not_found", path=str(p))
    tmp = None
    root = p.resolve()
    if p.is_file():
        try:
            tmp = tempfile.TemporaryDirectory(prefix="dlsetup-bundle-")
            with tarfile.open(p) as tf:
                tf.extractall(tmp.name, filter="data")
        except (tarfile.TarError, OSError) as exc:
            if tmp is not None:
                tmp.cleanup()
            raise UsageError("download.error.not_a_bundle", path=str(p), reason=str(exc).splitlines()[0]) from None
        root = Path(tmp.name)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list) \
                or not isinstance(manifest.get("target"), dict):
            raise ValueError("manifest.json has no target or files")
    except (OSError, ValueError) as exc:
        if tmp is not None:
            tmp.cleanup()
        raise UsageError("download.error.not_a_bundle", path=str(p), reason=str(exc).splitlines()[0]) from None
    return OpenBundle(root=root, manifest=manifest, _tmp=tmp)


def check_target(manifest: dict, path: str, python: str | None = None) -> None:
    """Refuse (exit 2, one line) a bundle made for another platform, or another Python for a venv bundle."""
    from dlsetup.envs.virtual import current_platform

    target = manifest["target"]
    here = current_platform()
    if target.get("platform") != here:
        raise UsageError("download.error.wrong_platform", path=path, platform=str(target.get("platform")), here=here)
    py = python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    if manifest.get("kind") == "venv" and str(target.get("python")) != py:
        raise UsageError("download.error.wrong_python", path=path, python=str(target.get("python")), here=py)


def verify_files(b: OpenBundle, path: str) -> None:
    """Every file in the manifest exists with its size and sha256 (UsageError naming the first that does not)."""
    for f in b.manifest["files"]:
        rel = str(f.get("path", ""))
        p = (b.root / rel).resolve()
        if not rel or not p.is_relative_to(b.root.resolve()) or not p.is_file():
            raise UsageError("download.error.bundle_missing", path=path, file=rel)
        if p.stat().st_size != f.get("size") or sha256_file(p) != f.get("sha256"):
            raise UsageError("download.error.bundle_hash", path=path, file=rel)


def install_bundle(name: str, path: str, *, backend: str | None = None, dry_run: bool = False):
    """``dlsetup create env NAME --from-bundle PATH``: no network; every hash checked first."""
    from dlsetup.envs import api, locations

    with open_bundle(path) as b:
        check_target(b.manifest, str(path))
        verify_files(b, str(path))
        files = b.manifest["files"]
        conda = [f for f in files if f["manager"] == "conda"]
        pip = [f for f in files if f["manager"] == "pip"]
        pins = [f"{f['name']}=={f['version']}" for f in pip]
        env_name, prefix = locations.target_prefix(name)
        api._check_free(env_name, prefix)
        if b.manifest.get("kind") == "conda" or conda:
            from dlsetup.envs.backends import CreateRequest
            from dlsetup.envs.model import EnvSpec

            # the bundle's channel only (a file:// URL: no network); the pip section from the wheelhouse only
            specs = [f"{f['name']} =={f['version']} {f['build']}" for f in conda]
            lines = ["--no-index", f"--find-links {(b.root / 'wheels').as_uri()}", *pins] if pins else []
            spec = EnvSpec(conda=specs, pip=lines, channels=[(b.root / "channel").as_uri()], source=str(path))
            req = CreateRequest(name=env_name, prefix=prefix, spec=spec, dry_run=dry_run)
            result = api._backend(backend).create(req)
            if not dry_run:
                _restore_origins(Path(result.prefix), b.root, files)
            return result
        if dry_run:
            from dlsetup.envs.model import CreateResult, Package

            return CreateResult(action="create", name=env_name, prefix=str(prefix), backend="venv", dry_run=True,
                                source=str(path), pip=[f"{f['name']}=={f['version']}" for f in pip],
                                pip_packages=[Package(name=f["name"], version=f["version"], manager="pip",
                                                      url=f["url"], sha256=f["sha256"]) for f in pip])
        # a venv is not registered with conda (conda would list it as a broken environment)
        return install_venv_from_wheelhouse(env_name, prefix, b.root / "wheels", pins, source=str(path))


def _restore_origins(prefix: Path, root: Path, files: list[dict]) -> None:
    """Record where each package really came from, not the bundle's temporary ``file://`` path.

    ``env export`` and ``env lock`` read ``conda-meta/*.json`` and dlsetup's pip record; with the
    bundle's paths there they would point at a folder that is gone after the install.
    """
    from dlsetup.envs import pip as envpip
    from dlsetup.envs.locking import channel_of_url

    by_local = {(root / f["path"]).as_uri(): f for f in files}
    meta = prefix / "conda-meta"
    for p in meta.glob("*.json") if meta.is_dir() else []:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        f = by_local.get(doc.get("url")) if isinstance(doc, dict) else None
        if f and str(f.get("url", "")).startswith(("http://", "https://")):
            doc["url"] = f["url"]
            doc["channel"] = channel_of_url(f["url"])
            p.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    record_path = prefix / envpip.PIP_RECORD
    record = envpip.read_record(prefix)
    changed = False
    for entry in record.values():
        f = by_local.get(str(entry.get("url") or "").split("#", 1)[0]) if isinstance(entry, dict) else None
        if f and str(f.get("url", "")).startswith(("http://", "https://")):
            entry["url"], changed = f["url"], True
    if changed:
        from dlsetup.util.atomic import write_text_atomic

        write_text_atomic(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def install_venv_from_wheelhouse(name: str | None, prefix: Path, wheelhouse: Path, requirements: list[str], *,
                                 source: str = "bundle", python: str | None = None):
    """A plain ``python -m venv`` at ``prefix`` with ``requirements`` from ``wheelhouse`` only (no index).

    Self-contained so a venv backend can call it. A failure removes the half-made venv.
    """
    from dlsetup.envs import pip as envpip
    from dlsetup.envs.model import CreateResult
    from dlsetup.util.proc import run

    t0 = time.perf_counter()
    py = python or getattr(sys, "_base_executable", None) or sys.executable
    prefix.parent.mkdir(parents=True, exist_ok=True)
    try:
        r = run([py, "-m", "venv", str(prefix)], timeout=600)
        if not r.ok:
            tail = (r.stderr or r.stdout or "venv failed").strip().splitlines() or ["venv failed"]
            raise OperationFailed("download.error.venv_failed", reason=tail[-1])
        lines = ["--no-index", f"--find-links {wheelhouse.as_uri()}", *requirements]
        installed = envpip.install(prefix, lines) if requirements else []
    except BaseException:
        shutil.rmtree(prefix, ignore_errors=True)
        raise
    from dlsetup.platform import current
    from dlsetup.platform.shell import activate_venv

    result = CreateResult(action="create", name=name, prefix=str(prefix), backend="venv", source=source,
                          pip=list(requirements), pip_packages=installed, duration_s=round(time.perf_counter() - t0, 3))
    result.set_activation([activate_venv(str(prefix), current().os)])
    return result


# ----------------------------------------------------------------------------------------------- pack


def pack_env(name: str, out: Path, *, tar: bool = True, opts: Options | None = None) -> BundleResult:
    """``dlsetup env pack NAME -o FILE``: the archives of an existing environment's packages, as a bundle.

    Conda packages come from the records in ``conda-meta/`` (URL and sha256 of each archive), pip
    packages from dlsetup's ``etc/dlsetup/pip-packages.json``. The archives are fetched again through the
    engine (the verified cache answers when they were downloaded before), never copied out of the prefix,
    so the bundle installs like any other (no prefix relocation, unlike conda-pack).
    """
    from dlsetup.envs import locations
    from dlsetup.envs import pip as envpip

    prefix = locations.find_prefix(name)
    conda = []
    meta_dir = prefix / "conda-meta"
    for p in sorted(meta_dir.glob("*.json")) if meta_dir.is_dir() else []:
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(rec, dict) or not rec.get("url"):
            continue
        url = str(rec["url"])
        conda.append({"name": rec.get("name"), "version": str(rec.get("version")), "build": rec.get("build"),
                      "subdir": rec.get("subdir") or url.rsplit("/", 2)[-2], "url": url,
                      "file_name": rec.get("fn") or url.rsplit("/", 1)[-1], "sha256": rec.get("sha256"),
                      "md5": rec.get("md5"), "size": rec.get("size")})
    # every distribution pip put there (dlsetup's record gives URL + sha256; direct_url.json at least a URL)
    wheels = [{"name": p.name, "version": p.version, "url": p.url, "sha256": p.sha256}
              for p in envpip.installed_by_pip(prefix)]
    missing = [w["name"] for w in wheels
               if not w.get("url") or not w["url"].split("#", 1)[0].endswith(".whl")]  # editable, local dir, sdist
    if missing:
        raise UsageError("download.error.pack_no_url", name=name, packages=", ".join(missing))
    if not conda and not wheels:
        raise UsageError("download.error.pack_empty", name=name)
    py = _env_python_version(prefix) or f"{sys.version_info[0]}.{sys.version_info[1]}"
    from dlsetup.envs.virtual import current_platform

    target = Target(platform=current_platform(), python=py, machine=f"packed from {prefix}")
    from dlsetup.offline.mirrors import fallback_chain

    chain = fallback_chain()
    res = build(out, target, conda=conda, wheels=wheels, tar=tar, action="pack",
                extra={"source_prefix": str(prefix)}, opts=opts, mirrors=chain.mirrors)
    res.mirror_chain = chain.describe()
    return res


def _env_python_version(prefix: Path) -> str | None:
    for p in sorted((prefix / "conda-meta").glob("python-[0-9]*.json")) if (prefix / "conda-meta").is_dir() else []:
        m = re.match(r"python-(\d+\.\d+)", p.name)
        if m:
            return m.group(1)
    cfg = prefix / "pyvenv.cfg"
    if cfg.is_file():
        m = re.search(r"^version(?:_info)?\s*=\s*(\d+\.\d+)", cfg.read_text(encoding="utf-8", errors="replace"), re.M)
        if m:
            return m.group(1)
    return None
