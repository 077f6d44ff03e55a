"""A stand-in for the conda / mamba / micromamba command lines (which cannot be installed on CI).

Where the replayed output comes from — none of it was recorded from a live tool on this machine, because
none can be installed here; every shape is taken from the tools' source, as cited:

* conda (conda/conda snapshot 0f64223, 2026-08-21): ``create --json`` prints
  ``{"success": true, "prefix": …, "actions": {"LINK": [dist_fields_dump…], "PREFIX": …}}``
  (conda/cli/common.py ``stdout_json_success``; conda/models/records.py ``dist_fields_dump``: base_url,
  build_number, build_string, channel, dist_name, name, platform, version); errors print
  ``CondaError.dump_map()`` (exception_type, exception_name, message, error, caused_by) and exit 1
  (conda/__init__.py); ``env list --json`` prints ``envs`` and ``envs_details`` {name, created,
  last_modified, active, base, frozen, writable} (conda/cli/main_info.py, conda ≥ 25.11); ``env export
  --json`` prints name/channels/dependencies/prefix; ``list --explicit --md5`` and ``list --export``
  print the text forms; ``--version`` prints ``conda X.Y.Z``.
* micromamba / mamba 2 (mamba-org/mamba snapshot 03564bf, 2026-07-24): ``create --json`` prints
  ``{"actions": {"FETCH": […], "LINK": […], "PREFIX": …}, "dry_run": …, "prefix": …, "success": true}``
  with repodata records (libmamba/src/core/transaction.cpp ``to_json``); ``env list --json`` prints
  ``envs`` only (libmamba/src/api/env.cpp); ``env export --json`` / ``--explicit`` / ``--no-build``
  (micromamba/src/env.cpp); ``--version`` prints a bare version; ``create --clone`` exists from 2.5.0
  (PR #4102) and does not copy untracked files.
* mamba 1: conda's command line; ``--version`` prints ``mamba 1.5.8`` then ``conda 24.3.0``.

It keeps real state so the whole flow can be checked: environments are directories under
``$FAKE_TOOL_ROOT/envs`` with ``conda-meta/<pkg>.json`` records and a conda-format history; a ``python``
package gets a venv-style interpreter (a symlink to the test's own Python) so dlsetup's
pip step really runs inside it. Every invocation is appended to ``$FAKE_TOOL_LOG`` as JSON.
Knobs: ``FAKE_TOOL_VERSION`` (version to report), ``FAKE_TOOL_FAIL=<subcommand>`` (fail it, after
leaving a half-made prefix, as conda can).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

TOOL = Path(sys.argv[0]).name
ARGS = sys.argv[1:]
ROOT = Path(os.environ.get("FAKE_TOOL_ROOT", "/nonexistent"))
HOST_PYTHON = os.path.realpath(os.environ.get("FAKE_TOOL_PYTHON", sys.executable))
PY_VER = f"{sys.version_info.major}.{sys.version_info.minor}"


def log() -> None:
    path = os.environ.get("FAKE_TOOL_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"tool": TOOL, "args": ARGS}) + "\n")


def out(doc) -> None:
    print(json.dumps(doc, indent=2))


def opt(*names: str) -> str | None:
    for i, a in enumerate(ARGS):
        if a in names and i + 1 < len(ARGS):
            return ARGS[i + 1]
    return None


def flag(*names: str) -> bool:
    return any(a in names for a in ARGS)


def positionals(skip_first: int) -> list[str]:
    takes_value = {"-n", "--name", "-p", "--prefix", "-c", "--channel", "-f", "--file", "--clone"}
    out_, i = [], skip_first
    while i < len(ARGS):
        a = ARGS[i]
        if a in takes_value:
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        out_.append(a)
        i += 1
    return out_


def registry() -> Path:
    return Path(os.path.expanduser("~")) / ".conda" / "environments.txt"


def register(prefix: Path) -> None:
    reg = registry()
    reg.parent.mkdir(parents=True, exist_ok=True)
    lines = reg.read_text().splitlines() if reg.exists() else []
    if str(prefix) not in lines:
        reg.write_text("".join(f"{ln}\n" for ln in [*lines, str(prefix)]))


def unregister(prefix: Path) -> None:
    reg = registry()
    if reg.exists():
        reg.write_text("".join(f"{ln}\n" for ln in reg.read_text().splitlines() if ln != str(prefix)))


def target() -> Path:
    if opt("-p", "--prefix"):
        return Path(opt("-p", "--prefix"))
    name = opt("-n", "--name")
    if name:
        return ROOT / "envs" / name
    return ROOT


def record(spec: str) -> dict:
    """A conda-meta record for a spec like ``numpy``, ``numpy=1.26`` or ``python=3.11=h0``."""
    spec = spec.split("::")[-1]
    parts = spec.replace(" ", "=").replace("==", "=").split("=")
    name = parts[0].strip()
    for ch in "<>!~":
        name = name.split(ch)[0]
    version = parts[1] if len(parts) > 1 and parts[1] and parts[1][0].isdigit() else ("3.11.7" if name == "python" else "1.0")
    build = parts[2] if len(parts) > 2 and parts[2] else "h0"
    fn = f"{name}-{version}-{build}.conda"
    return {"name": name, "version": version, "build": build, "build_number": 0, "channel":
            "https://conda.anaconda.org/conda-forge", "subdir": "noarch",
            "url": f"https://conda.anaconda.org/conda-forge/noarch/{fn}", "fn": fn,
            "md5": hashlib.md5(fn.encode()).hexdigest(), "depends": [], "files": []}


def dist_fields_dump(rec: dict) -> dict:
    return {"base_url": rec["channel"], "build_number": rec["build_number"], "build_string": rec["build"],
            "channel": "conda-forge", "dist_name": f"{rec['name']}-{rec['version']}-{rec['build']}",
            "name": rec["name"], "platform": rec["subdir"], "version": rec["version"]}


def specs_from_file(path: Path) -> list[str]:
    text = path.read_text()
    if "@EXPLICIT" in text:
        specs = []
        for ln in text.splitlines():
            if "://" in ln:
                stem = ln.split("#")[0].rsplit("/", 1)[1].removesuffix(".conda").removesuffix(".tar.bz2")
                n, v, b = stem.rsplit("-", 2)
                specs.append(f"{n}={v}={b}")
        return specs
    specs, in_deps = [], False
    for ln in text.splitlines():
        if ln.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and ln.startswith("  - ") and not ln.strip().endswith(":"):
            specs.append(ln.strip()[2:])
        elif in_deps and not ln.startswith(" "):
            in_deps = False
    return specs


def make_env(prefix: Path, specs: list[str]) -> list[dict]:
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    recs = [record(s) for s in specs]
    for rec in recs:
        (meta / f"{rec['name']}-{rec['version']}-{rec['build']}.json").write_text(json.dumps(rec))
        if rec["name"] == "python":
            (prefix / "bin").mkdir(exist_ok=True)
            os.symlink(HOST_PYTHON, prefix / "bin" / f"python{PY_VER}")
            os.symlink(f"python{PY_VER}", prefix / "bin" / "python")
            (prefix / "pyvenv.cfg").write_text(f"home = {os.path.dirname(HOST_PYTHON)}\ninclude-system-site-packages = false\n")
            (prefix / "lib" / f"python{PY_VER}" / "site-packages").mkdir(parents=True, exist_ok=True)
    if any(r["name"] == "pip" for r in recs):  # a working pip: the test interpreter's own, linked in
        import pip

        site = prefix / "lib" / f"python{PY_VER}" / "site-packages"
        site.mkdir(parents=True, exist_ok=True)
        src = Path(pip.__file__).parent
        os.symlink(src, site / "pip")
        for info in src.parent.glob("pip-*.dist-info"):
            os.symlink(info, site / info.name)
    with open(meta / "history", "a") as fh:
        fh.write(f"==> {time.strftime('%Y-%m-%d %H:%M:%S')} <==\n# cmd: {TOOL} {' '.join(ARGS)}\n")
        fh.write("".join(f"+conda-forge/noarch::{r['name']}-{r['version']}-{r['build']}\n" for r in recs))
        fh.write(f"# update specs: {specs!r}\n")
    return recs


def fail(prefix: Path | None) -> None:
    if prefix is not None:
        (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)  # conda can leave a half-made prefix
    if TOOL == "conda" or os.environ.get("FAKE_TOOL_VERSION", "").startswith("1."):
        out({"caused_by": "None", "error": "PackagesNotFoundError(packages=['nonexistent'])",
             "exception_name": "PackagesNotFoundError",
             "exception_type": "<class 'conda.exceptions.PackagesNotFoundError'>",
             "message": "The following packages are not available from current channels:\n\n  - nonexistent\n"})
    else:
        sys.stderr.write("critical libmamba Could not solve for environment specs\n"
                         "    The following package could not be installed\n    └─ nonexistent does not exist\n")
        out({"success": False})
    sys.exit(1)


def micromamba_like() -> bool:
    return TOOL == "micromamba" or (TOOL == "mamba" and not os.environ.get("FAKE_TOOL_VERSION", "2").startswith("1."))


def create() -> None:
    prefix = target()
    if os.environ.get("FAKE_TOOL_FAIL") == "create":
        fail(None if flag("--dry-run") else prefix)
    clone = opt("--clone")
    file = opt("-f", "--file")
    if clone:
        src = Path(clone) if "/" in clone else ROOT / "envs" / clone
        specs = [f"{r['name']}={r['version']}={r['build']}" for r in
                 (json.loads(p.read_text()) for p in sorted((src / "conda-meta").glob("*.json")))]
        if micromamba_like() and tuple(int(x) for x in os.environ.get("FAKE_TOOL_VERSION", "2.5.0").split(".")) < (2, 5, 0):
            sys.stderr.write("The following argument was not expected: --clone\n")
            sys.exit(109)
    elif file:
        specs = specs_from_file(Path(file))
    else:
        specs = positionals(1)
    recs = [record(s) for s in specs] if flag("--dry-run") else None
    if recs is None:
        if prefix.exists() and (prefix / "conda-meta").exists():
            sys.stderr.write(f"prefix already exists: {prefix}\n")
            sys.exit(1)
        recs = make_env(prefix, specs)
        if clone and not micromamba_like():  # conda's clone_env copies untracked files, text prefix replaced
            src = Path(clone) if "/" in clone else ROOT / "envs" / clone
            for f in src.rglob("*"):
                rel = f.relative_to(src)
                if rel.parts[0] in ("conda-meta", "bin", "lib", "pyvenv.cfg") or not f.is_file():
                    continue
                dst = prefix / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(f.read_text().replace(str(src), str(prefix)))
        register(prefix)
    if micromamba_like():
        full = [dict(r, build_string=r["build"]) for r in recs]
        out({"actions": {"FETCH": full, "LINK": full, "PREFIX": str(prefix)}, "dry_run": flag("--dry-run"),
             "prefix": str(prefix), "success": True})
    else:
        doc = {"actions": {"LINK": [dist_fields_dump(r) for r in recs], "PREFIX": str(prefix)}, "prefix": str(prefix),
               "success": True}
        if flag("--dry-run"):
            doc["dry_run"] = True
        out(doc)


def env_records(prefix: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((prefix / "conda-meta").glob("*.json"))]


def env_list() -> None:
    envs = [str(p) for p in sorted((ROOT / "envs").glob("*")) if (p / "conda-meta").is_dir()]
    if micromamba_like():
        out({"envs": envs})
        return
    details = {e: {"name": Path(e).name, "created": "2026-11-23T10:00:00", "last_modified": "2026-11-23T10:00:00",
                   "active": os.environ.get("CONDA_PREFIX") == e, "base": False, "frozen": False, "writable": True}
               for e in envs}
    out({"envs": envs, "envs_details": details})


def env_export() -> None:
    prefix = target()
    recs = env_records(prefix)
    if flag("--explicit", "-e"):
        print("# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n"
              "# platform: linux-64\n@EXPLICIT")
        for r in recs:
            print(f"{r['url']}#{r['md5']}")
        return
    no_build = flag("--no-builds", "--no-build")
    if flag("--no-builds") and micromamba_like():
        sys.stderr.write("The following argument was not expected: --no-builds\n")
        sys.exit(109)
    deps = [f"{r['name']}={r['version']}" + ("" if no_build else f"={r['build']}") for r in recs]
    if flag("--from-history"):
        text = (prefix / "conda-meta" / "history").read_text()
        deps = [s for ln in text.splitlines() if ln.startswith("# update specs:")
                for s in eval(ln.split(":", 1)[1])]  # noqa: S307 - our own history lines
    out({"name": prefix.name, "channels": ["conda-forge"], "dependencies": deps, "prefix": str(prefix)})


def conda_list() -> None:
    prefix = target()
    recs = env_records(prefix)
    if flag("--explicit"):
        print("# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n"
              "# platform: linux-64\n@EXPLICIT")
        for r in recs:
            print(f"{r['url']}" + (f"#{r['md5']}" if flag("--md5") else ""))
    elif flag("--export", "-e"):
        print("# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n"
              "# platform: linux-64")
        for r in recs:
            print(f"{r['name']}={r['version']}={r['build']}")
    else:
        out([{"name": r["name"], "version": r["version"], "build_string": r["build"]} for r in recs])


def env_remove() -> None:
    prefix = target()
    if not (prefix / "conda-meta").exists():
        out({"exception_name": "EnvironmentLocationNotFound", "message": f"Not a conda environment: {prefix}",
             "error": "EnvironmentLocationNotFound()", "caused_by": "None"})
        sys.exit(1)
    shutil.rmtree(prefix)
    unregister(prefix)
    out({"success": True, "actions": {"PREFIX": str(prefix)}} if not micromamba_like() else {"success": True})


def main() -> None:
    log()
    if ARGS[:1] in (["--version"], ["-V"]):
        v = os.environ.get("FAKE_TOOL_VERSION")
        if TOOL == "conda":
            print(f"conda {v or '25.11.0'}")
        elif TOOL == "mamba" and (v or "2").startswith("1."):
            print(f"mamba {v}\nconda 24.3.0")
        else:
            print(v or "2.5.0")
        return
    cmd = ARGS[:2]
    if cmd[0] == "create" or cmd == ["env", "create"]:
        if cmd == ["env", "create"]:
            ARGS.pop(0)
        create()
    elif cmd == ["env", "list"]:
        env_list()
    elif cmd == ["env", "export"]:
        env_export()
    elif cmd[0] == "list":
        conda_list()
    elif cmd == ["env", "remove"] or cmd[0] == "remove":
        env_remove()
    else:
        sys.stderr.write(f"{TOOL}: unsupported in this fake: {' '.join(ARGS)}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
