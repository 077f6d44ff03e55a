"""Real-world cases: (GPU, driver, OS, Python) -> the build dlsetup must pick, each citing where it comes from.

Machines are described through the same overrides the CLI takes (--gpu-cc, --driver, --os, --arch,
--python, --glibc, --no-gpu); nothing is probed. ``expect`` lists the packages (name -> (version, variant));
for failures ``rules`` are the rejection rules that must appear and ``hint`` a text the hints must contain.
"""

from __future__ import annotations

import pytest

from dlsetup.resolve import Machine, Request, apply_overrides, resolve
from dlsetup.resolve.specs import parse_specs


def machine(os="linux", arch="x86_64", python="3.11", glibc="2.35", **overrides):
    m = Machine(os="linux", arch="x86_64", python="3.11", glibc=glibc, source="test case")
    return apply_overrides(m, os=os, arch=arch, python=python, **overrides)


CASES = [
    # --- Maxwell / Pascal / Volta after the drops -------------------------------------------------------
    ("gtx1080ti-r580", ["torch"], dict(gpu_cc=["6.1"], driver="580.95.05"), {"torch": ("2.14.1", "cu126")},
     "astral-sh/uv#14742: uv gives a GTX 1080 Ti a wheel without sm_61; cu126 of torch <= 2.14 is the last with it"),
    ("gtx1080ti-r535", ["torch"], dict(gpu_cc=["6.1"], driver="535.104.05"), {"torch": ("2.14.1", "cu126")},
     "NVIDIA minor-version compatibility: CUDA 12.6 runs on R535 (>= 525.60.13); astral-sh/uv#14742"),
    ("gtx1080ti-torch215", ["torch==2.15.*"], dict(gpu_cc=["6.1"], driver="580.95.05"), {"fail": ["arch"]},
     "pytorch/pytorch#196249: CUDA 12.6 wheels are no longer published from PyTorch 2.15"),
    ("gtx1080ti-r590", ["torch"], dict(gpu_cc=["6.1"], driver="590.44.01"), {"fail": ["gpu_driver"], "hint": "R580"},
     "NVIDIA: R580 is the last driver branch for Maxwell/Pascal/Volta (NixOS/nixos-hardware#1828)"),
    ("gtx970-maxwell-r580", ["torch"], dict(gpu_cc=["5.2"], driver="580.95.05"), {"torch": ("2.14.1", "cu126")},
     "cu126 is built for sm_50 (pytorch/pytorch .ci/manywheel/build_cuda.sh); Maxwell runs sm_50 SASS"),
    ("v100-r580", ["torch"], dict(gpu_cc=["7.0"], driver="580.95.05", python="3.12"), {"torch": ("2.14.1", "cu126")},
     "pytorch/pytorch#182250: 2.11 cu128 has no sm_70; cu126 keeps Volta until 2.14"),
    ("v100-cuda128", ["torch"], dict(gpu_cc=["7.0"], driver="580.95.05", python="3.12"), {"torch": ("2.10.0", "cu128")},
     "pytorch/pytorch#157517 kept sm_70 in cu128 for 2.8-2.10; #172598 excluded Volta from 2.11", {"cuda": "12.8"}),
    ("v100-torch211-cu128", ["torch==2.11.*"], dict(gpu_cc=["7.0"], driver="580.95.05", python="3.12"),
     {"torch": ("2.11.0", "cu126")}, "pytorch/pytorch#172598: Volta excluded from 2.11 cu128; cu126 still has sm_70"),
    ("v100-torch211-pinned-cu128", ["torch==2.11.*"], dict(gpu_cc=["7.0"], driver="580.95.05", python="3.12"),
     {"fail": ["arch"]}, "pytorch/pytorch#172598 (Volta dropped from CUDA 12.8 builds for 2.11)", {"cuda": "12.8"}),
    # --- Blackwell needs cu128+ ----------------------------------------------------------------------------
    ("rtx5090-r575", ["torch"], dict(gpu_cc=["12.0"], driver="575.64.03"), {"torch": ("2.13.0", "cu129")},
     "pytorch/pytorch#145949 (sm_120 needs CUDA 12.8+); R575 cannot run CUDA 13 (NVIDIA: 13.x needs >= 580)"),
    ("rtx5090-r580", ["torch"], dict(gpu_cc=["12.0"], driver="580.95.05"), {"torch": ("2.15.0", "cu132")},
     "PyPI torch 2.15.0 is the cu132 build; CUDA 13 builds include sm_120 (torch/cuda/__init__.py)"),
    ("rtx5090-torch26", ["torch==2.6.*"], dict(gpu_cc=["12.0"], driver="575.64.03"),
     {"pytorch": ("2.6.0", "conda-forge cuda12.6"), "pip_rejects": ["arch"]},
     "pytorch/pytorch#145949: 2.6 cu124/cu126 wheels have no sm_120; conda-forge's 12.6 build carries 9.0 PTX"),
    ("rtx5090-torch27", ["torch==2.7.*"], dict(gpu_cc=["12.0"], driver="570.124.06"), {"torch": ("2.7.1", "cu128")},
     "PyTorch 2.7 release: first stable cu128 wheels with sm_100/sm_120"),
    ("b200-r580", ["torch"], dict(gpu_cc=["10.0"], driver="580.65.06", python="3.12"), {"torch": ("2.15.0", "cu132")},
     "NVIDIA 12.8 release notes (sm_100); PyTorch cu13x arch list 7.5-12.0"),
    ("gb10-spark-r580", ["torch"], dict(gpu_cc=["12.1"], driver="580.95.05", arch="aarch64", python="3.12"),
     {"torch": ("2.15.0", "cu132")}, "CC 12.1 runs sm_120 SASS (CUDA binary compatibility); aarch64 cu13x lists sm_120"),
    # --- old drivers --------------------------------------------------------------------------------------
    ("rtx3090-r470", ["torch"], dict(gpu_cc=["8.6"], driver="470.182.03", python="3.10"), {"torch": ("2.7.1", "cu118")},
     "NVIDIA minor-version compatibility: CUDA 11.x runs on >= 450.80.02; R470 cannot run CUDA 12"),
    ("rtx3090-r470-hint", ["torch"], dict(gpu_cc=["8.6"], driver="470.182.03", python="3.10"),
     {"torch": ("2.7.1", "cu118"), "hint": "525.60.13"}, "NVIDIA minor-version-compatibility guide: CUDA 12.x >= 525.60.13"),
    ("a100-r450", ["torch"], dict(gpu_cc=["8.0"], driver="450.80.02", python="3.8"), {"torch": ("2.4.1", "cu118")},
     "NVIDIA: 11.x minor-version compatibility from 450.80.02; torch 2.4 is the last with Python 3.8"),
    ("a100-r450-too-old", ["torch"], dict(gpu_cc=["8.0"], driver="450.51.06", python="3.8"),
     {"fail": ["driver"], "hint": "450.80.02"}, "NVIDIA release notes: 'minor-version compatibility across CUDA 11.x requires 450.80.02'"),
    ("k80-r470-py38", ["torch"], dict(gpu_cc=["3.7"], driver="470.82.01", python="3.8"), {"torch": ("2.3.1", "cu118")},
     "pytorch/builder release/2.1-2.5: 11.8 builds include 3.7, but 2.4+ bring cuDNN 9.1, which has no Kepler kernels "
     "(NVIDIA cuDNN 9.0 support matrix: compute capability 5.0 and newer); 2.3 cu118 pins cuDNN 8.7.0.84"),
    ("k80-torch28", ["torch==2.8.*"], dict(gpu_cc=["3.7"], driver="470.82.01", python="3.10"), {"fail": ["driver"]},
     "Kepler: last CUDA 11.x (NVIDIA architecture matrix); 2.8 has no CUDA 11 builds"),
    ("rtx4090-r550", ["torch"], dict(gpu_cc=["8.9"], driver="550.127.05"), {"torch": ("2.14.1", "cu126")},
     "CUDA 12.6 on R550 by minor-version compatibility; Ada runs sm_86 SASS"),
    # --- newest drivers -----------------------------------------------------------------------------------
    ("h100-r580", ["torch"], dict(gpu_cc=["9.0"], driver="580.65.06"), {"torch": ("2.15.0", "cu132"), "reason": "minor-version compatibility"},
     "NVIDIA: existing CUDA 13.x applications run on drivers >= 580 (minor-version compatibility); PyPI 2.15.0 is cu132"),
    ("h100-r595", ["torch"], dict(gpu_cc=["9.0"], driver="595.45.04", python="3.12"), {"torch": ("2.15.0", "cu132")},
     "NVIDIA release notes: R595 = CUDA 13.2; PyPI torch 2.15.0 is the cu132 build"),
    # --- Python versions ----------------------------------------------------------------------------------
    ("py310-after-215", ["torch"], dict(gpu_cc=["8.9"], driver="580.95.05", python="3.10"),
     {"torch": ("2.14.1", "cu130"), "hint": "Python 3.11"},
     "torch 2.15.0 Requires-Python >=3.11 (package-index metadata); the package-index build of 2.14.1 is cu130 and is "
     "preferred over the PyTorch index's cu132 (issue 15)"),
    ("py310-asks-215", ["torch==2.15.*"], dict(gpu_cc=["8.9"], driver="580.95.05", python="3.10"),
     {"fail": ["python"], "hint": "Python 3.11"}, "torch 2.15.0 Requires-Python >=3.11"),
    ("py315", ["torch"], dict(gpu_cc=["8.9"], driver="595.45.04", python="3.15"), {"torch": ("2.15.0", "cu132")},
     "PyPI torch 2.15.0 has cp315 wheels; 2.14 has 3.15 only on the PyTorch index (Linux, experimental)"),
    ("py313-torch24", ["torch==2.4.*"], dict(gpu_cc=["8.6"], driver="550.127.05", python="3.13"), {"fail": ["python"]},
     "torch 2.4 wheels: cp38-cp312 (package index)"),
    # --- no GPU / macOS / CPU -----------------------------------------------------------------------------
    ("no-gpu-linux", ["torch"], dict(no_gpu=True), {"torch": ("2.15.0", "cpu")},
     "https://download.pytorch.org/whl/cpu serves the CPU build; the package-index Linux wheel is the CUDA build"),
    ("macos-arm64", ["torch"], dict(os="macos", arch="aarch64", python="3.12"), {"torch": ("2.15.0", "cpu")},
     "PyTorch: macOS wheels are CPU/MPS builds from the package index"),
    ("no-gpu-py38", ["torch"], dict(no_gpu=True, python="3.8"), {"torch": ("2.4.1", "cpu")},
     "torch 2.4 is the last release with Python 3.8 wheels"),
    # --- Windows ------------------------------------------------------------------------------------------
    ("windows-rtx3060", ["torch"], dict(os="windows", gpu_cc=["8.6"], driver="560.94", python="3.12"),
     {"torch": ("2.14.1", "cu126")}, "NVIDIA Table 3: 12.6 GA needs 560.76 on Windows; CUDA 13 needs >= 580"),
    ("windows-torch213-cu129", ["torch==2.13.*"], dict(os="windows", gpu_cc=["8.6"], driver="576.02", python="3.12"),
     {"fail": ["platform"]}, "pytorch/pytorch#186015: cu129 revived Linux-only, 'Windows continues to skip 12.9'",
     {"cuda": "12.9"}),
    # --- aarch64 ------------------------------------------------------------------------------------------
    ("gh200-r580", ["torch"], dict(arch="aarch64", gpu_cc=["9.0"], driver="580.65.06", python="3.12"),
     {"torch": ("2.15.0", "cu132")}, "torch/cuda/__init__.py PYTORCH_RELEASES_CODE_CC aarch64 13.x: 8.0 9.0 10.0 11.0 12.0"),
    ("aarch64-torch26", ["torch==2.6.*"], dict(arch="aarch64", gpu_cc=["9.0"], driver="570.124.06", python="3.12"),
     {"pytorch": ("2.6.0", "conda-forge cuda12.6"), "pip_rejects": ["platform"]},
     "vllm-project/vllm#16502: before 2.7 only nightlies had aarch64 CUDA wheels; conda-forge builds linux-aarch64"),
    ("aarch64-a100-torch27", ["torch==2.7.*"], dict(arch="aarch64", gpu_cc=["8.0"], driver="570.124.06", python="3.12"),
     {"pytorch": ("2.7.1", "conda-forge cuda12.9"), "pip_rejects": ["arch"]},
     "pytorch/pytorch#146378: 2.7 aarch64 cu128 supports CUDA_ARCH 9.0, 10.0, 12.0 (no sm_80); conda-forge rebuilt "
     "2.7.1 with CUDA 12.9 (pytorch-cpu-feedstock .ci_support, 2025-06-22), which R570 runs by minor-version compat"),
    ("jetson-orin", ["torch"], dict(arch="aarch64", gpu_cc=["8.7"], driver="540.4", python="3.10"), {"fail": ["jetson"]},
     "torch/cuda/__init__.py DEVICE_REQUIREMENT: sm_80/sm_86 SASS do not run on 8.7 (Orin)"),
    # --- mixed GPUs ---------------------------------------------------------------------------------------
    ("mixed-pascal-ampere", ["torch"], dict(gpu_cc=["6.1", "8.6"], driver="580.95.05"), {"torch": ("2.14.1", "cu126")},
     "every GPU must be served: cu13x lacks sm_61, cu126 serves both"),
    ("mixed-pascal-blackwell", ["torch"], dict(gpu_cc=["6.1", "12.0"], driver="580.95.05"),
     {"pytorch": ("2.13.0", "conda-forge cuda12.9"), "pip_rejects": ["arch"]},
     "no pip wheel has both sm_61 and sm_120; conda-forge builds 12.9 for 5.0;6.0;...;12.0 (pytorch-cpu-feedstock build.sh)"),
    ("mixed-volta-hopper", ["torch"], dict(gpu_cc=["7.0", "9.0"], driver="580.95.05", python="3.12"),
     {"torch": ("2.14.1", "cu126")}, "pytorch/pytorch#182250: Volta only in cu126 after 2.10"),
    # --- companions, specifiers, CUDA pins ---------------------------------------------------------------
    ("torch-torchvision-h100", ["torch", "torchvision"], dict(gpu_cc=["9.0"], driver="580.65.06", python="3.12"),
     {"torch": ("2.15.0", "cu132"), "torchvision": ("0.29.2", "cu132")},
     "torchvision 0.29.2 (torch>=2.14.0, +cu132) is the companion of torch 2.15.0 (package-index metadata)"),
    ("torch-torchaudio", ["torch", "torchaudio"], dict(gpu_cc=["9.0"], driver="580.65.06", python="3.12"),
     {"torch": ("2.15.0", "cu132"), "torchaudio": ("2.11.1", "cu132")},
     "pytorch/audio installation.rst: torchaudio 2.11 works with PyTorch 2.11 and every later release; the package "
     "index's torchaudio 2.11.1 (py3 wheels, torch>=2.11, uploaded with torch 2.15.0) is the cu132 companion of the "
     "package-index torch 2.15.0 (https://pypi.org/simple/torchaudio/, recorded in tests/compat/index_recordings)"),
    ("torch-torchaudio-r575", ["torch", "torchaudio"], dict(gpu_cc=["8.9"], driver="575.57.08", python="3.12"),
     {"torch": ("2.14.1", "cu126"), "torchaudio": ("2.11.0", "cu126")},
     "notes-doctor-resolve: torch 2.12.1 + torchaudio 2.11.0 was the old answer; torchaudio 2.11.0 (no torch pin "
     "in its METADATA) serves torch 2.14.1 on cu126"),
    ("torch-torchaudio-py315", ["torch", "torchaudio"], dict(gpu_cc=["9.0"], driver="595.45.04", python="3.15"),
     {"torch": ("2.15.0", "cu132"), "torchaudio": ("2.11.1", "cu132")},
     "torchaudio 2.11.0 wheels are cp310-cp314, but 2.11.1 is one py3 wheel (Requires-Python >=3.10): "
     "https://pypi.org/simple/torchaudio/ (tests/compat/index_recordings)"),
    ("torchaudio-torch210-pinned", ["torch==2.10.*", "torchaudio"], dict(gpu_cc=["8.6"], driver="570.124.06",
                                                                         python="3.12"),
     {"torch": ("2.10.0", "cu128"), "torchaudio": ("2.10.0", "cu128")},
     "torchaudio 2.10.0 METADATA: Requires-Dist torch==2.10.0 (exact pin before 2.11)"),
    ("conda-route-python", ["torch==2.6.*"], dict(gpu_cc=["12.0"], driver="575.64.03", python="3.14"),
     {"fail": ["python"]}, "conda-forge builds no Python a torch release lacks: torch 2.6 supports 3.9-3.13, so "
     "Python 3.14 gets no conda-forge 2.6 route either (pytorch/pytorch#145949 for the missing sm_120)"),
    ("tf-pascal-cudnn-pin", ["tensorflow"], dict(gpu_cc=["6.1"], driver="580.95.05", python="3.12"),
     {"tensorflow": ("2.21.0", "and-cuda"), "pip": "'nvidia-cudnn-cu12<9.11'"},
     "TF 2.21 [and-cuda] pins nvidia-cudnn-cu12>=9.3.0.75,<10 (pip takes the newest); immich-app/immich#23110: "
     "cuDNN 9.11 dropped Maxwell and Pascal"),
    # --- a GPU newer than its driver -----------------------------------------------------------------------
    ("rtx5090-r550", ["torch"], dict(gpu_cc=["12.0"], driver="550.127.05"), {"fail": ["gpu_driver_old"], "hint": "R570"},
     "NVIDIA cuDNN support matrix: Blackwell needs >= 570.26; NVIDIA/cloud-native-docs#184 (HGX B200 >= 570.133.20)"),
    ("b200-r560-tf", ["tensorflow"], dict(gpu_cc=["10.0"], driver="560.35.03", python="3.12"),
     {"fail": ["gpu_driver_old"], "hint": "R570"},
     "NVIDIA/cloud-native-docs#184: HGX B200 requires driver 570.133.20 or later, for every framework"),
    ("torch26-cuda126", ["torch==2.6.*"], dict(gpu_cc=["8.9"], driver="550.127.05"), {"torch": ("2.6.0", "cu126")},
     "PyTorch 2.6 ships cu118/cu124/cu126 (RELEASE.md)", {"cuda": "12.6"}),
    ("torch110-find-links", ["torch==1.10.*"], dict(gpu_cc=["8.6"], driver="470.82.01", python="3.9"),
     {"torch": ("1.10.2", "cu113"), "requirement": "torch==1.10.2+cu113", "pip": "-f https://download.pytorch.org/whl/torch_stable.html"},
     "previous-versions: 1.10 wheels via -f torch_stable.html with +cuXYZ local versions"),
    ("torch112-extra-index", ["torch==1.12.*"], dict(gpu_cc=["8.6"], driver="470.82.01", python="3.9"),
     {"torch": ("1.12.1", "cu116"), "requirement": "torch==1.12.1+cu116", "pip": "--extra-index-url https://download.pytorch.org/whl/cu116"},
     "previous-versions: 1.12.1 pip commands use --extra-index-url with +cu116; 11.6 runs on R470 by minor-version compatibility"),
    ("torch180-pascal", ["torch==1.8.0"], dict(gpu_cc=["6.1"], driver="450.80.02", python="3.8"), {"torch": ("1.8.0", "cu102")},
     "pytorch/pytorch#53164: 1.8.0 cu111 was built for sm_50 sm_70 sm_80 sm_86 only; cu102 (package index) has sm_60"),
    ("glibc217-centos7", ["torch"], dict(gpu_cc=["8.6"], driver="535.104.05", glibc="2.17"),
     {"torch": ("2.6.0", "cu124"), "hint": "glibc"},
     "pytorch/pytorch#141565: in 2.6 only the CUDA 12.6 wheels moved to manylinux_2_28; 2.7 moved all Linux wheels"),
    # --- TensorFlow ---------------------------------------------------------------------------------------
    ("tf-rtx4090-linux", ["tensorflow"], dict(gpu_cc=["8.9"], driver="550.127.05", python="3.12"),
     {"tensorflow": ("2.21.0", "and-cuda"), "requirement": "tensorflow[and-cuda]==2.21.0"},
     "tensorflow/docs pip.md: pip install tensorflow[and-cuda]; TF 2.21 tested with CUDA 12.5 / cuDNN 9.3"),
    ("tf-maxwell", ["tensorflow"], dict(gpu_cc=["5.2"], driver="580.95.05", python="3.11"), {"tensorflow": ("2.17.1", "and-cuda")},
     "tensorflow .bazelrc: hermetic builds (2.18+) target sm_60 and newer only"),
    ("tf-windows-native", ["tensorflow"], dict(os="windows", gpu_cc=["8.6"], driver="560.94", python="3.12"),
     {"fail": ["os"], "hint": "WSL2"}, "tensorflow/docs pip.md: TF 2.10 was the last release with GPU on native Windows"),
    ("tf-windows-py310", ["tensorflow"], dict(os="windows", gpu_cc=["8.6"], driver="560.94", python="3.10"),
     {"tensorflow": ("2.10.1", "system-cuda")}, "tensorflow/docs source_windows.md: tensorflow_gpu-2.10.0 CUDA 11.2 cuDNN 8.1"),
    ("tf-r470", ["tensorflow"], dict(gpu_cc=["8.6"], driver="470.182.03", python="3.10"),
     {"tensorflow": ("2.14.1", "and-cuda")}, "TF 2.14's [and-cuda] pins CUDA 11.8 (-cu11 wheels), runnable on R470 via minor-version compatibility"),
    ("tf-gpu-dead-name", ["tensorflow-gpu"], dict(gpu_cc=["8.6"], driver="550.127.05", python="3.11"),
     {"tensorflow": ("2.21.0", "and-cuda"), "reason": "tensorflow-gpu is a dead name"},
     "tensorflow-gpu 2.12.0 on the package index is a stub: 'please install tensorflow instead'"),
    ("tf-glibc-226", ["tensorflow"], dict(gpu_cc=["8.6"], driver="550.127.05", python="3.11", glibc="2.26"),
     {"tensorflow": ("2.20.0", "and-cuda")}, "TF 2.21 Linux wheels are manylinux_2_27 (package index file names)"),
    ("tf-py37-no-2111", ["tensorflow"], dict(gpu_cc=["8.6"], driver="535.104.05", python="3.7"),
     {"tensorflow": ("2.11.0", "system-cuda")}, "package-index file list: tensorflow 2.11.0 has cp37 wheels, 2.11.1 starts at cp38"),
    ("tf-py36-no-263", ["tensorflow"], dict(gpu_cc=["8.6"], driver="535.104.05", python="3.6"),
     {"tensorflow": ("2.6.2", "system-cuda")}, "package-index file list: tensorflow 2.6.3-2.6.5 have no cp36 wheels"),
    # --- tier 2 -------------------------------------------------------------------------------------------
    ("jax-rtx4090-r580", ["jax"], dict(gpu_cc=["8.9"], driver="580.95.05", python="3.12"), {"jax": ("0.12.1", "cuda13")},
     "jax-ml/jax docs/installation.md: pip install -U 'jax[cuda13]', >= 580 for CUDA 13; jax 0.12.1 and "
     "jax-cuda13-plugin 0.12.1 are on the package index (tests/compat/index_recordings)"),
    ("jax-r535", ["jax"], dict(gpu_cc=["8.6"], driver="535.104.05", python="3.12"), {"jax": ("0.12.0.1", "cuda12")},
     "jax docs: >= 525 for CUDA 12"),
    ("jax-windows", ["jax"], dict(os="windows", gpu_cc=["8.6"], driver="576.02", python="3.12"), {"fail": ["os"], "hint": "WSL2"},
     "jax docs: NVIDIA GPU on native Windows: no; WSL2 experimental"),
    ("jax-py311", ["jax"], dict(gpu_cc=["8.6"], driver="580.95.05", python="3.11"), {"jax": ("0.10.2", "cuda13")},
     "jax CHANGELOG 0.11.0: Python 3.11 dropped"),
    ("ort-r535", ["onnxruntime"], dict(gpu_cc=["8.6"], driver="535.104.05", python="3.12"), {"onnxruntime-gpu": ("1.26.0", "cuda12")},
     "microsoft/onnxruntime#29032: from 1.27 the Python packages are CUDA 13 only"),
    ("ort-b200", ["onnxruntime"], dict(gpu_cc=["10.0"], driver="580.95.05", python="3.12"), {"onnxruntime-gpu": ("1.29.0", "cuda13")},
     "microsoft/onnxruntime#31989: CUDA 13 Linux builds from ~1.30 target 75;80;86;89;90a;120a (no sm_100)"),
    ("paddle-rtx3090", ["paddlepaddle"], dict(gpu_cc=["8.6"], driver="575.57.08", python="3.12"),
     {"paddlepaddle-gpu": ("3.3.1", "cu129")}, "Paddle setup.py: cu129 wheels; GPU wheels only on paddlepaddle.org.cn"),
    ("paddle-no-gpu", ["paddlepaddle"], dict(no_gpu=True, python="3.12"), {"paddlepaddle": ("3.3.1", "cpu")},
     "package index: paddlepaddle 3.3.1 is the newest CPU wheel"),
]


def _run(packages, overrides, cuda=None):
    return resolve(Request(specs=parse_specs(packages), cuda=cuda, machine=machine(**overrides)))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_real_world_case(case):
    name, packages, overrides, expect, source, *extra = case
    assert source  # every case cites where its answer comes from
    opts = extra[0] if extra else {}
    res = _run(packages, overrides, cuda=opts.get("cuda"))
    if "fail" in expect:
        assert not res.ok, f"{name}: expected no fit, got {[(p.name, p.version, p.variant) for p in res.packages]}"
        assert res.commands["pip"] is None and res.packages == []
        rules = {r.rule for r in res.rejected}
        for rule in expect["fail"]:
            assert rule in rules, f"{name}: rule {rule} not among {rules}"
    else:
        assert res.ok, f"{name}: {[(r.candidate, r.rule, r.detail) for r in res.rejected][:5]}"
        got = {p.name: (p.version, p.variant) for p in res.packages}
        for pkg, want in expect.items():
            if pkg in ("hint", "requirement", "pip", "reason", "pip_rejects"):
                continue
            assert got.get(pkg) == want, f"{name}: {pkg} {got.get(pkg)} != {want}"
        if "requirement" in expect:
            assert expect["requirement"] in [p.requirement for p in res.packages]
        if "pip" in expect:
            assert expect["pip"] in res.commands["pip"]
        if "pip_rejects" in expect:
            assert res.commands["pip"] is None and res.commands["conda"], res.commands
            assert set(expect["pip_rejects"]) <= {r.rule for r in res.rejected}
        if "reason" in expect:
            assert any(expect["reason"] in r.text for r in res.reasons)
        # every reason names where its fact comes from (the machine line cites the machine)
        assert all(r.source for r in res.reasons if r.text), [r.text for r in res.reasons if not r.source]
    if "hint" in expect:
        assert any(expect["hint"] in h.text for h in res.hints), f"{name}: {[h.text for h in res.hints]}"


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


def test_never_silently_cpu_on_a_gpu_machine():
    # A GPU machine where nothing GPU-capable fits must fail, not return the CPU build.
    res = _run(["torch==2.15.*"], dict(gpu_cc=["6.1"], driver="580.95.05"))
    assert not res.ok
    assert all(p.variant != "cpu" for p in res.packages)
    assert any("--no-gpu" in h.text for h in res.hints)
    # ...and with --no-gpu the same request gets the CPU build
    res = _run(["torch==2.15.*"], dict(gpu_cc=["6.1"], driver="580.95.05", no_gpu=True))
    assert res.ok and res.packages[0].variant == "cpu"
