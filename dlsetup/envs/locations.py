"""Where named environments live and how conda and mamba find them.

conda's rules (conda/base/context.py ``envs_dirs``, conda/core/envs_manager.py): named environments go in
the first writable directory of ``envs_dirs`` (``CONDA_ENVS_PATH`` / ``.condarc`` ``envs_dirs``, then
``<root>/envs`` and ``~/.conda/envs``); every environment is also listed in ``~/.conda/environments.txt``
(``register_env`` / ``unregister_env``), which mamba reads too; a directory is an environment when it
has ``conda-meta/history`` (conda/core/prefix_data.py; rattler writes an empty one for that reason).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dlsetup.errors import UsageError

# conda/base/context.py validate_prefix_name: these characters are refused in names.
_BAD_NAME = re.compile(r"[/\\ :#]")
RESERVED_NAMES = ("base", "root")


def home() -> Path:
    return Path(os.path.expanduser("~"))


def registry_path() -> Path:
    """``~/.conda/environments.txt``: the list of known environments conda and mamba share."""
    return home() / ".conda" / "environments.txt"


def root_prefix() -> Path | None:
    """The conda/mamba base installation, when one is known (never guessed from PATH alone).

    A candidate counts only when it really is one (it has ``conda-meta``; a micromamba root may have
    only ``envs``): a stray ``CONDA_ROOT`` pointing at a virtualenv must not make it "base".
    """
    env = os.environ
    candidates = [env.get("CONDA_ROOT"), env.get("MAMBA_ROOT_PREFIX")]
    if env.get("CONDA_EXE"):
        # <root>/bin/conda or <root>/condabin/conda
        candidates.append(str(Path(env["CONDA_EXE"]).expanduser().resolve().parent.parent))
    for value in candidates:
        if value:
            p = Path(value).expanduser()
            if (p / "conda-meta").is_dir() or (value == env.get("MAMBA_ROOT_PREFIX") and (p / "envs").is_dir()):
                return p
    return None


def envs_dirs() -> list[Path]:
    """conda's ``envs_dirs`` in priority order."""
    from dlsetup.toolconfig import conda

    rc = conda.load()
    configured = [Path(os.path.expandvars(p)).expanduser() for p in rc.get("envs_dirs", [])]
    defaults: list[Path] = []
    root = root_prefix()
    if root is not None:
        defaults.append(root / "envs")
    defaults.append(home() / ".conda" / "envs")
    return list(dict.fromkeys([*configured, *defaults]))


def _writable(d: Path) -> bool:
    probe = d
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def first_writable_envs_dir() -> Path:
    for d in envs_dirs():
        if _writable(d):
            return d
    raise UsageError("envs.error.no_envs_dir", dirs=", ".join(str(d) for d in envs_dirs()))


def validate_name(name: str) -> str:
    """A name conda would accept for ``-n``; raise a UsageError naming the problem otherwise."""
    if not name or _BAD_NAME.search(name) or name.startswith("."):
        raise UsageError("envs.error.bad_name", name=name)
    if name in RESERVED_NAMES:
        raise UsageError("envs.error.reserved_name", name=name)
    return name


def looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith("~") or name in (".", "..") or (os.altsep is not None and os.altsep in name)


def is_env(prefix: Path) -> bool:
    return (prefix / "conda-meta").is_dir() or is_venv(prefix)


def is_venv(prefix: Path) -> bool:
    """A virtual environment made by ``--backend venv`` (``pyvenv.cfg`` plus dlsetup's marker)."""
    return (prefix / "pyvenv.cfg").is_file() and (prefix / "etc" / "dlsetup" / "venv.json").is_file()


def venv_registry_path() -> Path:
    """dlsetup's list of venvs made at a path (conda drops non-conda entries from its environments.txt)."""
    from dlsetup.paths import state_dir

    return state_dir() / "venvs.txt"


def read_venv_registry() -> list[Path]:
    try:
        text = venv_registry_path().read_text(encoding="utf-8")
    except OSError:
        return []
    return [Path(line.strip()) for line in text.splitlines() if line.strip()]


def read_registry() -> list[Path]:
    try:
        text = registry_path().read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError:
        return []
    return [Path(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _registry_lock():
    from dlsetup.paths import state_dir
    from dlsetup.util.lock import FileLock

    d = state_dir()
    d.mkdir(parents=True, exist_ok=True)
    return FileLock(str(d / "environments.txt.lock"))


def register(prefix: Path) -> bool:
    """Add ``prefix`` to ``~/.conda/environments.txt`` (atomically); False when it was there already."""
    from dlsetup.util.atomic import write_text_atomic

    prefix = Path(os.path.abspath(prefix))
    with _registry_lock():
        current = read_registry()
        if any(_same(p, prefix) for p in current):
            return False
        lines = [str(p) for p in current] + [str(prefix)]
        write_text_atomic(registry_path(), "\n".join(lines) + "\n")
        return True


def unregister(prefix: Path) -> bool:
    """Remove ``prefix`` from ``~/.conda/environments.txt``; False when it was not listed."""
    from dlsetup.util.atomic import write_text_atomic

    prefix = Path(os.path.abspath(prefix))
    with _registry_lock():
        current = read_registry()
        kept = [p for p in current if not _same(p, prefix)]
        if len(kept) == len(current):
            return False
        write_text_atomic(registry_path(), "".join(f"{p}\n" for p in kept))
        return True


def _same(a: Path, b: Path) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def active_prefix() -> Path | None:
    value = os.environ.get("CONDA_PREFIX")
    return Path(value) if value else None


def is_active(prefix: Path) -> bool:
    active = active_prefix()
    return active is not None and _same(active, prefix)


def is_base(prefix: Path) -> bool:
    """The base (root) installation of conda/mamba, or any prefix that holds other environments."""
    root = root_prefix()
    if root is not None and _same(root, prefix):
        return True
    envs = prefix / "envs"
    return (prefix / "conda-meta").is_dir() and envs.is_dir() and any(is_env(p) for p in envs.iterdir() if p.is_dir())


def known_envs() -> list[tuple[str | None, Path, bool]]:
    """Every environment conda would list: (name or None, prefix, listed in environments.txt)."""
    registered = [p for p in read_registry() if is_env(p)]
    found: dict[str, tuple[str | None, Path, bool]] = {}
    root = root_prefix()
    if root is not None and is_env(root):
        found[os.path.normcase(str(root))] = ("base", root, any(_same(root, r) for r in registered))
    dirs = envs_dirs()
    for d in dirs:
        try:
            children = sorted(d.iterdir())
        except OSError:
            continue
        for child in children:
            if child.name.startswith(".") or not child.is_dir() or not is_env(child):
                continue
            key = os.path.normcase(str(child))
            found.setdefault(key, (child.name, child, any(_same(child, r) for r in registered)))
    for p in registered + [v for v in read_venv_registry() if is_venv(v)]:
        key = os.path.normcase(str(p))
        if key not in found:
            name = p.name if any(_same(p.parent, d) for d in dirs) else None
            found[key] = (name, p, True)
    return list(found.values())


def find_prefix(name_or_path: str) -> Path:
    """The prefix of an existing environment given by name (``demo``) or path; UsageError if unknown."""
    if looks_like_path(name_or_path):
        p = Path(name_or_path).expanduser().resolve()
        if not is_env(p):
            raise UsageError("envs.error.not_an_env", path=str(p))
        return p
    if name_or_path in RESERVED_NAMES:
        root = root_prefix()
        if root is not None and is_env(root):
            return root
        raise UsageError("envs.error.unknown_env", name=name_or_path)
    for d in envs_dirs():
        p = d / name_or_path
        if is_env(p):
            return p
    for p in read_registry() + read_venv_registry():
        if p.name == name_or_path and is_env(p):
            return p
    raise UsageError("envs.error.unknown_env", name=name_or_path)


def target_prefix(name_or_path: str) -> tuple[str | None, Path]:
    """Where ``create`` should build ``name_or_path``: (name or None, absolute prefix)."""
    if looks_like_path(name_or_path):
        return None, Path(name_or_path).expanduser().resolve()
    name = validate_name(name_or_path)
    return name, first_writable_envs_dir() / name
