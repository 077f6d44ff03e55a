"""Holds the ``dlverify`` package: the part of ``dlsetup verify`` that runs inside the target interpreter.

dlsetup puts this directory (and nothing else of its own) on the suite's PYTHONPATH.
"""
