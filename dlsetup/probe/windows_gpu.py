"""Display adapters on Windows, read from the registry (no subprocess), with or without a driver.

The PCI enumerator lists every device the bus reports, whether a driver is installed or not:
``HKLM\\SYSTEM\\CurrentControlSet\\Enum\\PCI\\VEN_xxxx&DEV_yyyy&SUBSYS_...\\<instance>`` with ``DeviceDesc``,
``ClassGUID``, ``Service`` (the bound driver service: ``nvlddmkm`` for NVIDIA's driver, ``BasicDisplay``
for Windows' fallback) and ``Driver`` (``{class-guid}\\NNNN``, absent without a driver). The display
class key ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\NNNN``
holds the installed driver's ``DriverDesc``, ``DriverVersion``, ``MatchingDeviceId`` and ``ProviderName``.
Documented at https://learn.microsoft.com/windows-hardware/drivers/install/hklm-system-currentcontrolset-enum-registry-tree
and .../hklm-system-currentcontrolset-control-class-registry-tree; the display class GUID is
GUID_DEVCLASS_DISPLAY (https://learn.microsoft.com/windows-hardware/drivers/install/system-defined-device-setup-classes-available-to-vendors).

Each adapter is a dict of the same shape as Linux's ``pci_display_devices`` (``vendor``, ``name``,
``pci_id``, ``slot``, ``driver``, ``class``) plus ``driver_version`` (NVIDIA's form) when a driver is
installed. ``name`` is what Windows calls the device; without a driver that is a generic "Microsoft
Basic Display Adapter", so naming the card is left to dlsetup's own name path (by ``pci_id``).
"""

from __future__ import annotations

import re
from typing import Any

from dlsetup.probe.pci import PCI_VENDORS

DISPLAY_CLASS = "{4d36e968-e325-11ce-bfc1-08002be10318}"
CLASS_KEY = "SYSTEM\\CurrentControlSet\\Control\\Class\\" + DISPLAY_CLASS
PCI_KEY = "SYSTEM\\CurrentControlSet\\Enum\\PCI"
NVIDIA_SERVICE = "nvlddmkm"
_HW_ID = re.compile(r"VEN_([0-9A-F]{4})&DEV_([0-9A-F]{4})", re.I)
_LOCATION = re.compile(r"PCI bus (\d+), device (\d+), function (\d+)", re.I)


def nvidia_driver_version(windows_version: str | None) -> str | None:
    """Windows' driver version of an NVIDIA driver → NVIDIA's: ``31.0.15.4633`` → ``546.33``.

    NVIDIA's version is the last five digits of the last two fields (15 and 4633 → 154633 → 54633 →
    546.33). This is the reading tools that inspect the registry use; no NVIDIA primary source stating it
    was found, so a version that does not fit the pattern gives None rather than a guess.
    """
    if not windows_version:
        return None
    parts = windows_version.strip().split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    digits = (parts[2] + parts[3].zfill(4))[-5:]
    if len(digits) < 5:
        return None
    return f"{int(digits[:3])}.{digits[3:]}"


def _value(winreg: Any, key: Any, name: str) -> Any:
    try:
        return winreg.QueryValueEx(key, name)[0]
    except OSError:
        return None


def _subkeys(winreg: Any, key: Any) -> list[str]:
    out = []
    i = 0
    while True:
        try:
            out.append(winreg.EnumKey(key, i))
        except OSError:
            return out
        i += 1


def _desc(value: Any) -> str | None:
    """``@oem12.inf,%nvidia_dev.2520%;NVIDIA GeForce RTX 3060 Laptop GPU`` → the text after ``;``."""
    if not isinstance(value, str) or not value:
        return None
    return value.rsplit(";", 1)[-1].strip() or None


def _class_entry(winreg: Any, driver_ref: str | None) -> dict[str, Any]:
    """The display class subkey a device's ``Driver`` value points at (``{guid}\\0001``)."""
    if not driver_ref or "\\" not in driver_ref:
        return {}
    guid, _, index = driver_ref.partition("\\")
    if guid.lower() != DISPLAY_CLASS:
        return {}
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, f"{CLASS_KEY}\\{index}") as key:
            return {name: _value(winreg, key, name)
                    for name in ("DriverDesc", "DriverVersion", "MatchingDeviceId", "ProviderName")}
    except OSError:
        return {}


def display_adapters(winreg: Any = None) -> list[dict[str, Any]]:
    """Every PCI display adapter (class GUID of display devices, or PCI class 03), driver or not."""
    if winreg is None:
        import winreg  # type: ignore[no-redef]  # Windows only; the caller checks the OS
    out: list[dict[str, Any]] = []
    try:
        root = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, PCI_KEY)
    except OSError:
        return out
    with root:
        for hw in _subkeys(winreg, root):
            m = _HW_ID.search(hw)
            if not m:
                continue
            try:
                hw_key = winreg.OpenKey(root, hw)
            except OSError:
                continue
            with hw_key:
                for inst in _subkeys(winreg, hw_key):
                    try:
                        key = winreg.OpenKey(hw_key, inst)
                    except OSError:
                        continue
                    with key:
                        dev = _device(winreg, key, hw, inst, m)
                    if dev is not None:
                        out.append(dev)
    return out


def _device(winreg: Any, key: Any, hw: str, inst: str, m: re.Match) -> dict[str, Any] | None:
    class_guid = str(_value(winreg, key, "ClassGUID") or "").lower()
    compatible = _value(winreg, key, "CompatibleIDs") or []
    if isinstance(compatible, str):
        compatible = [compatible]
    pci_class = next((c.split("CC_", 1)[1] for c in compatible if "CC_" in c.upper()), None)
    if class_guid != DISPLAY_CLASS and not (pci_class or "").startswith("03"):
        return None
    vendor_hex, device_hex = m.group(1).lower(), m.group(2).lower()
    service = _value(winreg, key, "Service")
    entry = _class_entry(winreg, _value(winreg, key, "Driver"))
    loc = _LOCATION.search(str(_value(winreg, key, "LocationInformation") or ""))
    slot = f"{int(loc.group(1)):02x}:{int(loc.group(2)):02x}.{int(loc.group(3))}" if loc else None
    vendor = PCI_VENDORS.get(f"0x{vendor_hex}", f"0x{vendor_hex}")
    win_version = entry.get("DriverVersion")
    driven = bool(service) and str(service).lower() != "basicdisplay"
    return {
        "vendor": vendor,
        # Without the vendor's driver Windows names the device generically ("Microsoft Basic Display
        # Adapter"): no name then, dlsetup's own name path names it from pci_id.
        "name": (entry.get("DriverDesc") or _desc(_value(winreg, key, "DeviceDesc"))) if driven else None,
        "pci_id": f"{vendor_hex}:{device_hex}",
        "slot": slot,
        "driver": service or None,
        "class": f"0x{pci_class.lower()}" if pci_class else None,
        "driver_version": (nvidia_driver_version(win_version) if vendor == "nvidia" else win_version) if driven
        else None,
        "windows_driver_version": win_version,
        "instance": f"PCI\\{hw}\\{inst}",
    }


def video_controllers_from_cim(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fallback: ``Get-CimInstance Win32_VideoController | ConvertTo-Json`` rows in the same shape
    (properties documented at https://learn.microsoft.com/windows/win32/cimwin32prov/win32-videocontroller)."""
    out = []
    for row in rows:
        pnp = str(row.get("PNPDeviceID") or "")
        m = _HW_ID.search(pnp)
        if not m:
            continue
        vendor_hex, device_hex = m.group(1).lower(), m.group(2).lower()
        vendor = PCI_VENDORS.get(f"0x{vendor_hex}", f"0x{vendor_hex}")
        installed = str(row.get("InstalledDisplayDrivers") or "")
        driven = bool(row.get("DriverVersion")) and "basicdisplay" not in installed.lower() and \
            row.get("ConfigManagerErrorCode") in (0, None)
        win_version = row.get("DriverVersion")
        out.append({
            "vendor": vendor,
            "name": row.get("Name") if driven else None,
            "pci_id": f"{vendor_hex}:{device_hex}",
            "slot": None,
            "driver": (NVIDIA_SERVICE if vendor == "nvidia" else "installed") if driven else
            ("BasicDisplay" if "basicdisplay" in installed.lower() else None),
            "class": None,
            "driver_version": (nvidia_driver_version(win_version) if vendor == "nvidia" else win_version) if driven
            else None,
            "windows_driver_version": win_version,
            "instance": pnp,
        })
    return out


def nvidia_smi_candidates(environ: dict[str, str]) -> list[str]:
    """Where nvidia-smi.exe lives: System32 (DCH drivers, 2019+) and the NVSMI folder (older drivers)
    (https://docs.nvidia.com/deploy/nvidia-smi/ and NVIDIA's DCH driver notes)."""
    import ntpath

    root = environ.get("SystemRoot") or environ.get("SYSTEMROOT") or "C:\\Windows"
    programs = environ.get("ProgramFiles") or environ.get("PROGRAMFILES") or "C:\\Program Files"
    return [ntpath.join(root, "System32", "nvidia-smi.exe"),
            ntpath.join(programs, "NVIDIA Corporation", "NVSMI", "nvidia-smi.exe")]
