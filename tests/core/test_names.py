"""One PEP 503 name normaliser, and it agrees with packaging's."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "dlsetup"


@pytest.mark.parametrize("name", ["Torch_Vision", "torch.vision", "TORCH--vision", "a-_.b", "nvidia-cudnn-cu12",
                                  "zope.interface", "Paddle_Paddle-GPU"])
def test_one_name_normaliser_agrees_with_packaging(name):
    from packaging.utils import canonicalize_name

    from dlsetup.util.names import canonical_name, same_project

    assert canonical_name(name) == canonicalize_name(name)
    assert same_project(name.replace("-", "_"), name)


def test_no_other_module_writes_pep503_out():
    pattern = '[-_.]+'
    bad = [str(p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py")
           if pattern in p.read_text(encoding="utf-8") and p.name != "names.py"]
    assert bad == []
