"""Contract tests: the private conda-lock and py-rattler behaviour dlsetup relies on.

If a conda-lock or py-rattler upgrade changes any of it, these fail with a message that says what
moved — rather than ``dlsetup env lock`` silently downloading a conda or producing a different file.
The reference is conda-lock's *public* path: ``conda-lock lock --conda <exe>`` with a conda-compatible
executable (here a small shim that answers ``create --dry-run --json`` by solving with
rattler); the in-process path must write the same lock file, and conda-lock's ``--check-input-hash``
must accept it.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHIM = '''#!{python}
# A conda-compatible executable for `conda-lock lock --conda <this>`: it implements
# only `create --dry-run --json` (the call conda_lock.conda_solver.solve_specs_for_arch makes), solving
# with rattler. conda-lock's fake virtual-package channel becomes rattler GenericVirtualPackages.
import asyncio, json, os, sys
from pathlib import Path
from rattler import BuildString, Channel, GenericVirtualPackage, PackageName, Version, solve
with open({log!r}, "a") as fh:
    fh.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args[:1] == ["--version"]:
    print("conda 25.1.0"); sys.exit(0)
assert args[0] == "create" and "--dry-run" in args and "--json" in args, args
subdir = os.environ["CONDA_SUBDIR"]
channels, specs, i = [], [], 1
while i < len(args):
    a = args[i]
    if a in ("--channel", "-c"):
        channels.append(args[i + 1]); i += 2; continue
    if a == "--prefix":
        i += 2; continue
    if a.startswith("-"):
        i += 1; continue
    specs.append(a); i += 1
vps, real = [], []
for c in channels:
    if "conda-lock-fake-repodata" in c:
        root = Path(c.removeprefix("file://"))
        for sd in (subdir, "noarch"):
            p = root / sd / "repodata.json"
            if p.exists():
                for rec in json.loads(p.read_text()).get("packages", {{}}).values():
                    vps.append(GenericVirtualPackage(PackageName(rec["name"]), Version(rec["version"]),
                                                     BuildString(rec.get("build") or "0")))
    else:
        real.append(c)
recs = asyncio.run(solve([Channel(c) for c in real], specs, platforms=[subdir, "noarch"], virtual_packages=vps))
fetch = []
for r in recs:
    d = json.loads(r.to_json())
    d.update(url=r.url, fn=r.file_name, channel=r.channel, name=r.name.normalized, version=str(r.version))
    fetch.append(d)
print(json.dumps({{"success": True, "actions": {{"FETCH": fetch, "LINK": []}}}}))
# py-rattler 0.28 can segfault in interpreter teardown after a solve (see dlsetup/cli.py): leave without it
sys.stdout.flush()
os._exit(0)
'''


@pytest.fixture
def shim(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "shim.log"
    path = tmp_path / "shim" / "conda"
    path.parent.mkdir()
    path.write_text(SHIM.format(python=sys.executable, log=str(log)))
    path.chmod(0o755)
    return path, log


def _body(text: str) -> str:
    """A lock file without its comment header (which names the command that wrote it)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def _conda_lock_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "conda_lock", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_pinned_versions():
    from importlib.metadata import version

    assert version("conda-lock").startswith("4.0."), "dlsetup relies on conda-lock 4.0.x private hooks; re-check them"
    assert version("py-rattler").startswith("0.28."), "dlsetup relies on py-rattler 0.28 quirks; re-check them"


def test_the_hooks_are_where_dlsetup_patches_them():
    from dlsetup.envs.locking import import_conda_lock

    import_conda_lock()
    import conda_lock.conda_lock as cl
    import conda_lock.conda_solver as cs
    import conda_lock.virtual_package as vp

    # solve_conda looks solve_specs_for_arch up as a module global at call time (so swapping it works)
    assert list(inspect.signature(cs.solve_specs_for_arch).parameters) == ["conda", "channels", "specs", "platform"]
    assert "solve_specs_for_arch(" in inspect.getsource(cs.solve_conda)
    assert "dry_run_install[\"actions\"][\"FETCH\"]" in inspect.getsource(cs.solve_conda)
    # make_lock_files calls make_lock_spec through conda_lock.conda_lock's namespace
    assert "make_lock_spec(" in inspect.getsource(cl.make_lock_files)
    params = inspect.signature(cl.make_lock_files).parameters
    for name in ("conda", "src_files", "kinds", "lockfile_path", "platform_overrides", "mapping_url", "with_cuda"):
        assert name in params, f"make_lock_files lost its {name!r} parameter"
    assert "pip_repository_overrides" in inspect.signature(cl.make_lock_spec).parameters
    # the fake virtual-package channel is recognised by its directory name
    assert "conda-lock-fake-repodata" in inspect.getsource(vp)


def test_importing_conda_lock_does_not_leak_conda_root(monkeypatch):
    monkeypatch.delenv("CONDA_ROOT", raising=False)
    from dlsetup.envs.locking import import_conda_lock

    import_conda_lock()
    assert "CONDA_ROOT" not in os.environ


def test_in_process_lock_equals_conda_lock_cli_with_a_conda_shim(cli, channel_url, pypi, shim, tmp_path):
    from dlsetup.envs.locking import mapping_url

    exe, log = shim
    work = tmp_path / "work"
    work.mkdir()
    (work / "environment.yml").write_text(
        f"channels:\n  - {channel_url}\ndependencies:\n  - python\n  - pip\n  - dlsetup-demo-a\n"
        f"  - dlsetup-demo-py\n  - pip:\n    - dlsetup-wheel-a\npip-repositories:\n  - {pypi.url}\n"
        "allow-pypi-requests: false\n")
    ours = work / "ours.yml"
    r = cli("env", "lock", "-f", str(work / "environment.yml"), "-p", "linux-64", "-o", str(ours))
    assert r.code == 0, r
    assert not log.exists(), "the in-process path must not run any conda executable"
    theirs = work / "theirs.yml"
    res = _conda_lock_cli("lock", "--conda", str(exe), "-f", "environment.yml", "-p", "linux-64",
                          "--lockfile", str(theirs), "--pypi_to_conda_lookup_file", mapping_url(), cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "create" in log.read_text()
    assert _body(ours.read_text()) == _body(theirs.read_text())


def test_check_input_hash_accepts_our_lock(cli, channel_url, shim, tmp_path):
    from dlsetup.envs.locking import mapping_url

    exe, log = shim
    work = tmp_path / "work"
    work.mkdir()
    (work / "environment.yml").write_text(f"channels:\n  - {channel_url}\ndependencies:\n  - dlsetup-demo-a\n")
    assert cli("env", "lock", "-f", str(work / "environment.yml"), "-o", str(work / "conda-lock.yml")).code == 0
    res = _conda_lock_cli("lock", "--check-input-hash", "--conda", str(exe), "-f", "environment.yml",
                          "-p", "linux-64", "--pypi_to_conda_lookup_file", mapping_url(), cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Spec hash already locked for ['linux-64']. Skipping solve." in res.stderr
    assert not log.exists() or "create" not in log.read_text()


def test_py_rattler_quirks_dlsetup_relies_on():
    import rattler
    from rattler import MatchSpec

    params = inspect.signature(rattler.install).parameters
    assert "alternative_target_prefix" in params, "staging needs install(alternative_target_prefix=…)"
    assert "reporter" in params and "requested_specs" in params
    # 0.28.0 forwards requested_specs unconverted: dlsetup passes the private PyMatchSpec
    assert type(MatchSpec("python >=3.10")._match_spec).__name__ == "PyMatchSpec"
    assert "virtual_packages" in inspect.signature(rattler.solve).parameters
