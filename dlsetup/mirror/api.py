"""What other layers ask of the mirror layer, composed by the command layer (resolve never imports mirror):

* :func:`torch_wheel_source` — where the mirror applied with dlsetup serves a PyTorch variant.
* :func:`resolver_torch_variant` — the PyTorch variant dlsetup's resolver picks for this machine.
"""

from __future__ import annotations


def torch_wheel_source(variant: str) -> dict[str, str] | None:
    """``{"mirror", "url", "layout"}`` when the mirror applied with dlsetup serves ``variant``, else None."""
    from dlsetup.paths import state_dir

    if not (state_dir() / "mirror" / "journal").is_dir():
        return None  # no mirror applied: skip importing the journal and the catalogue (resolve's short path)
    from dlsetup.mirror import journal
    from dlsetup.mirror.catalog import load_catalog

    current = journal.current_mirror()
    if current is None or not current.mirror:
        return None
    from dlsetup.errors import DlsetupError

    try:
        m = load_catalog().find(current.mirror)
    except DlsetupError:  # a broken custom mirrors.toml (a usage error of its own) must not break resolve
        return None
    if m is None or m.torch is None or not m.torch.serves(variant):
        return None
    return {"mirror": m.id, "url": m.torch.url_for(variant), "layout": m.torch.layout}


def resolver_torch_variant() -> str | None:
    """The PyTorch variant (cu126, cpu, ...) dlsetup's resolver picks for this machine; None if it cannot tell."""
    from dlsetup.resolve import Request, live_machine, resolve

    resolution = resolve(Request(packages=["torch"], machine=live_machine()))
    if not getattr(resolution, "ok", False):
        return None
    for pkg in resolution.packages:
        if pkg.name == "torch" and pkg.variant:
            return str(pkg.variant)
    return None
