"""Consistency of the per-platform refinements added in review: `glibc` floors on variant rows and `versions`
restrictions that split one build across rows (PyTorch 2.6's manylinux_2_28 cu126, ONNX Runtime's aarch64 wheels
from 1.29, the conda-forge CUDA 13.0 builds)."""

from __future__ import annotations

import pytest

from dlsetup.compat import pytorch as pt
from dlsetup.compat.tables import rows, version_tuple

TABLES = ["pytorch", "jax", "paddle", "onnxruntime"]


def _glibc_values(row):
    value = row.get("glibc")
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    return [(None, value)]


@pytest.mark.parametrize("table", TABLES)
def test_glibc_floors_are_versions_for_known_platforms(table):
    for row in rows(table, "variant"):
        for plat, value in _glibc_values(row):
            assert plat is None or plat in pt.PLATFORMS, (table, row["name"], plat)
            assert plat is None or plat in row["platforms"], (table, row["name"], plat)
            assert len(version_tuple(value)) == 2 and (2, 17) <= version_tuple(value) <= (2, 40), (table, value)
            assert any(p.startswith("linux") for p in row["platforms"]), (table, row["name"])


@pytest.mark.parametrize("table", TABLES)
def test_no_two_rows_offer_the_same_build_for_one_platform_and_version(table):
    releases = {r["line"]: r for r in rows(table, "release")}
    seen: dict[tuple, str] = {}
    for row in rows(table, "variant"):
        release = releases[row["line"]]
        versions = row.get("versions") or release["versions"]
        assert set(versions) <= set(release["versions"]), (table, row["line"], row["name"], versions)
        for plat in row["platforms"]:
            for v in versions:
                key = (row["name"], plat, v)
                assert key not in seen, (table, key)
                seen[key] = row["line"]


def test_conda_forge_glibc_names_a_cuda_the_row_builds():
    for row in rows("pytorch", "conda_forge"):
        built = {c for cudas in row["cuda"].values() for c in cudas}
        for cuda, value in row.get("glibc", {}).items():
            assert cuda in built and version_tuple(value) >= (2, 17), (row["versions"], cuda)
        assert set(row["archs"]) == built, row["versions"]
