"""A machine without its NVIDIA driver stops at setup's first step with the driver dlsetup's GPU database names for
that card on that OS and release (``dlsetup/hw/drivers.py``), the commands that install it, and "run setup again
after the reboot". The machines are the recorded no-driver snapshots in tests/fixtures/snapshots (each cites its
origin)."""

from __future__ import annotations

from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"
AGAIN = "then run dlsetup setup again after the reboot"

CASES = [
    # snapshot, card, packages, the install command, the OS/release the rule is for
    ("nodriver-rtx3090-debian12.json", "NVIDIA GeForce RTX 3090", ["nvidia-driver", "firmware-misc-nonfree"],
     "sudo apt install linux-headers-$(dpkg --print-architecture) nvidia-driver firmware-misc-nonfree", "debian"),
    ("nodriver-k80-debian12.json", "Tesla K80", ["nvidia-tesla-470-driver"],
     "sudo apt install linux-headers-$(dpkg --print-architecture) nvidia-tesla-470-driver", "debian"),
    ("nodriver-k80-ubuntu2204.json", "Tesla K80", ["nvidia-driver-470"], "sudo apt install nvidia-driver-470",
     "ubuntu"),
    ("nodriver-gtx1080ti-ubuntu2404.json", "NVIDIA GeForce GTX 1080 Ti", ["nvidia-driver-580"],
     "sudo apt install nvidia-driver-580", "ubuntu"),
]


@pytest.mark.parametrize(("snapshot", "card", "packages", "command", "family"), CASES, ids=[c[0] for c in CASES])
def test_linux_no_driver_stops_with_the_package_for_that_release(cli, isolated_env, snapshot, card, packages,
                                                                 command, family):
    path = SNAPSHOTS / snapshot
    r = cli("setup", "--dry-run", "--snapshot", str(path), "--json")
    assert r.code == 1, r
    doc = r.json()
    assert doc["outcome"] == "blocked" and [s["status"] for s in doc["steps"]] == ["blocked"] + ["not_run"] * 7
    (block,) = doc["steps"][0]["data"]["blocking"]
    assert block["id"] == "gpu.no_driver" and block["reboot"]
    driver = block["driver"]
    assert driver["gpu"] == card and driver["packages"] == packages and driver["family"] == family
    assert command in driver["commands"] and driver["sources"]
    # the same answer the hardware database gives for the snapshot's card and os-release
    from dlsetup.hw.db import lookup
    from dlsetup.hw.drivers import advise
    from dlsetup.probe.snapshot import load_snapshot

    snap = load_snapshot(str(path))
    pci = next(g["pci_id"] for g in snap.nvidia.other_gpus if str(g.get("vendor", "")).lower() == "nvidia")
    advice = advise(lookup(pci), snap.system.os, snap.system.distro, snap.system.distro_version)
    assert advice.packages == packages and advice.commands == driver["commands"]
    # what to run next: those commands, the reboot, then setup again
    assert doc["next_steps"] == [*driver["commands"], "sudo reboot"]
    assert [n["text"] for n in doc["next_notes"]] == [AGAIN] and doc["next_notes"][0]["at"] == len(doc["next_steps"])
    text = cli("setup", "--dry-run", "--snapshot", str(path))
    assert text.code == 1 and command in text.stdout and AGAIN in text.stdout and packages[0] in text.stdout
    assert not Path(doc["prefix"]).exists() and not Path(doc["state_file"]).exists()


def test_windows_laptop_without_the_driver(cli, isolated_env):
    """The RTX 3060 laptop on Windows: no command installs the driver there; the step is NVIDIA's driver (at least
    the version the planned build needs), a restart, setup again — not doctor's "pip install into the Python in
    use", which setup does itself in its new environment."""
    path = SNAPSHOTS / "windows" / "win-rtx3060-laptop-no-driver.json"
    r = cli("setup", "--dry-run", "--snapshot", str(path), "--json")
    assert r.code == 1, r
    doc = r.json()
    (block,) = doc["steps"][0]["data"]["blocking"]
    driver = block["driver"]
    assert block["id"] == "gpu.no_driver" and block["reboot"] and block["commands"] == []
    assert driver["gpu"] == "NVIDIA GeForce RTX 3060 Laptop GPU" and driver["family"] == "windows"
    assert driver["packages"] == ["NVIDIA Game Ready / Studio / data-center driver"]
    assert int(driver["min_driver"]) >= 528  # CUDA 12's Windows floor (compat data) or newer for the planned build
    assert doc["next_steps"] == []  # nothing to paste: what to do is said in the notes
    assert [n["text"] for n in doc["next_notes"]] == [
        f"install NVIDIA Game Ready / Studio / data-center driver, version {driver['min_driver']} or newer, from "
        "https://www.nvidia.com/en-us/drivers/ (or the NVIDIA App), then restart Windows", AGAIN]
    assert doc["next_notes"][0]["params"]["min_driver"] == driver["min_driver"]
    assert not any("pip install" in line for line in doc["next_steps"])
    assert "restart Windows" in block["fix"] and "NVIDIA GeForce RTX 3060 Laptop GPU" in block["fix"]
    zh = cli("setup", "--dry-run", "--lang", "zh", "--snapshot", str(path))
    assert zh.code == 1 and "重启 Windows" in zh.stdout and "重启后再次运行 dlsetup setup" in zh.stdout
