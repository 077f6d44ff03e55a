"""``dlsetup verify``: parse arguments, run the suite in the target interpreter, emit the result."""

from __future__ import annotations

import click

from dlsetup.cli import common_options

HELP = """Prove the deep-learning stack computes correctly, not just that it imports.

Runs in the target interpreter (this one, --python PATH or --env NAME) as a separate process,
so dlsetup itself never needs torch. Stages, each timed and each with its own time limit:
environment (torch/CUDA/cuDNN, GPU architecture coverage, nvcc, compiler, ninja), native ops
against a float64 reference in every native dtype, autograd (gradcheck), mixed precision,
CPU-vs-GPU agreement, a compiled C++/CUDA extension, a LeNet-5 trained to 97 % on generated
glyphs, and torch.distributed all-reduce. A stage that hangs is stopped and reported.

\b
Modes: --quick (environment, ops, fast gradcheck: seconds); default; --full (adds
second-order gradcheck, --perf and --dcgm). Optional: --perf, --burn SECONDS, --dcgm.

\b
Examples:
  dlsetup verify                          # the default suite on the best device
  dlsetup verify --quick                  # a few seconds: environment, ops, gradcheck
  dlsetup verify --env dl --report verify.html   # check env "dl", write a page to send
  dlsetup verify --device cuda:1 --perf   # the second GPU, with GEMM/copy speed vs its peak
  dlsetup verify --only ops,train -v      # two stages, every check listed
  dlsetup verify --nproc 4                # all-reduce across 4 local processes
  torchrun --nproc-per-node 8 -m dlsetup verify --distributed
  srun -N 2 --ntasks-per-node 8 dlsetup verify --distributed --quick

\b
Exit codes: 0 every stage passed (warnings and skips allowed); 1 a stage failed;
2 bad input (nothing ran).
"""


@click.command("verify", help=HELP, short_help="Prove the stack computes correctly (ops, autograd, training).")
@click.option("--quick", is_flag=True, help="Environment, ops and fast gradcheck only (no build, no training).")
@click.option("--full", is_flag=True, help="Everything, including second-order gradcheck, --perf and --dcgm.")
@click.option("--device", default="auto", show_default=True, metavar="cpu|cuda|cuda:N",
              help="Where to run the checks (auto: the first GPU if torch sees one, else the CPU).")
@click.option("--python", "python", metavar="PATH", help="Verify this interpreter instead of the current one.")
@click.option("--env", "env_name", metavar="NAME", help="Verify the environment NAME (see dlsetup env list).")
@click.option("--only", multiple=True, metavar="STAGE[,STAGE]",
              help="Run only these stages (the environment stage always runs).")
@click.option("--skip", multiple=True, metavar="STAGE[,STAGE]", help="Leave these stages out.")
@click.option("--perf", is_flag=True, help="GPU: large bf16 GEMM TFLOP/s and copy GB/s against the GPU's peak.")
@click.option("--burn", type=float, metavar="SECONDS", help="Repeat a GEMM for SECONDS; every result must match.")
@click.option("--dcgm", is_flag=True, help="Also run NVIDIA DCGM's 'dcgmi diag -r 1' when it is installed.")
@click.option("--distributed", is_flag=True,
              help="Run as one rank of a torchrun/srun job; rank 0 prints the combined result.")
@click.option("--nproc", type=int, metavar="N", help="All-reduce check across N local processes (no launcher).")
@click.option("--rebuild", is_flag=True, help="Delete the cached extension build first (a cold build).")
@click.option("--stage-timeout", "stage_timeouts", multiple=True, metavar="STAGE=SECONDS",
              help="Change one stage's time limit (also 'setup' for starting Python and importing torch).")
@click.option("--report", "report", metavar="FILE.html", help="Also write a self-contained HTML report.")
@common_options
def verify(quick: bool, full: bool, device: str, python: str | None, env_name: str | None, only: tuple[str, ...],
           skip: tuple[str, ...], perf: bool, burn: float | None, dcgm: bool, distributed: bool, nproc: int | None,
           rebuild: bool, stage_timeouts: tuple[str, ...], report: str | None) -> int:
    from dlsetup.output import emit, settings
    from dlsetup.result import Result
    from dlsetup.verify.api import verify as run_verify
    from dlsetup.verify.launch import target_python
    from dlsetup.verify.plan import make_plan
    from dlsetup.verify.render import render

    plan = make_plan(quick=quick, full=full, device=device, only=only, skip=skip, perf=perf, burn=burn, dcgm=dcgm,
                     distributed=distributed, nproc=nproc, rebuild=rebuild, stage_timeouts=stage_timeouts)
    result = run_verify(plan, target_python(python, env_name, env_python=_env_python), report=report)
    code = 1 if result.status == "fail" else 0
    if result.distributed and result.distributed.get("rank") not in (0, None):
        # Other ranks stay silent on stdout: rank 0 prints the combined result and sets the job's exit code.
        # A rank exits non-zero only when rank 0 cannot have its results (so the launcher stops the job
        # at once instead of rank 0 waiting for it); exiting 1 otherwise would make torchrun kill rank 0
        # before it reports.
        if code and not settings.quiet:
            from dlsetup.i18n import t

            failed = [s.name for s in result.stages if s.status == "fail"]
            click.echo(t("verify.label.rank_failed", rank=result.distributed["rank"], stages=", ".join(failed)),
                       err=True)
        dist = result.stage("distributed")
        if dist is None:  # --skip distributed: nothing goes to rank 0, so this rank's own verdict
            return code
        return 0 if dist.details.get("gathered") else 1
    return emit(Result(command="verify", data=result, exit_code=code, render_text=render))


def _env_python(name: str):
    """The interpreter of environment ``name`` (envs' answer, composed here so verify need not import envs)."""
    from dlsetup.envs.api import env_python, find_env_prefix

    return env_python(find_env_prefix(name))
