"""The ``domosec`` executable's first code: Ctrl-C while the command line is still being imported.

Importing the commands takes a moment before :func:`domosec.cli.app.main` can catch anything, so
an interrupt in that moment would end in a traceback. This module imports nothing of its own.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Import the command line and run it; an interrupt before it starts exits 130 like one after."""
    try:
        from domosec.cli.app import main as run
    except KeyboardInterrupt:
        print("domosec: interrupted", file=sys.stderr)
        sys.exit(130)
    run()
