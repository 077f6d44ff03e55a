"""Recipes: a named stack (``recipes/*.toml``, shipped as ``dlsetup.recipes``) fitted to a machine.

A recipe names frameworks and supporting packages, never versions. ``plan`` asks the resolver
(``dlsetup.resolve``) which framework build this machine — or the machine a snapshot describes — needs:
CPU or the CUDA line its driver and GPUs allow, the index that serves it, and a Python that build has
wheels for. The conda part (Python, pip, the scientific stack) comes from the recipe's channels; the
frameworks go in the pip section, installed with the environment's own pip from the resolver's index.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from typing import Any

from dlsetup.envs.model import EnvSpec, RecipePlan
from dlsetup.errors import OperationFailed, UsageError
from dlsetup.util import toml

REQUIRED = {"name": str, "description": str, "frameworks": list, "conda": list, "pip": list, "channels": list,
            "python": list}


@lru_cache(maxsize=1)
def _all() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in resources.files("dlsetup.recipes").iterdir():
        if entry.name.endswith(".toml"):
            name = entry.name[: -len(".toml")]
            try:
                data = toml.loads(entry.read_text(encoding="utf-8"))
            except toml.TOMLDecodeError as exc:
                raise UsageError("envs.error.bad_recipe", name=name, reason=str(exc)) from None
            validate(name, data)
            out[name] = data
    return out


def validate(name: str, data: dict[str, Any]) -> None:
    for key, typ in REQUIRED.items():
        if not isinstance(data.get(key), typ):
            raise UsageError("envs.error.bad_recipe", name=name, reason=f"'{key}' must be a {typ.__name__}")
    if data["name"] != name:
        raise UsageError("envs.error.bad_recipe", name=name, reason=f"name is {data['name']!r}, file says {name!r}")
    if data.get("variant") not in (None, "cpu"):
        raise UsageError("envs.error.bad_recipe", name=name, reason="variant may only be 'cpu'")
    if not data["python"]:
        raise UsageError("envs.error.bad_recipe", name=name, reason="'python' lists no version")


def names() -> list[str]:
    return sorted(_all())


def load(name: str) -> dict[str, Any]:
    recipes = _all()
    if name not in recipes:
        raise UsageError("envs.error.unknown_recipe", name=name, known=", ".join(sorted(recipes)))
    return recipes[name]


def describe_machine(machine) -> str:
    """One line a person recognises: ``linux x86_64, no NVIDIA GPU`` / ``… RTX 4090 (8.9), driver 550 (CUDA 12.4)``."""
    from dlsetup.i18n import t

    where = f"{machine.os} {machine.arch}" + (" (WSL2)" if machine.wsl else "")
    if machine.no_gpu:
        return t("envs.machine.cpu_only", where=where)
    if not machine.gpus:
        return t("envs.machine.no_gpu", where=where)
    labels: dict[str, int] = {}
    for g in machine.gpus:
        label = f"{g.name or 'GPU'}" + (f" ({g.cc})" if g.cc else "")
        labels[label] = labels.get(label, 0) + 1
    gpus = ", ".join(f"{n}× {label}" if n > 1 else label for label, n in labels.items())
    if not machine.driver:
        return t("envs.machine.gpus_no_driver", where=where, gpus=gpus)
    cuda = f" (CUDA {machine.cuda_driver})" if machine.cuda_driver else ""
    return t("envs.machine.gpus", where=where, gpus=gpus, driver=machine.driver, cuda=cuda)


def plan(name: str, *, python: str | None = None, snapshot=None, snapshot_path: str | None = None,
         wheel_source=None, machine=None, gpu: list[str] | tuple[str, ...] = (),
         python_by: str | None = None) -> tuple[EnvSpec, RecipePlan]:
    """The environment a recipe means on this machine (or on the snapshot's, or on ``machine``, or for the GPUs named
    by ``gpu``: names or PCI ids, as ``resolve --gpu``): spec + the resolver's story.

    ``python``: the user's ``--python`` (the machine's reason says "from the command line"), or with ``python_by``
    who else chose it ("local": the Python installed here that a virtual environment needs). Without it the recipe
    picks from its own list, and the reason names the recipe."""
    from dlsetup.resolve import Request, apply_overrides, live_machine, machine_from_snapshot, resolve

    recipe = load(name)
    if machine is not None:
        base = machine
    elif snapshot is not None:
        base = machine_from_snapshot(snapshot, source=f"snapshot {snapshot_path}")
    elif gpu:
        from dlsetup.resolve.machine import bare_machine

        base = bare_machine()  # the GPU is named, not probed (a docker build has none)
    else:
        base = live_machine()
    if gpu:
        base = apply_overrides(base, gpu=list(gpu))
    candidates = [python] if python else list(recipe["python"])
    resolution = None
    machine = base
    for py in candidates:
        machine = apply_overrides(copy.deepcopy(base), python=py, no_gpu=recipe.get("variant") == "cpu",
                                  chosen_by=python_by if python else f"recipe:{name}")
        resolution = resolve(Request(packages=list(recipe["frameworks"]), machine=machine, wheel_source=wheel_source))
        if resolution.ok:
            break
    assert resolution is not None
    desc = describe_machine(machine)
    if not resolution.ok:
        why = [r.detail or r.rule for r in resolution.rejected[:2]] + [h.text for h in resolution.hints[:2]]
        raise OperationFailed("envs.error.recipe_unresolved", recipe=name, framework=", ".join(recipe["frameworks"]),
                              machine=desc, reason="; ".join(w for w in why if w) or "-")
    py = machine.python
    packages = list(resolution.packages)
    spec = EnvSpec(conda=[f"python={py}", *recipe["conda"], "pip"], channels=list(recipe["channels"]),
                   source=f"recipe:{name}", kind="specs")
    spec.pip = [p.requirement for p in packages] + list(recipe["pip"])
    index = next((p.index_url for p in packages if p.index_kind == "index-url" and p.index_url), None)
    extras = [p.index_url for p in packages if p.index_kind == "extra-index-url" and p.index_url]
    for link in dict.fromkeys(p.index_url for p in packages if p.index_kind == "find-links" and p.index_url):
        spec.pip.append(f"--find-links {link}")  # 1.x-era torch_stable.html pages
    if index and recipe["pip"]:
        # the recipe's other pip packages are not on the framework's index: keep the user's index too
        from dlsetup.envs.pip import configured_index

        extras.append(configured_index() or "https://pypi.org/simple")
    spec.pip_index_url = index
    spec.pip_extra_index_urls = list(dict.fromkeys(extras))
    from dlsetup.result import to_jsonable

    variant = next((p.variant for p in packages if p.variant), None)
    rplan = RecipePlan(recipe=name, description=recipe["description"], machine_text=desc, python=py, variant=variant,
                       cuda=resolution.cuda, cudnn=resolution.cudnn,
                       frameworks=[to_jsonable(p) for p in packages],
                       reasons=[{"text": r.text, "source": r.source} for r in resolution.reasons],
                       warnings=list(resolution.warnings), snapshot=snapshot_path)
    return spec, rplan
