"""The compat query API (dlsetup.compat): each answer against the NVIDIA / PyTorch fact it encodes.

Expected values come from NVIDIA's CUDA Toolkit release notes ("CUDA Driver", Table 3 and the
minor-version-compatibility ranges), the CUDA minor-version-compatibility guide, torch 2.13.0's
torch/utils/cpp_extension.py, and get_arch_list() outputs quoted in the PyTorch issues named below.
"""

from __future__ import annotations

import pytest

import dlsetup.compat as compat


@pytest.mark.parametrize(
    "driver,os,expected",
    [
        ("580.65.06", "linux", "13.0"),  # R580 = CUDA 13.0 (13.0 GA driver)
        ("580.126.09", "linux", "13.0"),
        ("581.57", "windows", "13.0"),  # Windows numbering runs ahead inside R580
        ("590.44.01", "linux", "13.1"),
        ("595.71.05", "linux", "13.2"),
        ("615.71.09", "linux", "13.4"),
        ("575.57.08", "linux", "12.9"),
        ("570.124.06", "linux", "12.8"),
        ("565.57.01", "linux", "12.7"),  # nvidia-smi prints "CUDA Version: 12.7"
        ("560.35.05", "linux", "12.6"),
        ("535.104.05", "linux", "12.2"),
        ("525.60.13", "linux", "12.0"),
        ("520.61.05", "linux", "11.8"),
        ("470.82.01", "linux", "11.4"),  # nvidia-smi prints "CUDA Version: 11.4"
        ("472.12", "windows", "11.4"),
        ("450.80.02", "linux", "11.0"),
        ("440.33", "linux", "10.2"),
        ("430.50", "linux", "10.1"),  # between branches: the older branch wins
        ("418.39", "linux", "10.1"),
        ("390.46", "linux", "9.1"),
        ("700.10", "linux", "13.4"),  # newer than any known branch: the newest known CUDA (a lower bound)
        ("300.10", "linux", None),
        ("garbage", "linux", None),
    ],
)
def test_cuda_for_driver(driver, os, expected):
    assert compat.cuda_for_driver(driver, os) == expected


@pytest.mark.parametrize(
    "cuda,os,expected",
    [
        ("13.0", "linux", "580"),
        ("13.2", "linux", "580"),  # minor-version compatibility: any 13.x on >= 580
        ("13.4", "windows", "580"),
        ("12.0", "linux", "525.60.13"),
        ("12.6", "linux", "525.60.13"),
        ("12.9", "linux", "525.60.13"),
        ("12.8", "windows", "528.33"),
        ("11.8", "linux", "450.80.02"),
        ("11.1", "windows", "452.39"),
        ("11.0", "linux", "450.51.05"),  # no minor-version compatibility for 11.0: its GA driver
        ("10.2", "linux", "440.33"),  # 10.x: the toolkit's own driver
        ("10.1", "windows", "418.96"),
        ("9.2", "linux", "396.26"),
        ("7.0", "linux", "346.46"),
        ("6.5", "linux", None),  # not in the table
    ],
)
def test_runtime_driver_floor(cuda, os, expected):
    assert compat.runtime_driver_floor(cuda, os) == expected


@pytest.mark.parametrize(
    "cuda,os,expected",
    [
        ("12.6", "linux", "560.28.03"),
        ("12.6.3", "linux", "560.35.05"),
        ("12.6.3", "windows", "561.17"),
        ("12.0", "windows", "527.41"),
        ("12.0.1", "windows", "528.33"),
        ("11.8", "linux", "520.61.05"),
        ("11.0", "linux", "450.51.05"),  # GA, not the RC row
        ("10.1.243", "linux", "418.39"),  # an update of 10.1 uses the 10.1 row
        ("13.0", "linux", "580.65.06"),
        ("13.2.2", "linux", "595.71.05"),
        ("13.1", "windows", "590"),  # NVIDIA lists N/A for Windows 13.x: the branch
        ("13.4", "linux", "615"),  # 13.4 no longer bundles a Linux driver: the branch
        ("12.7", "linux", None),  # never released
    ],
)
def test_toolkit_driver_floor(cuda, os, expected):
    assert compat.toolkit_driver_floor(cuda, os) == expected


@pytest.mark.parametrize(
    "driver,cuda,os,ok",
    [
        ("535.104.05", "12.6", "linux", True),  # minor-version compatibility
        ("525.60.13", "12.9", "linux", True),
        ("525.53", "12.0", "linux", False),
        ("535.104.05", "13.0", "linux", False),
        ("580.65.06", "13.2", "linux", True),
        ("575.57.08", "13.0", "linux", False),
        ("470.82.01", "11.8", "linux", True),
        ("470.82.01", "12.1", "linux", False),
        ("450.51.06", "11.8", "linux", False),  # 11.x minor compat needs 450.80.02
        ("418.39", "10.2", "linux", False),
        ("528.24", "12.1", "windows", False),
        ("528.33", "12.1", "windows", True),
    ],
)
def test_driver_runs_cuda(driver, cuda, os, ok):
    assert compat.driver_runs_cuda(driver, cuda, os) is ok


def test_driver_meets_branch_floor():
    assert compat.driver_meets("580.65.06", "580")
    assert compat.driver_meets("580", "580")
    assert not compat.driver_meets("575.57.08", "580")
    assert not compat.driver_meets("525", "525.60.13")
    assert compat.driver_meets("525.85.12", "525.60.13")


@pytest.mark.parametrize(
    "arch_list,cc,expected",
    [
        (["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], "6.1", "sm_60"),  # GTX 1080 Ti on cu126
        (["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"], "6.1", None),  # uv#14742
        (["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"], "8.9", "sm_86"),  # Ada runs sm_86 SASS
        (["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"], "12.1", "sm_120"),  # GB10
        (["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"], "10.3", "sm_100"),  # B300
        (["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], "12.0", None),  # RTX 5090 on cu126
        (["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], "10.0", None),  # SASS never crosses majors
        (["sm_80", "compute_90"], "12.0", "compute_90"),  # PTX JIT to a newer GPU
        (["sm_80", "compute_90"], "8.6", "sm_80"),  # SASS preferred over PTX
        (["sm_90a"], "9.0", "sm_90a"),
        (["sm_90a"], "10.0", None),  # arch-specific code is not forward compatible
        (["sm_100f"], "10.3", "sm_100f"),  # family-specific code runs inside the family
        (["5.0", "6.0", "7.0+PTX"], "8.6", "7.0+PTX"),  # TORCH_CUDA_ARCH_LIST notation
        (["sm_37", "sm_50", "sm_60", "sm_70"], "3.5", None),
        ([], "8.6", None),
    ],
)
def test_arch_coverage(arch_list, cc, expected):
    assert compat.arch_coverage(arch_list, cc) == expected
    assert compat.arch_covers(arch_list, cc) is (expected is not None)


@pytest.mark.parametrize("raw,expected", [("8.6", (8, 6)), ((12, 0), (12, 0)), ("sm_86", (8, 6)), ("120", (12, 0)),
                                          ("sm_90a", (9, 0)), ("compute_100", (10, 0)), ("x", None), (None, None)])
def test_parse_cc(raw, expected):
    assert compat.parse_cc(raw) == expected


def test_gpu_architecture():
    pascal = compat.gpu_architecture("6.1")
    assert pascal["name"] == "Pascal"
    assert "GeForce GTX 1080 Ti" in pascal["examples"]
    assert pascal["last_cuda_major"] == 12 and pascal["last_driver_branch"] == 580
    turing = compat.gpu_architecture((7, 5))
    assert turing["last_cuda_major"] is None and turing["last_driver_branch"] is None
    kepler = compat.gpu_architecture("sm_37")
    assert kepler["last_cuda_major"] == 11 and kepler["last_driver_branch"] == 470
    assert compat.gpu_architecture("8.7")["jetson"] is True
    assert compat.gpu_architecture("12.0")["name"] == "Blackwell"
    assert compat.gpu_architecture("9.9") is None
    assert compat.gpu_architecture("6.1")["source"].startswith("https://")


def _torch_compiler_tables() -> dict:
    """CUDA_GCC_VERSIONS / CUDA_CLANG_VERSIONS read from the installed torch's source (importing torch is slow)."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        pytest.skip("torch is not installed")
    src = (Path(spec.origin).parent / "utils" / "cpp_extension.py").read_text(encoding="utf-8")
    env: dict = {}
    for node in ast.parse(src).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id in ("MINIMUM_GCC_VERSION", "MINIMUM_CLANG_VERSION",
                                                              "CUDA_GCC_VERSIONS", "CUDA_CLANG_VERSIONS"):
                env[target.id] = eval(compile(ast.Expression(node.value), "cpp_extension", "eval"), {}, env)
    return env


def test_gcc_range_matches_installed_torch():
    # The table is a copy of torch's own CUDA_GCC_VERSIONS; compare with the torch installed here.
    tables = _torch_compiler_tables()
    assert tables["CUDA_GCC_VERSIONS"]
    for cuda, (lo, hi) in tables["CUDA_GCC_VERSIONS"].items():
        assert compat.gcc_range_for_cuda(cuda) == (tuple(lo), tuple(hi)), cuda
    for cuda, (lo, hi) in tables["CUDA_CLANG_VERSIONS"].items():
        assert compat.clang_range_for_cuda(cuda) == (tuple(lo), tuple(hi)), cuda
    assert compat.gcc_range_for_cuda("12.6.3") == ((6, 0, 0), (14, 0))
    assert compat.gcc_range_for_cuda("9.9") is None


@pytest.mark.parametrize(
    "version,variant,arch,expected_first,expected_last,contains,lacks",
    [
        ("2.14.1+cu126", None, "x86_64", "sm_50", "sm_90", "sm_60", "sm_120"),
        ("2.14.1", "cu130", "x86_64", "sm_75", "sm_120", "sm_86", "sm_70"),
        ("2.7.1", "cu128", "x86_64", "sm_75", "compute_120", "sm_120", "sm_70"),  # no Volta in 2.7 cu128
        ("2.9.1", "cu128", "x86_64", "sm_70", "sm_120", "sm_70", "sm_60"),  # Volta back from 2.8
        ("2.11.0", "cu128", "x86_64", "sm_75", "sm_120", "sm_75", "sm_70"),  # Volta dropped again in 2.11
        ("1.12.1", "cu102", "x86_64", "sm_37", "sm_70", "sm_37", "sm_75"),
        ("2.0.1", "cu118", "x86_64", "sm_37", "sm_90", "sm_37", "sm_100"),
        ("2.14.1", "cu130", "aarch64", "sm_80", "sm_120", "sm_110", "sm_75"),
        ("2.9.0", None, "x86_64", "sm_70", "sm_120", "sm_100", "sm_61"),  # package-index default cu128
    ],
)
def test_torch_arch_list(version, variant, arch, expected_first, expected_last, contains, lacks):
    archs = compat.torch_arch_list(version, variant, arch)
    assert archs is not None
    assert archs[0] == expected_first and archs[-1] == expected_last
    assert contains in archs and lacks not in archs


def test_torch_arch_list_unknowns():
    assert compat.torch_arch_list("2.14.1", "cpu") is None
    assert compat.torch_arch_list("0.4.1", "cu90") is None
    assert compat.torch_arch_list("2.14.1", "cu999") is None


@pytest.mark.parametrize(
    "arch_list,cc,expected",
    [
        # torch/cuda/__init__.py DEVICE_REQUIREMENT: the iGPU/dGPU split inside a major
        (["sm_80", "sm_86"], "8.7", None),  # Orin does not run discrete Ampere SASS
        (["sm_87"], "8.7", "sm_87"),
        (["sm_87"], "8.9", None),  # Orin SASS runs nowhere else
        (["sm_60", "sm_61"], "6.2", None),  # TX2
        (["sm_70"], "7.2", None),  # Xavier
        (["sm_50", "sm_52"], "5.3", None),  # Nano
        (["sm_80", "compute_80"], "8.7", "compute_80"),  # PTX still JITs on Jetson
        (["sm_101"], "11.0", "sm_101"),  # Thor: sm_101 (CUDA 12.8/12.9) is sm_110 (CUDA 13)
        (["sm_110"], "10.1", "sm_110"),
        (["sm_100"], "10.1", None),
    ],
)
def test_arch_coverage_jetson_and_aliases(arch_list, cc, expected):
    assert compat.arch_coverage(arch_list, cc) == expected
