"""``env remove`` must delete only real environments, never a home, a root, an envs dir, base, the
running or active environment, nor a symlink's target; it asks first. Env names must be printable.
All folders are made in tmp dirs; ``conda-meta/history`` is written as conda writes it (``==> date <==``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _env(prefix: Path, *, history: bool = True) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    if history:
        (prefix / "conda-meta" / "history").write_text("==> 2026-12-01 10:00:00 <==\n# cmd: conda create -n x\n")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").write_text("#!/bin/sh\n")
    return prefix


@pytest.fixture
def envs_dir(isolated_env: Path) -> Path:
    d = isolated_env / ".conda" / "envs"
    d.mkdir(parents=True)
    return d


def test_home_with_an_empty_conda_meta_is_never_removed(cli, isolated_env):
    (isolated_env / "conda-meta").mkdir()
    (isolated_env / "thesis.tex").write_text("years of work\n")
    for args in (("env", "remove", str(isolated_env), "--yes"), ("env", "remove", "~", "--yes")):
        r = cli(*args)
        assert r.code == 2, r
    (isolated_env / "conda-meta" / "history").write_text("")  # even when it looks like an env
    r = cli("env", "remove", str(isolated_env), "--yes")
    assert r.code == 2 and "refusing" in r.stderr, r
    assert (isolated_env / "thesis.tex").read_text() == "years of work\n"


def test_a_folder_with_an_empty_conda_meta_is_not_an_environment(cli, tmp_path):
    folder = _env(tmp_path / "photos", history=False)
    r = cli("env", "remove", str(folder), "--yes")
    assert r.code == 2 and "not an environment" in r.stderr, r
    assert folder.is_dir()


def test_the_root_and_an_envs_dir_are_never_removed(cli, envs_dir):
    _env(envs_dir / "a")
    (envs_dir / "conda-meta").mkdir()
    (envs_dir / "conda-meta" / "history").write_text("")
    assert cli("env", "remove", "/", "--yes").code == 2
    r = cli("env", "remove", str(envs_dir), "--yes")
    assert r.code == 2 and "refusing" in r.stderr, r
    assert (envs_dir / "a" / "bin" / "python").exists()


def test_the_active_env_through_a_symlinked_conda_prefix(cli, envs_dir, tmp_path, monkeypatch):
    env = _env(envs_dir / "work")
    alias = tmp_path / "current"
    alias.symlink_to(env)
    monkeypatch.setenv("CONDA_PREFIX", str(alias))  # activated through a link
    r = cli("env", "remove", "work", "--yes")
    assert r.code == 2 and "active" in r.stderr, r
    assert env.is_dir()


def test_a_symlink_argument_removes_the_link_not_the_env(cli, envs_dir, tmp_path):
    env = _env(envs_dir / "keep")
    link = tmp_path / "shortcut"
    link.symlink_to(env)
    r = cli("--json", "env", "remove", str(link), "--yes")
    assert r.code == 0, r
    assert not os.path.lexists(link)
    assert (env / "bin" / "python").exists()


def test_without_a_terminal_remove_needs_yes(cli, envs_dir):
    env = _env(envs_dir / "old")
    r = cli("env", "remove", "old")
    assert r.code == 2 and "--yes" in r.stderr, r
    assert env.is_dir()
    assert cli("env", "remove", "old", "--dry-run").code == 0 and env.is_dir()
    r = cli("env", "remove", "old", "--yes")
    assert r.code == 0, r
    assert not env.exists()


@pytest.mark.parametrize("name", ["bad\nname", "bad\tname", "bad\x1b[2Jname", "bad\u202ename"])
def test_env_names_with_control_characters_are_refused(cli, envs_dir, isolated_env, name):
    registry = isolated_env / ".conda" / "environments.txt"
    for args in (("create", "env", name, "python", "--dry-run", "--offline"),
                 ("create", "env", str(envs_dir / name), "python", "--dry-run", "--offline"),
                 ("env", "remove", name, "--yes")):
        r = cli(*args)
        assert r.code == 2, (args, r)
        assert "control character" in r.stderr, r
        assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert not registry.exists()


def test_the_registry_never_gets_a_line_break_from_a_prefix(isolated_env):
    from dlsetup.envs import locations
    from dlsetup.errors import UsageError

    with pytest.raises(UsageError):
        locations.register(isolated_env / "x\n/etc")
    assert not (isolated_env / ".conda" / "environments.txt").exists()
