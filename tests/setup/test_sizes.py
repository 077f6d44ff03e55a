"""Which wheel pip would download, and its size, from a real index page (PyPI's torch page, reduced)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from dlsetup.setup.sizes import pick_wheel, pip_sizes
from tests.envs import channel_builder as cb

PAGE = Path(__file__).resolve().parent.parent / "fixtures" / "indexes" / "pypi-simple-torch-2.9.html"
URL = "https://pypi.org/simple/torch/"

linux_x86_64 = pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
                                  reason="the expected wheel names are the Linux x86_64 ones")


@linux_x86_64
def test_picks_the_wheel_for_the_environments_python_not_this_one():
    page = PAGE.read_text(encoding="utf-8")
    for py in ("3.10", "3.12", "3.13"):
        url = pick_wheel(page, URL, "torch", SpecifierSet("==2.9.1"), py)
        tag = f"cp{py.replace('.', '')}"
        assert url is not None and url.endswith(f"/torch-2.9.1-{tag}-{tag}-manylinux_2_28_x86_64.whl"), (py, url)
        assert url.startswith("https://files.pythonhosted.org/packages/") and "#" not in url
    # the pin decides the version; a version or Python the page does not have gives None
    assert "torch-2.9.0-cp312" in pick_wheel(page, URL, "torch", SpecifierSet("==2.9.0"), "3.12")
    assert pick_wheel(page, URL, "torch", SpecifierSet("==2.8.0"), "3.12") is None
    assert pick_wheel(page, URL, "torch", SpecifierSet("==2.9.1"), "3.8") is None
    assert pick_wheel(page, URL, "torchvision", SpecifierSet("==2.9.1"), "3.12") is None


def test_sizes_from_a_loopback_index(tmp_path):
    small = cb.make_wheel(tmp_path / "w", "dlsetup-size-a", "1.0")
    big = cb.make_wheel(tmp_path / "w", "dlsetup-size-b", "2.0",
                        modules={"dlsetup_size_b/data.py": "x = '" + "0123456789" * 5000 + "'\n"})
    cb.write_simple_index(tmp_path / "index", [small, big])
    with cb.LocalIndex(tmp_path / "index") as index:
        sizes = pip_sizes(["dlsetup-size-a==1.0", "dlsetup-size-b==2.0", "dlsetup-size-b==9.9", "--find-links x"],
                          index.url, None)
    assert sizes == {"dlsetup-size-a==1.0": small.stat().st_size, "dlsetup-size-b==2.0": big.stat().st_size,
                     "dlsetup-size-b==9.9": None}
    # an index out of reach: unknown, not an error
    assert pip_sizes(["x==1"], "http://127.0.0.1:9/simple/", None) == {"x==1": None}
