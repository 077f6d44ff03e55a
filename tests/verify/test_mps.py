"""verify on Apple silicon: the default macOS arm64 wheel runs on the GPU through MPS, so ``--device auto`` picks
"mps" there (torch.backends.mps.is_available()), and ``--device mps`` elsewhere is a clear note, not a crash.

The torch here is a stand-in for the parts Context reads (cuda.is_available, backends.mps.is_available, device):
this CI box has CPU torch on Linux, where MPS can never be available."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dlsetup" / "verify" / "suite"))
from dlverify.__main__ import Context  # noqa: E402


def _torch(mps: bool):
    return SimpleNamespace(
        __version__="2.15.0", version=SimpleNamespace(cuda=None),
        cuda=SimpleNamespace(is_available=lambda: False),
        backends=SimpleNamespace(mps=SimpleNamespace(is_available=lambda: mps)),
        device=lambda kind, index=None: f"{kind}" if index is None else f"{kind}:{index}")


@pytest.mark.parametrize("platform, mps, device", [("darwin", True, "mps"), ("darwin", False, "cpu"),
                                                   ("linux", True, "cpu")])
def test_auto_picks_mps_on_apple_silicon(monkeypatch, platform, mps, device):
    monkeypatch.setattr(sys, "platform", platform)
    ctx = Context({"device": "auto"}, channel=None, torch=_torch(mps), import_s=0.0)
    assert ctx.device == device and ctx.device_error is None


def test_mps_asked_for_where_it_is_not_available_is_a_note(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    ctx = Context({"device": "mps"}, channel=None, torch=_torch(True), import_s=0.0)
    assert ctx.device is None and "mps_unavailable" in str(ctx.device_error)


def test_plan_accepts_mps():
    from dlsetup.verify.plan import make_plan

    assert make_plan(device="mps").device == "mps"
