"""conda-lock files of every conda-lock generation load and install (issue 11).

The fixtures under ``corpus/locks/`` are reduced from conda/conda-lock's own test files (each names its
origin in its first line). py-rattler 0.28 rejects all four as they are; the assertions below pin both that
(so the fixtures keep the features that matter) and that dlsetup reads them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rattler import LockFile

from dlsetup.envs import locking, specfile

LOCKS = Path(__file__).parent / "corpus" / "locks"


@pytest.mark.parametrize(("fname", "raw_error", "conda", "pip"), [
    ("conda-lock-v3.0.3.yml", "MapOrVec", 4, ["requests", "httpcore", "click", "anyio", "cowsay"]),
    ("conda-lock-v2.5.8.yml", "MapOrVec", 2, ["requests", "httpcore", "click"]),
    ("conda-lock-v1-2022.yml", "version", 6, []),
    ("conda-lock-v1-poetry-constraints.yml", "version", 2, ["packaging", "pyparsing", "numpy"]),
])
def test_conda_lock_files_of_each_generation_load(fname, raw_error, conda, pip):
    path = LOCKS / fname
    with pytest.raises(Exception, match=raw_error):
        LockFile.from_path(path)  # what the issue saw
    assert specfile.read(path).kind == "conda-lock"
    records, pip_entries, channels = locking.read_lock(path, "linux-64")
    assert len(records) == conda and [e["name"] for e in pip_entries] == pip and channels == ["conda-forge"]
    assert all(r.channel.rstrip("/") == "https://conda.anaconda.org/conda-forge" for r in records)
    by = {e["name"]: e for e in pip_entries}
    if "requests" in by:  # pinned by git commit: the 40-hex "sha256" conda-lock wrote is not kept as a hash
        assert by["requests"]["url"].startswith("git+https://") and by["requests"]["sha256"] is None
    if "httpcore" in by:
        assert by["httpcore"]["sha256"] == "2d400746a40668fc9dec9810239072b40b4484b640a8c38fd654a024c7a1bf55"


def test_install_dry_run_from_conda_lock_v3(cli, envs_dir):
    r = cli("--json", "env", "install", "v3", "-f", str(LOCKS / "conda-lock-v3.0.3.yml"), "--dry-run")
    assert r.code == 0, r
    doc = r.json()
    assert {p["name"] for p in doc["packages"]} == {"_libgcc_mutex", "colorama", "libgcc", "python"}
    assert len(doc["pip_packages"]) == 5 and not (envs_dir / "v3").exists()


def test_lock_without_dependencies_is_a_clean_error(cli, channel_url, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(f"name: x\nchannels: [{channel_url}]\n")
    r = cli("env", "lock", "-f", str(env), "-o", str(tmp_path / "l.yml"))
    assert r.code == 2 and "'dependencies'" in r.stderr and str(env) in r.stderr and "KeyError" not in r.stderr


def test_lock_accepts_double_equals_pins_and_build_strings(cli, channel_url, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(f"channels: [{channel_url}]\ndependencies:\n  - dlsetup-demo-b==1.0.0\n"
                   "  - dlsetup-demo-a==0.1.*\n  - dlsetup-demo-c=3.1=h0_0\n")
    out = tmp_path / "conda-lock.yml"
    r = cli("--json", "env", "lock", "-f", str(env), "-o", str(out))
    assert r.code == 0, r
    records, _, _ = locking.read_lock(out, "linux-64")
    assert {(x.name.normalized, str(x.version)) for x in records} == {
        ("dlsetup-demo-a", "0.1.0"), ("dlsetup-demo-b", "1.0.0"), ("dlsetup-demo-c", "3.1")}


def test_lock_error_names_the_spec_file_and_line(cli, channel_url, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(f"channels: [{channel_url}]\ndependencies:\n  - dlsetup-demo-c\n  - no-such-thing==1.0\n")
    r = cli("env", "lock", "-f", str(env), "-o", str(tmp_path / "l.yml"))
    assert r.code == 1 and "no-such-thing" in r.stderr and f"{env}:4" in r.stderr, r


def test_lock_unreachable_channel_is_named_by_url(cli, tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text("channels: [http://127.0.0.1:9/mirror/conda-forge]\ndependencies:\n  - zlib\n")
    r = cli("env", "lock", "-f", str(env), "-o", str(tmp_path / "l.yml"))
    assert r.code == 1 and "http://127.0.0.1:9/mirror/conda-forge" in r.stderr and "channel ?" not in r.stderr, r
