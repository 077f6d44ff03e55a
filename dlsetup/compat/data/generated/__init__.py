"""Generated compatibility data (python -m dlsetup.compat.refresh); shipped as package data."""
