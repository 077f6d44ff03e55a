"""Test kit for the hardware boundary: replay recorded NVML answers and build fake machine trees.

* :class:`NvmlReplay` stands in for the ``pynvml`` module. It answers from a recording (a dict from
  ``tests/fixtures/hw/*.json``) and raises the *real* ``pynvml.NVMLError_*`` classes, so
  ``dlsetup.probe.nvml.probe_nvml`` runs unchanged.
* :func:`materialize` builds a machine from a hardware fixture under ``tmp_path``: files and symlinks
  for ``/proc``, ``/sys``, ``/dev``, ``/etc``, ``/usr/local/cuda*``; a real ``nvidia-smi`` executable
  that prints the recorded output (or hangs); a real ``libcuda.so.1`` compiled from
  ``fake_libcuda.c`` with the recorded answers; a site-packages tree with dist-info directories.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HW = Path(__file__).resolve().parent.parent / "fixtures" / "hw"


def load_hw(name: str) -> dict[str, Any]:
    return json.loads((HW / f"{name}.json").read_text(encoding="utf-8"))


def hw_names() -> list[str]:
    return sorted(p.stem for p in HW.glob("*.json"))


class NvmlReplay:
    """A ``pynvml`` look-alike answering from a recording. ``{"error": "NoPermission"}`` anywhere raises
    ``pynvml.NVMLError_NoPermission``; a missing per-device key raises ``NVMLError_NotSupported``;
    ``{"hang": seconds}`` blocks (to test the timeout)."""

    def __init__(self, recording: dict[str, Any]) -> None:
        import pynvml

        self._nv = pynvml
        self._rec = recording
        self.NVMLError = pynvml.NVMLError
        self.c_nvmlGpuFabricInfo_t = pynvml.c_nvmlGpuFabricInfo_t
        self.calls: list[str] = []
        self.released = threading.Event()

    # -- helpers
    def _raise(self, name: str) -> None:
        raise getattr(self._nv, f"NVMLError_{name}")()

    def _val(self, value: Any) -> Any:
        if isinstance(value, dict) and "error" in value:
            self._raise(value["error"])
        if isinstance(value, dict) and "hang" in value:
            self.released.wait(float(value["hang"]))
            self._raise("Timeout")
        return value

    def _dev(self, handle: int, key: str) -> Any:
        dev = self._rec["devices"][handle]
        if key not in dev:
            self._raise("NotSupported")
        return self._val(dev[key])

    # -- system
    def nvmlInit(self) -> None:
        self.calls.append("nvmlInit")
        self._val(self._rec.get("init", {}))

    def nvmlShutdown(self) -> None:
        self.calls.append("nvmlShutdown")

    def nvmlSystemGetDriverVersion(self) -> str:
        return self._val(self._rec["driver_version"])

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return self._val(self._rec["cuda_driver_version"])

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self._val(self._rec["cuda_driver_version"])

    def nvmlSystemGetNVMLVersion(self) -> str:
        if "nvml_version" not in self._rec:
            self._raise("NotSupported")
        return self._val(self._rec["nvml_version"])

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        for dev in self._rec.get("devices", []):
            for p in dev.get("processes", []) if isinstance(dev.get("processes"), list) else []:
                if p["pid"] == pid and "name" in p:
                    return self._val(p["name"])
        self._raise("NotFound")

    def nvmlDeviceGetCount(self) -> int:
        return self._val(self._rec.get("device_count", len(self._rec.get("devices", []))))

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        dev = self._rec["devices"][i]
        if "handle_error" in dev:
            self._raise(dev["handle_error"])
        return i

    # -- devices
    def nvmlDeviceGetName(self, h: int) -> str:
        return self._dev(h, "name")

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return self._dev(h, "uuid")

    def nvmlDeviceGetPciInfo(self, h: int) -> Any:
        return SimpleNamespace(busId=self._dev(h, "pci_bus_id"))

    def nvmlDeviceGetMemoryInfo(self, h: int, version: Any = None) -> Any:
        mem = self._dev(h, "memory")
        return SimpleNamespace(total=mem["total"], used=mem["used"], free=mem["total"] - mem["used"])

    def nvmlDeviceGetCudaComputeCapability(self, h: int) -> tuple[int, int]:
        return tuple(self._dev(h, "cc"))  # type: ignore[return-value]

    def nvmlDeviceGetArchitecture(self, h: int) -> int:
        return self._dev(h, "arch")

    def nvmlDeviceGetMigMode(self, h: int) -> list[int]:
        return list(self._dev(h, "mig_mode"))

    def nvmlDeviceGetPersistenceMode(self, h: int) -> int:
        return self._dev(h, "persistence_mode")

    def nvmlDeviceGetGpuFabricInfo(self, h: int, ref: Any) -> int:
        state = self._dev(h, "fabric_state")
        getattr(ref, "_obj", ref).state = state
        return 0

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list[Any]:
        procs = self._dev(h, "processes") if "processes" in self._rec["devices"][h] else []
        return [SimpleNamespace(pid=p["pid"], usedGpuMemory=p.get("used_memory")) for p in procs]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: int) -> list[Any]:
        return []


@dataclass
class Machine:
    root: Path
    environ: dict[str, str]
    nvml: NvmlReplay
    spec: dict[str, Any]
    bin_dir: Path
    site_dirs: list[Path] = field(default_factory=list)
    prefix: Path | None = None


def _write(root: Path, machine_path: str, text: str) -> Path:
    p = root / machine_path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def compile_libcuda(dest: Path, params: dict[str, Any]) -> bool:
    """Build fake_libcuda.c into ``dest`` with the recorded answers; False when no C compiler exists."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    defs = []
    for key, macro in (("version", "DRIVER_VERSION"), ("version_rc", "VERSION_RC"), ("init_rc", "INIT_RC"),
                       ("cc_major", "CC_MAJOR"), ("cc_minor", "CC_MINOR"), ("memory", "MEM_BYTES")):
        if key in params:
            defs.append(f"-D{macro}={int(params[key])}")
    devices = params.get("devices")
    if devices is not None:
        defs.append(f"-DNDEV={len(devices)}")
        if devices:
            d = devices[0]
            defs += [f'-DDEV_NAME="{d["name"]}"', f"-DCC_MAJOR={d['cc'][0]}", f"-DCC_MINOR={d['cc'][1]}",
                     f"-DMEM_BYTES={d.get('memory', 0)}ULL"]
    if params.get("hang"):
        defs.append("-DINIT_HANG")
    if params.get("crash"):
        defs.append("-DINIT_CRASH")
    if params.get("check_cvd"):
        defs.append("-DCHECK_CVD")
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(dest), str(HW / "fake_libcuda.c"), *defs], check=True,
                   capture_output=True)
    return True


def write_smi(bin_dir: Path, smi: dict[str, Any]) -> Path:
    """A real ``nvidia-smi`` executable printing the recorded output (exit code, optional hang)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "nvidia-smi"
    lines = ["#!/bin/sh"]
    if smi.get("hang"):
        lines.append(f"exec {shutil.which('sleep') or '/bin/sleep'} 600")
    if smi.get("no_compute_cap"):
        lines.append('case "$*" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\'; '
                     "echo; echo \"Run 'nvidia-smi --help-query-gpu' for usage.\"; exit 2;; esac")
    lines.append(f"printf '%s' {shlex.quote(smi.get('stdout', ''))}")
    if smi.get("stderr"):
        lines.append(f"printf '%s' {shlex.quote(smi['stderr'])} >&2")
    lines.append(f"exit {int(smi.get('exit', 0))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def build_site(root: Path, site: dict[str, Any]) -> tuple[list[Path], Path | None]:
    """Fake site-packages: ``packages`` become ``<dist>-<version>.dist-info`` (+ INSTALLER, files)."""
    prefix = root / site.get("prefix", "/opt/env").lstrip("/")
    sp = prefix / "lib" / f"python{site.get('python', '3.11')}" / "site-packages"
    sp.mkdir(parents=True, exist_ok=True)
    for pkg in site.get("packages", []):
        kind = pkg.get("kind", "dist-info")
        name = pkg["dist"].replace("-", "_")
        meta = sp / f"{name}-{pkg['version']}.{kind}"
        meta.mkdir(parents=True, exist_ok=True)
        if kind == "dist-info":
            (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {pkg['dist']}\nVersion: {pkg['version']}\n")
            if pkg.get("installer"):
                (meta / "INSTALLER").write_text(pkg["installer"] + "\n")
        for rel, text in pkg.get("files", {}).items():
            f = sp / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text, encoding="utf-8")
    for rel, text in site.get("files", {}).items():
        f = sp / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    meta_dir = prefix / "conda-meta"
    for record in site.get("conda_meta", []):
        meta_dir.mkdir(parents=True, exist_ok=True)
        (meta_dir / f"{record}.json").write_text("{}\n")
    return [sp], prefix


def materialize(spec: dict[str, Any], tmp_path: Path) -> Machine:
    """Build the machine described by a hardware fixture under ``tmp_path``."""
    root = tmp_path / "root"
    root.mkdir(parents=True, exist_ok=True)
    for path, text in spec.get("files", {}).items():
        f = _write(root, path, text)
        if "/bin/" in path:  # nvcc, nvidia-smi placeholders must look executable to `which`
            f.chmod(0o755)
    for path in spec.get("dirs", []):
        (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for path in spec.get("devices", []):
        _write(root, path, "")
    for path, target in spec.get("symlinks", {}).items():
        link = root / path.lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        if target.startswith("/"):
            target = os.path.relpath(root / target.lstrip("/"), link.parent)
        if not link.is_symlink():
            link.symlink_to(target)
    for dev in spec.get("pci", []):
        base = f"/sys/bus/pci/devices/{dev['slot']}"
        for key in ("class", "vendor", "device"):
            _write(root, f"{base}/{key}", dev[key] + "\n")
        if dev.get("driver"):
            drv = root / "sys/bus/pci/drivers" / dev["driver"]
            drv.mkdir(parents=True, exist_ok=True)
            link = root / base.lstrip("/") / "driver"
            link.symlink_to(os.path.relpath(drv, link.parent))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if "nvidia_smi" in spec:
        write_smi(bin_dir, spec["nvidia_smi"])
    for key in ("libcuda", "libcuda_real"):
        if key in spec:
            lc = spec[key]
            compile_libcuda(root / lc["path"].lstrip("/"), lc)
    path = [str(root / d.lstrip("/")) for d in spec.get("path_dirs", [])] + [str(bin_dir)]
    environ = {"PATH": os.pathsep.join(path), "HOME": str(tmp_path / "home")}
    environ.update(spec.get("env", {}))
    site_dirs, prefix = build_site(root, spec["site"]) if "site" in spec else ([], None)
    return Machine(root=root, environ=environ, nvml=NvmlReplay(spec.get("nvml", {"init": {"error": "LibraryNotFound"}})),
                   spec=spec, bin_dir=bin_dir, site_dirs=site_dirs, prefix=prefix)
