"""Small shared helpers: subprocesses with timeouts, atomic writes, redaction."""
