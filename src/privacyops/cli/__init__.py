"""The ``privacyops`` command (Typer).

Each subject has its own module here that defines a ``typer.Typer`` (or commands) and is
registered in ``app.py``. Domain errors become exit codes in one place, ``main()``:
the ``exit_code`` of the :mod:`privacyops.errors` class, with the message on stderr and never a
traceback.
"""

from privacyops.cli.app import app, main

__all__ = ["app", "main"]
