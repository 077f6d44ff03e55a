"""``dlsetup doctor``: checks over a machine snapshot, each finding with evidence, cause and exact fix.

Entry points: :func:`dlsetup.doctor.runner.run_doctor` (probe or load, then diagnose) and
:func:`dlsetup.doctor.runner.diagnose` (a snapshot in, a :class:`~dlsetup.doctor.model.DoctorReport` out).
Checks live in ``dlsetup/doctor/checks/`` (one module per family, registered in ``checks/__init__.py``).
"""
