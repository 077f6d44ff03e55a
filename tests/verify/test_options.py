"""Option handling: stage selection, bad input (exit 2, one line, nothing run), launchers. No torch needed."""

from __future__ import annotations

import json

import pytest

from dlsetup.errors import UsageError
from dlsetup.verify.launch import first_host, launcher_world, suite_environ, target_python
from dlsetup.verify.plan import DEFAULT_TIMEOUTS, MODES, make_plan


def test_modes_pick_their_stages():
    assert make_plan(quick=True).stages == ["env", "ops", "autograd"]
    default = make_plan().stages
    assert default == MODES["default"] and "extension" in default and "train" in default
    full = make_plan(full=True).stages
    assert {"perf", "dcgm"} <= set(full) and full.index("distributed") < full.index("dcgm")


def test_flags_add_stages_in_run_order():
    plan = make_plan(quick=True, perf=True, burn=5, dcgm=True, nproc=2)
    assert plan.stages == ["env", "ops", "autograd", "perf", "burn", "distributed", "dcgm"]
    assert plan.suite_stages == ["env", "ops", "autograd", "perf", "burn", "distributed"]
    assert plan.timeouts["burn"] == 5 + DEFAULT_TIMEOUTS["burn"]


def test_only_keeps_env_first_and_skip_removes():
    assert make_plan(only=("train,ops",)).stages == ["env", "ops", "train"]
    assert "train" not in make_plan(skip=("train", "extension")).stages
    assert "extension" not in make_plan(skip=("train", "extension")).stages


@pytest.mark.parametrize("kwargs,key", [
    ({"quick": True, "full": True}, "verify.error.quick_and_full"),
    ({"device": "gpu"}, "verify.error.bad_device"),
    ({"device": "cuda:x"}, "verify.error.bad_device"),
    ({"only": ("opz",)}, "verify.error.unknown_stage"),
    ({"skip": ("env",)}, "verify.error.skip_env"),
    ({"burn": 0.0}, "verify.error.bad_burn"),
    ({"nproc": 1}, "verify.error.bad_nproc"),
    ({"nproc": 2, "distributed": True}, "verify.error.nproc_and_distributed"),
    ({"device": "cuda:1", "distributed": True}, "verify.error.device_index_distributed"),
    ({"stage_timeouts": ("ops",)}, "verify.error.bad_timeout"),
    ({"stage_timeouts": ("ops=-1",)}, "verify.error.bad_timeout"),
    ({"stage_timeouts": ("nosuch=3",)}, "verify.error.bad_timeout"),
    # non-finite numbers: inf overflowed the wait (a traceback, and the suite left running forever);
    # nan timed every stage out at once, or made --burn pass after zero repeats
    ({"burn": float("inf")}, "verify.error.bad_burn"),
    ({"burn": float("nan")}, "verify.error.bad_burn"),
    ({"stage_timeouts": ("ops=inf",)}, "verify.error.bad_timeout"),
    ({"stage_timeouts": ("setup=nan",)}, "verify.error.bad_timeout"),
])
def test_bad_options_are_usage_errors(kwargs, key):
    with pytest.raises(UsageError) as info:
        make_plan(**kwargs)
    assert info.value.key == key
    assert info.value.message()  # the catalog has it


def test_stage_timeout_overrides_one_stage():
    plan = make_plan(stage_timeouts=("ops=7", "setup=90"))
    assert plan.timeouts["ops"] == 7 and plan.timeouts["setup"] == 90
    assert plan.timeouts["train"] == DEFAULT_TIMEOUTS["train"]
    assert plan.suite_config(["env"])["dist_timeout_s"] == DEFAULT_TIMEOUTS["distributed"] - 30


@pytest.mark.parametrize("args,needle", [
    (["--device", "tpu"], "bad --device 'tpu'"),
    (["--only", "nope"], "unknown stage 'nope'"),
    (["--python", "/no/such/python"], "no Python interpreter at '/no/such/python'"),
    (["--python", "{plain_file}"], "is not an executable file"),
    (["--quick", "--full"], "--quick and --full cannot be used together"),
    (["--distributed"], "--distributed needs a launcher"),
    (["--only", "env", "--burn", "1e400"], "--burn needs a positive number of seconds, not inf"),
    (["--stage-timeout", "setup=nan"], "bad --stage-timeout 'setup=nan'"),
    (["--report", "/no/such/dir/r.html", "--only", "env"], "directory /no/such/dir does not exist"),
])
def test_cli_bad_input_exits_2_with_one_line(cli, args, needle, tmp_path):
    plain = tmp_path / "python"
    plain.write_text("not a program")
    plain.chmod(0o644)
    r = cli("verify", *[a.replace("{plain_file}", str(plain)) for a in args])
    assert r.code == 2, r
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("dlsetup: error: ") and needle in lines[0], r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr


def test_cli_bad_input_json_document(cli):
    r = cli("verify", "--json", "--device", "npu")
    assert r.code == 2
    doc = json.loads(r.stdout)
    assert doc["command"] == "verify" and doc["exit_code"] == 2 and doc["error"]["code"] == "verify.error.bad_device"


def test_cli_bad_input_in_chinese(cli):
    r = cli("verify", "--lang", "zh", "--only", "nope")
    assert r.code == 2 and "未知阶段" in r.stderr


def test_help_has_examples(cli):
    r = cli("verify", "--help")
    assert r.code == 0
    assert "Examples:" in r.stdout and "torchrun --nproc-per-node 8 -m dlsetup verify --distributed" in r.stdout


def test_target_python_default_and_env_conflict(tmp_path):
    import sys

    assert target_python() == sys.executable
    with pytest.raises(UsageError) as info:
        target_python("python3", "dl")
    assert info.value.key == "verify.error.python_and_env"


def test_suite_environ_puts_suite_first_and_keeps_user_pythonpath(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", "/user/path:rel/dir")
    monkeypatch.chdir(tmp_path)
    env = suite_environ(str(tmp_path / "bin" / "python"))
    parts = env["PYTHONPATH"].split(":")
    # the suite runs in its own directory: relative entries are made absolute against the user's cwd
    assert parts[0].endswith("dlsetup/verify/suite") and parts[1:] == ["/user/path", str(tmp_path / "rel" / "dir")]
    assert env["PATH"].split(":")[0] == str(tmp_path / "bin")


@pytest.mark.parametrize("nodelist,first", [
    ("gpu[03-05,9],cpu1", "gpu03"),
    ("node7", "node7"),
    ("a[1,2]", "a1"),
    ("rack1-n[0012-0020]", "rack1-n0012"),
    ("", None),
])
def test_first_host_of_slurm_nodelist(nodelist, first, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no scontrol: the parser answers
    assert first_host(nodelist) == first


def test_launcher_world_torchrun_and_slurm():
    extra, world = launcher_world({"RANK": "3", "WORLD_SIZE": "8", "MASTER_ADDR": "h", "MASTER_PORT": "1",
                                   "TORCHELASTIC_RUN_ID": "x"})
    assert extra == {} and world["launcher"] == "torchrun" and world["rank"] == 3 and world["world_size"] == 8

    # what srun gives task 5 of `srun -N 2 --ntasks-per-node 4` (the step variables mark a task srun started)
    slurm = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_JOB_ID": "123456",
             "SLURM_NODEID": "1", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "8",
             "SLURM_JOB_NODELIST": "gpu[07-08]", "SLURM_TASKS_PER_NODE": "4(x2)", "PATH": "/nonexistent"}
    extra, world = launcher_world(slurm)
    assert extra["RANK"] == "5" and extra["WORLD_SIZE"] == "8" and extra["LOCAL_RANK"] == "1"
    assert extra["LOCAL_WORLD_SIZE"] == "4" and extra["MASTER_ADDR"] == "gpu07"
    assert extra["MASTER_PORT"] == str(10000 + 123456 % 20000) and extra["DLSETUP_LAUNCHER"] == "slurm"
    assert world["launcher"] == "slurm" and world["master"] == f"gpu07:{extra['MASTER_PORT']}"
    # torchrun inside an allocation wins over Slurm's variables
    both = dict(slurm, RANK="0", WORLD_SIZE="2")
    assert launcher_world(both)[1]["launcher"] == "env"
    assert launcher_world({"PATH": "/bin"}) is None


def test_slurm_batch_shell_is_not_a_launcher_and_step_sizes_win():
    # An sbatch script's own shell has SLURM_PROCID=0 and SLURM_NTASKS (the allocation's tasks) but no step:
    # treating it as rank 0 of 8 would wait minutes for 7 ranks that never start. It needs srun.
    batch = {"SLURM_PROCID": "0", "SLURM_NTASKS": "8", "SLURM_LOCALID": "0", "SLURM_JOB_ID": "77",
             "SLURM_JOB_NODELIST": "gpu[07-08]", "SLURM_TASKS_PER_NODE": "4(x2)", "PATH": "/nonexistent"}
    assert launcher_world(batch) is None
    # `srun -n 3` inside a larger allocation: the step's task count is the world, and the nodes differ
    step = dict(batch, SLURM_STEP_ID="1", SLURM_STEP_NUM_TASKS="3", SLURM_STEP_TASKS_PER_NODE="2,1",
                SLURM_NODEID="1", SLURM_PROCID="2", SLURM_STEP_NODELIST="gpu[08-09]")
    extra, world = launcher_world(step)
    assert world["world_size"] == 3 and extra["WORLD_SIZE"] == "3" and extra["LOCAL_WORLD_SIZE"] == "1"
    assert extra["MASTER_ADDR"] == "gpu08"


def test_dlsetup_verify_distributed_in_a_batch_shell_says_to_use_srun(cli, monkeypatch):
    for name, value in {"SLURM_PROCID": "0", "SLURM_NTASKS": "8", "SLURM_JOB_ID": "77",
                        "SLURM_JOB_NODELIST": "gpu07"}.items():
        monkeypatch.setenv(name, value)
    for name in ("RANK", "WORLD_SIZE", "SLURM_STEP_ID", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    r = cli("verify", "--distributed", "--quick")
    assert r.code == 2 and "srun" in r.stderr and r.stdout == ""
