"""Settings, free of PyTorch and Pillow: ``choices`` (every enumerated value), ``limits`` (every range and
numeric default), ``checks`` (the range checks), ``layers`` (the VGG layer vocabulary), ``presets``,
``options`` (``Options`` and ``resolve_options``) and ``option_table`` (the flag of every setting, from which
the command line is built)."""
