"""``dlsetup download``: argument parsing only (the work is in :mod:`dlsetup.download`)."""

from __future__ import annotations

import click

from dlsetup.cli import common_options, shell_option

HELP = """Download everything an environment needs, for this machine or another one, into a bundle.

Conda packages become a local channel (indexed with rattler), wheels a wheelhouse; a manifest records
every file's sha256, size and origin, and the target platform and Python. Downloads resume after a
dropped connection (also in a new run), are checked against the index/lock/repodata hashes, and fall
back file by file along the mirrors named with --mirror, then the upstream source. Install the bundle on a machine with no network with
`dlsetup create env NAME --from-bundle DIR`.

\b
SPECs are pip requirements, or conda match specs when --channel is given.

\b
Examples:
  dlsetup download torch numpy -o bundle/                     # wheels for this machine
  dlsetup download -f requirements.txt --python 3.11 --os windows -o win-bundle/
  dlsetup download --recipe pytorch --snapshot laptop.json --tar -o laptop.tar
  dlsetup download -c conda-forge python=3.11 numpy -o sci/
  dlsetup download -f conda-lock.yml -o locked/ --mirror tuna --mirror ustc
  dlsetup --json download -f pylock.toml --dry-run
  dlsetup download torch --os windows --python 3.12 --shell cmd -o win/   # follow-up for cmd.exe
"""


@click.command("download", help=HELP, context_settings={"max_content_width": 100})
@click.argument("specs", nargs=-1)
@click.option("-f", "--file", "file", metavar="FILE",
              help="environment.yml, conda-lock.yml, pylock.toml or requirements.txt.")
@click.option("--recipe", metavar="NAME", help="A stack fitted by the resolver to the target machine (pytorch, ...).")
@click.option("--snapshot", metavar="FILE", help="Plan for the machine a dlsetup snapshot describes.")
@click.option("--os", "os_name", metavar="linux|windows|macos", help="Plan for another OS.")
@click.option("--arch", metavar="x86_64|aarch64", help="Plan for another CPU architecture.")
@click.option("--python", "python", metavar="X.Y", help="Plan for another Python version.")
@click.option("--driver", metavar="VERSION", help="Plan for another NVIDIA driver (with --recipe).")
@click.option("--gpu-cc", "gpu_cc", metavar="X.Y", multiple=True, help="A GPU's compute capability (with --recipe).")
@click.option("--no-gpu", is_flag=True, help="Plan CPU-only builds.")
@click.option("--index-url", metavar="URL", help="The Python package index for the wheels.")
@click.option("-c", "--channel", "channels", multiple=True, metavar="CHANNEL",
              help="Conda channel name, URL or directory (repeatable).")
@click.option("--mirror", "mirrors", multiple=True, metavar="NAME",
              help="A catalogue mirror to fall back to, per file, when a file fails or has the wrong hash "
                   "(repeatable, in order; the upstream source comes last).")
@click.option("-o", "--output", "out", metavar="DIR|FILE",
              help="Bundle folder (default ./dlsetup-bundle), or the .tar file with --tar.")
@click.option("--tar", is_flag=True, help="Write one .tar file instead of a folder.")
@click.option("--dry-run", is_flag=True, help="List the files that would be downloaded.")
@shell_option
@common_options
def download(specs, file, recipe, snapshot, os_name, arch, python, driver, gpu_cc, no_gpu, index_url, channels,
             mirrors, out, tar, dry_run, shell):
    from dlsetup import exitcodes
    from dlsetup.offline import render
    from dlsetup.offline.plan import DownloadRequest, run
    from dlsetup.output import emit
    from dlsetup.result import Result

    res = run(DownloadRequest(specs=list(specs), file=file, recipe=recipe, snapshot=snapshot, os=os_name, arch=arch,
                              python=python, driver=driver, gpu_cc=tuple(gpu_cc), no_gpu=no_gpu, index_url=index_url,
                              channels=list(channels), mirrors=list(mirrors), out=out, tar=tar, dry_run=dry_run))
    from dlsetup.commands.shellchoice import choose

    res.set_shell(choose(shell, snapshot=snapshot, os_name=os_name))
    return emit(Result(command="download", data=res, exit_code=exitcodes.OK if res.ok else exitcodes.FAILED,
                       render_text=render.bundle))
