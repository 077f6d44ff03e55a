"""Environment variables that change what CUDA, the frameworks and the package tools do."""

from __future__ import annotations

import re
from collections.abc import Mapping

from dlsetup.util.redact import redact_url

NAMES = (
    "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_REQUIRE_CUDA",
    "LD_LIBRARY_PATH", "LD_PRELOAD", "PATH", "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT", "CUDNN_HOME",
    "CUDA_MODULE_LOADING", "CUDA_LAUNCH_BLOCKING", "CUDA_DEVICE_ORDER", "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_ALLOC_CONF", "TORCH_CUDA_ARCH_LIST", "TORCH_EXTENSIONS_DIR", "TF_CPP_MIN_LOG_LEVEL",
    "TF_FORCE_GPU_ALLOW_GROWTH", "XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_FLAGS", "JAX_PLATFORMS",
    "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HSA_OVERRIDE_GFX_VERSION", "ZE_AFFINITY_MASK",
    "NCCL_DEBUG", "NCCL_P2P_DISABLE", "NCCL_IB_DISABLE", "NCCL_SOCKET_IFNAME",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST", "PIP_CONFIG_FILE", "PIP_NO_INDEX",
    "CONDARC", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_EXE", "MAMBA_EXE", "MAMBA_ROOT_PREFIX",
    "CONDA_OVERRIDE_CUDA", "CONDA_CHANNELS", "CONDA_PKGS_DIRS", "CONDA_ENVS_PATH", "VIRTUAL_ENV", "PYTHONPATH",
    "PYTHONHOME", "PYTHONNOUSERSITE", "PIXI_HOME", "PIXI_PROJECT_MANIFEST", "HF_ENDPOINT", "HF_HOME",
    "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HTTP_PROXY", "HTTPS_PROXY",
    "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY", "all_proxy",
)
PREFIXES = ("UV_",)
# Never copied: values that are secrets by name.
_SECRET = re.compile(r"(TOKEN|PASSWORD|SECRET|_KEY$|CREDENTIAL|AUTH)", re.I)


def relevant_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables above (empty values kept: ``CUDA_VISIBLE_DEVICES=""`` matters), URLs redacted."""
    out = {}
    for name in sorted(environ):
        if name in NAMES or name.startswith(PREFIXES):
            if _SECRET.search(name):
                continue
            out[name] = redact_url(environ[name])
    return out
