"""Pause injection for the mirror crash tests: Python imports this at start-up when this directory is on
PYTHONPATH (the tests' ``_spawn`` puts it there).

With ``DLSETUP_TEST_PAUSE_FILE`` set, the first journaled file write is followed by a pause: the marker file is
created and the process waits (up to ``DLSETUP_TEST_PAUSE_S`` seconds, or until ``<marker>.release`` exists),
so a test can kill it between two files. dlsetup's product code has no switch for this.
"""

import os

MARKER = os.environ.get("DLSETUP_TEST_PAUSE_FILE")

if MARKER:
    import time
    from pathlib import Path

    from dlsetup.mirror import journal

    _write_file = journal.write_file
    _calls = []

    def write_file(*args, **kwargs):
        result = _write_file(*args, **kwargs)
        _calls.append(1)
        if len(_calls) == 1:
            marker = Path(MARKER)
            marker.write_text(str(os.getpid()))
            release = marker.with_name(marker.name + ".release")
            deadline = time.monotonic() + float(os.environ.get("DLSETUP_TEST_PAUSE_S", "30"))
            while time.monotonic() < deadline and not release.exists():
                time.sleep(0.02)
        return result

    journal.write_file = write_file
