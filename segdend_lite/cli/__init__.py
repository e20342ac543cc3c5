"""The command line, ``python -m segdend_lite train | reproduce ...`` (the entry point,
``main``, is in ``segdend_lite.__main__``): :mod:`.parser` (every subcommand's options) and
:mod:`.train` (the ``train`` subcommand); ``reproduce`` runs
``segdend_lite.reproduce.command.main``."""
