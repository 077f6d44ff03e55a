"""PCI facts shared by the Linux (/sys) and Windows (registry) display-adapter readers."""

from __future__ import annotations

# PCI vendor ids (pci.ids) of the display controllers dlsetup names.
PCI_VENDORS = {"0x10de": "nvidia", "0x1002": "amd", "0x8086": "intel", "0x1a03": "aspeed", "0x15ad": "vmware",
               "0x1234": "qemu", "0x1af4": "virtio", "0x1414": "microsoft", "0x102b": "matrox"}
