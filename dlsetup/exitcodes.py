"""Exit codes every dlsetup command uses; scripts may rely on them."""

OK = 0  # all good
FAILED = 1  # the command ran and found errors (doctor), or the operation failed
USAGE = 2  # usage error or bad input; nothing was changed
WARNINGS = 3  # doctor --strict: warnings only

HELP_TEXT = (
    "Exit codes: 0 all good; 1 the command ran and found errors, or the operation failed; "
    "2 usage error or bad input (nothing changed); 3 warnings only (doctor --strict)."
)
