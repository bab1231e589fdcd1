"""The HTML pieces of the report page: its style, figures as base64, tables, sections with anchors, verdict tables
and the class selector. mdaug.evaluation.report puts the page together from them."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from mdaug.evaluation.figures import figure_axes_note
from mdaug.evaluation.records import Verdict
from mdaug.evaluation.results import fmt

STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}table{border-collapse:collapse;"
         "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{max-width:100%}"
         ".missing{color:#a00}figure{margin:1em 0}figcaption{font-size:90%;color:#555}"
         ".header{color:#444;font-size:95%}.verdict-box{border:2px solid #345;background:#f3f6fa;padding:.6em 1.2em;"
         "margin:1em 0;border-radius:6px}.verdict-box p{margin:.4em 0}.ok{color:#070}.problem{color:#a00}"
         "details{margin:1em 0}summary{cursor:pointer;font-weight:bold}pre{background:#f7f7f7;padding:.5em}"
         "code{background:#f2f2f2;padding:0 3px}")


def _b64(data: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(data).decode()}"


def _figure(src: str, alt: str, caption: str | None = None) -> str:
    return (f"<figure><img alt='{html.escape(alt)}' src='{src}'><figcaption>{html.escape(caption or alt)}"
            "</figcaption></figure>")


def _img(path: str | Path | None, alt: str, caption: str | None = None, *, spectrograms: bool = False) -> str:
    """A figure an evaluation wrote; for a figure of spectrograms, its caption says which axes it carries
    (figure_axes_note) or that it has none (drawn by an evaluation from before they were drawn)."""
    if not path or not Path(path).exists():
        return f"<p class='missing'>({html.escape(alt)}: no figure)</p>"
    caption = caption or alt
    if spectrograms:
        note = figure_axes_note(path)
        caption += ". " + (f"{note}." if note else "Drawn without axes by an older evaluation (evaluate again for "
                           "Doppler in Hz, time in s and a dB colour bar).")
    return _figure(_b64(Path(path).read_bytes()), alt, caption)


def _png(data: bytes | None, alt: str, caption: str) -> str:
    return _figure(_b64(data), alt, caption) if data else f"<p class='missing'>({html.escape(alt)}: no figure)</p>"


def _table(rows: list[list[Any]], head: list[str]) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _anchor(title: str) -> str:
    return "".join(ch for ch in title.lower().replace(" ", "-") if ch.isalnum() or ch == "-")


def _section(title: str, missing: str, body: list[str] | None) -> list[str]:
    """A heading and its content, or a note of what is missing."""
    head = f"<h2 id='{_anchor(title)}'>{html.escape(title)}</h2>"
    return [head] + (body or [f"<p class='missing'>{missing}</p>"])


def bound(v: Verdict) -> str:
    """The threshold as the side it allows: 'at most 0.010' where a value below it is fine, 'at least' where above."""
    if v.value is None or v.threshold is None or v.value == v.threshold:
        return fmt(v.threshold)
    return f"{'at most' if (v.value < v.threshold) == v.ok else 'at least'} {fmt(v.threshold)}"


def _verdict_table(verdicts: list[Verdict]) -> str:
    rows = "".join(f"<tr><td class='{'ok' if v.ok else 'problem'}'>{'OK' if v.ok else 'PROBLEM'}</td>"
                   f"<td>{html.escape(v.problem)}</td><td>{html.escape(fmt(v.value))}</td>"
                   f"<td>{html.escape(bound(v))}</td><td>{html.escape(v.message)}</td></tr>" for v in verdicts)
    return ("<table><tr><th>verdict</th><th>problem</th><th>value</th><th>threshold</th><th>measured</th></tr>"
            f"{rows}</table>")


SELECT_JS = ("<script>function mdaugShowClass(s){for(const d of document.querySelectorAll('.mdaug-class'))"
             "{d.hidden=d.dataset.class!==s.value;}}</script>")
"""The class selector's few lines: show the chosen class's row of samples, hide the others."""


def class_selector(pngs: dict[str, bytes], note: str) -> str:
    """A <select> of the classes and one hidden row of samples per class (the first shown; without JavaScript
    only the first can be seen)."""
    if not pngs:
        return "<p class='missing'>(no samples to browse by class)</p>"
    options = "".join(f"<option value='{html.escape(c)}'>{html.escape(c)}</option>" for c in pngs)
    rows = "".join(f"<div class='mdaug-class' data-class='{html.escape(c)}'{' hidden' if i else ''}>"
                   f"<img alt='samples of {html.escape(c)}' src='{_b64(png)}'></div>"
                   for i, (c, png) in enumerate(pngs.items()))
    return (f"<h3>Samples by class</h3><p><label>class: <select id='mdaug-class-select' "
            f"onchange='mdaugShowClass(this)'>{options}</select></label> {html.escape(note)}</p>{rows}{SELECT_JS}")


__all__ = ["SELECT_JS", "STYLE", "bound", "class_selector"]
