"""Thin click commands: parse arguments, call a capability package, emit its Result."""
