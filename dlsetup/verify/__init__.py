"""``dlsetup verify``: prove the stack computes correctly.

dlsetup never imports torch itself: the checks live in ``suite/dlverify`` and run in the target
interpreter as a subprocess (:mod:`dlsetup.verify.runner`), one JSON line per stage. This package plans
the run (:mod:`~dlsetup.verify.plan`), applies dlsetup's own data to the facts it gets back
(:mod:`~dlsetup.verify.judge`), and renders the result as text, JSON or an HTML report.
"""
