"""dlsetup resolve: pick compatible framework builds for this (or another) machine."""

from __future__ import annotations

import click

from dlsetup.cli import common_options, shell_option

HELP = """Pick the framework builds that fit this machine and print the install commands.

Checks the NVIDIA driver against each build's CUDA (minor-version compatibility), every GPU's
compute capability against the build's kernels, the Python version and the platform; prefers the
newest release, then the newest CUDA line. Never falls back to a CPU build on a GPU machine:
when nothing fits it says why and what would change the answer (exit code 1).

\b
PACKAGES: torch (default), torchvision, torchaudio, tensorflow, jax, paddlepaddle, onnxruntime, mindspore,
with optional version specifiers (torch==2.6.*).

\b
Environment (for builds without a GPU, e.g. docker build): DLSETUP_GPU (names or PCI ids, separated by
commas), DLSETUP_GPU_CC, DLSETUP_DRIVER, DLSETUP_PYTHON act as --gpu, --gpu-cc, --driver and --python.

\b
Examples:
  dlsetup resolve                          # torch for this machine
  dlsetup resolve torch torchvision --explain
  dlsetup resolve "torch==2.6.*" --cuda 12.6
  dlsetup resolve tensorflow --json
  dlsetup resolve torch --gpu-cc 6.1 --driver 580.95.05 --python 3.11   # plan for another box
  dlsetup resolve torch --gpu-cc 8.6 --gpu-cc 12.0                     # mixed GPUs
  dlsetup resolve torch --gpu "RTX 3060"                               # by name (or --gpu 10de:2504)
  dlsetup resolve torch --gpu "rx 7900 xtx"                            # AMD: the ROCm build
  DLSETUP_GPU="RTX 4090" DLSETUP_DRIVER=580.95.05 dlsetup resolve      # docker build: no GPU at build time
  dlsetup resolve --snapshot node7.json                                # a saved doctor snapshot
  dlsetup resolve torch --no-gpu                                       # CPU-only build
  dlsetup resolve torch --check-index                                  # are the wheels really there?
  dlsetup resolve jax --refresh                                        # with the index's newest releases
  dlsetup resolve torch --os windows --shell cmd                       # commands for Anaconda Prompt
"""


@click.command("resolve", help=HELP, context_settings={"max_content_width": 100})
@click.argument("packages", nargs=-1)
@click.option("--snapshot", "snapshot", metavar="FILE", help="Plan for the machine in a saved snapshot.")
@click.option("--os", "os_name", metavar="linux|windows|macos", help="Plan for another OS.")
@click.option("--arch", metavar="x86_64|aarch64", help="Plan for another CPU architecture.")
@click.option("--python", "python", metavar="X.Y", envvar="DLSETUP_PYTHON", help="Plan for another Python version.")
@click.option("--driver", metavar="VERSION", envvar="DLSETUP_DRIVER",
              help="Plan for another NVIDIA driver, e.g. 580.95.05.")
@click.option("--gpu", "gpu", metavar="NAME|PCI_ID", multiple=True,
              help="A GPU by name or PCI id (\"RTX 3060\", \"rtx 3060 laptop\", 10de:2504; repeatable, "
                   "mixes with --gpu-cc); replaces the probed GPUs.")
@click.option("--gpu-cc", "gpu_cc", metavar="X.Y", multiple=True, envvar="DLSETUP_GPU_CC",
              help="A GPU's compute capability (repeat for several GPUs); replaces the probed GPUs.")
@click.option("--no-gpu", is_flag=True, help="Plan CPU-only builds.")
@click.option("--glibc", metavar="X.Y", help="Plan for another glibc version (Linux).")
@click.option("--cuda", metavar="X.Y", help="Only builds of this CUDA line, e.g. 12.6.")
@click.option("--explain", is_flag=True, help="Show every rejected candidate and the source of every fact.")
@click.option("--check-index", is_flag=True, help="Ask the index whether the chosen wheels exist for this platform.")
@click.option("--index-url", metavar="URL", help="With --check-index: ask this index instead of the chosen one.")
@click.option("--refresh", is_flag=True, help="First fetch the newest release data from the package index "
              "(same as dlsetup compat refresh).")
@shell_option
@common_options
def resolve(packages, snapshot, os_name, arch, python, driver, gpu, gpu_cc, no_gpu, glibc, cuda, explain, check_index,
            index_url, refresh, shell):
    from dlsetup import exitcodes
    from dlsetup.hw.db import gpus_from_env
    from dlsetup.mirror.api import torch_wheel_source
    from dlsetup.output import emit
    from dlsetup.resolve.render import render
    from dlsetup.resolve.service import run
    from dlsetup.result import Result

    res = run(packages, cuda=cuda, explain=explain, check_index=check_index, index_url=index_url, refresh=refresh,
              wheel_source=torch_wheel_source,
              snapshot=snapshot, os=os_name, arch=arch, python=python, driver=driver, gpu_cc=gpu_cc,
              no_gpu=no_gpu, glibc=glibc, gpu=gpu or gpus_from_env())
    if shell:
        res.set_shell(shell)
    return emit(Result(command="resolve", data=res, exit_code=exitcodes.OK if res.ok else exitcodes.FAILED,
                       render_text=render))
