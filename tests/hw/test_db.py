"""dlsetup's GPU database (dlsetup/hw/data/gpus.json): generated from the recorded primary sources, looked up by
PCI id, matched by the names people use."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from dlsetup.hw import db

REPO = Path(__file__).resolve().parent.parent.parent
SOURCES = REPO / "dlsetup" / "hw" / "sources"


def _generator():
    spec = importlib.util.spec_from_file_location("dlsetup_gen_gpu_db", REPO / "dlsetup" / "hw" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_database_is_what_the_script_makes_from_the_recorded_sources():
    gen = _generator()
    shipped = (REPO / "dlsetup" / "hw" / "data" / "gpus.json").read_text(encoding="utf-8")
    assert gen.render(gen.generate(SOURCES)) == shipped, "regenerate with: python -m dlsetup.hw.generate"


def test_every_recorded_source_says_where_it_came_from():
    with gzip.open(SOURCES / "pci.ids.gz", "rt", encoding="utf-8") as fh:
        head = fh.read(400)
    assert head.startswith("# dlsetup: Debian package pci.ids") and "#\tVersion: 2026.10.24" in head
    with gzip.open(SOURCES / "nvidia-supported-gpus.json.gz", "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    assert "supported-gpus.json" in doc["origin"] and "555.58.02" in doc["origin"] and len(doc["chips"]) > 2000
    with gzip.open(SOURCES / "debian-nvidia-detect.tsv.gz", "rt", encoding="utf-8") as fh:
        first = fh.readline()
    assert "nvidia-detect" in first and "bookworm" in first and "trixie" in first
    sources = db.sources()
    assert set(sources) == {"pci.ids", "supported-gpus.json", "nvidia-detect", "chips"}


def test_reducing_pci_ids_keeps_the_three_gpu_vendors_and_their_device_lines_only():
    gen = _generator()
    text = ("#\tVersion: 2099.01.01\n10de  NVIDIA Corporation\n\t2204  GA102 [GeForce RTX 3090]\n"
            "\t\t1043 87b3  ROG Strix\n1234  Someone Else\n\t0001  Thing\n8086  Intel Corporation\n"
            "\t56a0  DG2 [Arc A770]\nC 03  Display controller\n\t00  VGA compatible controller\n")
    out = gen.reduce_pci_ids(text, "test input")
    assert gen.parse_pci_ids(out) == ("2099.01.01", {"10de:2204": "GA102 [GeForce RTX 3090]",
                                                     "8086:56a0": "DG2 [Arc A770]"})
    assert "ROG Strix" not in out and "Display controller" not in out


@pytest.mark.parametrize("pid, name, arch, cc, legacy, open_module", [
    ("10de:2204", "NVIDIA GeForce RTX 3090", "Ampere", "8.6", 0, "yes"),
    ("10de:102d", "Tesla K80", "Kepler", "3.7", 470, "no"),            # supported-gpus.json: legacybranch 470.xx
    ("10de:1b06", "NVIDIA GeForce GTX 1080 Ti", "Pascal", "6.1", 0, "no"),
    ("10de:2b85", "NVIDIA GeForce RTX 5090", "Blackwell", "12.0", 0, "-"),  # newer than the recorded driver
    ("10de:0de1", "GeForce GT 430", "Fermi", "2.1", 390, "no"),
])
def test_nvidia_rows(pid, name, arch, cc, legacy, open_module):
    m = db.lookup(pid)
    assert (m.name, m.arch, m.cc, m.legacy_branch, m.open_module) == (name, arch, cc, legacy, open_module)


def test_amd_and_intel_rows_carry_gfx_target_and_compute_stack():
    xtx = db.lookup("1002:744c")
    assert xtx.gfx == "gfx1100" and xtx.compute == "rocm" and "AMD Radeon RX 7900 XTX" in xtx.names
    assert xtx.name == "AMD Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M"  # one id, four products (pci.ids)
    rx7600 = db.lookup("1002:7480")
    assert rx7600.gfx == "gfx1102" and rx7600.hsa_override == "11.0.0"
    assert db.lookup("8086:56a0").compute == "xpu" and db.lookup("8086:9a49").compute == "none"


@pytest.mark.parametrize("text, pid", [
    ("10de:2204", "10de:2204"), ("10DE:2204", "10de:2204"), ("0x10de:0x2204", "10de:2204"),
    ("PCI\\VEN_10DE&DEV_2204&SUBSYS_38801462&REV_A1", "10de:2204"),  # Windows PnP device id (registry, WMI)
    ("RTX 3090", None), ("3060", None),
])
def test_parse_pci_id(text, pid):
    assert db.parse_pci_id(text) == pid


def test_name_for_pci_id_is_the_one_naming_function():
    assert db.name_for_pci_id("10de:2204") == "NVIDIA GeForce RTX 3090"
    assert db.name_for_pci_id("PCI\\VEN_8086&DEV_56A0") == "Intel Arc A770"
    assert db.name_for_pci_id("10de:ffff") is None and db.name_for_pci_id(None) is None


def test_the_line_lookup_agrees_with_the_full_load_for_every_row():
    models = db.all_models()
    assert len(models) > 1500
    assert all(db.lookup(m.pci_id) == m for m in models)


@pytest.mark.parametrize("query, pid, name", [
    ("3060", None, "NVIDIA GeForce RTX 3060"),
    ("rtx 3060 laptop", None, "NVIDIA GeForce RTX 3060 Mobile"),
    ("gtx1650", None, "NVIDIA GeForce GTX 1650"),
    ("10de:2504", "10de:2504", "NVIDIA GeForce RTX 3060"),
    ("RTX 3090", "10de:2204", "NVIDIA GeForce RTX 3090"),
    ("k80", "10de:102d", "Tesla K80"),
    ("rx7900xtx", "1002:744c", "AMD Radeon RX 7900 XTX"),
    ("arc a770", "8086:56a0", "Intel Arc A770"),
    ("3060ti", None, "NVIDIA GeForce RTX 3060 Ti"),
    ("p100", None, None),
])
def test_fuzzy_names(query, pid, name):
    m = db.find(query)
    assert m.model is not None and not m.candidates, m
    if pid:
        assert m.model.pci_id == pid
    if name:
        assert m.name == name
    if query in ("3060", "rtx 3060 laptop", "3060ti"):
        assert m.model.cc == "8.6"
    if query == "p100":
        assert m.model.cc == "6.0" and "P100" in m.name  # not the P102-100 mining card


def test_ambiguous_and_unknown_names():
    titan = db.find("titan")
    assert titan.model is None and {"NVIDIA TITAN V", "NVIDIA TITAN RTX"} <= set(titan.candidates)
    gt730 = db.find("gt 730")  # sold as Fermi 2.1, Kepler 3.0 and Kepler 3.5 parts: the ids tell them apart
    assert gt730.model is None and any("10de:1287" in c and "3.5" in c for c in gt730.candidates)
    assert db.find("a100").model.cc == "8.0"  # many names (PCIE-40GB, SXM4-80GB, ...), one target: not ambiguous
    assert db.find("no such card 9999") .model is None and db.find("").model is None


def test_every_marketing_name_in_the_database_finds_its_card():
    """Each name, typed as the database spells it, gives that card's compute target, or (when the same name was sold
    with different chips) lists it among the candidates."""
    failures = []
    for m in db.all_models():
        for name in m.names:
            toks = set(db._tokens(name)) - {"mobile"}
            if not toks:
                continue  # "NVIDIA Mobile", "AMD Radeon Graphics": placeholders, not cards
            r = db.find(name)
            if r.model is not None:
                if (r.model.vendor, r.model.target) != (m.vendor, m.target):
                    failures.append((name, m.pci_id, r.model.pci_id))
            elif not any(set(db._tokens(c.split(" (")[0])) == set(db._tokens(name)) for c in r.candidates):
                failures.append((name, m.pci_id, r.candidates))
    assert not failures, failures[:20]
