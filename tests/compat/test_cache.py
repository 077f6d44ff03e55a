"""The parsed-table cache in cache_dir()/compat/: keyed on the data file's bytes, never stale, never fatal.

Parsing pytorch.toml costs ~100 ms, so dlsetup keeps the parsed tables as JSON. These tests edit copies of the
real data files in a temporary data directory and check that an edit is seen at once, that a planted stale or
broken cache entry is never served, and that an unwritable cache only costs a re-parse.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from dlsetup.compat import tables

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch):
    """A private copy of the shipped data directory and an empty cache directory; load() starts cold."""
    data = tmp_path / "data"
    shutil.copytree(tables.DATA_DIR, data)
    cache = tmp_path / "cache"
    monkeypatch.setattr(tables, "DATA_DIR", data)
    monkeypatch.setenv("DLSETUP_CACHE_DIR", str(cache))
    tables.load.cache_clear()
    yield data, cache / "compat"
    tables.load.cache_clear()


def _cache_files(cache: Path, name: str) -> list[Path]:
    return sorted(cache.glob(f"{name}-*.json"))


def test_first_load_writes_the_cache_keyed_on_the_file_bytes(data_copy):
    data, cache = data_copy
    raw = (data / "driver_branches.toml").read_bytes()
    loaded = tables.load("driver_branches")
    files = _cache_files(cache, "driver_branches")
    assert [f.name for f in files] == [tables.cache_key("driver_branches", raw) + ".json"]
    assert json.loads(files[0].read_text(encoding="utf-8")) == tomllib.loads(raw.decode())
    assert loaded["branch"][0]["branch"] == tomllib.loads(raw.decode())["branch"][0]["branch"]


def test_an_edited_data_file_is_seen_at_once_and_the_old_entry_pruned(data_copy):
    data, cache = data_copy
    path = data / "driver_branches.toml"
    before = tables.load("driver_branches")
    assert any(r["branch"] == 580 for r in before["branch"])
    old_files = _cache_files(cache, "driver_branches")
    # Change one fact without changing the file's length.
    text = path.read_text(encoding="utf-8")
    assert "cuda = \"13.0\"" in text
    path.write_text(text.replace("cuda = \"13.0\"", "cuda = \"13.9\"", 1), encoding="utf-8")
    tables.load.cache_clear()
    after = tables.load("driver_branches")
    assert next(r for r in after["branch"] if r["branch"] == 580)["cuda"] == "13.9"
    new_files = _cache_files(cache, "driver_branches")
    assert len(new_files) == 1 and new_files != old_files


def test_a_planted_stale_entry_under_another_key_is_never_served(data_copy):
    data, cache = data_copy
    cache.mkdir(parents=True)
    raw = (data / "gpu_archs.toml").read_bytes()
    # What an older copy of the file would have cached: same name, a key that no longer matches.
    stale = cache / f"gpu_archs-{len(raw)}-00000000deadbeef.json"
    stale.write_text(json.dumps({"arch": [{"cc": "6.1", "name": "STALE", "source": "x", "confidence": "verified"}]}))
    loaded = tables.load("gpu_archs")
    assert all(r["name"] != "STALE" for r in loaded["arch"])
    assert not stale.exists()  # pruned when the current entry was written


@pytest.mark.parametrize("content", ["{not json", "[1, 2, 3]", ""])
def test_a_broken_cache_entry_is_parsed_again(data_copy, content):
    data, cache = data_copy
    cache.mkdir(parents=True)
    raw = (data / "compilers.toml").read_bytes()
    entry = cache / (tables.cache_key("compilers", raw) + ".json")
    entry.write_text(content)
    loaded = tables.load("compilers")
    want = tomllib.loads(raw.decode())["gcc"]
    assert [(r["cuda"], r["min"], r["max_exclusive"]) for r in loaded["gcc"]] == \
        [(r["cuda"], r["min"], r["max_exclusive"]) for r in want]
    assert json.loads(entry.read_text()) == tomllib.loads(raw.decode())  # repaired


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions")
def test_an_unwritable_cache_only_costs_a_parse(data_copy):
    data, cache = data_copy
    cache.parent.mkdir(parents=True)
    cache.parent.chmod(0o500)
    try:
        assert tables.load("jax")["package"]["name"] == "jax"
    finally:
        cache.parent.chmod(0o700)


def test_a_cache_path_that_cannot_be_a_directory_only_costs_a_parse(data_copy):
    data, cache = data_copy
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the cache directory should be")
    assert tables.load("jax")["package"]["name"] == "jax"


def test_values_json_cannot_hold_do_not_break_loading(data_copy):
    data, cache = data_copy
    path = data / "jax.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[extra]\nwhen = 2026-11-23\n", encoding="utf-8")
    loaded = tables.load("jax")
    assert str(loaded["extra"]["when"]) == "2026-11-23"
    assert _cache_files(cache, "jax") == []  # a TOML date has no JSON form: not cached, still served


def test_the_key_changes_with_any_byte():
    raw = b'a = "1"\n'
    assert tables.cache_key("t", raw) != tables.cache_key("t", b'a = "2"\n')
    assert tables.cache_key("t", raw) != tables.cache_key("u", raw)
    assert tables.cache_key("t", raw) == tables.cache_key("t", bytes(raw))
