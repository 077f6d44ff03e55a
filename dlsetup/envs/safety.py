"""What ``env remove`` may delete, and what an environment name or path may contain.

Seen before these checks: ``dlsetup env remove "$HOME"`` deleted the home folder (it held an empty
``conda-meta/``) and exited 0; a symlink to an environment deleted the link's target; the
active-environment guard compared ``CONDA_PREFIX`` as written, so a symlinked path slipped past it;
a name with a newline corrupted ``~/.conda/environments.txt``.

Rules:

* only a real environment is removed: ``conda-meta/history`` (conda, mamba, rattler and dlsetup all
  write it) or at least one package record ``conda-meta/*.json``, or a venv dlsetup made (``pyvenv.cfg``
  and dlsetup's marker);
* never ``$HOME``, the file-system root, an envs directory, the base installation, the running
  interpreter's environment, the active one (``CONDA_PREFIX``/``VIRTUAL_ENV``), nor a folder that
  holds any of them; all compared by real path;
* a path argument that is a symlink removes the link, never its target;
* a removal asks first; without a terminal it needs ``--yes``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from dlsetup.errors import UsageError

# C0/C1 controls, DEL, bidi overrides and isolates, line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def check_text(value: str) -> str:
    """An environment name or path must be printable: a newline would split ``environments.txt``."""
    if _CONTROL.search(value):
        raise UsageError("safety.error.control_in_name", name=value.encode("unicode_escape").decode("ascii"))
    return value


def _real(p: str | os.PathLike[str] | None) -> str | None:
    if not p:
        return None
    try:
        return os.path.normcase(os.path.realpath(os.path.expanduser(str(p))))
    except (OSError, ValueError):
        return None


def _protected() -> dict[str, str]:
    """Real path -> what it is, for every place env remove must never delete (nor a parent of)."""
    from dlsetup.envs import locations

    out: dict[str, str] = {}

    def add(p, what: str) -> None:
        r = _real(p)
        if r:
            out.setdefault(r, what)

    add(os.path.expanduser("~"), "home")
    add(os.environ.get("HOME"), "home")
    add(os.environ.get("USERPROFILE"), "home")
    add(sys.prefix, "running")
    add(sys.base_prefix, "running")
    add(os.environ.get("CONDA_PREFIX"), "active")
    add(os.environ.get("VIRTUAL_ENV"), "active")
    root = locations.root_prefix()
    add(root, "base")
    for d in locations.envs_dirs():
        add(d, "envs_dir")
    return out


def is_real_env(prefix: Path) -> bool:
    """conda's test (a ``conda-meta/history`` file, or package records), or a venv dlsetup made (its marker)."""
    from dlsetup.envs import locations

    if locations.is_venv(prefix):
        return True
    meta = prefix / "conda-meta"
    if (meta / "history").is_file():
        return True
    try:
        return any(e.name.endswith(".json") and e.is_file() for e in os.scandir(meta))
    except OSError:
        return False


def check_removable(prefix: Path) -> None:
    """Raise UsageError unless ``prefix`` is an environment env remove may delete."""
    real = _real(prefix)
    if real is None:
        raise UsageError("envs.error.not_an_env", path=str(prefix))
    anchor = os.path.normcase(os.path.abspath(os.sep if os.name != "nt" else Path(real).anchor))
    if real == anchor or Path(real).parent == Path(real):
        raise UsageError("safety.error.remove_protected", prefix=str(prefix), what="/")
    for p, what in _protected().items():
        if real == p or p.startswith(real.rstrip(os.sep) + os.sep):
            if what == "active":
                raise UsageError("envs.error.remove_active", prefix=str(prefix))
            if what == "base":
                raise UsageError("envs.error.remove_base", prefix=str(prefix))
            if what == "running":
                raise UsageError("envs.error.remove_self", prefix=str(prefix))
            raise UsageError("safety.error.remove_protected", prefix=str(prefix), what=p)
    if not is_real_env(Path(real)):
        raise UsageError("safety.error.not_a_real_env", prefix=str(prefix))


def symlink_argument(name_or_path: str) -> Path | None:
    """The link itself when a path argument is a symlink (to be unlinked, not followed); else None."""
    from dlsetup.envs import locations

    if not locations.looks_like_path(name_or_path):
        return None
    p = Path(os.path.abspath(os.path.expanduser(name_or_path.rstrip("/\\") or name_or_path)))
    return p if p.is_symlink() else None


def confirm(prefix: Path, yes: bool, *, link: bool = False) -> None:
    """Ask before removing; without a terminal, ``--yes`` is required (exit 2 otherwise)."""
    if yes:
        return
    stdin = sys.stdin
    interactive = bool(stdin and hasattr(stdin, "isatty") and stdin.isatty())
    if not interactive:
        raise UsageError("safety.error.remove_needs_yes", prefix=str(prefix))
    import click

    from dlsetup.i18n import t

    question = t("safety.confirm.remove_link" if link else "safety.confirm.remove", prefix=str(prefix))
    if not click.confirm(question, default=False, err=True):
        raise UsageError("safety.error.remove_declined", prefix=str(prefix))
