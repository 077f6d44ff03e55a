"""The part of ``dlsetup verify`` that runs inside the target interpreter.

It imports only the standard library and torch (the target environment may have nothing else), is
started as ``python -m dlverify`` with ``PYTHONPATH`` pointing at the directory that holds this package,
reads its configuration as one JSON document on stdin, and writes one JSON object per line to its
original stdout (see :mod:`dlverify.proto`). Everything else it or torch prints goes to stderr.
"""

PROTOCOL = 1
