"""Every machine snapshot in tests/fixtures/snapshots/ replays to the findings a person would expect.

The fixtures (each says in its ``origin`` which documented real outputs it is built from)
stand for machines this CI does not have. For each one the table below names the finding ids, their
severities, words their fix must contain (driver branch, index URL, command) and the exit code.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from dlsetup import i18n
from dlsetup.doctor.runner import diagnose
from dlsetup.probe.snapshot import load_snapshot

SNAPSHOTS = Path(__file__).resolve().parent.parent / "fixtures" / "snapshots"

# fixture -> (exit code, {finding id: (severity, [text the finding's fix or commands must contain])})
EXPECTED: dict[str, tuple[int, dict[str, tuple[str, list[str]]]]] = {
    "ci-box": (0, {"gpu.none": ("info", [])}),
    "h100-r580": (0, {}),
    "wsl2-rtx4070": (0, {}),
    "amd-rocm-no-nvidia": (0, {"gpu.none": ("info", ["2.7.1+rocm6.3 is a ROCm build"])}),
    "a100-gpu-lost": (1, {"driver.gpu_lost": ("error", ["sudo dmesg | grep -i -E 'xid|fallen off the bus'",
                                                         "sudo reboot"])}),
    "container-no-gpus": (1, {"container.no_gpu_runtime": ("error", [
        "sudo nvidia-ctk runtime configure --runtime=docker", "docker run --rm --gpus all IMAGE nvidia-smi"])}),
    "cuda-visible-devices-minus1": (1, {"env.cuda_visible_devices_hides_all": ("error", [
        "unset CUDA_VISIBLE_DEVICES", "export CUDA_VISIBLE_DEVICES=0,1"])}),
    "driver-library-mismatch": (1, {"driver.version_mismatch": ("error", ["sudo reboot"])}),
    "gtx1080ti-r590": (1, {"driver.not_loaded": ("error", ["580.xx legacy", "sudo apt install nvidia-driver-580"])}),
    "nouveau-no-driver": (1, {
        "gpu.nouveau": ("error", ["blacklist nouveau", "sudo update-initramfs -u", "sudo ubuntu-drivers install"]),
        "python.pip_mismatch": ("warning", ["-m pip --version"]),
        "disk.low": ("warning", ["-m pip cache purge"]),
    }),
    # issue 14: boxes with the card on the PCI bus and no driver (and no system pci.ids): the card is named from
    # dlsetup's GPU database and the fix is the package of the card's newest branch for that distro release
    "nodriver-rtx3090-debian12": (1, {"gpu.no_driver": ("error", [
        "NVIDIA GeForce RTX 3090, Ampere, compute capability 8.6", "nvidia-driver firmware-misc-nonfree", "non-free",
        "sudo reboot"])}),
    "nodriver-gtx1080ti-ubuntu2404": (1, {"gpu.no_driver": ("error", [
        "Pascal", "the R580 legacy branch", "sudo apt install nvidia-driver-580", "CUDA 13.0 at most",
        "torch==2.14.1 (cu126)"])}),
    "nodriver-k80-debian12": (1, {"gpu.no_driver": ("error", [
        "Tesla K80, Kepler, compute capability 3.7", "sudo apt install linux-headers-$(dpkg --print-architecture) "
        "nvidia-tesla-470-driver", "the R470 legacy branch", "CUDA 11.4 at most", "torch==2.3.1 (cu118)"])}),
    "nodriver-k80-ubuntu2204": (1, {"gpu.no_driver": ("error", [
        "sudo apt install nvidia-driver-470", "the R470 legacy branch", "torch==2.3.1 (cu118)"])}),
    "nodriver-rtx5090-debian12": (1, {"gpu.no_driver": ("error", [
        "Blackwell, compute capability 12.0", "sudo apt install nvidia-open", "NVIDIA's CUDA repository for Debian",
        "open kernel module required", "R570 or newer"])}),
    "nodriver-laptop-intel-rtx4070": (1, {"gpu.no_driver": ("error", [
        "NVIDIA GeForce RTX 4070 Laptop GPU, Ada Lovelace, compute capability 8.9", "sudo ubuntu-drivers install",
        "nvidia-driver-580-open"])}),
    "arc-a770-ubuntu2404": (0, {"gpu.none": ("info", ["Intel Arc A770", "XPU", "dlsetup resolve torch"])}),
    # issue 14: the Docker host, with and without the NVIDIA Container Toolkit
    "docker-host-no-toolkit": (1, {"container_host.no_toolkit": ("error", [
        "neither nvidia-ctk nor nvidia-container-runtime-hook", "sudo apt install nvidia-container-toolkit",
        "sudo nvidia-ctk runtime configure --runtime=docker", "docker run --rm --gpus all ubuntu nvidia-smi"])}),
    "docker-host-toolkit": (0, {}),
    "nvswitch-fabric-not-started": (1, {"driver.fabric_manager": ("error", [
        "sudo apt install nvidia-fabricmanager-580", "sudo systemctl enable --now nvidia-fabricmanager"])}),
    "rtx3090-r470-cu126": (1, {
        # keep the R470 driver: cu118 is the newest CUDA it runs (11.x minor-version compatibility)
        "torch.driver_too_old": ("error", ["525.60.13", "sudo apt install nvidia-driver-525",
                                           "-m pip install torch==2.7.1 torchvision==0.22.1 "
                                           "--index-url https://download.pytorch.org/whl/cu118"]),
        "toolkit.torch_mismatch": ("warning", ["export CUDA_HOME=/usr/local/cuda-12.6"]),
    }),
    # driver 550 runs any 12.x runtime; 2.15 is CUDA 13 only (needs R580), so the newest fit is 2.14.1 cu126
    # (torchvision 0.21.0+cpu is installed too: the fix moves both to the same variant)
    "rtx4090-torch-cpu": (1, {"torch.cpu_build": ("error", [
        "-m pip install torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu126"])}),
    # sm_120 needs cu128+; on driver 575 (CUDA 12.9) the newest such build is 2.13.0 cu129
    "rtx5090-cu124": (1, {"torch.arch_missing": ("error", [
        "sm_120", "-m pip install torch==2.13.0 torchvision==0.28.0 --index-url https://download.pytorch.org/whl/cu129"])}),
    "stub-libcuda-ld-path": (1, {
        "cuda.stub_libcuda": ("error", ["unset LD_LIBRARY_PATH"]),
        "cuda.ld_path_shadows": ("warning", ["unset LD_LIBRARY_PATH"]),
    }),
    # added in the review pass: root causes #7 (Linux driver inside WSL), #9 (cuda-compat on GeForce: Error 804),
    # #12 (nvidia_uvm after suspend: cuInit 999; torch's "CUDA unknown error" is the same problem, not a second one),
    # #14 (pip torch over a conda pytorch with the cpuonly pin)
    "wsl2-linux-driver-inside": (1, {"wsl.linux_driver": ("error", [
        "sudo apt-get remove --purge '^nvidia-driver-.*' '^libnvidia-.*' cuda-drivers", "sudo ldconfig"])}),
    "rtx4090-cuda-compat-804": (1, {
        "cuda.compat_unsupported_gpu": ("error", ["unset LD_LIBRARY_PATH", "sudo ldconfig"]),
        "toolkit.newer_than_driver_minor": ("info", ["sudo apt install nvidia-driver-570"]),
    }),
    "rtx3080-uvm-after-suspend": (1, {"driver.cuinit_failed": ("error", [
        "nvidia_uvm", "sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm"])}),
    "conda-torch-over-cpuonly": (1, {
        "python.torch_twice": ("error", ["-m pip uninstall -y torch torchvision torchaudio",
                                         "conda install -p ~/miniconda3/envs/course --force-reinstall pytorch"]),
        "python.cpuonly_pin": ("error", ["conda remove -p ~/miniconda3/envs/course cpuonly"]),
    }),
    # Volta left cu128 in 2.11; cu126 of 2.14.1 is the last build with sm_70 (cu126 dropped in 2.15)
    "v100-torch211-cu128": (1, {"torch.arch_missing": ("error", [
        "sm_70", "-m pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cu126"])}),
}

FIXTURES = sorted(p.stem for p in SNAPSHOTS.glob("*.json"))


def test_every_fixture_has_an_expectation():
    assert FIXTURES, "no snapshot fixtures found"
    missing = sorted(set(FIXTURES) - set(EXPECTED))
    assert not missing, f"add the expected findings for: {missing}"
    stale = sorted(set(EXPECTED) - set(FIXTURES))
    assert not stale, f"expectations for fixtures that no longer exist: {stale}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_replays_to_the_expected_findings(name):
    report = diagnose(load_snapshot(SNAPSHOTS / f"{name}.json"), source=name)
    code, wanted = EXPECTED[name]
    got = {f.id: f for f in report.findings}
    assert sorted(got) == sorted(wanted), [(f.id, f.title) for f in report.findings]
    for fid, (severity, needles) in wanted.items():
        f = got[fid]
        assert f.severity == severity, (fid, f.severity)
        text = f.fix + "\n" + "\n".join(f.commands) + "\n" + f.title + "\n" + "\n".join(f.evidence)
        for needle in needles:
            assert needle in text, f"{name}/{fid}: {needle!r} not in fix:\n{text}"
    assert report.exit_code == code


def _placeholders_left(text: str) -> bool:
    return bool(re.search(r"\{[a-z_]+\}", text))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", FIXTURES)
def test_every_finding_has_evidence_cause_and_fix_in_both_languages(name, lang):
    i18n.set_language(lang)
    report = diagnose(load_snapshot(SNAPSHOTS / f"{name}.json"))
    for f in report.findings:
        assert f.evidence and all(e.strip() for e in f.evidence), f.id
        assert f.title.strip() and f.cause.strip() and f.fix.strip(), f.id
        for text in (f.title, f.cause, f.fix, *f.evidence):
            assert not _placeholders_left(text), (f.id, text)
        if lang == "zh":
            assert re.search(r"[\u4e00-\u9fff]", f.title + f.cause + f.fix), f.id


@pytest.mark.parametrize("name", ["rtx4090-torch-cpu", "gtx1080ti-r590", "container-no-gpus"])
def test_fixture_through_the_cli(cli, name):
    r = cli("doctor", "--snapshot", str(SNAPSHOTS / f"{name}.json"), "--json")
    doc = r.json()
    assert r.code == EXPECTED[name][0] == doc["exit_code"]
    assert sorted(f["id"] for f in doc["findings"]) == sorted(EXPECTED[name][1])
    text = cli("doctor", "--snapshot", str(SNAPSHOTS / f"{name}.json"), "--lang", "zh")
    assert "发现问题" in text.stdout.strip().splitlines()[-1]


def test_catalogs_have_every_key_the_checks_use():
    """Every doctor.* key named in the code exists in both catalogs (templates with the same fields)."""
    root = Path(__file__).resolve().parents[2] / "dlsetup"
    code = "\n".join(p.read_text() for p in (root / "doctor").rglob("*.py"))
    code += (root / "commands" / "doctor.py").read_text()
    en, zh = i18n.load_catalog("doctor", "en"), i18n.load_catalog("doctor", "zh")
    fids = set(re.findall(r'finding\(\s*"([a-z_]+\.[a-z_0-9]+)"', code))
    fids |= {"driver.gpu_lost", "driver.not_loaded", "driver.nvml_failed"}  # from the NVML table
    assert len(fids) > 40
    for fid in fids:
        for part in ("title", "cause", "fix"):
            key = f"doctor.f.{fid}.{part}"
            assert key in en and key in zh, key
    for key in re.findall(r'ev\(\s*"([a-z_]+)"', code):
        assert f"doctor.ev.{key}" in en and f"doctor.ev.{key}" in zh, key
    fmt = string.Formatter()
    for key, template in en.items():
        assert {f for _, f, _, _ in fmt.parse(template) if f} == {f for _, f, _, _ in fmt.parse(zh[key]) if f}, key


@pytest.mark.parametrize("name", FIXTURES)
def test_colour_terminal_rendering(cli, monkeypatch, name):
    """With colour on (a terminal), long lines wrap in a grid; every fixture renders without a markup error."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    r = cli("doctor", "--snapshot", str(SNAPSHOTS / f"{name}.json"), "-v")
    assert r.code == EXPECTED[name][0], r
    assert "\x1b[" in r.stdout and "internal error" not in r.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout)
    for fid in EXPECTED[name][1]:
        assert fid in plain
