"""The container host: is this a Docker/Podman machine, and is the NVIDIA Container Toolkit ready for it?

File reads and PATH look-ups only (no `docker info`, no daemon socket): which engines are installed (a snap Docker
is named as such: its confinement hides the host's toolkit, NVIDIA/nvidia-docker#1642), whether ``nvidia-ctk`` or
the runtime hook is installed, whether ``/etc/docker/daemon.json`` registers the ``nvidia`` runtime, which CDI specs
name ``nvidia.com/gpu`` and for which driver version they were generated, cgroup v2, and the ``/dev/char`` symlinks
whose absence makes containers lose their GPUs after ``systemctl daemon-reload`` (NVIDIA/nvidia-container-toolkit#48).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from dlsetup.probe._fs import Root
from dlsetup.probe._run import which
from dlsetup.probe.model import ContainerHostInfo

_SO_VERSION = re.compile(r"lib(?:cuda|nvidia-ml)\.so\.(\d{3}\.\d+(?:\.\d+)?)")


def _on_path(root: Root, name: str, path: str) -> str | None:
    found = which(name, path)
    if found:
        return root.to_machine(found)
    for d in ("/usr/bin", "/usr/local/bin", "/snap/bin"):
        if root.exists(f"{d}/{name}"):
            return f"{d}/{name}"
    return None


def probe_container_host(root: Root, environ: Mapping[str, str]) -> ContainerHostInfo | None:
    path = environ.get("PATH", "")
    engines = []
    docker = _on_path(root, "docker", path)
    if docker:
        engines.append("docker (snap)" if docker.startswith("/snap/") else "docker")
    if _on_path(root, "podman", path):
        engines.append("podman")
    if not engines:
        return None
    info = ContainerHostInfo(engines=engines)
    info.toolkit = _on_path(root, "nvidia-ctk", path) or _on_path(root, "nvidia-container-runtime-hook", path)
    text = root.read_text("/etc/docker/daemon.json")
    if text is not None:
        info.daemon_json = "/etc/docker/daemon.json"
        try:
            doc = json.loads(text or "{}")
        except ValueError:
            doc = {}
        info.docker_nvidia_runtime = isinstance(doc, dict) and "nvidia" in (doc.get("runtimes") or {})
    versions: list[str] = []
    for d in ("/etc/cdi", "/var/run/cdi"):
        for name in root.listdir(d):
            spec = root.read_text(f"{d}/{name}", limit=4 << 20) or ""
            if "nvidia.com/gpu" in spec:
                info.cdi_specs.append(f"{d}/{name}")
                versions += _SO_VERSION.findall(spec)
    info.cdi_driver_versions = sorted(set(versions))
    info.cgroup_v2 = root.exists("/sys/fs/cgroup/cgroup.controllers")
    info.dev_char_nvidia = sum(1 for n in root.listdir("/dev/char")
                               if (root.readlink_name(f"/dev/char/{n}") or "").startswith("nvidia"))
    return info
