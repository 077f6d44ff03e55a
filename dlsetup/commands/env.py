"""``dlsetup create env`` and ``dlsetup env list|export|clone|lock|install|remove``: argument parsing only."""

from __future__ import annotations

import click

from dlsetup.cli import common_options, shell_option
from dlsetup.output import emit
from dlsetup.result import Result

BACKEND_CHOICE = click.Choice(["auto", "rattler", "conda", "mamba", "micromamba", "venv"], case_sensitive=False)
_backend_opt = click.option(
    "--backend", type=BACKEND_CHOICE, default=None,
    help="Environment engine: embedded rattler, the conda/mamba/micromamba command line, or venv (no conda: "
         "uv, else python -m venv + pip) (default: $DLSETUP_BACKEND, else a conda-family tool if one is "
         "installed, else rattler).",
)


def _b(value: str | None) -> str | None:
    return None if value in (None, "auto") else value


@click.group("create", context_settings={"help_option_names": ["-h", "--help"]})
@common_options
def create() -> None:
    """Create things; today: environments (dlsetup create env NAME ...).

    \b
    Examples:
      dlsetup create env dl --recipe pytorch
      dlsetup create env sci python=3.12 numpy scipy
    """


@create.command("env")
@common_options
@click.argument("name")
@click.argument("specs", nargs=-1)
@click.option("--python", "python", metavar="X.Y", help="Python version for the environment (adds python=X.Y).")
@click.option("-f", "--file", "file", metavar="FILE",
              help="environment.yml, conda-lock.yml, requirements.txt (pip's or conda's) or an @EXPLICIT list.")
@click.option("--recipe", metavar="NAME",
              help="A stack fitted to this machine by the resolver: pytorch, tensorflow, paddle, cpu-minimal, course.")
@click.option("-c", "--channel", "channels", multiple=True, metavar="CHANNEL",
              help="Channel name, URL or directory (repeatable); replaces the configured channels.")
@_backend_opt
@click.option("--dry-run", is_flag=True, help="Show the plan (and the solved packages) without creating anything.")
@click.option("--snapshot", metavar="FILE", help="Plan for the machine a dlsetup snapshot describes (with --dry-run).")
@click.option("--gpu", "gpu", metavar="NAME|PCI_ID", multiple=True,
              help="With --recipe: fit the recipe to this GPU (\"RTX 3060\", 10de:2504; repeatable) instead of "
                   "probing; DLSETUP_GPU=\"name, name\" does the same (docker build).")
@click.option("--cuda", metavar="VERSION",
              help="Solve as if the driver supported CUDA VERSION (like CONDA_OVERRIDE_CUDA); '' means no GPU.")
@click.option("--pip-index-url", metavar="URL", help="Index for the pip section (default: the resolver's, else pip's own config).")
@click.option("--offline", is_flag=True, help="Use only cached channel metadata (no network).")
@click.option("--from-bundle", "from_bundle", metavar="DIR|TAR",
              help="Install from a bundle made by `dlsetup download` or `env pack`, with no network.")
@shell_option
def create_env(name, specs, python, file, recipe, channels, backend, dry_run, snapshot, gpu, cuda, pip_index_url,
               offline, from_bundle, shell):
    """Create environment NAME from package specs, a file, or a recipe fitted to this machine.

    NAME is a name (placed in conda's first writable envs dir and registered in
    ~/.conda/environments.txt) or a path. The environment is built in a hidden
    directory and moved into place only when complete: a failure, Ctrl-C or a
    killed process leaves nothing behind.

    \b
    Examples:
      dlsetup create env dl --recipe pytorch           # GPU build that fits this machine
      dlsetup create env dl --recipe pytorch --dry-run  # just the plan
      dlsetup create env dl --recipe pytorch --dry-run --snapshot gpu-box.json
      dlsetup create env dl --recipe pytorch --gpu "RTX 4090"   # no GPU here (docker build)
      dlsetup create env sci --python 3.12 numpy scipy
      dlsetup create env course -f envs/course.yml
      dlsetup create env repro -f conda-lock.yml
      dlsetup create env dl --recipe pytorch --backend venv   # no conda: uv
      dlsetup --json create env demo numpy --dry-run
      dlsetup create env dl --from-bundle bundle.tar   # offline, from `dlsetup download`
      dlsetup create env dl --recipe pytorch --backend venv --shell powershell
    """
    from dlsetup.commands.shellchoice import choose
    from dlsetup.envs import api, render
    from dlsetup.hw.db import gpus_from_env
    from dlsetup.mirror.api import torch_wheel_source

    if from_bundle:
        from dlsetup.offline.bundle import install_bundle

        if specs or file or recipe or channels or python:
            from dlsetup.errors import UsageError

            raise UsageError("download.error.bundle_with_specs")
        r = install_bundle(name, from_bundle, backend=_b(backend), dry_run=dry_run)
        r.set_shell(choose(shell))
        return emit(Result(command="create env", data=r, exit_code=0, render_text=render.create))
    r = api.create_env(name, list(specs), python=python, file=file, recipe=recipe, channels=list(channels),
                       backend=_b(backend), dry_run=dry_run, snapshot=snapshot, cuda=cuda, offline=offline,
                       pip_index_url=pip_index_url, wheel_source=torch_wheel_source,
                       gpu=gpu or (gpus_from_env() if recipe else ()))
    r.set_shell(choose(shell, snapshot=snapshot))
    # a plan that could not be solved is a failed check, as conda's --dry-run exits 1 then
    return emit(Result(command="create env", data=r, exit_code=0 if r.solved else 1, render_text=render.create))


@click.group("env", context_settings={"help_option_names": ["-h", "--help"]})
@common_options
def env() -> None:
    """List, export, clone, lock, install and remove environments.

    \b
    Examples:
      dlsetup env list
      dlsetup env export dl > environment.yml
      dlsetup env lock -f environment.yml -p linux-64 -p osx-arm64
      dlsetup env install dl2 -f conda-lock.yml
      dlsetup env clone dl dl-backup
      dlsetup env remove dl-backup
    """


@env.command("list")
@common_options
@_backend_opt
def env_list(backend):
    """List environments (conda's envs dirs and ~/.conda/environments.txt).

    \b
    Examples:
      dlsetup env list
      dlsetup env list --json
    """
    from dlsetup.envs import api, render

    r = api.list_envs(backend=_b(backend))
    return emit(Result(command="env list", data=r, render_text=render.env_list))


@env.command("export")
@common_options
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["yaml", "explicit", "lock", "requirements", "pylock"]),
              default=None, help="environment.yml (default), @EXPLICIT urls, conda-lock.yml, `conda list -e` form; "
                                 "for a venv environment pylock (PEP 751, its default) or requirements (with hashes).")
@click.option("--from-history", is_flag=True, help="Only the specs that were asked for (yaml; leaves pip out, like conda).")
@click.option("--no-builds", is_flag=True, help="name=version without build strings (yaml, requirements).")
@click.option("-o", "--file", "output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
@_backend_opt
def env_export(name, fmt, from_history, no_builds, output, backend):
    """Export environment NAME so it can be rebuilt elsewhere.

    \b
    Examples:
      dlsetup env export dl > environment.yml
      dlsetup env export dl --from-history
      dlsetup env export dl --format explicit -o spec.txt
      dlsetup env export dl --format lock -o conda-lock.yml
      dlsetup env export dl --format requirements
      dlsetup env export dl-venv --format pylock -o pylock.toml
    """
    from dlsetup.envs import api, render

    if fmt is None:
        fmt = api.default_export_format(name)
    r = api.export_env(name, fmt, from_history=from_history, no_builds=no_builds, output=output, backend=_b(backend))
    return emit(Result(command="env export", data=r, render_text=render.export))


@env.command("clone")
@common_options
@click.argument("source")
@click.argument("dest")
@_backend_opt
@click.option("--dry-run", is_flag=True, help="Show what would be copied.")
@shell_option
def env_clone(source, dest, backend, dry_run, shell):
    """Copy environment SOURCE to DEST (packages, plus pip-installed and other untracked files).

    \b
    Examples:
      dlsetup env clone dl dl-backup
      dlsetup env clone dl /data/envs/dl-copy
    """
    from dlsetup.commands.shellchoice import choose
    from dlsetup.envs import api, render

    r = api.clone_env(source, dest, backend=_b(backend), dry_run=dry_run)
    r.set_shell(choose(shell))
    return emit(Result(command="env clone", data=r, render_text=render.create))


@env.command("lock")
@common_options
@click.option("-f", "--file", "files", multiple=True, required=True, metavar="FILE",
              help="environment.yml to lock (repeatable; merged like conda-lock does).")
@click.option("-p", "--platform", "platforms", multiple=True, metavar="PLATFORM",
              help="linux-64, linux-aarch64, osx-64, osx-arm64, win-64 (repeatable; default: the file's, else this machine's).")
@click.option("-o", "--lockfile", "output", metavar="FILE", help="Where to write (default ./conda-lock.yml).")
@click.option("--cuda", metavar="VERSION", help="__cuda to lock with (conda-lock --with-cuda); '' for none.")
@click.option("--pip-index-url", metavar="URL", help="Index for the pip section when the file names none.")
@click.option("--pypi-mapping", metavar="FILE|URL", help="PyPI→conda name mapping (default: the one shipped with dlsetup).")
@_backend_opt
def env_lock(files, platforms, output, cuda, pip_index_url, pypi_mapping, backend):
    """Lock an environment file for one or more platforms into conda-lock.yml.

    Solving uses the embedded rattler solver through conda-lock's own code,
    pip section included; no conda executable is needed or downloaded.

    \b
    Examples:
      dlsetup env lock -f environment.yml
      dlsetup env lock -f environment.yml -p linux-64 -p osx-arm64
      dlsetup env lock -f envs/pytorch-cu126.yml --cuda 12.6 -o gpu-lock.yml
    """
    from dlsetup.envs import api, render

    r = api.lock_env(list(files), list(platforms), output, cuda=cuda, pip_index_url=pip_index_url,
                     pypi_mapping=pypi_mapping, backend=_b(backend))
    return emit(Result(command="env lock", data=r, render_text=render.lock))


@env.command("install")
@common_options
@click.argument("name")
@click.option("-f", "--file", "lockfile", required=True, metavar="conda-lock.yml|pylock.toml",
              help="The lock file to install (a pylock.toml makes a virtual environment).")
@_backend_opt
@click.option("--dry-run", is_flag=True, help="List what would be installed.")
@shell_option
def env_install(name, lockfile, backend, dry_run, shell):
    """Create environment NAME exactly as a conda-lock.yml says (conda packages, then pip packages).

    \b
    Examples:
      dlsetup env install dl -f conda-lock.yml
      dlsetup env install dl -f conda-lock.yml --dry-run
      dlsetup env install dl2 -f pylock.toml
    """
    from dlsetup.commands.shellchoice import choose
    from dlsetup.envs import api, render

    r = api.install_env(name, lockfile, backend=_b(backend), dry_run=dry_run)
    r.set_shell(choose(shell))
    return emit(Result(command="env install", data=r, render_text=render.create))


@env.command("pack")
@common_options
@click.argument("name")
@click.option("-o", "--output", "out", required=True, metavar="FILE|DIR", help="The bundle: a .tar file, or a folder.")
def env_pack(name, out):
    """Bundle environment NAME (its package archives and wheels, verified) for an offline machine.

    \b
    Examples:
      dlsetup env pack dl -o dl.tar
      dlsetup create env dl --from-bundle dl.tar     # on the other machine, no network
    """
    from pathlib import Path

    from dlsetup.offline import bundle, render

    r = bundle.pack_env(name, Path(out).expanduser().resolve(), tar=out.endswith(".tar"))
    return emit(Result(command="env pack", data=r, exit_code=0 if r.ok else 1, render_text=render.bundle))


@env.command("remove")
@common_options
@click.argument("name")
@_backend_opt
@click.option("--dry-run", is_flag=True, help="Say what would be removed.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
def env_remove(name, backend, dry_run, yes):
    """Remove environment NAME (never the active environment or base).

    \b
    Examples:
      dlsetup env remove dl-backup
      dlsetup env remove /data/envs/old --yes
    """
    from dlsetup.envs import api, render

    r = api.remove_env(name, backend=_b(backend), dry_run=dry_run, yes=yes)
    return emit(Result(command="env remove", data=r, render_text=render.remove))


@env.command("activate")
@common_options
@click.argument("name")
@shell_option
def env_activate(name, shell):
    """Print the lines that activate environment NAME in your shell (no shell hook needed).

    Works for conda-family environments (PATH, CONDA_PREFIX, the environment's variables and its
    etc/conda/activate.d scripts) and for virtual environments (their own activate script).

    \b
    Examples:
      eval "$(dlsetup env activate dl)"                       # bash, zsh
      dlsetup env activate dl --shell fish | source
      dlsetup env activate dl --shell powershell | Invoke-Expression
      dlsetup --json env activate dl --shell cmd
    """
    from dlsetup.commands.shellchoice import choose
    from dlsetup.envs import activation, api
    from dlsetup.envs.locations import looks_like_path

    prefix = api.find_env_prefix(name)
    act = activation.activation_for(prefix, None if looks_like_path(name) else name)
    sh = choose(shell)
    r = activation.ActivateResult(name=act.name, prefix=str(prefix), kind=act.kind, shell=sh,
                                  lines=activation.script_lines(act, sh), steps=activation.steps(act))
    return emit(Result(command="env activate", data=r,
                       render_text=lambda console, data: console.print("\n".join(data.lines), markup=False,
                                                                       highlight=False, soft_wrap=True)))
