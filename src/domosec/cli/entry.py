"""The ``domosec`` executable's first code: Ctrl-C while the command line is still being imported.

Importing the commands takes a moment before :func:`domosec.cli.app.main` can catch anything, so
an interrupt in that moment would end in a traceback. This module imports nothing of its own.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Import the command line and run it; an interrupt before it starts exits 130 like one after.

    ``domosec --version`` is answered here, from the installed package's metadata, without
    importing the commands.
    """
    if sys.argv[1:] == ["--version"]:
        print(version_line())
        return
    try:
        from domosec.cli.app import main as run
    except KeyboardInterrupt:
        print("domosec: interrupted", file=sys.stderr)
        sys.exit(130)
    run()


def version_line() -> str:
    """``domosec X.Y.Z``: the version in the installed distribution's metadata.

    The ``METADATA`` file of ``domosec-*.dist-info`` is read directly: importing
    :mod:`importlib.metadata` (and the email parser it brings) would take several times as long as
    the rest of ``--version``. Without an installed distribution (a source tree on ``PYTHONPATH``)
    it is the code's own ``domosec.__version__``, which the metadata is built from.
    """
    import os

    for entry in sys.path:
        try:
            names = [n for n in os.listdir(entry or ".") if n.startswith("domosec-") and n.endswith(".dist-info")]
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(entry or ".", name, "METADATA"), encoding="utf-8") as handle:
                    for line in handle:
                        if line.startswith("Version:"):
                            return f"domosec {line.partition(':')[2].strip()}"
                        if not line.strip():  # the end of the headers
                            break
            except OSError:
                continue
    from domosec import __version__

    return f"domosec {__version__}"
