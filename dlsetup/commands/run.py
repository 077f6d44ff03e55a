"""``dlsetup run -n NAME COMMAND…``: run a command inside an environment without activating it (like
``conda run`` and ``pixi run``): argument parsing only; the work is ``dlsetup.envs.activation``."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from dlsetup.cli import common_options
from dlsetup.output import emit
from dlsetup.result import Result


@dataclass
class RunResult:
    name: str | None
    prefix: str
    kind: str  # "conda" | "venv"
    argv: list[str] = field(default_factory=list)
    returncode: int = 0


@click.command("run", context_settings={"help_option_names": ["-h", "--help"], "ignore_unknown_options": True,
                                        "allow_interspersed_args": False})
@common_options
@click.option("-n", "--name", "name", required=True, metavar="NAME|PATH", help="The environment (a name or a path).")
@click.option("--cwd", metavar="DIR", help="Run the command in DIR.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(name, cwd, command):
    """Run COMMAND in environment NAME, activated as conda/pixi would, and exit with its exit code.

    PATH starts with the environment's bin directory; conda-family environments also get CONDA_PREFIX,
    the variables their packages and `variables:` set, and their etc/conda/activate.d scripts;
    virtual environments get VIRTUAL_ENV. The command's output is its own (with --json, one document
    with the exit code follows it).

    \b
    Examples:
      dlsetup run -n dl python train.py --epochs 3
      dlsetup run -n dl -- python -c "import torch; print(torch.__version__)"
      dlsetup run -n /data/envs/dl nvcc --version
    """
    from dlsetup.envs import activation, api
    from dlsetup.errors import UsageError

    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("run.error.no_command")
    prefix = api.find_env_prefix(name)
    from dlsetup.envs.locations import looks_like_path

    act = activation.activation_for(prefix, None if looks_like_path(name) else name)
    code = activation.run(act, argv, cwd=cwd)
    if code == 127 and not activation.resolvable(act, argv[0]):
        raise UsageError("run.error.not_found", command=argv[0], prefix=str(prefix))
    r = RunResult(name=act.name, prefix=str(prefix), kind=act.kind, argv=argv, returncode=code)
    return emit(Result(command="run", data=r, exit_code=code, render_text=lambda console, data: None))
