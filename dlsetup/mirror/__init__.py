"""Mirrors: point pip, conda, uv, pixi, PyTorch wheels and Hugging Face at a mirror, measure, undo.

Modules:

* ``effective``  — what each tool would use right now and which file or variable set it (no subprocess).
* ``catalog``    — the mirror catalogue (``data/mirrors.toml``) plus the user's custom mirrors.
* ``writers/``   — one writer per tool; each turns a file's bytes into new bytes (comments kept).
* ``apply``      — plans the edits for a mirror, shows diffs, writes atomically under a lock.
* ``journal``    — every write recorded (old and new bytes) so ``restore`` is byte-identical.
* ``probe``      — parallel, byte-capped checks that a mirror serves what this user needs.
* ``api``        — small queries for other capabilities (resolve, envs).
"""
