"""Compatibility tables shipped as TOML package data (one file per subject)."""
