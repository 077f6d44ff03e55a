"""``dlsetup download`` → bundle → ``create env --from-bundle`` with the network gone, and the refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _env_yml(tmp_path: Path, srv) -> Path:
    p = tmp_path / "environment.yml"
    p.write_text(
        "# made for this test, in the shape of conda's environment.yml docs\n"
        "name: offline-demo\n"
        f"channels:\n  - {srv.url}/conda\n"
        "dependencies:\n  - python\n  - pip\n  - dlsetup-demo-a\n  - dlsetup-demo-py\n"
        "  - pip:\n    - dlsetup-wheel-a\n"
    )
    return p


def test_conda_bundle_installs_with_the_network_gone(cli, origin, tmp_path, isolated_env):
    # the channel's connections drop every 300 kB: the 1.7 MB pip package needs several resumed requests
    origin.faults.drop_every, origin.faults.drop_suffixes = 300_000, (".conda",)
    out = tmp_path / "bundle"
    r = cli("--json", "download", "-f", str(_env_yml(tmp_path, origin)), "--index-url", f"{origin.url}/simple/",
            "-o", str(out))
    assert r.code == 0, r
    doc = r.json()
    assert doc["kind"] == "conda" and doc["target"]["platform"] == "linux-64" and doc["target"]["python"] == PY
    manifest = json.loads((out / "manifest.json").read_text())
    names = {f["name"] for f in manifest["files"]}
    assert {"python", "pip", "dlsetup-demo-a", "dlsetup-demo-b", "dlsetup-wheel-a", "dlsetup-wheel-b"} <= names
    wb = next(f for f in manifest["files"] if f["name"] == "dlsetup-wheel-b")
    assert wb["version"] == "2.1" and wb["url"].startswith(origin.url) and len(wb["sha256"]) == 64
    assert (out / "channel" / "noarch" / "repodata.json").exists()
    assert (out / "lock" / "explicit.txt").read_text().count("#") >= 5
    assert "--hash=sha256:" in (out / "lock" / "requirements.txt").read_text()
    pip_pkg = next(f for f in manifest["files"] if f["name"] == "pip")
    resumed = [q for q in origin.requests if q[0].endswith(pip_pkg["path"].rsplit("/", 1)[-1]) and q[1]]
    assert pip_pkg["size"] > 900_000 and len(resumed) >= 3 and all(q[2] == 206 for q in resumed)
    assert doc["bytes_transferred"] == doc["bytes_total"]  # nothing fetched twice
    assert doc["retried"] >= 1 and doc["from_cache"] == 0
    origin.close()  # no server any more: everything must come from the bundle

    r = cli("--json", "create", "env", "offline1", "--from-bundle", str(out), "--backend", "rattler")
    assert r.code == 0, r
    prefix = Path(r.json()["prefix"])
    assert (prefix / "bin" / "demo-a").exists()
    assert "installed in " + str(prefix) in (prefix / "etc/dlsetup-demo-a/prefix.txt").read_text()
    run = subprocess.run([str(prefix / "bin" / "wheel-a")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "wheel-a ok" in run.stdout
    # the environment remembers where its packages came from, not the bundle's folder
    meta = json.loads(next((prefix / "conda-meta").glob("dlsetup-demo-a-*.json")).read_text())
    assert meta["url"].startswith(f"{origin.url}/conda/noarch/") and meta["channel"] == f"{origin.url}/conda"
    pip_record = json.loads((prefix / "etc/dlsetup/pip-packages.json").read_text())
    assert pip_record["dlsetup-wheel-a"]["url"].startswith(f"{origin.url}/files/")


def test_venv_bundle_as_tar_installs_offline(cli, origin, tmp_path):
    tar = tmp_path / "wheels.tar"
    r = cli("--json", "download", "dlsetup-wheel-a", "--index-url", f"{origin.url}/simple/", "--tar", "-o", str(tar))
    assert r.code == 0, r
    assert r.json()["kind"] == "venv" and sorted(r.json()["wheels"]) == ["dlsetup-wheel-a==1.0", "dlsetup-wheel-b==2.1"]
    origin.close()
    r = cli("--json", "create", "env", "v1", "--from-bundle", str(tar))
    assert r.code == 0, r
    prefix = Path(r.json()["prefix"])
    assert (prefix / "pyvenv.cfg").exists()
    run = subprocess.run([str(prefix / "bin" / "wheel-a")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and str(prefix) in run.stdout


def test_bundle_for_windows_is_refused_here(cli, origin, tmp_path):
    out = tmp_path / "win"
    r = cli("--json", "download", "dlsetup-wheel-a", "--os", "windows", "--index-url", f"{origin.url}/simple/",
            "-o", str(out))
    assert r.code == 0, r
    assert r.json()["target"]["platform"] == "win-64"
    r = cli("create", "env", "w", "--from-bundle", str(out))
    assert r.code == 2
    assert r.stderr.count("\n") == 1 and "win-64" in r.stderr and "linux-64" in r.stderr
    assert "Traceback" not in r.stderr


def test_bundle_for_another_python_is_refused(cli, origin, tmp_path, isolated_env):
    other = "3.10" if PY != "3.10" else "3.12"
    out = tmp_path / "py"
    r = cli("--json", "download", "dlsetup-wheel-a", "--python", other, "--index-url", f"{origin.url}/simple/",
            "-o", str(out))
    assert r.code == 0, r
    assert r.json()["target"]["python"] == other
    r = cli("create", "env", "p", "--from-bundle", str(out))
    assert r.code == 2 and f"Python {other}" in r.stderr and r.stderr.count("\n") == 1
    assert not (isolated_env / ".conda" / "envs" / "p").exists()


def test_damaged_bundle_is_refused(cli, origin, tmp_path):
    out = tmp_path / "b"
    assert cli("download", "dlsetup-wheel-b==1.0", "--index-url", f"{origin.url}/simple/", "-o", str(out)).code == 0
    whl = next((out / "wheels").glob("*.whl"))
    data = bytearray(whl.read_bytes())
    data[len(data) // 2] ^= 0xFF
    whl.unlink()  # (the bundle file is a hard link to dlsetup's verified cache: leave that one alone)
    whl.write_bytes(bytes(data))
    r = cli("create", "env", "d", "--from-bundle", str(out))
    assert r.code == 2 and whl.name in r.stderr and "sha256" in r.stderr
    (out / "manifest.json").write_text("{not json")
    r = cli("create", "env", "d", "--from-bundle", str(out))
    assert r.code == 2 and "not a dlsetup bundle" in r.stderr


def test_pylock_wheels_by_url_and_hash(cli, origin, tmp_path, demo_wheels):
    import hashlib

    lock = tmp_path / "pylock.toml"
    # the shape of PEP 751's example (https://peps.python.org/pep-0751/#example), reduced to two wheels
    body = ['lock-version = "1.0"', f'requires-python = ">={PY}"', 'created-by = "made for this test"', ""]
    for w in demo_wheels:
        if w.name.startswith("dlsetup_wheel_b-1.0"):
            continue
        name, version = w.name.split("-")[:2]
        body += ["[[packages]]", f'name = "{name.replace("_", "-")}"', f'version = "{version}"',
                 f'wheels = [{{ url = "{origin.url}/files/{w.name}", size = {w.stat().st_size}, '
                 f'hashes = {{ sha256 = "{hashlib.sha256(w.read_bytes()).hexdigest()}" }} }}]', ""]
    lock.write_text("\n".join(body))
    out = tmp_path / "pl"
    r = cli("--json", "download", "-f", str(lock), "-o", str(out))
    assert r.code == 0, r
    assert sorted(p.name for p in (out / "wheels").iterdir()) == sorted(
        w.name for w in demo_wheels if not w.name.startswith("dlsetup_wheel_b-1.0"))
    assert not [q for q in origin.requests if q[0].startswith("simple")]  # no index asked: the lock is the plan


@pytest.mark.parametrize("planner", ["uv", "pip"])
def test_download_dry_run_lists_and_writes_nothing(cli, origin, tmp_path, monkeypatch, planner):
    from dlsetup.offline import bundle

    if planner == "pip":  # no uv on this machine: pip's own resolver plans (pip install --dry-run --report)
        monkeypatch.setattr(bundle, "find_uv", lambda: None)
    else:
        assert bundle.find_uv()
    out = tmp_path / "dry"
    r = cli("--json", "download", "dlsetup-wheel-a", "--index-url", f"{origin.url}/simple/", "-o", str(out),
            "--dry-run")
    assert r.code == 0 and r.json()["dry_run"] is True
    assert sorted(r.json()["wheels"]) == ["dlsetup-wheel-a==1.0", "dlsetup-wheel-b==2.1"]
    assert not out.exists()


def test_an_interrupted_bundle_folder_is_filled_again_a_finished_one_is_kept(cli, origin, tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / ".dlsetup-incomplete").write_text("left by a run that was stopped\n")
    (out / "wheels").mkdir()
    (out / "wheels" / "dlsetup_wheel_b-2.1-py3-none-any.whl").write_bytes(b"half a file")
    args = ("--json", "download", "dlsetup-wheel-a", "--index-url", f"{origin.url}/simple/", "-o", str(out))
    r = cli(*args)
    assert r.code == 0, r
    assert not (out / ".dlsetup-incomplete").exists() and (out / "manifest.json").exists()
    r = cli("create", "env", "again", "--from-bundle", str(out), "--dry-run")
    assert r.code == 0, r  # every hash in the manifest matches what is in the folder
    r = cli(*args)
    assert r.code == 2 and "not empty" in r.stderr  # a finished bundle is never overwritten


def test_download_usage_errors(cli, tmp_path):
    r = cli("download")
    assert r.code == 2 and "nothing to download" in r.stderr
    r = cli("download", "-f", "x.yml", "--recipe", "pytorch")
    assert r.code == 2
    r = cli("create", "env", "x", "--from-bundle", str(tmp_path / "missing"))
    assert r.code == 2 and "not found" in r.stderr


def test_env_pack_then_install_elsewhere_offline(cli, origin, tmp_path, isolated_env):
    r = cli("--json", "create", "env", "src", "-f", str(_env_yml(tmp_path, origin)), "--pip-index-url",
            f"{origin.url}/simple/", "--backend", "rattler")
    assert r.code == 0, r
    src = Path(r.json()["prefix"])
    # a wheel the user installed later with the env's own pip, from a local file (no dlsetup record)
    from tests.envs import channel_builder as cb

    local = cb.make_wheel(tmp_path / "local", "dlsetup-wheel-c", "0.3")
    p = subprocess.run([str(src / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-deps", str(local)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    tar = tmp_path / "src.tar"
    r = cli("--json", "env", "pack", "src", "-o", str(tar))
    assert r.code == 0, r
    doc = r.json()
    assert doc["action"] == "pack" and doc["kind"] == "conda" and doc["target"]["python"] == PY
    assert "dlsetup-demo-a=0.1.0=h0_0" in doc["conda_packages"] and "dlsetup-wheel-a==1.0" in doc["wheels"]
    assert "dlsetup-wheel-c==0.3" in doc["wheels"]
    origin.close()
    r = cli("--json", "create", "env", "copy", "--from-bundle", str(tar), "--backend", "rattler")
    assert r.code == 0, r
    prefix = Path(r.json()["prefix"])
    assert "installed in " + str(prefix) in (prefix / "etc/dlsetup-demo-a/prefix.txt").read_text()
    run = subprocess.run([str(prefix / "bin" / "wheel-a")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and str(prefix) in run.stdout
    run = subprocess.run([str(prefix / "bin" / "python"), "-c", "import dlsetup_wheel_c"], capture_output=True, timeout=60)
    assert run.returncode == 0


def test_env_pack_unknown_env_is_a_usage_error(cli):
    r = cli("env", "pack", "nope", "-o", "x.tar")
    assert r.code == 2 and "Traceback" not in r.stderr
