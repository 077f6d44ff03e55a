"""``dlsetup setup`` end to end on this box (no GPU: a CPU stack) through a lab mirror on 127.0.0.1 (see
conftest.py): doctor → resolve → mirror → plan → create → lock → verify → report, resumed after an interrupt;
blocked by a no-driver snapshot; ``--dry-run`` writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.envs.channel_builder import PY_VER

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
REPO = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.timeout(600)


def statuses(doc: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in doc["steps"]}


def tree_hash(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() or p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "link"
    return out


def test_end_to_end_through_the_lab_mirror(cli, lab_mirror, isolated_env):
    r = cli("setup", "--yes", "--mirror", "lab", "--python", PY_VER, "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["command"] == "setup" and doc["schema_version"] == 1 and doc["outcome"] == "ok"
    assert statuses(doc) == {"doctor": "done", "resolve": "done", "mirror": "done", "plan": "done", "create": "done",
                             "lock": "done", "verify": "done", "report": "done"}
    prefix = Path(doc["prefix"])
    assert prefix == isolated_env / ".conda" / "envs" / "dl"
    plan = doc["plan"]
    versions = {f["name"]: f["version"] for f in lab_mirror["frameworks"]}
    assert {f["name"]: f["version"] for f in plan["frameworks"]} == versions and plan["variant"] == "cpu"
    assert plan["frameworks"][0]["index_url"] == f"{lab_mirror['url']}/torch/whl/cpu"  # the mirror serves cpu wheels
    assert plan["conda"]["channels"] == [f"{lab_mirror['url']}/conda/cloud/conda-forge"]
    # the download was measured by the solve before anything was written: the channel's own package sizes
    create = next(s for s in doc["steps"] if s["name"] == "create")
    assert plan["download"]["known"] and plan["download"]["conda_packages"] == create["data"]["conda_packages"] >= 6
    assert plan["download"]["conda_bytes"] > 100_000
    assert plan["download"]["pip_bytes"] == lab_mirror["sizes"]  # the wheels pip then downloaded, measured before
    # a fresh package cache: every conda package comes over the network, counted with the wheels; their own
    # dependencies are said not to be
    d = plan["download"]
    assert d["conda_cached"] == 0 and d["total_bytes"] == d["conda_bytes"] + sum(lab_mirror["sizes"].values())
    assert {"what": "pip_dependencies", "items": []} in d["not_counted"]
    assert plan["backend"]["name"] == "rattler" and plan["backend"]["source"] == "default"
    # the mirror went into the user's pip and conda configuration
    assert (isolated_env / ".condarc").read_text().count(lab_mirror["url"]) >= 1
    assert lab_mirror["url"] in (isolated_env / ".config/pip/pip.conf").read_text()
    # the environment runs real torch; pip installed the resolver's versions
    assert sorted(create["data"]["pip_packages"]) == sorted(f"{n}=={v}+cpu" for n, v in versions.items())
    out = subprocess.run([str(prefix / "bin" / "python"), "-c", "import torch; print(torch.ones(2).sum().item())"],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "2.0", out.stderr[-2000:]
    # lock file, report, state, the one line
    lock = Path(doc["lock"]).read_text()
    assert "version: 1" in lock and "torch" in lock and lab_mirror["url"] in lock
    page = Path(doc["report"]).read_text(encoding="utf-8")
    assert '<section id="setup-decisions">' in page and 'id="verify-data"' in page
    assert 'data-step="create" data-status="done"' in page and "conda-forge" in page
    verify = next(s for s in doc["steps"] if s["name"] == "verify")
    assert verify["data"]["status"] == "pass" and verify["data"]["device"] == "cpu"
    state = json.loads(Path(doc["state_file"]).read_text())
    assert set(state["steps"]) == {"mirror", "create", "lock", "verify"}
    assert doc["next_steps"] == [doc["activate"]] and doc["activate"].startswith("export PATH=")
    # the line works in the user's shell (the tests pin bash): it puts the env's bin first on PATH
    shown = subprocess.run(["bash", "-c", doc["activate"] + '; printf %s "$PATH"'], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"}, timeout=30).stdout
    assert shown == f"{prefix}/bin:/usr/bin:/bin"

    _report_renders(Path(doc["report"]), doc, isolated_env.parent)

    # run again: every step that wrote something is skipped, nothing is asked, the env is unchanged
    before = (prefix / "conda-meta" / "history").read_text()
    again = cli("setup", "--mirror", "lab", "--python", PY_VER, "--json")  # no --yes: nothing new to confirm
    assert again.code == 0, again
    assert statuses(again.json()) == {"doctor": "done", "resolve": "done", "mirror": "cached", "plan": "done",
                                      "create": "cached", "lock": "cached", "verify": "cached", "report": "cached"}
    assert (prefix / "conda-meta" / "history").read_text() == before

    # text output: the steps, the plan, the one line
    text = cli("setup", "--mirror", "lab", "--python", PY_VER)
    assert text.code == 0 and "Environment dl is ready and verified." in text.stdout
    assert doc["activate"] in text.stdout and "done earlier" in text.stdout


def test_interrupted_after_the_environment_is_created_then_resumed(cli, lab_mirror, isolated_env):
    """A real Ctrl-C (SIGINT to a real process) once the environment step is recorded; the second run skips it."""
    argv = [sys.executable, "-m", "dlsetup", "setup", "--yes", "--mirror", "lab", "--python", PY_VER]
    state = isolated_env / ".local" / "state" / "dlsetup" / "setup" / "dl.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    deadline = time.monotonic() + 300
    recorded: dict = {}
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            recorded = json.loads(state.read_text())["steps"]
        except (OSError, ValueError, KeyError):
            recorded = {}
        if "create" in recorded:
            break
        time.sleep(0.05)
    assert "create" in recorded, (proc.poll(), proc.stderr.read() if proc.poll() is not None else "")
    proc.send_signal(signal.SIGINT)  # while it writes the lock or starts verify (its first step imports torch: seconds)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    recorded = json.loads(state.read_text())["steps"]
    assert "create" in recorded and "verify" not in recorded
    prefix = isolated_env / ".conda" / "envs" / "dl"
    assert (prefix / "conda-meta").is_dir()

    r = cli("setup", "--mirror", "lab", "--python", PY_VER, "--json")
    assert r.code == 0, r
    st = statuses(r.json())
    assert st["create"] == "cached" and st["verify"] == "done" and st["report"] == "done"
    assert st["lock"] in ("cached", "done")  # the interrupt may have come before or after the lock was written
    stages = {s["name"] for s in r.json()["steps"][6]["data"]["stages"]}
    assert stages == {"env", "ops", "autograd"}  # --verify quick


def test_no_driver_snapshot_stops_at_the_driver_step(cli, isolated_env):
    r = cli("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "nouveau-no-driver.json"), "--json")
    assert r.code == 1
    doc = r.json()
    assert doc["outcome"] == "blocked" and statuses(doc)["doctor"] == "blocked"
    assert all(s == "not_run" for n, s in statuses(doc).items() if n != "doctor")
    blocking = doc["steps"][0]["data"]["blocking"]
    assert [b["id"] for b in blocking] == ["gpu.nouveau"] and blocking[0]["reboot"]
    assert "sudo ubuntu-drivers install" in doc["next_steps"] and "sudo reboot" in doc["next_steps"]
    assert doc["next_notes"][-1] == {"at": len(doc["next_steps"]), "id": "setup.next.again_after_reboot", "params": {},
                                     "text": "then run dlsetup setup again after the reboot"}
    # the GTX 1080 Ti on driver 590 (which dropped Pascal): the legacy 580 branch is the step
    r = cli("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "gtx1080ti-r590.json"))
    assert r.code == 1 and "sudo apt install nvidia-driver-580" in r.stdout
    assert "run dlsetup setup again after the reboot" in r.stdout
    # a machine whose only errors are in the Python environment is not blocked: a new env replaces it
    r = cli("setup", "--dry-run", "--snapshot", str(SNAPSHOTS / "rtx4090-torch-cpu.json"), "--json")
    assert r.code == 0 and r.json()["plan"]["variant"].startswith("cu")


def test_dry_run_writes_nothing(cli, isolated_env, tmp_path):
    # warm the parsed-data cache the way any read-only command does (resolve), then nothing may change
    assert cli("resolve", "torch", "--json").code in (0, 1)
    before = tree_hash(tmp_path)
    r = cli("setup", "--dry-run", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["outcome"] == "planned" and statuses(doc)["create"] == "planned"
    assert tree_hash(tmp_path) == before
    assert not Path(doc["prefix"]).exists() and not Path(doc["state_file"]).exists()
    r = cli("setup", "--dry-run", "--mirror", "tuna", "--json")  # a mirror: listed, not written
    assert r.code == 0
    after = tree_hash(tmp_path)
    # the mirror layer's dry run (which lists the files) takes its journal lock, creating an empty lock file;
    # that is the one difference, and it holds no data
    lock = "home/.local/state/dlsetup/mirror/lock"
    assert after.pop(lock, None) in (None, hashlib.sha256(b"").hexdigest()) and after == before
    files = r.json()["plan"]["mirror"]["files"]
    assert str(isolated_env / ".condarc") in files and all(not Path(f).exists() for f in files)


def test_without_yes_and_without_a_terminal_nothing_changes(cli, lab_mirror, isolated_env):
    r = cli("setup", "--mirror", "lab", "--python", PY_VER, "--json")
    assert r.code == 2
    doc = r.json()
    assert doc["outcome"] == "needs_confirmation" and statuses(doc)["create"] == "not_run"
    assert doc["plan"]["download"]["conda_packages"] >= 6  # the plan was shown, with the download measured
    assert not Path(doc["prefix"]).exists() and not Path(doc["state_file"]).exists()
    # the mirror was not applied either: no conda or pip configuration was written
    assert not (isolated_env / ".condarc").exists() and not (isolated_env / ".config" / "pip" / "pip.conf").exists()


def test_mirror_auto_takes_the_fastest_that_serves_this_machine(cli, lab_mirror):
    r = cli("setup", "--dry-run", "--mirror", "auto", "--python", PY_VER, "--json")
    assert r.code == 0, r
    mirror = next(s for s in r.json()["steps"] if s["name"] == "mirror")["data"]
    assert mirror["mode"] == "auto" and mirror["mirror"] == "lab"
    rows = {p["mirror"]: p["ok"] for p in mirror["probe"]}
    assert rows["lab"] is True and len(rows) > 1 and not any(ok for m, ok in rows.items() if m != "lab")
    assert "fastest" in mirror["why"]
    # --offline with no earlier probe: no mirror, said so
    r = cli("setup", "--dry-run", "--mirror", "auto", "--offline", "--python", PY_VER, "--json")
    assert r.code == 0 and r.json()["plan"]["mirror"]["id"] is None
    assert "no earlier probe" in r.json()["plan"]["mirror"]["why"]


def test_usage_errors(cli, isolated_env):
    r = cli("setup", "--backend", "nosuch", "--dry-run")
    assert r.code == 2 and "nosuch" in r.stderr
    r = cli("setup", "--snapshot", str(SNAPSHOTS / "h100-r580.json"))
    assert r.code == 2 and "add --dry-run" in r.stderr
    r = cli("setup", "--verify", "sometimes", "--dry-run")
    assert r.code == 2 and "unknown --verify mode" in r.stderr
    r = cli("setup", "--recipe", "nosuch", "--dry-run")
    assert r.code == 2 and "unknown recipe 'nosuch'" in r.stderr
    r = cli("setup", "--mirror", "tunna", "--dry-run")
    assert r.code == 2 and "tuna" in r.stderr
    bad = isolated_env / "student.json"
    bad.write_text('{"command": "doctor", "findings": []}')  # a doctor --json report sent instead of a snapshot
    r = cli("setup", "--dry-run", "--snapshot", str(bad))
    assert r.code == 2 and "--save-snapshot" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    (isolated_env / ".conda" / "envs" / "dl").mkdir(parents=True)  # someone else's environment
    r = cli("setup", "--yes", "--offline")
    assert r.code == 2 and "was not created by dlsetup setup" in r.stderr


def test_chinese(cli):
    r = cli("setup", "--dry-run", "--lang", "zh")
    assert r.code == 0 and "检查机器" in r.stdout and "以上是计划" in r.stdout
    r = cli("setup", "--dry-run", "--lang", "zh", "--snapshot", str(SNAPSHOTS / "nouveau-no-driver.json"))
    assert r.code == 1 and "重启后再次运行 dlsetup setup" in r.stdout


def test_asks_once_on_a_terminal_and_no_changes_nothing(lab_mirror, isolated_env):
    """On a real terminal (a pty) setup shows the plan and asks one question; answering no changes nothing."""
    import pty
    import select

    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "dlsetup", "setup", "--mirror", "lab", "--python", PY_VER],
                            stdin=slave, stderr=slave, stdout=subprocess.PIPE, env=env, cwd=REPO)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 180
    while b"as planned above?" not in seen and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    text = seen.decode("utf-8", "replace")
    assert "Create environment dl as planned above?" in text, text[-3000:]
    assert "Download" in text and "conda packages" in text  # the plan came before the question
    os.write(master, b"n\n")
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 1
    assert "Nothing was changed." in out.decode()
    assert not (isolated_env / ".conda" / "envs" / "dl").exists()
    assert not (isolated_env / ".local" / "state" / "dlsetup" / "setup" / "dl.json").exists()
    assert text.count("as planned above?") == 1


def test_a_channel_out_of_reach_fails_at_the_plan_before_asking(cli, isolated_env, isolated_rattler_cache):
    """conda-forge out of reach (channels go to a closed port on 127.0.0.1 through channel_alias): the solve behind
    the plan fails, so setup stops there, on that step, having written nothing."""
    (isolated_env / ".condarc").write_text("channel_alias: http://127.0.0.1:9\n")
    r = cli("setup", "--yes", "--json")
    assert r.code == 1, r
    doc = r.json()
    st = statuses(doc)
    assert st["plan"] == "failed" and st["create"] == "not_run" and doc["outcome"] == "failed"
    plan_step = next(s for s in doc["steps"] if s["name"] == "plan")
    assert "cannot reach channel http://127.0.0.1:9/conda-forge" in plan_step["summary"]
    assert doc["next_notes"][-1]["id"] == "setup.next.retry" and "run dlsetup setup again" in doc["next_notes"][-1]["text"]
    assert not Path(doc["prefix"]).exists() and not Path(doc["state_file"]).exists()


SETUP_PROBE = """<script>
(function () {
  const rows = Array.from(document.querySelectorAll('#setup-steps tr[data-step]')).map(
    r => [r.dataset.step, r.dataset.status, r.cells[2].textContent]);
  const verdict = document.getElementById('verdict').dataset.value;
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({rows: rows, verdict: JSON.parse(verdict),
                                    external: document.querySelectorAll('[src],link[href]').length});
  document.body.appendChild(pre);
})();
</script>"""


def _report_renders(page: Path, doc: dict, tmp: Path) -> None:
    """The setup report (verify's page with the decisions on top) loads in headless Chromium and shows the steps
    as the JSON has them."""
    import html as html_mod
    import re

    from tests.chromium import chromium, headless

    browser = chromium()
    probed = tmp / "setup-probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", SETUP_PROBE + "</body>"), encoding="utf-8")
    proc = headless(browser, tmp, "--dump-dom", probed.as_uri())
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stderr[-2000:]
    probe = json.loads(html_mod.unescape(match.group(1)))
    expected = [[s["name"], s["status"], s["summary"]] for s in doc["steps"]]
    assert probe["rows"] == expected and probe["verdict"] == "pass" and probe["external"] == 0
