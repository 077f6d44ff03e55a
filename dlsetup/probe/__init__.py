"""Probe layer: find out what this machine has. Knows nothing about releases or compatibility.

Every prober returns plain data plus how it got it (which rung answered), never raises to the user,
and runs subprocesses and imports under a timeout.
"""
