"""One self-contained HTML page per pipeline folder (`mdaug report DIR`) and its metrics.json, from the results
collected by mdaug.evaluation.results. Figures are embedded as base64, so the page can be mailed or archived
alone; a missing part is named as missing."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from mdaug.evaluation.records import (
    ARMS,
    GAINS,
    DiagnoseReport,
    GenerationReport,
    Interval,
    ReconstructionReport,
    UtilityReport,
)
from mdaug.evaluation.results import DataSeen, Results, collect, fmt
from mdaug.files import atomic_write_text
from mdaug.runs.layout import CONFIG_FILE, PipelineFolders

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;"
         "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{max-width:100%}"
         ".missing{color:#a00}figure{margin:1em 0}figcaption{font-size:90%;color:#555}")


def _img(path: str | Path | None, alt: str) -> str:
    if not path or not Path(path).exists():
        return f"<p class='missing'>({html.escape(alt)}: no figure)</p>"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'><figcaption>"
            f"{html.escape(alt)}</figcaption></figure>")


def _table(rows: list[list[Any]], head: list[str]) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _section(title: str, missing: str, body: list[str] | None) -> list[str]:
    """A heading and its content, or a note of what is missing."""
    anchor = title.lower().replace(" ", "-")
    head = f"<h2 id='{html.escape(anchor)}'>{html.escape(title)}</h2>"
    return [head] + (body or [f"<p class='missing'>{missing}</p>"])


def _generation(kind: str, g: GenerationReport | None) -> list[str]:
    if not g:
        return [f"<h2>Generated samples ({kind})</h2><p class='missing'>not evaluated yet</p>"]
    fl, ce = g.floor, g.stage1_ceiling
    phys = [[k, v["real_mean"], v["fake_mean"], v["wasserstein"]] for k, v in g.physical.items()]
    return [
        f"<h2>Generated samples ({kind})</h2><p>first column: a real test spectrogram of the class; "
        f"then samples generated for it ({html.escape(json.dumps(g.settings))})</p>",
        _img(g.files.get("grid"), f"real vs generated per class ({kind})"),
        _table([["FID (recogniser features)", g.fid, ce.fid, fl.fid], ["KID", g.kid, ce.kid, fl.kid],
                ["precision", g.precision, ce.precision, fl.precision], ["recall", g.recall, ce.recall, fl.recall],
                ["identity accuracy", g.identity.accuracy, ce.identity_accuracy, g.recognizer_test_accuracy],
                ["near-copies of training samples (pixels)", g.memorisation_pixels["all"]["share_below"], None, None]],
               ["metric", "generated", "stage-1 reconstructions (ceiling)", "real training samples (floor)"]),
        "<h3>Physical plausibility</h3>" + _table(phys, ["statistic", "real mean", "generated mean", "Wasserstein"]),
        _img(g.files.get("confusion"), f"identity confusion ({kind})")]


def _reconstruction(r: ReconstructionReport | None) -> list[str]:
    extra = []
    if r and r.identity:
        i = r.identity
        extra.append(_table([["real test spectrograms", i["real"]],
                             ["their stage-1 reconstructions", i["reconstructions"]],
                             ["ratio (the identity ceiling of generated samples)", i["ratio"]]],
                            ["identity: recognised as their class", "share"]))
    if r and r.noise_floor:
        nf = r.noise_floor
        extra.append(_table([[k, nf["real"][k], nf["reconstructed"][k]] for k in nf["real"]],
                            ["noise floor (bins below the 40th percentile)", "real", "reconstructed"]))
    return _section("Stage 1: reconstruction", "not evaluated yet", r and [
        _table([[r.split, r.samples, r.psnr_db, r.ssim, r.spectral_error]],
               ["split", "samples", "PSNR (dB)", "SSIM", "spectral error"]), *extra,
        _img((r.files or {}).get("figure"), "reconstructions (rows: real, reconstructed, |error|)")])


def _diagnose(d: DiagnoseReport | None) -> list[str]:
    return _section("Latent-space health", "not diagnosed yet", d and [
        _table([["OK" if v.ok else "PROBLEM", v.problem, v.message] for v in d.verdicts],
               ["verdict", "problem", "measured"]),
        _img(d.files.get("figure"), "latent diagnostics")])


def _cell(i: Interval, points: bool = False) -> str:
    """A mean with its 95% interval (or the number of repeats when there is none)."""
    scale, unit = (100, " pt") if points else (100, "%")
    sign = "+" if points else ""
    if i.low is None:
        return f"{scale * i.mean:{sign}.1f}{unit} ({i.n} repeat)"
    return f"{scale * i.mean:{sign}.1f}{unit} [{scale * i.low:{sign}.1f}, {scale * i.high:{sign}.1f}] ({i.n} repeats)"


def _utility(u: UtilityReport | None) -> list[str]:
    arms = [[b, s.real_train, *[_cell(s.arms[a]) for a in ARMS], s.synthetic, ", ".join(s.strategies)]
            for b, s in u.summary.items()] if u else []
    gains = [[b, *[_cell(s.gains[g], points=True) for g in GAINS]] for b, s in u.summary.items()] if u else []
    return _section("Downstream utility", "not measured yet", u and [
        f"<p class='verdict'>{html.escape(u.verdict)}</p>",
        _table(arms, ["real per class", "real training samples", *[f"{a} (test accuracy, 95% interval)" for a in ARMS],
                      "synthetic samples", "strategy chosen on validation"]),
        _table(gains, ["real per class", *[f"{g} (paired)" for g in GAINS]]),
        f"<p>{html.escape(u.note)}; strategies tried: {html.escape(', '.join(u.strategies))}.</p>",
        _img(u.files.get("figure"), "utility curve")])


def _data_seen(seen: list[DataSeen]) -> list[str]:
    leaks = [f"<p class='missing'>LEAK: {html.escape(s.model)} saw {s.in_test_split} test spectrogram(s); its test "
             "figures are not held-out results.</p>" for s in seen
             if s.in_test_split and not s.model.startswith("test split")]
    return _section("Which real data each model saw", "no split recorded", seen and [
        _table([[s.model, s.real_samples, s.ids_sha256, s.in_test_split] for s in seen],
               ["model", "real samples", "SHA-256 of their ids (16 hex)", "of them in the test split"]),
        "<p>The ids themselves are in each run's split.json and the recognisers' mdaug.json.</p>"] + leaks)


def render(m: Results, config_text: str | None = None) -> str:
    parts = [f"<h1>mdaug report: {html.escape(Path(m.folder).name)}</h1>",
             f"<p>stage-1 family: <b>{html.escape(str(m.family))}</b>; folder {html.escape(m.folder)}</p>"]
    if m.utility is not None:  # the answer first: did the synthetic samples help? (details in its own section)
        parts.append(f"<p class='verdict'><b>Does the synthetic data help?</b> {html.escape(m.utility.verdict)} "
                     "(<a href='#downstream-utility'>details</a>)</p>")
    for kind, g in m.generation.items():
        parts += _generation(kind, g)
    parts += _reconstruction(m.reconstruction) + _diagnose(m.diagnose) + _utility(m.utility)
    parts += _data_seen(m.data_seen)
    if config_text:
        parts.append(f"<h2>Config</h2><pre>{html.escape(config_text)}</pre>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>mdaug report</title><style>{STYLE}</style>"
            f"</head><body>{''.join(parts)}</body></html>")


def write_report(folder: str | Path) -> tuple[Path, Path]:
    """DIR/report.html and DIR/metrics.json (replaced atomically: they are derived from the results)."""
    p = PipelineFolders(Path(folder))
    m = collect(p.root)
    cfg = p.ae / CONFIG_FILE
    html_path = atomic_write_text(p.report, render(m, cfg.read_text() if cfg.exists() else None))
    metrics = m.write(p.metrics)
    return html_path, metrics


__all__ = ["render", "write_report"]
