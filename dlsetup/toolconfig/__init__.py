"""How pip, uv, conda, pixi and Hugging Face read their configuration, reproduced from each tool's source.

One module per tool owns where its files are (per OS and scope; the OS is a parameter so a snapshot's can
be used), how the tool parses and decodes them, and which value wins: :mod:`.pip`, :mod:`.uv`, :mod:`.conda`,
:mod:`.pixi`, :mod:`.hf`. :mod:`.layers` combines them (every setting, what masks what); :mod:`.ini` and
:mod:`.condarc` edit files keeping comments, order, indentation and line endings, and :mod:`.verify` re-reads
an edited file with the tool's own rules before it is written.

This package sits below every capability (probe, resolve, doctor, mirror, envs): it imports only the
foundation (``dlsetup.paths``, ``dlsetup.util``), and ``tests/core/test_layers.py`` keeps it so.
"""
