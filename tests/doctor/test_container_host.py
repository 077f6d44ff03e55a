"""doctor on a Docker/Podman host (checks/container_host.py): each of the NVIDIA Container Toolkit's most reported
problems gives its finding and fix; machines are hand-built snapshots (tests/doctor/helpers.py) with the host facts
probe/container_host.py records."""

from __future__ import annotations

from dlsetup.probe.model import ContainerHostInfo
from tests.doctor.helpers import by_id, gpu_box, ids


def _host(**kw):
    snap = gpu_box(driver="580.95.05", cuda="13.0")
    snap.nvidia.container_host = ContainerHostInfo(**{"engines": ["docker"], "toolkit": "/usr/bin/nvidia-ctk",
                                                      "daemon_json": "/etc/docker/daemon.json",
                                                      "docker_nvidia_runtime": True, "cgroup_v2": True,
                                                      "dev_char_nvidia": 3, **kw})
    return snap


def test_a_configured_host_has_nothing_to_say():
    assert not [i for i in ids(_host()) if i.startswith("container_host.")]


def test_runtime_not_registered_in_daemon_json():
    f = by_id(_host(docker_nvidia_runtime=False), "container_host.runtime_not_configured")
    assert f.commands == ["sudo nvidia-ctk runtime configure --runtime=docker", "sudo systemctl restart docker"]


def test_podman_without_cdi_and_a_stale_cdi_spec():
    f = by_id(_host(engines=["podman"]), "container_host.no_cdi")
    assert "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml" in f.commands
    stale = _host(engines=["podman"], cdi_specs=["/etc/cdi/nvidia.yaml"], cdi_driver_versions=["570.133.07"])
    f = by_id(stale, "container_host.cdi_stale")
    assert f.severity == "error" and "580.95.05" in f.title and "570.133.07" in " ".join(f.evidence)
    current = _host(engines=["podman"], cdi_specs=["/etc/cdi/nvidia.yaml"], cdi_driver_versions=["580.95.05"])
    assert "container_host.cdi_stale" not in ids(current)


def test_nvml_unknown_error_after_daemon_reload_is_prevented():
    f = by_id(_host(dev_char_nvidia=0), "container_host.dev_char")
    assert "Failed to initialize NVML: Unknown Error" in f.cause and "#48" in f.cause
    assert f.commands[0] == "sudo nvidia-ctk system create-dev-char-symlinks --create-all"
    assert "container_host.dev_char" not in ids(_host(dev_char_nvidia=0, cgroup_v2=False))


def test_snap_docker_and_inside_a_container():
    assert "container_host.snap_docker" in ids(_host(engines=["docker (snap)"]))
    inside = _host(toolkit=None)
    inside.system.container = "docker"
    assert not [i for i in ids(inside) if i.startswith("container_host.")]


def test_the_probe_reads_the_host(tmp_path):
    from dlsetup.probe._fs import Root
    from dlsetup.probe.container_host import probe_container_host

    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/podman").write_text("#!/bin/sh\n")
    (tmp_path / "etc/cdi").mkdir(parents=True)
    # the shape of a spec `nvidia-ctk cdi generate` writes (kind, devices, containerEdits with versioned libraries)
    (tmp_path / "etc/cdi/nvidia.yaml").write_text(
        "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: all\ncontainerEdits:\n  mounts:\n"
        "  - hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.570.133.07\n"
        "    containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.570.133.07\n")
    info = probe_container_host(Root(tmp_path), {"PATH": ""})
    assert info.engines == ["podman"] and info.toolkit is None
    assert info.cdi_specs == ["/etc/cdi/nvidia.yaml"] and info.cdi_driver_versions == ["570.133.07"]
    assert probe_container_host(Root(tmp_path / "nothing"), {"PATH": ""}) is None
