"""What dlsetup knows about GPUs before any driver runs: the PCI-id database (``db``) and the driver advice
per operating system and distribution release (``drivers``). Data only; loaded on first use."""
