"""Progress bars: redrawn in a terminal, a few whole lines in a log file (issue 27: the demo's log was 80 KB of
carriage-return redraws)."""

import io

from mdaug.progress import LineWriter, progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_into_a_file_writes_a_few_whole_lines_not_redraws():
    log = io.StringIO()
    for _ in progress_bar(range(20000), desc="steps", stream=log):
        pass
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 3 and lines[-1].startswith("steps: 100%") and "20000/20000" in lines[-1]


def test_a_bar_in_a_terminal_redraws_in_place_and_a_disabled_one_writes_nothing():
    tty = Terminal()
    for _ in progress_bar(range(50), desc="steps", stream=tty):
        pass
    assert "\r" in tty.getvalue()
    quiet = io.StringIO()
    for _ in progress_bar(range(50), stream=quiet, enabled=False):
        pass
    assert quiet.getvalue() == ""


def test_the_line_writer_turns_each_redraw_into_one_line():
    out = io.StringIO()
    w = LineWriter(out)
    w.write("\rsteps:  10%|#  | 1/10")
    w.write("\rsteps:  20%|## | 2/10   ")
    w.write("\n")
    assert out.getvalue() == "steps:  10%|#  | 1/10\nsteps:  20%|## | 2/10\n"
