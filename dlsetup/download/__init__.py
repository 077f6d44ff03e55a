"""Downloads that survive a bad network (:mod:`.engine`), and fetching an environment's archives through it
first (:mod:`.prefetch`). Low in the package graph: it knows files, URLs and hashes, not environments; the
offline bundles built on it live in :mod:`dlsetup.offline`."""
