"""The procedural glyph dataset the training stage learns: seeded, balanced, distinct classes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dlsetup" / "verify" / "suite"))


def test_same_seed_same_tensors_other_seed_other_tensors():
    import torch
    from dlverify.glyphs import make_dataset

    cpu = torch.device("cpu")
    x1, y1 = make_dataset(600, 5, cpu, chunk=256)
    x2, y2 = make_dataset(600, 5, cpu, chunk=256)
    x3, _ = make_dataset(600, 6, cpu, chunk=256)
    assert x1.shape == (600, 1, 28, 28) and y1.shape == (600,) and x1.dtype == torch.float32
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert torch.isfinite(x1).all()
    counts = torch.bincount(y1, minlength=10)
    assert counts.min() > 30  # every class present, roughly balanced


def test_classes_differ_more_than_samples_within_a_class():
    import torch
    from dlverify.glyphs import make_dataset

    x, y = make_dataset(2000, 1, torch.device("cpu"))
    means = torch.stack([x[y == c].mean(0).flatten() for c in range(10)])
    between = torch.cdist(means, means)
    assert between[~torch.eye(10, dtype=torch.bool)].min() > 1.0
