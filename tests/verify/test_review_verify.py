"""Review fixes: a run whose stages never ran is not a pass; per-node stages under a launcher."""

from __future__ import annotations

import json
import sys

import pytest

from tests.verify.conftest import stage

pytestmark = [pytest.mark.torch, pytest.mark.timeout(300)]

# A stand-in interpreter that behaves like a suite which starts, says hello, and then dies before its first
# stage (an OOM kill or a crash between stages looks the same from dlsetup's side): it reads the configuration,
# prints the hello line of the protocol (dlsetup/verify/suite/dlverify/proto.py) and exits with `code`.
FAKE = """#!{python}
import json, sys
json.loads(sys.stdin.read())
print(json.dumps({{"event": "hello", "protocol": 1, "ok": True, "python": "3.11.7", "torch": "2.13.0+cpu",
                  "device": "cpu"}}), flush=True)
sys.exit({code})
"""


@pytest.mark.parametrize("code", [0, 1])
def test_stages_that_never_ran_fail_the_run(cli, tmp_path, code):
    fake = tmp_path / "python"
    fake.write_text(FAKE.format(python=sys.executable, code=code))
    fake.chmod(0o755)
    r = cli("verify", "--quick", "--python", str(fake), "--json")
    doc = r.json()
    # Before the fix every stage was "not run" and the verdict PASS with exit code 0.
    assert r.code == 1 and doc["status"] == "fail" and doc["exit_code"] == 1, doc
    for name in ("env", "ops", "autograd"):
        s = stage(doc, name)
        assert s["status"] == "fail" and s["code"] == "verify.note.not_reached", s
    text = cli("verify", "--quick", "--python", str(fake))
    assert text.code == 1 and "FAIL" in text.stdout and "PASS" not in text.stdout
    assert "ended before this stage" in text.stdout


def test_dcgm_runs_once_per_node_under_a_launcher(monkeypatch):
    # Rank 1 (local rank 1) of a launched job: dcgmi would check the same GPUs as local rank 0 again, so this
    # rank skips it. Before the fix the stage had no result on these ranks ("not run").
    from dlsetup.verify.api import verify
    from dlsetup.verify.plan import make_plan

    for name, value in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": "29999"}.items():
        monkeypatch.setenv(name, value)
    plan = make_plan(distributed=True, only=("dcgm",), skip=("distributed",))
    assert plan.stages == ["env", "dcgm"]
    result = verify(plan, sys.executable)
    dcgm = result.stage("dcgm")
    assert dcgm.status == "skip" and dcgm.code == "verify.note.dcgm_other_rank", dcgm
    assert result.status == "pass" and result.distributed["rank"] == 1


def test_other_rank_without_the_distributed_stage_exits_with_its_own_verdict(cli, monkeypatch):
    # `--distributed --skip distributed` on a rank other than 0: nothing to hand to rank 0, so the exit code is
    # this rank's own verdict (not a blanket 1 that makes torchrun stop every rank).
    for name, value in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": "29999"}.items():
        monkeypatch.setenv(name, value)
    r = cli("verify", "--distributed", "--only", "env", "--skip", "distributed", "--json")
    assert r.code == 0 and r.stdout == "", (r.code, r.stdout, r.stderr)


def test_not_reached_message_in_both_catalogs():
    from dlsetup.i18n import load_catalog

    en, zh = load_catalog("verify", "en"), load_catalog("verify", "zh")
    assert "did not run" in en["verify.note.not_reached"] and "没有运行" in zh["verify.note.not_reached"]
    assert json.dumps(zh["verify.note.dcgm_other_rank"], ensure_ascii=False).count("DCGM") == 1


def test_burn_fails_when_a_repeated_gemm_changes(cli, faults):
    # --burn had no fault test: every third torch.matmul result carries one wrong element.
    faults("matmul_flaky")
    r = cli("verify", "--only", "burn", "--burn", "1", "--json")
    doc = r.json()
    burn = stage(doc, "burn")
    assert r.code == 1 and burn["status"] == "fail", burn
    repeat = [c for c in burn["checks"] if c["name"] == "repeat_gemm"][0]
    assert repeat["code"] == "verify.note.burn_faulty" and repeat["value"] >= 1 and repeat["limit"] == 0
    assert burn["details"]["iterations"] >= 2 and "faulty" in burn["message"]


def test_nproc_far_above_the_cpu_count_is_refused_before_spawning(cli):
    # `--nproc 500` on a small machine would start 500 processes that each import torch; the stage fails at
    # once with the limit instead.
    r = cli("verify", "--only", "distributed", "--nproc", "500", "--json")
    dist = stage(r.json(), "distributed")
    world = [c for c in dist["checks"] if c["name"] == "world_size"][0]
    assert r.code == 1 and dist["status"] == "fail" and world["code"] == "verify.note.nproc_too_many_cpus"
    assert "at most" in dist["message"] and "details" in dist and "bandwidth" not in dist["details"]  # no run


def test_an_interpreter_that_is_not_python_says_so_and_shows_its_output_with_v(cli, tmp_path):
    fake = tmp_path / "python2"
    fake.write_text("#!/bin/sh\necho 'python2.7: no module dlverify' >&2\nexit 3\n")
    fake.chmod(0o755)
    r = cli("verify", "--quick", "--python", str(fake), "--json")
    env = stage(r.json(), "env")
    assert r.code == 1 and env["code"] == "verify.note.python_start" and "exit code 3" in env["message"]
    assert env["details"]["stderr_tail"] == ["python2.7: no module dlverify"]
    text = cli("verify", "--quick", "--python", str(fake), "-v")
    assert text.code == 1 and "Python 3 interpreter" in text.stdout and "python2.7: no module dlverify" in text.stdout
