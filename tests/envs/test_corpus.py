"""A corpus of real environment files, read as conda reads them (issue 11).

``corpus/envfiles/`` holds 46 files reduced from deep-learning projects' environment files and from conda's and
conda-lock's own test files; the first line of each names its origin (repository@commit:path).
``corpus/expected.json`` records the reading conda's parser gives for each (see its ``_about``).

Three checks: dlsetup's port of conda's spec parser reproduces the parses conda's own test-suite records;
every corpus file reads to its expected content; and py-rattler's lenient parser (which the solve uses)
agrees with conda's components for every conda spec in the corpus, except the divergences listed below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rattler import MatchSpec

from dlsetup.envs import specfile
from dlsetup.envs.matchspec import SpecError, parse, to_matchspec

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted((CORPUS / "envfiles").iterdir())
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))["files"]

# Recorded by conda's own tests: tests/models/test_match_spec.py (conda/conda@0f64223) — test_parse_spec_str_*,
# test_parse_equal_equal, test_parse_hard — and the doctests of _parse_version_plus_build.
CONDA_RECORDED = [
    ("numpy", {"name": "numpy"}),
    ("numpy=", {"name": "numpy"}),  # "for whatever reason 'numpy=' is allowed and will be interpreted as 'numpy'"
    ("defaults::numpy", {"name": "numpy", "channel": "defaults"}),
    ("https://repo.anaconda.com/pkgs/free::numpy", {"name": "numpy", "channel": "https://repo.anaconda.com/pkgs/free"}),
    ("defaults::numpy=1.8", {"name": "numpy", "channel": "defaults", "version": "1.8*"}),
    ("defaults::numpy =1.8", {"name": "numpy", "channel": "defaults", "version": "1.8*"}),
    ("defaults::numpy=1.8=py27_0", {"name": "numpy", "channel": "defaults", "version": "1.8", "build": "py27_0"}),
    ("defaults::numpy 1.8 py27_0", {"name": "numpy", "channel": "defaults", "version": "1.8", "build": "py27_0"}),
    ("defaults::numpy[channel=anaconda]", {"name": "numpy", "channel": "anaconda"}),
    ("defaults::numpy 1.8 py27_0[channel=anaconda]",
     {"name": "numpy", "channel": "anaconda", "version": "1.8", "build": "py27_0"}),
    ("defaults::numpy=1.8=py27_0 [channel=anaconda,version=1.9, build=3]",
     {"name": "numpy", "channel": "anaconda", "version": "1.9", "build": "3"}),
    ("defaults::numpy=1.8=py27_0 [channel='anaconda',version=\">=1.8,<2|1.9\", build='3']",
     {"name": "numpy", "channel": "anaconda", "version": ">=1.8,<2|1.9", "build": "3"}),
    ("tensorflow[name=pytorch]", {"name": "tensorflow"}),
    ("numpy==1.7", {"name": "numpy", "version": "1.7"}),
    ("numpy ==1.7", {"name": "numpy", "version": "1.7"}),
    ("numpy=1.7", {"name": "numpy", "version": "1.7*"}),
    ("numpy =1.7", {"name": "numpy", "version": "1.7*"}),
    ("numpy !=1.7", {"name": "numpy", "version": "!=1.7"}),
    ("numpy~=1.7.1", {"name": "numpy", "version": "~=1.7.1"}),
    ("numpy>1.8,<2|==1.7", {"name": "numpy", "version": ">1.8,<2|==1.7"}),
    ("numpy >1.8,<2|==1.7,!=1.9,~=1.7.1 py34_0",
     {"name": "numpy", "version": ">1.8,<2|==1.7,!=1.9,~=1.7.1", "build": "py34_0"}),
    ("* 2.7.4", {"name": "*", "version": "2.7.4"}),
    ("* >=1.3 2", {"name": "*", "version": ">=1.3", "build": "2"}),
    ("* 1 *", {"name": "*", "version": "1", "build": "*"}),
    ("* * openblas_0", {"name": "*", "version": "*", "build": "openblas_0"}),
    ("numpy >=1.0 , < 2.0 py34_0", {"name": "numpy", "version": ">=1.0,<2.0", "build": "py34_0"}),
    ("numpy >=1.0 , < 2.0 =py34_0", {"name": "numpy", "version": ">=1.0,<2.0", "build": "py34_0"}),
]

# Where py-rattler's lenient reading of the raw string differs from conda's components (found by this test):
# conda reads "=<2.0.0" as the version "<2.0.0*" (a '*' VersionOrder component, _sanitize_version_str adds it);
# rattler drops the '*', which orders the same for every real version.
RATTLER_DIVERGES = {"pandoc=<2.0.0": ("<2.0.0*", "<2.0.0")}


@pytest.mark.parametrize(("spec", "expected"), CONDA_RECORDED)
def test_port_reproduces_condas_recorded_parses(spec, expected):
    assert parse(spec).as_dict() == expected


@pytest.mark.parametrize("spec", ["numpy==", "numpy>=", "numpy[version=]", ""])
def test_specs_conda_rejects_are_rejected(spec):
    with pytest.raises(SpecError):
        parse(spec)


def test_corpus_size_and_origins():
    assert len(FILES) >= 40 and len(FILES) == len(EXPECTED)
    origin = re.compile(r"^# (Reduced from|Copied verbatim from) [\w.-]+/[\w.-]+@[0-9a-f]{40}:\S+")
    for f in FILES:
        assert origin.match(f.read_text(encoding="utf-8").splitlines()[0]), f.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_file_reads_as_conda_reads_it(path, monkeypatch):
    for var in ("PIP_USER", "PIP_PASSWORD", "CONDA_TOKEN", "OTHER_KEY"):  # the files' own placeholders stay
        monkeypatch.delenv(var, raising=False)
    exp = EXPECTED[path.name]
    spec = specfile.read(path, platform="linux-64")
    assert spec.kind == "environment-yaml"
    assert spec.channels == exp["channels"]
    assert [[s, parse(s).as_dict()] for s in spec.conda] == exp["conda"]
    base = str(path.parent.resolve())
    assert [p.replace(base, "<dir>") for p in spec.pip] == exp["pip"]
    assert spec.variables == exp.get("variables", {})
    assert spec.pip_index_url == exp.get("pip_index_url")
    assert spec.has_dependencies == exp.get("has_dependencies", True)
    for s in spec.conda:  # each spec has a file:line that points at it
        file, _, line = spec.origins[s].rpartition(":")
        assert s in path.read_text(encoding="utf-8").splitlines()[int(line) - 1]


def _components(ms: MatchSpec) -> tuple:
    version = str(ms.version) if ms.version is not None else "*"
    build = str(ms.build) if ms.build is not None else None
    channel = ms.channel.base_url.rstrip("/") if ms.channel is not None else None
    return ms.name.normalized if hasattr(ms.name, "normalized") else str(ms.name), version, build, channel


def test_rattler_lenient_parse_agrees_with_condas_components():
    checked = 0
    for path in FILES:
        for s in specfile.read(path, platform="linux-64").conda:
            ours = _components(to_matchspec(s))
            if s in RATTLER_DIVERGES:
                assert parse(s).version == RATTLER_DIVERGES[s][0] and ours[1] == RATTLER_DIVERGES[s][1]
                continue
            raw = MatchSpec(s, strict=False)
            assert _components(raw)[0] == ours[0] and _components(raw)[3] == ours[3], s
            # version/build: rattler may write a bracketed build as [build=...] and "*" as no version
            assert (_components(raw)[1], _components(raw)[2]) in ((ours[1], ours[2]), ("*", ours[2])), s
            checked += 1
    assert checked >= 170


def test_strict_rattler_rejects_what_the_corpus_needs():
    """Why the lenient path exists: strict parsing (what rattler's solve uses for strings) fails on real files."""
    strict_failures = []
    for path in FILES:
        for s in specfile.read(path, platform="linux-64").conda:
            try:
                MatchSpec(s, strict=True)
            except Exception:  # noqa: BLE001
                strict_failures.append(s)
    assert "pytorch-mutex=1.0=cuda" in strict_failures and "_libgcc_mutex=0.1=main" in strict_failures
    assert "dask-cuda==25.8.*,>=0.0.0a0" in strict_failures and "pytorch::pytorch=1.12.*" in strict_failures


def test_selector_files_for_other_platforms():
    f = CORPUS / "envfiles" / "29-condalock-filter-platform.yml"
    assert specfile.read(f, platform="osx-arm64").conda == ["python <3.11", "clang_osx-arm64"]
    assert specfile.read(f, platform="osx-64").conda == ["python <3.11", "clang_osx-64"]
    g = CORPUS / "envfiles" / "30-condalock-pip-platform-selector.yml"
    assert specfile.read(g, platform="linux-64").pip == ["psutil"]
    assert specfile.read(g, platform="osx-arm64").pip == []
