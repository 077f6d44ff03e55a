"""Generate many doctor snapshots by mutating the project's real fixtures (tests/fixtures/snapshots, each of
which cites the machine it was recorded from): the GPU model, the driver branch and the torch build change;
everything else (OS, tools, disks, the probe's ladder) stays as recorded. Deterministic for a given seed.

The GPU names and compute capabilities are NVIDIA's (https://developer.nvidia.com/cuda-gpus); the driver
versions are released Linux drivers with the newest CUDA each supports (CUDA release notes, table 3); the
torch builds are ones published on download.pytorch.org.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
# Fixtures that record an NVIDIA GPU seen through NVML: mutating their GPU/driver/torch keeps them coherent.
BASES = ("h100-r580", "rtx4090-torch-cpu", "rtx3090-r470-cu126", "rtx5090-cu124", "v100-torch211-cu128",
         "wsl2-rtx4070", "container-no-gpus", "stub-libcuda-ld-path", "rtx3080-uvm-after-suspend")
GPUS = [  # (name, compute capability, architecture)
    ("NVIDIA GeForce GTX 1080 Ti", "6.1", "pascal"), ("Tesla V100-SXM2-32GB", "7.0", "volta"),
    ("Tesla T4", "7.5", "turing"), ("NVIDIA GeForce RTX 3060", "8.6", "ampere"),
    ("NVIDIA A100 80GB PCIe", "8.0", "ampere"), ("NVIDIA GeForce RTX 4090", "8.9", "ada"),
    ("NVIDIA H100 80GB HBM3", "9.0", "hopper"), ("NVIDIA GeForce RTX 5090", "12.0", "blackwell"),
]
DRIVERS = [("470.182.03", "11.4"), ("525.147.05", "12.0"), ("535.183.01", "12.2"), ("550.127.05", "12.4"),
           ("570.133.20", "12.8"), ("575.64.03", "12.9"), ("580.65.06", "13.0")]
TORCH = [("2.5.1+cu121", "cu121", "12.1"), ("2.6.0+cpu", "cpu", None), ("2.6.0+cu124", "cu124", "12.4"),
         ("2.7.1+cu118", "cu118", "11.8"), ("2.7.1+cu126", "cu126", "12.6"), ("2.7.1+cu128", "cu128", "12.8"),
         ("2.9.1+cu130", "cu130", "13.0")]


def mutate(doc: dict, rng: random.Random, index: int) -> dict:
    d = copy.deepcopy(doc)
    name, cc, arch = rng.choice(GPUS)
    driver, cuda = rng.choice(DRIVERS)
    nv = d["nvidia"]
    for g in nv["gpus"]:
        g.update(name=name, compute_capability=cc, architecture=arch)
    for key in ("driver_version", "kernel_module", "library_version"):
        if nv.get(key):
            nv[key] = driver
    nv["cuda_driver_version"] = cuda
    version, variant, tcuda = rng.choice(TORCH)
    for fw in d["frameworks"]["items"]:
        if fw["name"] == "torch":
            fw.update(version=version, variant=variant, cuda=tcuda, deep=None)
        else:
            fw["deep"] = None
    d["frameworks"]["deep"] = False
    d["origin"] = f"generated #{index} from a project fixture: GPU {name}, driver {driver}, torch {version}"
    return d


def generate(count: int, out: Path, seed: int = 13) -> list[Path]:
    """Write ``count`` snapshots ``node000.json``… into ``out``; returns their paths."""
    rng = random.Random(seed)
    bases = [json.loads((FIXTURES / f"{b}.json").read_text(encoding="utf-8")) for b in BASES]
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = out / f"node{i:03d}.json"
        p.write_text(json.dumps(mutate(bases[i % len(bases)], rng, i), indent=1), encoding="utf-8")
        paths.append(p)
    return paths
