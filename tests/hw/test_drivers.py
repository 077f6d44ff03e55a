"""The driver a card needs, by branch and by distro release (dlsetup/hw/drivers.py + data/driver_packages.toml)."""

from __future__ import annotations

import pytest

from dlsetup.hw import db, drivers


@pytest.mark.parametrize("pid, os, distro, release, packages, branch", [
    # Debian: the package Debian's own nvidia-detect names (bookworm 535.261.03-1, trixie 550.163.01-2)
    ("10de:2204", "linux", "debian", "12", ["nvidia-driver", "firmware-misc-nonfree"], 0),
    ("10de:102d", "linux", "debian", "12", ["nvidia-tesla-470-driver"], 470),
    ("10de:1b06", "linux", "debian", "13", ["nvidia-driver", "firmware-misc-nonfree"], 580),
    # a card newer than Debian's driver: NVIDIA's repository for Debian
    ("10de:2b85", "linux", "debian", "12", ["nvidia-open"], 0),
    # Ubuntu: ubuntu-drivers' package, by branch; Kepler on a 24.04 base needs 470-server (mintdrivers#111)
    ("10de:2204", "linux", "ubuntu", "24.04", ["nvidia-driver-580-open"], 0),
    ("10de:1b06", "linux", "ubuntu", "24.04", ["nvidia-driver-580"], 580),
    ("10de:102d", "linux", "ubuntu", "22.04", ["nvidia-driver-470"], 470),
    ("10de:102d", "linux", "ubuntu", "24.04", ["nvidia-driver-470-server"], 470),
    ("10de:102d", "linux", "linuxmint", "22", ["nvidia-driver-470-server"], 470),
    # Fedora/RHEL (RPM Fusion) and Arch
    ("10de:102d", "linux", "fedora", "41", ["akmod-nvidia-470xx", "xorg-x11-drv-nvidia-470xx-cuda"], 470),
    ("10de:2204", "linux", "rocky", "9.4", ["akmod-nvidia", "xorg-x11-drv-nvidia-cuda"], 0),
    ("10de:2204", "linux", "arch", None, ["nvidia-open", "nvidia-utils"], 0),
    ("10de:1b06", "linux", "manjaro", None, ["nvidia-580xx-dkms (AUR)"], 580),
    ("10de:102d", "windows", None, None, ["the last R470 driver for Windows"], 470),
])
def test_advice_by_distro_and_branch(pid, os, distro, release, packages, branch):
    a = drivers.advise(db.lookup(pid), os, distro, release)
    assert a.available and a.packages == packages and a.branch == branch
    assert a.sources and all(s.startswith(("http", "Debian", "linuxmint", "NixOS")) for s in a.sources)


def test_no_package_where_the_release_dropped_the_branch():
    # Debian 13 ships no Tesla 470 driver (nvidia-detect: "only available up to bookworm"); Ubuntu 24.04 no 390
    assert not drivers.advise(db.lookup("10de:102d"), "linux", "debian", "13").available
    assert not drivers.advise(db.lookup("10de:0de1"), "linux", "ubuntu", "24.04").available
    assert drivers.advise(db.lookup("10de:0de1"), "linux", "ubuntu", "22.04").packages == ["nvidia-driver-390"]


def test_open_module_and_branch_limits():
    assert drivers.open_module(db.lookup("10de:2b85")) == "required"  # Blackwell
    assert drivers.first_branch(db.lookup("10de:2b85")) == 570
    assert drivers.open_module(db.lookup("10de:2204")) == "recommended"
    assert drivers.open_module(db.lookup("10de:1b06")) == "no"  # Pascal has no GSP
    assert drivers.branch_for(db.lookup("10de:1b06")) == 580     # gpu_archs.toml: Pascal's last branch
    assert drivers.branch_cuda(470) == "11.4" and drivers.branch_cuda(580) == "13.0"
    fedora = drivers.advise(db.lookup("10de:2b85"), "linux", "fedora", "41")
    assert any("_with_kmod_nvidia_open" in c for c in fedora.commands)


def test_the_debian_lists_reproduce_nvidia_detect_for_every_card():
    """Debian's nvidia-detect (bookworm): nvidia.ids -> nvidia-driver, else nvidia-tesla-470.ids ->
    nvidia-tesla-470-driver; trixie: nvidia.ids -> nvidia-driver, else nvidia-tesla-535.ids -> nvidia-tesla-535-driver.
    dlsetup must name the same package for every device those lists hold."""
    checked = 0
    for m in db.all_models():
        for release, order in (("12", ("nvidia", "nvidia-tesla-470")), ("13", ("nvidia", "nvidia-tesla-535"))):
            lists = m.debian.get(release, [])
            want = next((f"{lst}-driver" if lst != "nvidia" else "nvidia-driver" for lst in order if lst in lists), None)
            if want is None:
                continue
            got = drivers.advise(m, "linux", "debian", release)
            assert got.package == want, (m.pci_id, release, got.packages)
            checked += 1
    assert checked > 800


def test_families():
    assert drivers.family("linux", "pop") == "ubuntu" and drivers.family("linux", "almalinux") == "fedora"
    assert drivers.family("linux", "gentoo") is None and drivers.family("macos", None) is None
