"""Offline bundles: everything an environment for a target machine needs (:mod:`.plan`, :mod:`.bundle`),
fetched through :mod:`dlsetup.download`, installed with no network, and packed from an existing env."""
