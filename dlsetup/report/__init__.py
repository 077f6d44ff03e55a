"""``dlsetup report``: many doctor snapshots (a class, a lab, a cluster) become one overview.

Each snapshot is diagnosed exactly as ``dlsetup doctor --snapshot FILE`` would; the findings are then
grouped by root cause (the finding id) with the machines behind each cause and its fix given once.
Snapshots are untrusted: a file that cannot be read becomes an ``unreadable`` entry and is skipped.
"""

from dlsetup.report.collect import build_report, expand_inputs

__all__ = ["build_report", "expand_inputs"]
