"""The command line: ``main`` (the ``impasto`` command, which hands ``impasto web|video|batch`` to ``web``,
``video`` and ``batch``), over ``common`` (exit codes, one-line usage errors, the flags generated from
``impasto.config.option_table``) and ``interrupts``. Only ``impasto.__main__`` imports it: the library
(``impasto.apps`` and below) never depends on the command line."""
