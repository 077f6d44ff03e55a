"""System facts from a fake / tree: distro, kernel, WSL, containers, memory, CPU, disks."""

from __future__ import annotations

import os
import platform
import sys

import pytest

from dlsetup.probe._fs import Root
from dlsetup.probe.system import (
    detect_container,
    disk_locations,
    minimal_system,
    parse_os_release,
    probe_system,
)


def tree(tmp_path, files):
    for path, text in files.items():
        p = tmp_path / path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return Root(tmp_path)


def test_os_release_parsing():
    rel = parse_os_release('PRETTY_NAME="Ubuntu 22.04.5 LTS"\nID=ubuntu\nVERSION_ID="22.04"\n# comment\nbad line\n')
    assert rel == {"PRETTY_NAME": "Ubuntu 22.04.5 LTS", "ID": "ubuntu", "VERSION_ID": "22.04"}
    assert parse_os_release(None) == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="linux file layout")
def test_probe_system_reads_the_tree(tmp_path):
    root = tree(tmp_path, {
        "/etc/os-release": 'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\nID="rocky"\nVERSION_ID="9.4"\n',
        "/proc/sys/kernel/osrelease": "5.14.0-427.el9.x86_64\n",
        "/proc/meminfo": "MemTotal:       263842444 kB\nMemFree: 1 kB\n",
        "/proc/cpuinfo": "processor\t: 0\nmodel name\t: AMD EPYC 9654 96-Core Processor\n",
    })
    info = probe_system(root, {"HOME": str(tmp_path / "home")})
    assert (info.distro, info.distro_version, info.distro_name) == ("rocky", "9.4", "Rocky Linux 9.4 (Blue Onyx)")
    assert info.kernel == "5.14.0-427.el9.x86_64"
    assert info.memory_total_bytes == 263842444 * 1024
    assert info.cpu_model == "AMD EPYC 9654 96-Core Processor"
    assert info.wsl is False and info.container is None and info.container_evidence == []
    assert info.home == str(tmp_path / "home")
    assert info.os == "linux" and info.arch in ("x86_64", "aarch64")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="linux file layout")
def test_wsl2_is_detected_from_the_kernel_release(tmp_path):
    root = tree(tmp_path, {"/proc/sys/kernel/osrelease": "5.15.167.4-microsoft-standard-WSL2\n",
                           "/usr/lib/wsl/lib/libcuda.so.1": ""})
    info = probe_system(root, {"HOME": str(tmp_path)})
    assert info.wsl is True and info.wsl_lib_dir is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="linux file layout")
def test_wsl1_kernel_name_also_counts(tmp_path):
    root = tree(tmp_path, {"/proc/sys/kernel/osrelease": "4.4.0-19041-Microsoft\n"})
    info = probe_system(root, {"HOME": str(tmp_path)})
    assert info.wsl is True and info.wsl_lib_dir is False


@pytest.mark.parametrize("files,env,kind,evidence", [
    ({"/.dockerenv": ""}, {}, "docker", "/.dockerenv"),
    ({"/run/.containerenv": ""}, {}, "podman", "/run/.containerenv"),
    ({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "kubernetes", "env:KUBERNETES_SERVICE_HOST"),
    ({"/proc/1/cgroup": "12:pids:/kubepods/besteffort/pod1234/abcd\n"}, {}, "kubernetes", "/proc/1/cgroup: 12:pids:/kubepods"),
    ({"/proc/1/cgroup": "0::/system.slice/docker-3f9c.scope\n"}, {}, "docker", "/proc/1/cgroup: 0::/system.slice/docker"),
    ({"/proc/1/cgroup": "0::/lxc.payload.ct1\n"}, {}, "lxc", "/proc/1/cgroup: 0::/lxc"),
    ({}, {"container": "systemd-nspawn"}, "systemd-nspawn", "env:container=systemd-nspawn"),
    ({"/proc/1/cgroup": "0::/init.scope\n"}, {}, None, None),
])
def test_container_detection(tmp_path, files, env, kind, evidence):
    found, ev = detect_container(tree(tmp_path, files), env)
    assert found == kind
    if evidence:
        assert any(e.startswith(evidence) for e in ev), ev
    else:
        assert ev == []


def test_disk_locations_follow_the_environment(tmp_path):
    env = {"CONDA_EXE": "/opt/miniconda3/bin/conda", "PIP_CACHE_DIR": "/data/pip", "HF_HOME": "/data/hf",
           "XDG_CACHE_HOME": "/xdg", "VIRTUAL_ENV": "/venv"}
    locs = dict((purpose, path) for purpose, path in disk_locations(env, "/home/u"))
    assert locs == {"home": "/home/u", "conda envs": "/opt/miniconda3/envs", "pip cache": "/data/pip",
                    "uv cache": "/xdg/uv", "hf cache": "/data/hf", "active env": "/venv"}


def test_disks_measure_the_nearest_existing_directory(tmp_path):
    home = tmp_path / "home"  # created by the isolated_env fixture
    info = probe_system(Root(tmp_path / "root"), {"HOME": str(home)},
                        extra_locations=[("site-packages", str(tmp_path / "not" / "yet" / "there"))])
    purposes = {d.purpose: d for d in info.disks}
    assert set(purposes) >= {"home", "pip cache", "uv cache", "hf cache", "site-packages"}
    assert purposes["home"].free_bytes > 0 and purposes["home"].total_bytes >= purposes["home"].free_bytes
    assert purposes["site-packages"].path == str(tmp_path / "not" / "yet" / "there")


def test_minimal_system_matches_this_interpreter():
    s = minimal_system()
    assert s.os == {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    assert s.arch == {"amd64": "x86_64"}.get(machine, machine) or s.arch in ("aarch64", "arm64")


def test_live_system_has_hostname_user_and_memory():
    info = probe_system()
    assert info.hostname and info.user and info.memory_total_bytes and info.memory_total_bytes > 1 << 28
    assert info.cpu_count == os.cpu_count()
    if sys.platform.startswith("linux"):
        assert info.glibc and info.glibc[0].isdigit()
