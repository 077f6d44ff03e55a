"""Review pass (issue 6): defects found by using the commands as a new user would."""

from __future__ import annotations

from pathlib import Path


def _yml(path: Path, channel_url: str, deps: list[str]) -> Path:
    path.write_text(f"channels:\n  - {channel_url}\ndependencies:\n" + "".join(f"  - {d}\n" for d in deps))
    return path


def test_lock_failure_names_the_platform_that_failed(cli, channel_url, tmp_path):
    # the demo channel has python for linux-64 only: locking for osx-arm64 too must say which one failed
    env = _yml(tmp_path / "environment.yml", channel_url, ["python", "dlsetup-demo-a"])
    out = tmp_path / "conda-lock.yml"
    r = cli("env", "lock", "-f", str(env), "-p", "linux-64", "-p", "osx-arm64", "-o", str(out))
    assert r.code == 1, r
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("dlsetup: error:")
    assert "osx-arm64: " in err[0] and "python" in err[0]
    assert not out.exists() and not [p.name for p in tmp_path.iterdir() if "lock" in p.name]  # no temp file either


def test_lock_conflict_names_the_platform(cli, channel_url, tmp_path):
    env = _yml(tmp_path / "environment.yml", channel_url, ["dlsetup-demo-a", "dlsetup-demo-x"])
    r = cli("--json", "env", "lock", "-f", str(env), "-p", "linux-64", "-o", str(tmp_path / "l.yml"))
    assert r.code == 1
    doc = r.json()
    assert doc["error"]["code"] == "envs.error.unsatisfiable"
    assert "linux-64: " in doc["error"]["message"] and "dlsetup-demo-b" in doc["error"]["message"]
