"""``dlsetup setup``: one command from a fresh box to a verified environment (see :mod:`dlsetup.setup.runner`)."""
