"""Stack recipes for ``dlsetup create env NAME --recipe RECIPE`` (data only).

Installed as the package ``dlsetup.recipes`` (``dlsetup/recipes`` is a symlink to this directory, so
setuptools ships these files as package data); ``dlsetup.envs.recipes`` reads them.
"""
