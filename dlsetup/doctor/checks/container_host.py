"""The container host: a Docker/Podman machine with an NVIDIA GPU and a working driver, checked for what
``docker run --gpus all`` / ``podman run --device nvidia.com/gpu=all`` needs (the NVIDIA Container Toolkit's most
reported problems):

* no toolkit: Docker answers ``could not select device driver "" with capabilities: [[gpu]]``
  (NVIDIA/nvidia-container-toolkit#854, #871; NVIDIA/nvidia-docker#1034, #1243); a snap Docker cannot use the host's
  toolkit (NVIDIA/nvidia-docker#1642);
* the ``nvidia`` runtime not registered in /etc/docker/daemon.json (``--runtime=nvidia``, Compose ``runtime: nvidia``);
* Podman without a CDI spec, or a CDI spec generated for another driver version (stale after a driver update);
* cgroup v2 without the ``/dev/char`` symlinks: containers lose their GPUs after ``systemctl daemon-reload`` with
  "Failed to initialize NVML: Unknown Error" (NVIDIA/nvidia-container-toolkit#48, the project's pinned notice).

Checks run on the host only (inside a container, ``container.py`` speaks) and only where an NVIDIA driver answers.
"""

from __future__ import annotations

from dlsetup.doctor.model import ERROR, GROUP_DRIVER, WARNING, Finding, ev, finding
from dlsetup.probe.model import Snapshot

INSTALL_DOC = "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html"


def toolkit(snap: Snapshot) -> list[Finding]:
    host = snap.nvidia.container_host
    if host is None or snap.system.container or snap.system.os != "linux" or not snap.nvidia.gpus:
        return []
    evidence = [ev("ct_engines", engines=", ".join(host.engines))]
    out: list[Finding] = []
    if "docker (snap)" in host.engines:
        out.append(finding("container_host.snap_docker", WARNING, GROUP_DRIVER, evidence=evidence,
                           commands=["sudo snap remove docker", "sudo apt install docker.io",
                                     "sudo apt install nvidia-container-toolkit"]))
    if host.toolkit is None:
        out.append(finding("container_host.no_toolkit", ERROR, GROUP_DRIVER,
                           evidence=[*evidence, ev("ct_no_toolkit")], doc=INSTALL_DOC,
                           commands=["sudo apt install nvidia-container-toolkit",
                                     *_configure(host), "docker run --rm --gpus all ubuntu nvidia-smi"]))
        return out
    if "docker" in host.engines and not host.docker_nvidia_runtime:
        out.append(finding("container_host.runtime_not_configured", WARNING, GROUP_DRIVER,
                           evidence=[*evidence, ev("ct_toolkit", path=host.toolkit),
                                     ev("ct_daemon_json", path=host.daemon_json or "/etc/docker/daemon.json")],
                           commands=["sudo nvidia-ctk runtime configure --runtime=docker",
                                     "sudo systemctl restart docker"]))
    driver = snap.nvidia.driver_version
    if "podman" in host.engines and not host.cdi_specs:
        out.append(finding("container_host.no_cdi", WARNING, GROUP_DRIVER,
                           evidence=[*evidence, ev("ct_no_cdi")],
                           commands=["sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml",
                                     "nvidia-ctk cdi list"]))
    elif host.cdi_specs and driver and host.cdi_driver_versions and driver not in host.cdi_driver_versions:
        out.append(finding("container_host.cdi_stale", ERROR, GROUP_DRIVER,
                           evidence=[ev("ct_cdi", specs=", ".join(host.cdi_specs),
                                        versions=", ".join(host.cdi_driver_versions), driver=driver)],
                           commands=["sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml",
                                     "nvidia-ctk cdi list"], driver=driver))
    if host.cgroup_v2 and "docker" in " ".join(host.engines) and host.dev_char_nvidia == 0 and snap.nvidia.device_nodes:
        out.append(finding("container_host.dev_char", WARNING, GROUP_DRIVER,
                           evidence=[ev("ct_cgroup_v2"), ev("ct_dev_char")],
                           commands=["sudo nvidia-ctk system create-dev-char-symlinks --create-all",
                                     "echo 'ACTION==\"add\", DEVPATH==\"/bus/pci/drivers/nvidia\", "
                                     "RUN+=\"/usr/bin/nvidia-ctk system create-dev-char-symlinks --create-all\"' "
                                     "| sudo tee /lib/udev/rules.d/71-nvidia-dev-char.rules"]))
    return out


def _configure(host) -> list[str]:
    cmds = []
    if any(e.startswith("docker") for e in host.engines):
        cmds += ["sudo nvidia-ctk runtime configure --runtime=docker", "sudo systemctl restart docker"]
    if "podman" in host.engines:
        cmds.append("sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml")
    return cmds


CHECKS = [toolkit]
