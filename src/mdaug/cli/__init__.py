"""Command line: parse, build the typed config, call library functions. No logic of its own.

    app.py       the typer apps, consoles, shared options and config building
    data.py      data inspect / prepare / examples, simulate, config show / reference / presets
    train.py     train-recognizer, train-ae, train-ldm, train-prior
    generate.py  sample, augment
    evaluate.py  eval-ae, diagnose, evaluate, report, compare
    jobs.py      run, benchmark, utility, demo
"""

from __future__ import annotations

import sys

from mdaug.cli.app import app, err
from mdaug.errors import MdaugError
from mdaug.files import WRITE_HINTS

# importing registers the commands, in the order of the help panels
# isort: off
from mdaug.cli import jobs, data, train, generate, evaluate  # noqa: F401, E402
# isort: on


def main() -> None:
    try:
        app()
    except MdaugError as e:
        err.print(f"error: {e}", markup=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except OSError as e:  # a file or folder the user named cannot be written or read (disk full, permissions)
        where = f": {e.filename}" if e.filename else ""
        hint = f" ({WRITE_HINTS[e.errno]})" if e.errno in WRITE_HINTS else ""
        err.print(f"error: {e.strerror or e}{where}{hint}", markup=False)
        sys.exit(1)


__all__ = ["app", "main"]
