"""Progress bars that read well in a terminal and in a log file.

tqdm redraws its bar in place with carriage returns several times a second; written to a file (`make demo > log`,
a batch job) that is thousands of overwritten lines. When the output is not a terminal the bars here write one plain
line at most every PLAIN_INTERVAL_S seconds instead (tqdm has no line mode of its own, hence the small writer)."""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm.auto import tqdm

PLAIN_INTERVAL_S = 10.0
"""Seconds between two lines of a bar when the output is not a terminal."""


class LineWriter:
    """A stream for tqdm that turns each redraw into a whole line (no carriage returns, no blank lines)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        for part in text.replace("\r", "\n").split("\n"):
            if part.strip():
                self.stream.write(part.rstrip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream: IO[str] | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(iterable: Any = None, *, enabled: bool = True, stream: IO[str] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr (or `stream`): redrawn in place in a terminal, else one line per PLAIN_INTERVAL_S
    seconds (and one at the end); nothing when not `enabled`."""
    stream = sys.stderr if stream is None else stream
    if is_terminal(stream):
        return tqdm(iterable, disable=not enabled, file=stream, dynamic_ncols=True, **kwargs)
    return tqdm(iterable, disable=not enabled, file=LineWriter(stream), mininterval=PLAIN_INTERVAL_S,
                maxinterval=PLAIN_INTERVAL_S * 6, ncols=100, ascii=True, **kwargs)


__all__ = ["PLAIN_INTERVAL_S", "LineWriter", "is_terminal", "progress_bar"]
