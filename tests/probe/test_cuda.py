"""CUDA toolkits, nvcc, cuDNN headers, LD_LIBRARY_PATH and cuda-compat from fake trees and fake executables."""

from __future__ import annotations

import json

from dlsetup.probe._fs import Root
from dlsetup.probe.cuda import parse_cudnn_header, parse_nvcc_version, probe_cuda

# Real `nvcc --version` output of CUDA 12.4 Update 1.
NVCC_124 = """nvcc: NVIDIA (R) Cuda compiler driver
Copyright (c) 2005-2024 NVIDIA Corporation
Built on Thu_Mar_28_02:18:24_PDT_2024
Cuda compilation tools, release 12.4, V12.4.131
Build cuda_12.4.r12.4/compiler.34097967_0
"""


def put(root, path, text="", mode=None):
    p = root / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    if mode:
        p.chmod(mode)
    return p


def script(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_toolkits_from_version_files_with_symlink_alias(tmp_path):
    root = tmp_path / "root"
    put(root, "/usr/local/cuda-12.4/version.json", json.dumps({"cuda": {"name": "CUDA SDK", "version": "12.4.1"}}))
    put(root, "/usr/local/cuda-11.0/version.txt", "CUDA Version 11.0.228\n")
    (root / "usr/local/cuda").symlink_to("cuda-12.4")
    info = probe_cuda(Root(root), {"PATH": str(tmp_path / "nobin")})
    got = {(t.path, t.version, t.source, tuple(t.aliases)) for t in info.toolkits}
    assert got == {("/usr/local/cuda-12.4", "12.4.1", "version.json", ("/usr/local/cuda",)),
                   ("/usr/local/cuda-11.0", "11.0.228", "version.txt", ())}
    assert info.nvcc_path is None and info.nvcc_version is None


def test_nvcc_on_path_without_version_file_is_asked(tmp_path):
    root = tmp_path / "root"
    put(root, "/usr/local/cuda-12.4/include/cuda.h", "")
    script(root / "usr/local/cuda-12.4/bin/nvcc", f"cat <<'EOF'\n{NVCC_124}EOF\n")
    info = probe_cuda(Root(root), {"PATH": str(root / "usr/local/cuda-12.4/bin")})
    assert info.nvcc_path == "/usr/local/cuda-12.4/bin/nvcc"
    assert info.nvcc_version == "12.4.131"
    assert [(t.path, t.version, t.source) for t in info.toolkits] == [("/usr/local/cuda-12.4", "12.4.131", "nvcc")]


def test_nvcc_wrapper_script_is_followed_to_the_toolkit(tmp_path):
    root = tmp_path / "root"
    put(root, "/usr/local/cuda-13.0/include/cuda.h", "")
    put(root, "/usr/local/cuda-13.0/bin/nvcc", "ELF", 0o755)
    (root / "usr/local/cuda-13.0/dist-info/nvidia_cuda_nvcc-13.0.88.dist-info").mkdir(parents=True)
    script(root / "usr/local/bin/nvcc", 'exec /usr/local/cuda-13.0/bin/nvcc "$@"\n')
    info = probe_cuda(Root(root), {"PATH": str(root / "usr/local/bin")})
    assert info.nvcc_path == "/usr/local/bin/nvcc"
    assert info.nvcc_version == "13.0.88"
    assert [(t.path, t.source) for t in info.toolkits] == [("/usr/local/cuda-13.0", "dist-info")]


def test_cuda_home_points_at_a_toolkit(tmp_path):
    root = tmp_path / "root"
    put(root, "/opt/nvidia/cuda/version.json", json.dumps({"cuda": {"version": "12.6.3"}}))
    info = probe_cuda(Root(root), {"PATH": "", "CUDA_HOME": "/opt/nvidia/cuda"})
    assert info.cuda_home == "/opt/nvidia/cuda"
    assert [(t.path, t.version) for t in info.toolkits] == [("/opt/nvidia/cuda", "12.6.3")]


def test_cudnn_headers_in_toolkit_and_distribution_paths(tmp_path):
    root = tmp_path / "root"
    put(root, "/usr/local/cuda-12.4/version.json", json.dumps({"cuda": {"version": "12.4.1"}}))
    put(root, "/usr/local/cuda-12.4/include/cudnn_version.h",
        "#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 9\n#define CUDNN_PATCHLEVEL 7\n")
    put(root, "/usr/include/x86_64-linux-gnu/cudnn_version_v9.h",
        "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 5\n#define CUDNN_PATCHLEVEL 1\n")
    put(root, "/usr/include/cudnn.h", "/* cuDNN 9 moved the version to cudnn_version.h */\n")
    info = probe_cuda(Root(root), {"PATH": ""})
    assert sorted((c["path"], c["version"]) for c in info.cudnn) == [
        ("/usr/include/x86_64-linux-gnu/cudnn_version_v9.h", "9.5.1"),
        ("/usr/local/cuda-12.4/include/cudnn_version.h", "8.9.7")]


def test_ld_library_path_entries_are_classified(tmp_path):
    root = tmp_path / "root"
    put(root, "/usr/local/cuda-12.4/lib64/stubs/libcuda.so", "")
    put(root, "/usr/local/cuda-12.4/lib64/libcudart.so.12", "")
    put(root, "/usr/local/cuda-12.4/compat/libcuda.so.550.54.15", "")
    put(root, "/opt/cudnn/lib/libcudnn.so.9", "")
    env = {"PATH": "", "LD_LIBRARY_PATH": "/usr/local/cuda-12.4/lib64/stubs:/usr/local/cuda-12.4/lib64:"
                                          "/usr/local/cuda-12.4/compat:/opt/cudnn/lib:/gone"}
    info = probe_cuda(Root(root), env)
    flags = {d.path: (d.exists, d.cudart, d.cudnn, d.libcuda, d.stubs, d.compat) for d in info.ld_library_path}
    assert flags == {
        "/usr/local/cuda-12.4/lib64/stubs": (True, False, False, True, True, False),
        "/usr/local/cuda-12.4/lib64": (True, True, False, False, False, False),
        "/usr/local/cuda-12.4/compat": (True, False, False, True, False, True),
        "/opt/cudnn/lib": (True, False, True, False, False, False),
        "/gone": (False, False, False, False, False, False),
    }
    assert info.compat_libs == ["/usr/local/cuda-12.4/compat/libcuda.so.550.54.15"]


def _toolkit(root):
    put(root, "/usr/local/cuda-12.4/version.json", json.dumps({"cuda": {"version": "12.4.1"}}))


def test_gcc_version_from_the_gcc_on_path(tmp_path):
    _toolkit(tmp_path / "root")
    script(tmp_path / "bin/gcc", 'echo "13.3.0"\n')
    info = probe_cuda(Root(tmp_path / "root"), {"PATH": str(tmp_path / "bin")})
    assert info.gcc_version == "13.3.0"


def test_gcc_is_not_asked_without_a_toolkit(tmp_path):
    script(tmp_path / "bin/gcc", f'echo "13.3.0"; touch {tmp_path}/asked\n')
    info = probe_cuda(Root(tmp_path / "root"), {"PATH": str(tmp_path / "bin")})
    assert info.gcc_version is None and not (tmp_path / "asked").exists()


def test_broken_gcc_gives_no_version(tmp_path):
    _toolkit(tmp_path / "root")
    script(tmp_path / "bin/gcc", 'echo "gcc: fatal error" >&2; exit 1\n')
    info = probe_cuda(Root(tmp_path / "root"), {"PATH": str(tmp_path / "bin")})
    assert info.gcc_version is None


def test_parsers():
    assert parse_nvcc_version(NVCC_124) == "12.4.131"
    assert parse_nvcc_version("garbage") is None
    assert parse_cudnn_header("#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 1\n") is None
    assert parse_cudnn_header(None) is None
