"""Generate dlsetup/hw/data/gpus.json, dlsetup's GPU database, from the recorded primary sources.

    python -m dlsetup.hw.generate                  # regenerate from dlsetup/hw/sources/ (what the test checks)
    python -m dlsetup.hw.generate --check          # exit 1 when the shipped file differs
    python -m dlsetup.hw.generate --pci-ids /usr/share/misc/pci.ids \\
        --supported-gpus supported-gpus.json.gz --nvidia-detect bookworm=DIR --nvidia-detect trixie=DIR
                                                # refresh the recorded sources first, then regenerate

Inputs (dlsetup/hw/sources/, each file says where it came from):
* pci.ids.gz -- pciutils' PCI ID database (Debian package ``pci.ids``), reduced to the device lines of NVIDIA
  (10de), AMD (1002) and Intel (8086): the names.
* nvidia-supported-gpus.json.gz -- NVIDIA's ``supported-gpus.json`` from a Linux driver release (Debian's
  ``nvidia-driver`` package ships it as /usr/share/doc/nvidia-driver/supported-gpus.json.gz), reduced to
  devid, name, legacybranch and the ``kernelopen`` feature: NVIDIA's own names, the legacy branch of each
  device and whether the open kernel module drives it.
* debian-nvidia-detect.tsv.gz -- the per-branch ID lists of Debian's ``nvidia-detect`` (/usr/share/nvidia/*.ids)
  for each Debian release: which Debian driver package drives the device there.
* chips.toml -- chip code -> architecture, compute capability / gfx target, ROCm and XPU support (sources inside).

Output rows: pci_id, vendor, names, chip, arch, target (CC or gfx), legacy branch (0 = current branches),
open kernel module (yes/no/"-" unknown), Debian package list per release, compute support
(cuda / rocm / rocm-override:<HSA_OVERRIDE_GFX_VERSION> / xpu / none).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
OUT = HERE / "data" / "gpus.json"



VENDORS = {"10de": "nvidia", "1002": "amd", "8086": "intel"}
# NVIDIA functions on the GPU board that are not the GPU (pci.ids lists them under the same chip code).
_NOT_GPU = re.compile(r"Audio|USB|Bridge|Controller|SMBus|Ethernet|LPC|IDE|SATA|Memory|PCIe|Host|nForce|"
                      r"Switch|HDMI|Serial|Thermal|Sensor|Coprocessor|Port|Hub|Network", re.I)
_PCI_NAME = re.compile(r"^(?P<chip>[^\[]*?)\s*\[(?P<market>[^\]]+)\]\s*$")


def _read_gz(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read()


def _write_gz(path: Path, text: str) -> None:
    # mtime=0: the same text gives the same bytes, so a refresh that changes nothing changes no file
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(text.encode("utf-8"))


# -- reducing the upstream files (maintainer refresh) -------------------------------------------------------


def reduce_pci_ids(text: str, origin: str) -> str:
    """The version header and the device lines (no subsystems) of the three GPU vendors."""
    out = [f"# dlsetup: {origin}", "# reduced to the device lines of vendors 10de, 1002 and 8086"]
    out += [ln for ln in text.splitlines()[:20] if ln.startswith("#\tVersion") or ln.startswith("#\tDate")]
    keep = False
    for line in text.splitlines():
        if line.startswith("C "):  # the device-class section follows the vendors
            break
        if re.match(r"^[0-9a-f]{4}  ", line):
            keep = line[:4] in VENDORS
            if keep:
                out.append(line)
        elif keep and re.match(r"^\t[0-9a-f]{4}  ", line):
            out.append(line)
    return "\n".join(out) + "\n"


def reduce_supported(doc: dict[str, Any], origin: str) -> str:
    chips = []
    for c in doc["chips"]:
        row = {"devid": c["devid"].lower(), "name": c["name"]}
        if c.get("subdevid"):
            row["subdevid"] = c["subdevid"].lower()
        if c.get("legacybranch"):
            row["legacybranch"] = c["legacybranch"]
        if "kernelopen" in c.get("features", []):
            row["kernelopen"] = True
        chips.append(row)
    return json.dumps({"origin": origin, "chips": chips}, indent=0, ensure_ascii=False) + "\n"


def reduce_nvidia_detect(releases: dict[str, Path], origin: str) -> str:
    lines = [f"# {origin}", "# release\tlist\tdevice ids (lower-case, without the 10de vendor)"]
    for release, d in sorted(releases.items()):
        for f in sorted(d.glob("*.ids")):
            ids = sorted({ln.strip().lower()[4:] for ln in f.read_text().splitlines()
                          if ln.strip().lower().startswith("10de")})
            lines.append(f"{release}\t{f.stem}\t{' '.join(ids)}")
    return "\n".join(lines) + "\n"


# -- parsing the recorded sources ---------------------------------------------------------------------------


def parse_pci_ids(text: str) -> tuple[str, dict[str, str]]:
    """(version line, {"10de:2204": "GA102 [GeForce RTX 3090]"})."""
    version, names, vendor = "", {}, None
    for line in text.splitlines():
        if line.startswith("#\tVersion:"):
            version = line.split(":", 1)[1].strip()
        m = re.match(r"^([0-9a-f]{4})  ", line)
        if m:
            vendor = m.group(1) if m.group(1) in VENDORS else None
            continue
        m = re.match(r"^\t([0-9a-f]{4})  (.+)$", line)
        if m and vendor:
            names[f"{vendor}:{m.group(1)}"] = m.group(2).strip()
    return version, names


def _split_pci_name(name: str) -> tuple[str, list[str]]:
    """"GA102 [GeForce RTX 3090]" -> ("GA102", ["GeForce RTX 3090"]); "Navi 31 [Radeon RX 7900 XT/7900 XTX]" ->
    ("Navi 31", ["Radeon RX 7900 XT", "Radeon RX 7900 XTX"]) (pci.ids shortens the siblings after a slash)."""
    m = _PCI_NAME.match(name)
    if not m:
        return name, []
    chip, market = m.group("chip").strip(), m.group("market").strip()
    parts = [p.strip() for p in market.split("/") if p.strip()]
    if not parts:
        return chip, []
    first = parts[0]
    out = [first]
    prefix = re.match(r"^(.*?)(\S*\d\S*)(\s.*)?$", first)
    for p in parts[1:]:
        if prefix and re.match(r"^\d", p):  # "7900 XTX" after "Radeon RX 7900 XT"
            out.append(f"{prefix.group(1)}{p}".strip())
        else:
            out.append(p)
    return chip, out


def _chip_row(rows: list[dict[str, Any]], chip: str) -> dict[str, Any] | None:
    return next((r for r in rows if re.match(r["match"], chip)), None)


def generate(sources: Path = SOURCES) -> dict[str, Any]:
    from dlsetup.util import toml

    chips = toml.loads((sources / "chips.toml").read_text(encoding="utf-8"))
    pci_text = _read_gz(sources / "pci.ids.gz")
    pci_version, pci = parse_pci_ids(pci_text)
    supported = json.loads(_read_gz(sources / "nvidia-supported-gpus.json.gz"))
    detect_text = _read_gz(sources / "debian-nvidia-detect.tsv.gz")
    debian: dict[str, dict[str, list[str]]] = {}
    for line in detect_text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        release, lst, ids = line.split("\t")
        for i in ids.split():
            debian.setdefault(f"10de:{i}", {}).setdefault(release, []).append(lst)

    nv: dict[str, dict[str, Any]] = {}
    for c in supported["chips"]:
        pid = "10de:" + c["devid"].removeprefix("0x")
        e = nv.setdefault(pid, {"names": [], "legacy": None, "open": False})
        if c["name"] not in e["names"]:
            e["names"].append(c["name"])
        if c.get("legacybranch"):
            e["legacy"] = c["legacybranch"]
        e["open"] = e["open"] or bool(c.get("kernelopen"))

    rows = []
    for pid in sorted(set(pci) | set(nv)):
        vendor = VENDORS[pid[:4]]
        chip, market = _split_pci_name(pci.get(pid, ""))
        names: list[str] = []
        target = arch = ""
        legacy, open_, compute = 0, "-", "none"
        if vendor == "nvidia":
            info = _chip_row(chips["nvidia"], chip) if chip else None
            if pid not in nv and (info is None or _NOT_GPU.search(pci.get(pid, ""))):
                continue
            e = nv.get(pid)
            names = list(e["names"]) if e else []
            names += [n if n.startswith(("NVIDIA", "Tesla", "Quadro")) else f"NVIDIA {n}" for n in market
                      if not any(n.lower() in x.lower() for x in names)]
            if info:
                arch, target = info["arch"], info["cc"]
            if e:
                legacy = int(e["legacy"].split(".")[0]) if e["legacy"] else 0
                open_ = "yes" if e["open"] else "no"
            compute = "cuda" if target else "none"
        else:
            info = _chip_row(chips[vendor], chip) or _chip_row(chips[vendor], pci.get(pid, ""))
            if info is None or re.search(r"Audio|Bridge|USB|Port|Switch|PCI Express|Controller|Sensor",
                                         pci.get(pid, "")):
                continue
            prefix = "AMD " if vendor == "amd" else "Intel "
            names = [n if n.startswith(prefix) else prefix + n for n in market] or [prefix + pci[pid]]
            arch = info["arch"]
            if vendor == "amd":
                target = info["gfx"]
                compute = {"official": "rocm", "override": f"rocm-override:{info.get('override', '')}"}.get(
                    info["rocm"], "none")
            else:
                compute = "xpu" if info.get("xpu") else "none"
        deb = debian.get(pid, {})
        rows.append([pid, vendor, names, chip, arch, target, legacy, open_,
                     {rel: sorted(lsts) for rel, lsts in sorted(deb.items())}, compute])
    return {
        "schema": 1,
        "generated_by": "dlsetup/hw/generate.py",
        "sources": {
            "pci.ids": f"pciutils pci.ids {pci_version} ({pci_text.splitlines()[0].removeprefix('# dlsetup: ')})",
            "supported-gpus.json": supported["origin"],
            "nvidia-detect": detect_text.splitlines()[0].removeprefix("# "),
            "chips": chips["sources"],
        },
        "columns": ["pci_id", "vendor", "names", "chip", "arch", "target", "legacy_branch", "open_module",
                    "debian", "compute"],
        "rows": rows,
    }


def render(doc: dict[str, Any]) -> str:
    """One row a line, so that a refresh shows as a readable diff."""
    head = {k: v for k, v in doc.items() if k != "rows"}
    body = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in doc["rows"])
    text = json.dumps(head, ensure_ascii=False, indent=1)
    return text[:-2] + ',\n "rows": [\n' + body + "\n ]\n}\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--pci-ids", type=Path)
    ap.add_argument("--pci-ids-origin", default="Debian package pci.ids, /usr/share/misc/pci.ids")
    ap.add_argument("--supported-gpus", type=Path)
    ap.add_argument("--supported-gpus-origin", default="NVIDIA supported-gpus.json")
    ap.add_argument("--nvidia-detect", action="append", default=[], metavar="RELEASE=DIR")
    ap.add_argument("--nvidia-detect-origin", default="Debian nvidia-detect /usr/share/nvidia/*.ids")
    a = ap.parse_args(argv)
    if a.pci_ids:
        _write_gz(SOURCES / "pci.ids.gz", reduce_pci_ids(a.pci_ids.read_text(encoding="utf-8", errors="replace"),
                                                         a.pci_ids_origin))
    if a.supported_gpus:
        raw = _read_gz(a.supported_gpus) if a.supported_gpus.suffix == ".gz" else a.supported_gpus.read_text()
        _write_gz(SOURCES / "nvidia-supported-gpus.json.gz", reduce_supported(json.loads(raw), a.supported_gpus_origin))
    if a.nvidia_detect:
        rel = dict(x.split("=", 1) for x in a.nvidia_detect)
        _write_gz(SOURCES / "debian-nvidia-detect.tsv.gz",
                  reduce_nvidia_detect({k: Path(v) for k, v in rel.items()}, a.nvidia_detect_origin))
    text = render(generate())
    if a.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs: run python -m dlsetup.hw.generate")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {text.count(chr(10)) - 12} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
