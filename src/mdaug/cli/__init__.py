"""Command line: parse, build the typed config, call library functions. No logic of its own.

    app.py       the typer apps, consoles, shared options and config building
    data.py      data inspect / prepare / examples, simulate, config show / reference / presets
    train.py     train-recognizer, train-ae, train-ldm, train-prior, pretrain-ae, pretrain-recognizer, pretrain-ldm,
                 pretrain-prior
    generate.py  sample, augment
    evaluate.py  eval-ae, diagnose, evaluate, report, compare
    jobs.py      run, benchmark, utility, demo
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from mdaug.cli.app import app, config_app, data_app, err
from mdaug.cli.examples import attach_examples
from mdaug.errors import MdaugError
from mdaug.files import WRITE_HINTS

# importing registers the commands, in the order of the help panels
# isort: off
from mdaug.cli import jobs, data, train, generate, evaluate  # noqa: F401, E402
# isort: on

attach_examples(app, data_app, config_app)


RESUMED = ("train-recognizer", "train-ae", "train-ldm", "train-prior")
"""Commands that continue a stopped run with --resume."""
CONTINUED = ("run", "benchmark", "utility", "pretrain-ae", "pretrain-ldm", "pretrain-prior", "pretrain-recognizer")
"""Commands that continue their --out folder when run again."""


_STOPPED_BY = ["Ctrl-C"]
"""What stopped the command: Ctrl-C, or SIGTERM (kill, a batch scheduler's time limit), which _terminate sets."""


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM stops a command the way Ctrl-C does: cleanup runs (a pretraining's time spent is written), the
    last checkpoint stays, and the one line says how to go on. Python's default would end without any of it."""
    _STOPPED_BY[0] = signal.Signals(signum).name
    raise KeyboardInterrupt


def interrupted_line(argv: list[str]) -> str:
    """What Ctrl-C (or SIGTERM) leaves and how to go on, for the command in `argv` (sys.argv[1:])."""
    command = next((a for a in argv if not a.startswith("-")), "")
    out = _out_folder(argv)
    if command in RESUMED and out is not None and not any(out.glob("checkpoints/step-*/state.json")):
        again = f"no checkpoint was written in {out} yet: run the same command again to start over"
    elif command in RESUMED:
        again = "run the same command again with --resume to continue from its last checkpoint"
    elif command in CONTINUED:
        again = ("run the same command again (same --out) to continue: finished steps are skipped and the "
                 "interrupted one resumes from its last checkpoint")
    else:
        again = "run the same command again to redo it"
    return f"interrupted ({_STOPPED_BY[0]}); {again}"


def _out_folder(argv: list[str]) -> Path | None:
    for i, a in enumerate(argv):
        if a in ("--out", "-o") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if a.startswith("--out="):
            return Path(a[len("--out="):])
    return None


def _was_interrupted(e: SystemExit) -> bool:
    """typer turns KeyboardInterrupt into a silent exit 130 (raise Exit(130) from it) before main() sees it."""
    ctx = e.__context__
    return e.code == 130 and ctx is not None and isinstance(ctx.__cause__ or ctx, KeyboardInterrupt)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except MdaugError as e:
        err.print(f"error: {e}", markup=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:  # outside a command (while importing, say)
        err.print(interrupted_line(sys.argv[1:]), markup=False)
        sys.exit(130)
    except SystemExit as e:
        if _was_interrupted(e):
            err.print(interrupted_line(sys.argv[1:]), markup=False)
        raise
    except OSError as e:  # a file or folder the user named cannot be written or read (disk full, permissions)
        where = f": {e.filename}" if e.filename else ""
        hint = f" ({WRITE_HINTS[e.errno]})" if e.errno in WRITE_HINTS else ""
        err.print(f"error: {e.strerror or e}{where}{hint}", markup=False)
        sys.exit(1)


__all__ = ["app", "main"]
