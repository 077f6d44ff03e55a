"""The generated-data loader's own matching (dlsetup.compat.generated): Python tags and PEP 440 specifiers, checked
against packaging (the reference implementation) on the specifier forms the index's metadata uses."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from dlsetup.compat import generated as gen

# Specifier forms seen in the recorded metadata (tests/compat/index_recordings): exact pins, jax's "<=X,>=X",
# floors with caps, Requires-Python, ~= (onnxruntime-gpu's nvidia-cudnn-cu13~=9.0), != exclusions.
SPECS = [">=2.14.0", "==2.5.0", "<=0.4.38,>=0.4.38", ">=3.10", "<3.13,>=3.9", "!=3.9.1,>=3.8", "~=13.0",
         ">=9.8,<10.0", ">=3.8.0", "==2.21.5"]
VERSIONS = ["2.5.0", "2.14", "2.14.0", "0.4.38", "0.4.38.1", "3.9.0", "3.9.1", "3.10.0", "3.13.0", "13.2",
            "9.10.2.21", "10.0", "2.21.5"]


@pytest.mark.parametrize("spec", SPECS)
def test_spec_contains_agrees_with_packaging(spec):
    for v in VERSIONS:
        assert gen.spec_contains(spec, v) == SpecifierSet(spec).contains(v, prereleases=True), (spec, v)


def test_python_tags_and_requires_python():
    row = {"requires_python": ">=3.10", "wheels": {"linux-x86_64": {"py3": "2.28"}, "windows-x86_64": {"3.12": ""},
                                                   "macos-arm64": {"abi3:3.9": "11.0"}}}
    assert gen.wheel_floor(row, "linux-x86_64", "3.15") == "2.28"
    assert gen.wheel_floor(row, "linux-x86_64", "3.9") is None  # py3 wheel, but Requires-Python >=3.10
    assert gen.wheel_floor(row, "windows-x86_64", "3.12") == "" and gen.wheel_floor(row, "windows-x86_64", "3.13") is None
    assert gen.wheel_floor(row, "macos-arm64", "3.11") == "11.0"
    assert gen.wheel_floor(row, "macos-arm64", "3.13t") is None  # abi3 does not serve free-threaded builds
    assert gen.wheel_floor({"wheels": {"linux-x86_64": {"3.13t": "2.28"}}}, "linux-x86_64", "3.13") is None


def test_the_user_copy_wins_only_when_complete_and_newer(isolated_env):
    gen.load_group.cache_clear()
    try:
        shipped = gen.load_group("mindspore")
        user = gen.user_dir()
        user.mkdir(parents=True)
        (user / "mindspore.json").write_text('{"schema": 1, "generated": "2099-01-01T00:00:00Z", "projects": {}}')
        gen.load_group.cache_clear()
        assert gen.load_group("mindspore")["_origin"] == "shipped"  # no manifest: an interrupted refresh
        (user / "manifest.json").write_text("{}")
        gen.load_group.cache_clear()
        assert gen.load_group("mindspore")["_origin"] == str(user / "mindspore.json")
        (user / "mindspore.json").write_text('{"schema": 99, "projects": {}}')
        gen.load_group.cache_clear()
        assert gen.load_group("mindspore")["_origin"] == "shipped" and shipped["projects"]
    finally:
        gen.load_group.cache_clear()
