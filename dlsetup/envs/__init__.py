"""Environments: create, clone, export, lock, install from a lock, list and remove.

The work is done by a backend (``dlsetup/envs/backends/``): embedded py-rattler by default, or the
conda / mamba / micromamba command line when one is installed. Everything a backend needs that is not
specific to one tool lives next to this file: where named environments go and how conda finds them
(``locations``), channel names to URLs (``channels``), input files (``specfile``), conda's history
format (``history``), virtual packages (``virtual``), the all-or-nothing staging of a new prefix
(``staging``), pip sections (``pip``), lock files through conda-lock (``locking``) and recipes
(``recipes``). ``api`` is what the CLI and other capabilities call.
"""
