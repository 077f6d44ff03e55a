"""conda-lock is the optional ``dlsetup[lock]`` extra (issue 11): without it everything but locking works, and
``env lock`` / ``env export --format lock`` say how to get it. conda-lock is blocked in a subprocess (its import
made to fail), never uninstalled. Also the version gate of the CLI's exit workaround for py-rattler."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dlsetup.envs import rattler_exit

BLOCKED = ("import sys; sys.modules['conda_lock'] = None; sys.argv = ['dlsetup', *sys.argv[1:]]\n"
           "from dlsetup.cli import main; main()\n")


def _run_without_conda_lock(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKED, *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_lock_without_conda_lock_says_how_to_get_it(channel_url, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(f"channels: [{channel_url}]\ndependencies:\n  - dlsetup-demo-c\n")
    r = _run_without_conda_lock("env", "lock", "-f", str(env), "-o", str(tmp_path / "l.yml"))
    assert r.returncode == 2, r
    assert "pip install 'dlsetup[lock]'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "l.yml").exists()


def test_everything_else_works_without_conda_lock(channel_url, tmp_path, isolated_env):
    r = _run_without_conda_lock("--json", "create", "env", "nolock", "-c", channel_url, "dlsetup-demo-a")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {p["name"] for p in doc["packages"]} == {"dlsetup-demo-a", "dlsetup-demo-b"}
    assert any(v.startswith("__glibc") for v in doc["virtual_packages"])  # the table shipped with dlsetup
    r = _run_without_conda_lock("env", "export", "nolock", "--format", "lock")
    assert r.returncode == 2 and "dlsetup[lock]" in r.stderr
    assert _run_without_conda_lock("env", "export", "nolock").returncode == 0


def test_shipped_virtual_package_table_matches_conda_locks():
    import importlib.util
    from importlib import resources
    from pathlib import Path

    import yaml

    shipped = resources.files("dlsetup.envs").joinpath("data/default-virtual-packages.yaml").read_text("utf-8")
    root = Path(next(iter(importlib.util.find_spec("conda_lock").submodule_search_locations)))
    theirs = (root / "default-virtual-packages.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(shipped) == yaml.safe_load(theirs)


def test_exit_workaround_is_version_gated():
    assert rattler_exit.needs_hard_exit("0.28.0") and rattler_exit.needs_hard_exit("0.28.5")
    assert not rattler_exit.needs_hard_exit("0.29.0") and not rattler_exit.needs_hard_exit("1.0.0")
    assert rattler_exit.needs_hard_exit("garbage")  # unknown: stay safe
    import importlib.metadata

    installed = importlib.metadata.version("py-rattler")
    # the pin and the gate move together: the installed (pinned) release is one the workaround covers
    assert rattler_exit.needs_hard_exit(installed) == (rattler_exit._version_tuple(installed) < (0, 29))
