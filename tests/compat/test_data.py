"""Every compatibility table: each row carries a source and a confidence, and the tables agree with each other.

These are consistency checks over the shipped data (dlsetup/compat/data/*.toml): a variant's CUDA must be
runnable by some driver branch, every architecture in an arch list must be a known compute capability,
every torch release has a torchvision pair, TensorFlow's CUDA lines exist in the toolkit table, ...
"""

from __future__ import annotations

import re

import pytest

from dlsetup import compat
from dlsetup.compat import pytorch as pt
from dlsetup.compat.tables import CONFIDENCE, ROW_KEYS, load, rows, table_names, version_tuple

SOURCE_FORMS = (
    re.compile(r"^https?://\S+$"),  # a URL
    re.compile(r"^[\w.-]+/[\w.-]+:[\w./-]+$"),  # owner/repo:path
    re.compile(r"^[\w.-]+/[\w.-]+#\d+$"),  # owner/repo#N
)


def _sources(row):
    src = row.get("source")
    return src if isinstance(src, list) else [src]


def test_every_table_is_known_and_loads():
    names = table_names()
    assert set(names) == set(ROW_KEYS), names
    for name in names:
        assert load(name), name


@pytest.mark.parametrize("name", sorted(ROW_KEYS))
def test_every_row_has_a_source_and_a_confidence(name):
    seen = 0
    for key in ROW_KEYS[name]:
        for row in rows(name, key):
            seen += 1
            assert row.get("confidence") in CONFIDENCE, (name, key, row)
            for src in _sources(row):
                assert isinstance(src, str) and src, (name, key, row)
                assert any(p.match(src) for p in SOURCE_FORMS), f"{name}.{key}: source {src!r} is not a URL, repo:path or repo#N"
    assert seen > 0, name


def test_source_tags_are_all_expanded():
    for name in ROW_KEYS:
        tags = set(load(name).get("sources", {}))
        for key in ROW_KEYS[name]:
            for row in rows(name, key):
                for src in _sources(row):
                    assert src not in tags, f"{name}: unexpanded source tag {src}"


# ---------------------------------------------------------------- NVIDIA tables


def test_toolkit_rows_name_a_known_branch_and_increase():
    branches = {r["branch"] for r in rows("driver_branches", "branch")}
    toolkit = rows("cuda_drivers", "toolkit")
    for row in toolkit:
        assert row["branch"] in branches, row["version"]
        if row["linux"]:
            assert version_tuple(row["linux"])[0] >= row["branch"], row["version"]
    # newer toolkits never need an older Linux driver
    ordered = sorted((r for r in toolkit if r["linux"]), key=lambda r: version_tuple(r["version"]))
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert version_tuple(a["linux"]) <= version_tuple(b["linux"]), (a["version"], b["version"])


def test_branch_cuda_matches_the_toolkit_it_introduced():
    for row in rows("driver_branches", "branch"):
        if row["cuda"] == "12.7":
            continue  # no 12.7 toolkit exists; R565 still reports 12.7
        assert compat.toolkit_row(row["cuda"]) is not None, row


def test_minor_compat_floors_exist_as_branches():
    for row in rows("cuda_drivers", "minor_compat"):
        for os_name in ("linux", "windows"):
            floor = row[os_name]
            assert compat.driver_branch(floor) is not None, (row["cuda_major"], os_name)
            # the floor driver itself reports a CUDA of the same major or newer
            assert version_tuple(compat.cuda_for_driver(floor))[0] >= row["cuda_major"] - 1


def test_gpu_arch_rows_are_consistent():
    branches = {r["branch"] for r in rows("driver_branches", "branch")}
    seen = set()
    for row in rows("gpu_archs", "arch"):
        cc = compat.parse_cc(row["cc"])
        assert cc is not None and cc not in seen, row["cc"]
        seen.add(cc)
        if row["last_driver_branch"] > 0:
            assert row["last_driver_branch"] in branches, row["cc"]
        assert row["examples"], row["cc"]
        assert version_tuple(row["first_cuda"]) >= (3, 0)


def test_compiler_rows_name_real_toolkits():
    for kind in ("gcc", "clang"):
        for row in rows("compilers", kind):
            assert compat.toolkit_row(row["cuda"]) is not None or row["cuda"] == "12.7", row
            assert tuple(row["min"]) < tuple(row["max_exclusive"])


# ---------------------------------------------------------------- PyTorch


def _all_arch_entries():
    for name, row in load("pytorch")["arch_list"].items():
        yield "pytorch", name, row["archs"]
    for table in ("tensorflow", "jax", "paddle", "onnxruntime"):
        for name, row in load(table).get("arch_list", {}).items():
            yield table, name, row["archs"]
    for row in rows("pytorch", "conda_forge"):
        for cuda, archs in row["archs"].items():
            yield "pytorch.conda_forge", cuda, archs


def test_every_arch_in_every_list_is_a_known_compute_capability():
    known = {compat.parse_cc(cc) for cc in compat.known_ccs()}
    known.add((10, 1))  # sm_101: Thor's CUDA 12.8/12.9 name (alias of 11.0)
    for table, name, archs in _all_arch_entries():
        assert archs, (table, name)
        for entry in archs:
            cc = compat.parse_cc(entry.replace("+PTX", ""))
            assert cc in known, f"{table}/{name}: {entry} is not a known compute capability"


def test_arch_lists_are_consistent_with_their_cuda():
    # A CUDA X build cannot target a CC that toolkit X no longer (or not yet) supports.
    for release in pt.releases():
        for row in pt.variants(release):
            if not row.get("cuda"):
                continue
            cuda = version_tuple(row["cuda"])
            for key in ("archs", "archs_aarch64"):
                archs = pt.arch_list_named(row.get(key))
                if not archs:
                    continue
                for entry in archs:
                    info = compat.gpu_architecture(entry)
                    assert info is not None, entry
                    assert version_tuple(info["first_cuda"])[:2] <= cuda[:2] or entry == "sm_110", (release["line"], row["name"], entry)
                    if info["last_cuda_major"]:
                        assert cuda[0] <= info["last_cuda_major"], (release["line"], row["name"], entry)


def test_every_cuda_variant_can_be_run_by_some_driver_branch():
    newest = max(version_tuple(r["cuda"]) for r in rows("driver_branches", "branch"))
    for table, key in (("pytorch", "variant"), ("jax", "variant"), ("paddle", "variant"), ("onnxruntime", "variant")):
        for row in rows(table, key):
            if not row.get("cuda"):
                continue
            floor = compat.runtime_driver_floor(row["cuda"])
            assert floor, (table, row)
            assert compat.driver_branch(floor) is not None, (table, row["name"], floor)
            assert version_tuple(row["cuda"])[:2] <= newest, (table, row["name"])


def test_torch_variants_reference_existing_arch_lists_and_platforms():
    lists = set(load("pytorch")["arch_list"])
    for release in pt.releases():
        names = set()
        for row in pt.variants(release):
            names.add(row["name"])
            assert set(row["platforms"]) <= set(pt.PLATFORMS), row
            if row.get("cuda"):
                assert row.get("archs") in lists, (release["line"], row["name"])
                assert row.get("cudnn"), (release["line"], row["name"])
                if "linux-aarch64" in row["platforms"]:
                    assert row.get("archs_aarch64") in lists, (release["line"], row["name"])
            for v in row.get("versions", []):
                assert v in release["versions"], (release["line"], row["name"], v)
        assert "cpu" in names or release["line"].endswith("lts"), release["line"]
        for plat, variant in release.get("pypi_default", {}).items():
            assert any(r["name"] == variant and plat in r["platforms"] for r in pt.variants(release)), (release["line"], plat)


def test_every_torch_release_has_a_torchvision_and_a_torchaudio_pair():
    for release in pt.releases():
        for version in release["versions"]:
            tv = pt.companion(release, "torchvision", version)
            assert tv, f"no torchvision for torch {version}"
            ta = pt.companion(release, "torchaudio", version)
            assert ta, f"no torchaudio for torch {version}"
            if version_tuple(version) < (2, 11, 0):
                assert not pt.companion_builds("torchaudio", ta), version  # one build per torch release
            else:
                # torchaudio 2.11.0 (the last release) serves torch >= 2.11 through the stable ABI, but only on the
                # CUDA lines it was built for (pytorch/audio docs; _check_cuda_version refuses a mismatch)
                assert ta == "2.11.0", version
                assert pt.companion_builds("torchaudio", ta), version


def test_torchaudio_2_11_builds_match_torch_2_11_variants():
    release = pt.release_for_version("2.11.0")
    torch_211 = {r["name"] for r in pt.variants(release)}
    builds = pt.companion_builds("torchaudio", "2.11.0")
    listed = [v for b in builds for v in b["variants"]]
    assert len(listed) == len(set(listed))  # one row per variant
    assert set(listed) == torch_211  # built with torch 2.11's own matrix, nothing more
    assert "cu132" not in listed and "cu134" not in listed  # pytorch/audio#4194, pytorch/pytorch#193651
    for b in builds:
        assert b["confidence"] in CONFIDENCE
        lo, hi = b["python"]
        assert version_tuple(lo) < version_tuple(hi)
    row, restricted = pt.companion_build_for("torchaudio", "2.11.0", "cu132")
    assert row is None and restricted
    row, restricted = pt.companion_build_for("torchaudio", "2.10.0", "cu132")
    assert row is None and not restricted


def test_first_driver_branch_rows_name_known_branches_and_sources():
    branches = {r["branch"] for r in rows("driver_branches", "branch")}
    seen = 0
    for row in rows("gpu_archs", "arch"):
        first = row.get("first_driver_branch")
        if not first:
            continue
        seen += 1
        assert first in branches, row["cc"]
        # the branch that introduced the GPU's first CUDA toolkit
        assert compat.toolkit_row(row["first_cuda"])["branch"] == first, row["cc"]
        srcs = row["first_driver_source"]
        for src in srcs if isinstance(srcs, list) else [srcs]:
            assert any(p.match(src) for p in SOURCE_FORMS), src
    assert seen >= 2  # Blackwell 10.0 and 12.0
    # torchvision minor = torch minor + 15 for 2.x (pytorch/vision README); 2.15 is the documented exception
    for release in pt.releases():
        for version in release["versions"]:
            v = version_tuple(version)
            if v[0] == 2 and v[:2] != (2, 15):
                assert version_tuple(pt.companion(release, "torchvision", version))[:2] == (0, v[1] + 15), version


def test_torch_python_ranges_never_go_backwards():
    prev = None
    for release in sorted(pt.releases(), key=lambda r: version_tuple(r["versions"][-1])):
        lo, hi = (version_tuple(x) for x in release["python"])
        assert lo <= hi, release["line"]
        if prev and not release["line"].endswith("lts") and not prev["line"].endswith("lts"):
            plo, phi = (version_tuple(x) for x in prev["python"])
            assert lo >= plo and hi >= phi, release["line"]
        prev = release


def test_conda_forge_rows_name_real_torch_releases():
    known = {v for r in pt.releases() for v in r["versions"]}
    for row in rows("pytorch", "conda_forge"):
        for v in row["versions"]:
            assert v in known, v
        for plat, cudas in row["cuda"].items():
            assert plat in pt.PLATFORMS
            for cuda in cudas:
                assert cuda in row["archs"], (row["versions"], cuda)


# ---------------------------------------------------------------- TensorFlow and tier 2


def test_tensorflow_rows_name_real_toolkits_and_arch_lists():
    lists = set(load("tensorflow")["arch_list"])
    for row in rows("tensorflow", "release"):
        assert compat.toolkit_row(row["cuda"]) is not None, row["line"]
        assert row["archs"] in lists, row["line"]
        if row.get("and_cuda"):
            assert version_tuple(row["line"]) >= (2, 14)
            assert compat.toolkit_row(row["and_cuda_cuda"]) is not None
        if row.get("windows_gpu"):
            assert version_tuple(row["line"]) <= (2, 10)
        lo, hi = row["python"]
        assert version_tuple(lo) <= version_tuple(hi)


@pytest.mark.parametrize("table", ["jax", "paddle", "onnxruntime"])
def test_tier2_tables(table):
    lines = {r["line"] for r in rows(table, "release")}
    lists = set(load(table).get("arch_list", {}))
    for row in rows(table, "variant"):
        assert row["line"] in lines, row
        assert "{version}" in row["requirement"]
        if row.get("cuda"):
            assert row.get("archs") in lists, row
    for release in rows(table, "release"):
        assert any(v["line"] == release["line"] and not v.get("cuda") for v in rows(table, "variant")), release["line"]


def test_cudnn_floors_are_ordered_and_name_known_compute_capabilities():
    floors = sorted(rows("cudnn", "cc_floor"), key=lambda r: version_tuple(r["from"]))
    assert floors, "cudnn.toml has no rows"
    known = {compat.parse_cc(cc) for cc in compat.known_ccs()}
    prev = (0, 0)
    for row in floors:
        need = compat.parse_cc(row["min_cc"])
        assert need in known, row
        assert need >= prev, row  # newer cuDNN never supports older GPUs again
        prev = need
        if row.get("pin_below"):
            assert row["pin_below"] == row["from"], row  # the pin keeps the version below this row
    # every cuDNN a torch wheel pins resolves to a floor its arch list respects
    for release in pt.releases():
        for row in pt.variants(release):
            floor = compat.cudnn_cc_floor(row.get("cudnn"))
            archs = pt.arch_list_named(row.get("archs")) or []
            if not floor or not archs or floor["open_ended"]:
                continue
            lowest = min(compat.parse_cc(a) for a in archs)
            if version_tuple(release["versions"][-1]) >= (2, 4):
                # 2.4+ wheels: the cuDNN has kernels for every SASS target but Kepler (sm_37 in cu118, see cudnn.toml)
                assert lowest >= compat.parse_cc(floor["min_cc"]) or lowest == (3, 7), (release["line"], row["name"])


def test_tensorflow_python_by_version_narrows_its_release():
    seen = 0
    for row in rows("tensorflow", "release"):
        lo, hi = (version_tuple(x) for x in row["python"])
        for version, (vlo, vhi) in row.get("python_by_version", {}).items():
            seen += 1
            assert version in row["versions"], (row["line"], version)
            assert lo <= version_tuple(vlo) <= version_tuple(vhi) <= hi, (row["line"], version)
    assert seen >= 3  # 2.5.3, 2.6.3+, 2.11.1
