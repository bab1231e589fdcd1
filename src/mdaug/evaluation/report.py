"""One self-contained HTML page per pipeline folder (`mdaug report DIR`) and its metrics.json, from the results
collected by mdaug.evaluation.results. Figures are embedded as base64, so the page can be mailed or archived
alone; a missing part is named as missing.

The page opens with a header line (preset and what it means, family, mdaug version, date, run time) and a verdict
box (the utility answer with its numbers, interval and repeats, then the generation and latent-health verdicts
that explain it); the evidence follows, section by section, and the config comes last, collapsed."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from mdaug.data.coverage import UNSEEN_CONDITIONS
from mdaug.evaluation.metrics import CALIBRATION_TARGET
from mdaug.evaluation.record_parts import FloorStats
from mdaug.evaluation.records import (
    ARM_TITLES,
    ARMS,
    BEST,
    GAINS,
    BudgetSummary,
    ConditionsReport,
    DiagnoseReport,
    FeatureDistances,
    GenerationReport,
    Interval,
    ReconstructionReport,
    UtilityReport,
    Verdict,
)
from mdaug.evaluation.report_context import RunHeader, run_header
from mdaug.evaluation.report_data import DataAxes, Samples, browser_samples, data_axes
from mdaug.evaluation.report_figures import class_pngs, confusion_png, loss_png
from mdaug.evaluation.report_html import (
    STYLE,
    _anchor,
    _img,
    _png,
    _section,
    _table,
    _verdict_table,
    class_selector,
)
from mdaug.evaluation.report_verdicts import Units, generation_verdicts, physical_rows
from mdaug.evaluation.results import DataSeen, Results, collect, fmt
from mdaug.files import atomic_write_text
from mdaug.glossary import glossary_html
from mdaug.runs.layout import CONFIG_FILE, LOSSES, PipelineFolders


def _browser(samples: Samples | None, axes: DataAxes) -> str:
    if samples is None:
        return "<p class='missing'>(no augmented dataset in this folder to browse by class)</p>"
    pngs = class_pngs(samples.fake, samples.fake_labels, samples.class_names, axes.axes, real=samples.real,
                      real_labels=samples.real_labels)
    return class_selector(pngs, f"{samples.note}; {axes.axes.note}.")


def _k(neighbours: int | None, floor: FeatureDistances) -> str:
    """The neighbourhood of precision/recall, as the table's row says it: calibrated (the smallest k at which the
    floor reaches CALIBRATION_TARGET), or the largest k the sets allow where no k does, which the row says."""
    if not neighbours:
        return ", 3 nearest neighbours"
    if min(floor.precision, floor.recall) < CALIBRATION_TARGET:
        return (f", {neighbours} nearest neighbours: the largest k the sets allow, and real training spectrograms "
                f"still score below {CALIBRATION_TARGET:g} (the real column): read precision/recall against it")
    return f", {neighbours} nearest neighbours: the smallest k at which real training spectrograms count as real"


def _generation(kind: str, generation: GenerationReport | None, axes: DataAxes, browser: str) -> list[str]:
    title = f"Generated samples ({kind})"
    if not generation:
        return _section(title, "not evaluated yet", None)
    g = generation
    fl, ce, u = g.floor, g.stage1_ceiling, Units(axes.axes, axes.rows, axes.cols)
    n = len(g.identity.per_class_accuracy)
    class_names = axes.class_names if len(axes.class_names) == n else [f"class {i}" for i in range(n)]
    settings = json.dumps(g.settings.model_dump(by_alias=True))
    return _section(title, "", [
        f"<p>{g.samples} samples ({g.per_class} per class), sampler settings {html.escape(settings)}, "
        f"measured against {g.test_samples} real test spectrograms.</p>",
        _verdict_table(generation_verdicts(g, u)), browser,
        _table([["FID in the recogniser's feature space (lower is closer)", g.fid, ce.fid, fl.fid],
                ["KID (lower is closer)", g.kid, ce.kid, fl.kid],
                [f"precision: share of samples among the real data (0-1){_k(g.neighbours, fl)}", g.precision,
                 ce.precision, fl.precision],
                [f"recall: share of the real data covered (0-1){_k(g.neighbours, fl)}", g.recall, ce.recall, fl.recall],
                ["recognised as their class (0-1), beside the real test split reconstructed and as recorded",
                 g.identity.accuracy, ce.identity_accuracy, g.recognizer_test_accuracy],
                ["near-copies of training samples, pixels (0-1)", g.memorisation_pixels.all.share_below, None, None]],
               ["metric", "generated", "stage-1 reconstructions of the test split (what stage 1 keeps)",
                "real spectrograms (FID/KID/precision/recall: training against test, the closest real data gets; "
                "recognised: the test split)"]),
        "<h3>Physical plausibility</h3>" + _table(physical_rows(g.physical, u), [
            "statistic (unit)", "real (mean ± std)", "generated (mean ± std)", "difference of means",
            "Wasserstein distance", "real (median)", "generated (median)", "difference of medians"]),
        _png(confusion_png(g.identity.confusion, g.identity.per_class_accuracy, class_names),
             f"identity confusion ({kind})", "Left: the share of each class's generated samples (rows) that the "
             "evaluation recogniser names as each class (columns); right: per-class accuracy, the diagonal, against "
             "chance."),
        "<details><summary>All classes at once (the evaluation's grid)</summary>"
        + _img(g.files.grid, f"real vs generated per class ({kind})", "One row per class: the first column a "
               "real test spectrogram of the class, then samples generated for it", spectrograms=True) + "</details>"])


def _conditions(report: ConditionsReport | None) -> list[str]:
    """What the recording conditions do: asked against read back, identity at conditions a person lacks, physics, and
    one person rendered at conditions of other people's recordings beside their own."""
    title = "Recording conditions in stage 2"
    if not report:
        return []
    if not report.conditions:
        return _section(title, "stage 2 was trained without recording conditions (ldm.conditions)", None)
    rows = [[name, r.unit, r.samples, r.median_abs_error, r.chance_median_abs_error, r.estimator_median_abs_error]
            for name, r in (report.controllability or {}).items()]
    body = [f"<p>Stage 2 takes: {html.escape('; '.join(report.conditions))}. Samples asked for one condition at a "
            "time (values from the 10% to the 90% quantile of the training recordings'), read back by the estimators "
            "that read the recordings.</p>",
            _table(rows, ["condition", "unit", "samples", "median error: asked", "asked for nothing (chance)",
                          "the estimator on recordings (floor)"])]
    ident = report.identity
    if ident:
        body.append(f"<p>Identity under a change of condition: {fmt(ident.own.recognised)} of samples at a "
                    f"person's own conditions are recognised as that person, {fmt(ident.unseen.recognised)} at "
                    f"conditions of other people's recordings that the person's lack (ratio {fmt(ident.ratio)}; "
                    "the evaluation recogniser, trained on the whole training split).</p>")
    ph = report.physics
    if ph:
        body.append(f"<p>Walking model: asked for {ph.speeds[0]:g} and {ph.speeds[1]:g} m/s, the gait cycles "
                    f"read back are in the ratio {fmt(ph.cycle_ratio_read)} (the model: "
                    f"{fmt(ph.cycle_ratio_expected)}); torso speed read {fmt(ph.torso_speed_read)}.</p>")
    person = report.files.person if report.files else None
    body.append(_img(person, "one person at conditions they were never recorded at", "Top: recordings "
                     "of one person; bottom: samples of the same person at the conditions of other people's "
                     "recordings that theirs lack", spectrograms=True))
    return _section(title, "", body)


FLOOR_NAMES = {"level_db": "level (dB)", "spread_db": "spread (dB)", "correlation_time": "correlation along time",
               "correlation_doppler": "correlation along Doppler"}
"""The noise floor's statistics (FloorStats), named plainly."""


def _reconstruction(report: ReconstructionReport | None) -> list[str]:
    extra = []
    r = report
    if r and r.identity:
        i = r.identity
        extra.append(_table([["real test spectrograms", i.real],
                             ["their stage-1 reconstructions", i.reconstructions],
                             ["ratio (the identity ceiling of generated samples)", i.ratio]],
                            ["identity: recognised as their class", "share (0-1)"]))
    if r and r.noise_floor:
        columns = r.noise_floor.columns()
        extra.append(_table([[FLOOR_NAMES[k], *(getattr(col, k) for col in columns.values())]
                             for k in FloorStats.model_fields],
                            ["noise floor (bins below the 40th percentile)", *columns]))
    return _section("Stage 1: reconstruction", "not evaluated yet", r and [
        _table([[r.split, r.samples, r.psnr_db, r.ssim, r.spectral_error]],
               ["split", "samples", "PSNR (dB, higher is better)", "SSIM (0-1)", "spectral error (lower is better)"]),
        *extra,
        _img(r.files.figure if r.files else None, "reconstructions", "Three rows: a real test spectrogram of each "
             "class (one column each), its stage-1 reconstruction, and their absolute difference (|error|)",
             spectrograms=True)])


def _diagnose(diagnosis: DiagnoseReport | None) -> list[str]:
    return _section("Latent-space health", "not diagnosed yet", diagnosis and [
        _verdict_table(diagnosis.verdicts), _img(diagnosis.files.figure, "latent diagnostics")])


def _cell(interval: Interval, points: bool = False, count: bool = True) -> str:
    """A mean with its 95% interval (or the number of repeats when there is none); `count=False` where the line
    already says how many repeats there were."""
    scale, unit = (100, " pt") if points else (100, "%")
    sign = "+" if points else ""
    if interval.low is None:
        return f"{scale * interval.mean:{sign}.1f}{unit}" + (f" ({interval.n} repeat)" if count else "")
    n = f" ({interval.n} repeats)" if count else ""
    low, high = scale * interval.low, scale * interval.high
    return f"{scale * interval.mean:{sign}.1f}{unit} [{low:{sign}.1f}, {high:{sign}.1f}]{n}"


def _tstr_note(summary: BudgetSummary) -> str:
    """What the synthetic-only figure is, beside it: samples from noise alone, and its ratio to real only."""
    if summary.tstr_samples is None:
        return ""
    real_only, synthetic_only = summary.arms[ARMS[0]].mean, summary.arms[ARMS[-1]].mean  # ARMS: real ... synthetic
    ratio = synthetic_only / real_only if real_only else float("nan")
    return (f" (synthetic: {summary.tstr_samples} samples from noise alone, guidance "
            f"{html.escape(_tstr_guidance(summary))}; "
            f"{ratio:.2f}x real only)")


def _tstr_guidance(summary: BudgetSummary) -> str:
    if summary.tstr_guidance is None:  # studies before the choice: the model's, or none where the arm used the pool
        return "the model's" if summary.tstr_samples is not None else "-"
    return ", ".join(f"{g} ({n}x)" if summary.repeats > 1 else g for g, n in summary.tstr_guidance.items())


def _budget_title(budget: str) -> str:
    return "all" if budget == "all" else f"{budget[:-1]} sessions" if budget.endswith("s") else f"{budget} per class"


def _by_class(utility: UtilityReport, class_names: list[str]) -> list[str]:
    """Per budget, every arm's test accuracy per class (mean over the repeats that recorded it), the classes that
    gained most from the synthetic data first: which people gained and which lost."""
    out = []
    for b in utility.summary:
        recs = [r for r in utility.records if r.budget == b and r.by_class]
        if not recs:
            continue
        arms = [a for a in ARMS if all(a in r.by_class for r in recs)]
        mean = {a: np.nanmean([r.by_class[a] for r in recs], axis=0) for a in arms}
        n = len(next(iter(mean.values())))
        names = class_names if len(class_names) == n else [f"class {i}" for i in range(n)]
        base, syn = utility.summary[b].best_non_generative or "real+classical", "real+classical+synthetic"
        gain = mean[syn] - mean[base] if syn in mean and base in mean else None  # the arm the study compared with
        order = np.argsort(-gain, kind="stable") if gain is not None else np.arange(n)
        rows = [[names[i], *[f"{100 * mean[a][i]:.0f}%" for a in arms],
                 *([f"{100 * gain[i]:+.0f}"] if gain is not None else [])] for i in order]
        out.append(f"<details><summary>Per class at {html.escape(_budget_title(b))} ({len(recs)} repeat"
                   f"{'s' if len(recs) > 1 else ''}): which classes gained, which lost</summary>"
                   + _table(rows, ["class", *[ARM_TITLES[a] for a in arms],
                                   *([f"+ synthetic over {ARM_TITLES[base]} (points)"] if gain is not None
                                     else [])]) + "</details>")
    return out


def _utility(utility: UtilityReport | None, folder: Path, class_names: list[str] | None = None) -> list[str]:
    if not utility:
        return _section("Downstream utility", "not measured yet", None)
    arms = [a for a in ARMS if any(a in s.arms for s in utility.summary.values())]
    gains = [g for g in GAINS if any(g in s.gains for s in utility.summary.values())]
    rows = [[_budget_title(b), s.real_train, *[_cell(s.arms[a]) if a in s.arms else "-" for a in arms],
             _doses(s), s.synthetic, "the chosen pool" if s.tstr_samples is None else s.tstr_samples,
             _tstr_guidance(s), ", ".join(s.strategies) or "-"] for b, s in utility.summary.items()]
    gain_rows = [[_budget_title(b), *[_cell(s.gains[g], points=True) if g in s.gains else "-" for g in gains]]
                 for b, s in utility.summary.items()]
    return _section("Downstream utility", "", [
        f"<p class='verdict'>{html.escape(utility.verdict)}</p>",
        _table(rows, ["real data per class", "real training samples",
                      *[f"{ARM_TITLES[a]} (test accuracy, 95% interval)" for a in arms],
                      "lower-SNR dose chosen on validation (dB)", "synthetic samples",
                      "synthetic only: samples (from noise, unsifted)", "synthetic only: guidance chosen on validation",
                      "strategy chosen on validation"]),
        _table(gain_rows, ["real data per class", *[f"{g} (paired, accuracy points)" for g in gains]]),
        f"<p>{html.escape(utility.note)}; strategies tried: {html.escape(', '.join(utility.strategies))}.</p>",
        *[f"<p class='missing'>{html.escape(n)}</p>"
          for n in dict.fromkeys(n for r in utility.records for n in r.notes or [])],
        _img(utility.files.figure, "utility curve"), *_by_class(utility, class_names or [])]
        + _by_condition(utility, folder))


def _doses(summary: BudgetSummary) -> str:
    if summary.snr_drop_db is None:
        return "-"
    return ", ".join(f"{d} ({n}x)" if summary.repeats > 1 else d for d, n in summary.snr_drop_db.items())


def _by_condition(utility: UtilityReport, folder: Path) -> list[str]:
    """Every arm on the test recordings in conditions their person's training recordings lack, and on the others;
    and what the first budget's training recordings cover."""
    out = ["<h3>Utility by condition</h3>"]
    for b, s in utility.summary.items():
        if not s.by_condition or not s.subsets:
            continue
        arms = [a for a in ARMS if a in s.by_condition]
        rows = [[k, f"{s.subsets[k]:.0f}", *[_cell(s.by_condition[a][k], count=False) for a in arms]]
                for k in s.subsets]
        out.append(f"<p>{html.escape(_budget_title(b))} ({s.repeats} repeat{'s' if s.repeats > 1 else ''}): test "
                   "accuracy on the subsets of the test split by condition, against the budget's real training "
                   "recordings of each one's class (unseen: no training recording of the class within the "
                   "condition's tolerance; below / above: beyond every one).</p>")
        out.append(_table(rows, ["test recordings", "how many (mean)", *[ARM_TITLES[a] for a in arms]]))
    if len(out) == 1:
        return []
    first = next(iter(utility.summary))
    cov = folder / "utility" / f"budget-{first}" / "repeat-0" / "coverage.png"
    out.append(_img(cov, "coverage of the conditions", f"What the real training recordings of budget "
                    f"{_budget_title(first)}, repeat 0 cover: recordings per person (rows) and condition bin "
                    "(columns); white: none. Given conditions come from the data's conditions file, the others are "
                    "estimated from the spectrograms (mdaug data inspect lists which)."))
    return out


def _data_seen(seen: list[DataSeen]) -> list[str]:
    leaks = [f"<p class='missing'>LEAK: {html.escape(s.model)} saw {s.in_test_split} test spectrogram(s); its test "
             "figures are not held-out results.</p>" for s in seen
             if s.in_test_split and not s.model.startswith("test split")]
    return _section("Which real data each model saw", "no split recorded", seen and [
        _table([[s.model, s.real_samples, s.ids_sha256, s.in_test_split] for s in seen],
               ["model", "real samples", "SHA-256 of their ids (16 hex)", "of them in the test split"]),
        "<p>The ids themselves are in each run's split.json and the recognisers' mdaug.json.</p>"] + leaks)


def _training(folder: Path, header: RunHeader) -> list[str]:
    p = PipelineFolders(folder)
    runs = {"evaluation recogniser": p.recognizer / LOSSES, "stage 1 (autoencoder)": p.ae / LOSSES}
    runs |= {f"stage 2 ({d.name})": d / LOSSES for d in sorted(folder.iterdir())
             if d.is_dir() and (d / "autoencoder.json").exists()}
    png = loss_png(runs)
    board = (f"<p>Every logged step is in TensorBoard: <code>tensorboard --logdir {html.escape(str(folder))}</code> "
             f"(runs: {html.escape(', '.join(Path(d).name for d in header.logdirs))}).</p>" if header.logdirs else
             "<p class='missing'>(no TensorBoard logs in this folder)</p>")
    return _section("Training", "", [_png(png, "training losses", "Loss terms against the training step, one panel "
                                          "per run (a moving average; the raw total faintly behind), from each "
                                          "run's losses.jsonl.") if png else
                                     "<p class='missing'>(no losses.jsonl in this folder)</p>", board])


def header_line(results: Results, header: RunHeader) -> str:
    """Preset (and what it means), family, version, date, run time, folder."""
    if header.preset:
        changed = ", ".join(f"{k}={v}" for k, v in list(header.changed.items())[:8]) + (
            ", ..." if len(header.changed) > 8 else "")
        differ = f"{len(header.changed)} key(s) differ from it" + (f": {html.escape(changed)}" if changed else "")
        preset = (f"preset <b>{html.escape(header.preset)}</b>: {html.escape(header.preset_meaning)} (read back "
                  f"from config.yaml; {differ})")
    else:
        preset = "preset unknown (no config.yaml)"
    run_time = f"run time {header.minutes:.0f} min" if header.minutes is not None else "run time unknown"
    return (f"<p class='header'>{preset} · stage-1 family <b>{html.escape(str(results.family))}</b> · mdaug "
            f"{html.escape(header.version)} · finished {html.escape(header.finished or 'unknown')} · {run_time} · "
            f"folder {html.escape(results.folder)} · <a href='#terms'>terms used</a></p>")


HOW_SURE = ("One repeat gives no interval: the figures move between runs by a few points (docs/results.md). For a 95% "
            "interval, run the study with repeats: `mdaug run --config standard --out runs/standard` (3 repeats, "
            "1500-step recognisers; about 1.5 to 2 hours on 2 CPU cores), or the study alone with more: `mdaug "
            "utility --config standard --repeats 5 --out runs/study`.")
"""The report's line under a one-repeat answer: what to run for an interval, and what it costs."""


def verdict_box(results: Results, gen: dict[str, list[Verdict]]) -> str:
    """The answer first: the utility verdict with its numbers, interval and repeats; then the verdicts that
    explain it."""
    lines = []
    u = results.utility
    if u is not None:
        lines.append(f"<p><b>Does the synthetic data help?</b> {html.escape(u.verdict)} "
                     "(<a href='#downstream-utility'>details</a>)</p>")
        for b, s in u.summary.items():
            best = f"synthetic over {BEST}"
            gain = (f"synthetic over {html.escape(ARM_TITLES[s.best_non_generative or 'real+classical'])} "
                    f"<b>{_cell(s.gains[best], points=True, count=False)}</b>; " if best in s.gains else "")
            unseen = (s.subsets or {}).get(UNSEEN_CONDITIONS)
            cond = ("; on the " + f"{unseen:.0f} test recordings in conditions their person's training lacks: "
                    + " · ".join(f"{ARM_TITLES[a]} {_cell(c[UNSEEN_CONDITIONS], count=False)}"
                                 for a, c in (s.by_condition or {}).items() if UNSEEN_CONDITIONS in c)
                    + " (<a href='#downstream-utility'>by condition</a>)") if unseen else ""
            lines.append(f"<p>At {html.escape(_budget_title(b))} ({s.repeats} repeat{'s' if s.repeats > 1 else ''}): "
                         f"{gain}test accuracy " + " · ".join(f"{ARM_TITLES[a]} {_cell(s.arms[a], count=False)}"
                                                             for a in ARMS if a in s.arms)
                         + _tstr_note(s) + cond + "</p>")
        if any(s.repeats < 2 for s in u.summary.values()):
            lines.append(f"<p><b>How sure?</b> {html.escape(HOW_SURE)}</p>")
    else:
        lines.append("<p class='missing'><b>Does the synthetic data help?</b> not measured yet (no utility study)</p>")
    for kind, vs in gen.items():
        bad = [v for v in vs if not v.ok]
        found = "; ".join(f"<span class='problem'>{html.escape(v.problem)}</span> ({html.escape(v.message)})"
                          for v in bad) if bad else "<span class='ok'>no problem found</span>"
        link = _anchor(f"Generated samples ({kind})")
        lines.append(f"<p>Generated samples ({html.escape(kind)}): {found} (<a href='#{link}'>details</a>)</p>")
    if results.diagnose:
        bad = [v.problem for v in results.diagnose.verdicts if not v.ok]
        lines.append("<p>Latent space: " + (f"<span class='problem'>{html.escape(', '.join(bad))}</span>" if bad else
                                            "<span class='ok'>healthy</span>")
                     + " (<a href='#latent-space-health'>details</a>)</p>")
    return f"<div class='verdict-box'>{''.join(lines)}</div>"


def render(results: Results, config_text: str | None = None, *, header: RunHeader | None = None,
           axes: DataAxes | None = None, samples: Samples | None = None) -> str:
    folder = Path(results.folder)
    h = header or run_header(folder, config_text)
    da = axes or data_axes(folder)
    u = Units(da.axes, da.rows, da.cols)
    gen = {k: generation_verdicts(g, u) for k, g in results.generation.items() if g}
    browser = _browser(samples, da)
    # the answer first: the verdicts, then the utility study and its figure, then what explains it
    parts = [f"<h1>mdaug report: {html.escape(folder.name)}</h1>", header_line(results, h),
             verdict_box(results, gen)]
    parts += _utility(results.utility, folder, list(da.class_names))
    for i, (kind, g) in enumerate(results.generation.items()):
        parts += _generation(kind, g, da, browser if i == 0 else "")
    parts += _conditions(results.conditions)
    parts += _reconstruction(results.reconstruction) + _diagnose(results.diagnose)
    parts += _training(folder, h) + _data_seen(results.data_seen)
    if config_text:
        parts.append(f"<details><summary>Config (the resolved config.yaml, every key)</summary>"
                     f"<pre>{html.escape(config_text)}</pre></details>")
    parts.append(glossary_html())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>mdaug report: {html.escape(folder.name)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def write_report(folder: str | Path) -> tuple[Path, Path]:
    """DIR/report.html and DIR/metrics.json (replaced atomically: they are derived from the results)."""
    p = PipelineFolders(Path(folder))
    m = collect(p.root)
    cfg = p.config if p.config.exists() else p.ae / CONFIG_FILE
    html_path = atomic_write_text(p.report, render(m, cfg.read_text() if cfg.exists() else None,
                                                   samples=browser_samples(p.root)))
    metrics = m.write(p.metrics)
    return html_path, metrics


__all__ = ["class_selector", "header_line", "render", "verdict_box", "write_report"]
