"""Hugging Face: ``HF_ENDPOINT``. huggingface_hub reads it from the environment at import time, so
there is no file of its own to edit:

* user scope — a shell snippet ``<dlsetup config>/hf-endpoint.sh`` with ``export HF_ENDPOINT=...``; the
  user sources it (the ``source`` line is printed to add to ``~/.bashrc``; dlsetup never edits shell rc files);
* env scope inside a conda env — ``<prefix>/conda-meta/state`` ``env_vars``, exactly what
  ``conda env config vars set HF_ENDPOINT=...`` writes (conda exports it on ``conda activate``).
"""

from __future__ import annotations

from dlsetup.mirror.writers import Context, Report, condaenv

SNIPPET_HEADER = (
    "# Written by `dlsetup mirror`: the Hugging Face endpoint.\n"
    "# Load it in every shell by adding this line to ~/.bashrc (or ~/.zshrc):\n"
    "#   source {path}\n"
)


def apply_snippet(text: str | None, ctx: Context, report: Report) -> str | None:
    m = ctx.mirror
    assert m is not None and m.hf
    from dlsetup.platform.shell import render, set_env

    new = SNIPPET_HEADER.format(path=report.path) + render(set_env("HF_ENDPOINT", m.hf), "bash") + "\n"
    if new != text:
        report.change(f"export HF_ENDPOINT={m.hf}")
    report.note("mirror.note.hf_source", path=str(report.path))
    from dlsetup.platform import current
    from dlsetup.platform.shell import detect_shell, persist_env, render_lines

    plat = current()
    shell = detect_shell(plat)
    if plat.is_windows or shell in ("powershell", "cmd", "fish"):
        # No ~/.bashrc to source from: the shell's own persistent form (setx on Windows, set -Ux in fish).
        report.note("mirror.note.hf_persist", command=" ; ".join(render_lines(persist_env("HF_ENDPOINT", m.hf), shell)))
    return new


def reset_snippet(text: str | None, ctx: Context, report: Report) -> str | None:
    if text is None:
        return None
    report.change("HF_ENDPOINT snippet (removed)")
    return None


def apply_conda_state(text: str | None, ctx: Context, report: Report) -> str | None:
    m = ctx.mirror
    assert m is not None and m.hf
    new = condaenv.set_vars(text, {"HF_ENDPOINT": m.hf}, report)
    if new != text:
        report.note("mirror.note.hf_conda_env", value=m.hf)
    return new


def reset_conda_state(text: str | None, ctx: Context, report: Report) -> str | None:
    return condaenv.unset_vars(text, ["HF_ENDPOINT"], report)
