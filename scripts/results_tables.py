"""Render the result tables of README.md and benchmarks/README.md from the results files they come from, so that no
measured number is typed by hand. A table lives between `<!-- results:NAME -->` and `<!-- results:end -->`; NAME
names a file of benchmarks/results/ (NAME.json) and the renderer below. tests/test_docs.py fails when a table and
its file disagree.

    .venv/bin/python scripts/results_tables.py          # rewrite every table from its file
    .venv/bin/python scripts/results_tables.py --check  # list the stale ones (exit 1 if any)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md")
SHIPPED = ROOT / "src" / "mdaug" / "pretrained"
SHIPPED_LIMIT_MB = 40
"""The most the shipped weights may weigh together (tests/test_docs.py checks it)."""
BLOCK = re.compile(r"(<!-- results:([\w-]+) -->\n)(.*?)(<!-- results:end -->)", re.S)


def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def _num(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _points(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:+.1f} pt"


def _source(r: dict[str, Any]) -> str:
    return f"Measured with `{r['command']}` on {r['date']} ({r['machine']})."


def _cap(row: dict[str, Any]) -> str:
    measured = row.get("gain_at_all") is not None
    return f" (at most {row['synthetic_cap']} synthetic per person)" if measured and row.get("synthetic_cap") else ""


def render_compression(r: dict[str, Any]) -> str:
    head = ("| stage 1 | latent | numbers per sample | PSNR (dB) | reconstructions identified | real identified | "
            "generated identified | FID (floor) | gain over classical, all real | minutes |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    psnr = lambda v: "exact" if v == float("inf") else _num(v)  # noqa: E731 (the pixels control has no stage 1)
    rows = [f"| {x['variant']} | {x['latent']} | {x['numbers']} | {psnr(x.get('psnr_db'))} | "
            f"{_pct(x.get('reconstruction_identity'))} | {_pct(x.get('real_identity'))} | "
            f"{_pct(x.get('ldm_identity'))} | {_num(x.get('ldm_fid'), 1)} ({_num(x.get('ldm_fid_floor'), 1)}) | "
            f"{_points(x.get('gain_at_all'))}{_cap(x)} | "
            f"{_num(x.get('minutes'), 1)} |" for x in r["rows"]]
    note = f" Note: {r['note']}." if r.get("note") else ""
    return "\n".join([head, *rows, "", _source(r) + note])


def render_pretrained(r: dict[str, Any]) -> str:
    head = ("| dataset | test spectrograms | carrier (GHz) | PSNR (dB) | SSIM | identified: real | reconstructions | "
            "ratio |\n|---|---|---|---|---|---|---|---|")
    rows = [f"| {t} | {m['test_samples']} | {m['carrier_ghz']:g} | {m['psnr_db']:.2f} | {m['ssim']:.3f} | "
            f"{_pct(m['identity']['real'])} | {_pct(m['identity']['reconstructions'])} | "
            f"{m['identity']['ratio']:.2f} |" for t, m in r["measured"].items()]
    c = r["corpus"]
    about = (f"`{r['name']}`: {r['steps']} steps of {r['batch_size']} on {c['trained_on']} simulated spectrograms of "
             f"{c['people']} walkers (seeds {c['seeds'][0]}-{c['seeds'][1]}), {r['training_wall_s'] / 60:.0f} minutes; "
             f"zero-shot on each test split.")
    return "\n".join([about, "", head, *rows, "", f"Made by `{r['command']}` on {r['date']} ({r['machine']})."])


def _interval(i: dict[str, Any]) -> str:
    if i.get("low") is None:
        return f"{100 * i['mean']:.1f}% (n={i['n']})"
    # an accuracy's t interval over few repeats can reach past 0 or 100%; shown within them
    return f"{100 * i['mean']:.1f}% [{100 * max(i['low'], 0.0):.1f}, {100 * min(i['high'], 1.0):.1f}] (n={i['n']})"


def _gain(i: dict[str, Any]) -> str:
    if i.get("low") is None:
        return f"{100 * i['mean']:+.1f} pt (n={i['n']})"
    return f"{100 * i['mean']:+.1f} pt [{100 * i['low']:+.1f}, {100 * i['high']:+.1f}]"


def _budget_order(b: str) -> tuple[bool, int]:
    return b == "all", 0 if b == "all" else int(b)


def _tstr(s: dict[str, Any]) -> str:
    """What a budget's synthetic-only arm trained on (studies before tstr_samples trained it on the chosen pool)."""
    n, g = s.get("tstr_samples"), s.get("tstr_guidance")
    chosen = "" if not g else ", guidance " + " / ".join(g if len(g) == 1 else [f"{k} ({v}x)" for k, v in g.items()])
    return "the chosen pool" if n is None else f"{n} from noise{chosen}"


def _arm_cells(b: str, s: dict[str, Any]) -> str:
    """A budget's label and its four arms (mean and interval), as table cells."""
    a = s["arms"]
    label = b if b != "all" else f"all ({s['real_train']} in all)"
    return (f"{label} | {_interval(a['real'])} | {_interval(a['real+classical'])} | "
            f"{_interval(a['real+classical+synthetic'])} | {_interval(a['synthetic'])} ({_tstr(s)})")


def render_utility(r: dict[str, Any]) -> str:
    """A utility study: each arm's held-out accuracy with its 95% interval, and the paired gains, per budget."""
    rep = r["report"]
    head = ("| real per class | real | real + classical | + synthetic (chosen) | synthetic only | synthetic over "
            "classical | synthetic over real | classical over real | strategies chosen |\n"
            "|---|---|---|---|---|---|---|---|---|")
    rows = []
    for b in sorted(rep["summary"], key=_budget_order):
        s = rep["summary"][b]
        g = s["gains"]
        chosen = ", ".join(f"{k} x{v}" for k, v in s["strategies"].items())
        rows.append(f"| {_arm_cells(b, s)} | {_gain(g['synthetic over classical'])} | "
                    f"{_gain(g['synthetic over real'])} | {_gain(g['classical over real'])} | {chosen} |")
    hours = r["wall_s"] / 3600
    return "\n".join([f"> {rep['verdict']}", "", head, *rows, "",
                      f"Accuracy on the real test split (31 people, chance 3.2%), mean over repeats with its 95% "
                      f"interval; gains are paired per repeat. {_source(r)} The whole study took {hours:.1f} hours."])


def render_budgets(studies: dict[str, dict[str, Any]]) -> str:
    """Several utility studies with one recipe at different budgets, one row per budget: what classical
    augmentation, the chosen synthetic samples and more real data each add."""
    head = ("| real per person | real | real + classical | + synthetic (chosen) | synthetic only | synthetic over "
            "classical | classical over real | hours |\n|---|---|---|---|---|---|---|---|")
    rows, classical, sources = [], [], []
    for r in studies.values():
        rep = r["report"]
        for b in sorted(rep["summary"], key=_budget_order):
            s = rep["summary"][b]
            g = s["gains"]
            rows.append(f"| {_arm_cells(b, s)} | {_gain(g['synthetic over classical'])} | "
                        f"{_gain(g['classical over real'])} | {r['wall_s'] / 3600:.1f} |")
            classical.append((b, s["arms"]["real+classical"]["mean"]))
        sources.append(f"`{r['command']}` ({r['date']})")
    more = "; ".join(f"{b0} to {b1} real per person: {100 * (m1 - m0):+.1f} points"
                     for (b0, m0), (b1, m1) in zip(classical, classical[1:]))
    machine = next(iter(studies.values()))["machine"]
    return "\n".join([head, *rows, "", f"Accuracy on the real test split (31 people, chance 3.2%), mean over repeats "
                      f"with its 95% interval; gains paired per repeat. What more *real* data adds to real + "
                      f"classical (means of different repeats, unpaired): {more}. Measured on {machine} with "
                      + ", ".join(sources) + "."])


def render_strategies(r: dict[str, Any]) -> str:
    """Every candidate strategy of a study's repeats, beside the real arms of the same repeat."""
    rep = r["report"]
    head = ("| budget | repeat | strategy | drawn | near-copies | filtered out | kept | validation | test | test minus "
            "real + classical |\n|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for rec in rep["records"]:
        base = rec["accuracy"]["real+classical"]
        for arm in ("real", "real+classical"):
            rows.append(f"| {rec['budget']} | {rec['repeat']} | *{arm}* | | | | | {_pct(rec['val_accuracy'][arm])} | "
                        f"{_pct(rec['accuracy'][arm])} | {_points(rec['accuracy'][arm] - base)} |")
        for c in rec["candidates"]:
            p = c["pool"]
            rows.append(f"| {rec['budget']} | {rec['repeat']} | {c['name']} | {p.get('drawn', '-')} | "
                        f"{p.get('near_copies', '-')} | {p.get('filtered_out', '-')} | {p.get('kept', '-')} | "
                        f"{_pct(c['val_accuracy'])} | {_pct(c['test_accuracy'])} | "
                        f"{_points(c['test_accuracy'] - base)} |")
    return "\n".join([head, *rows, "", f"{_source(r)} {r['wall_s'] / 60:.0f} minutes."])


DIRECTION_ARMS = {"real": "real", "real-classical": "real + classical (no mirror)",
                  "noise-filter": "+ sifted samples from noise (the study's arm)",
                  "classical-mirror": "real + classical **with the Doppler mirror**",
                  "gen-mirror": "real + classical + redrawn mirrors (no classical mirror)",
                  "classical-mirror+gen-mirror": "real + classical with mirror + redrawn mirrors",
                  "classical-mirror+gen-mirror-filter": "... + redrawn mirrors, sifted mirrored back",
                  "classical-mirror+gen-mirror-0.3": "... + redrawn mirrors at strength 0.3",
                  "classical-mirror+gen-mirror-filter-w0.3": "... + sifted redrawn mirrors at loss weight 0.3",
                  "classical-mirror+gen-mirror-filter-x0.5": "... + sifted redrawn mirrors, 0.5 per real one"}


def render_direction(r: dict[str, Any]) -> str:
    """benchmarks/direction.py: per arm, test accuracy on all / seen-direction / unseen-direction spectrograms, and
    the paired gains, over the repeats that have the arm."""
    head = ("| arm | repeats | test | people's seen direction | unseen direction | over real + classical (no mirror) "
            "| over real | over real + classical with the mirror |\n|---|---|---|---|---|---|---|---|")
    rows = []
    for arm, s in r["summary"].items():
        rs = [x["arms"][arm] for x in r["repeats"] if arm in x["arms"]]
        seen, unseen = (sum(v[k] for v in rs) / len(rs) for k in ("test_seen_direction", "test_unseen_direction"))
        rows.append(f"| {DIRECTION_ARMS.get(arm, arm)} | {s['n']} | {_interval(s['test']).split(' (n=')[0]} | "
                    f"{_pct(seen)} | {_pct(unseen)} | "
                    f"{_gain(s['over_classical']).split(' (n=')[0]} | {_gain(s['over_real']).split(' (n=')[0]} | "
                    f"{_gain(s['over_mirror']).split(' (n=')[0] if s.get('over_mirror') else '-'} |")
    share = [x["unseen_share"] for x in r["repeats"]]
    return "\n".join([head, *rows, "", f"Accuracy on the real test split of each repeat ({r['repeats'][0]['test']} "
                      f"spectrograms, 31 people), mean over repeats [95% interval]; gains paired per repeat. Unseen "
                      f"direction: {min(share):.0%} to {max(share):.0%} of the test spectrograms per repeat. "
                      f"Measured with `{'`, then `'.join(r['commands'])}` on {r['date']} ({r['machine']})."])


def render_texture(r: dict[str, Any]) -> str:
    """benchmarks/texture.py: the synthetic-only arm without and with the noise floor's texture, per repeat, and
    the noise floor of each pool against the real training spectrograms."""
    head = ("| repeat | texture (dB) | guidance | real only | synthetic only, without texture | with texture | "
            "named by the real recogniser: without | with |\n|---|---|---|---|---|---|---|---|")
    rows = []
    for x in r["repeats"]:
        a, b = x["arms"]["without texture"], x["arms"]["with texture"]
        rows.append(f"| {x['repeat']} | {x['sigma_db']:g} | {x['guidance']:g} | {_pct(x['real_only'])} | "
                    f"{_pct(a['synthetic_only'])} "
                    f"({a['ratio']:.2f}x) | {_pct(b['synthetic_only'])} ({b['ratio']:.2f}x) | "
                    f"{_pct(a['named_by_real_recogniser'])} | {_pct(b['named_by_real_recogniser'])} |")
    for g, s in r["summary"].items():
        if s["repeats"] > 1:
            rows.append(f"| mean | | {g} | {_pct(s['real_only'])} | {_pct(s['without texture']['synthetic_only'])} "
                        f"({s['without texture']['ratio']:.2f}x) | {_pct(s['with texture']['synthetic_only'])} "
                        f"({s['with texture']['ratio']:.2f}x) | "
                        f"{_pct(s['without texture']['named_by_real_recogniser'])} | "
                        f"{_pct(s['with texture']['named_by_real_recogniser'])} |")
    fl = r["repeats"][0]["floor"]
    names = {"level_db": "level (dB)", "spread_db": "spread (dB)", "correlation_time": "correlation along time",
             "correlation_doppler": "correlation along Doppler"}
    first = r["repeats"][0]
    floor = [f"| noise floor ({first['repeat']}, guidance {first['guidance']:g}) | " + " | ".join(fl) + " |",
             "|---" * (len(fl) + 1) + "|"]
    floor += [f"| {label} | " + " | ".join(f"{v[k]:.2f}" for v in fl.values()) + " |" for k, label in names.items()]
    gains = "; ".join(f"at guidance {g}: {_gain(s['gain'])}" for g, s in r["summary"].items())
    return "\n".join([head, *rows, "", f"Texture over none, paired: {gains}. Synthetic only: a recogniser "
                      f"trained on as many samples from noise as the budget has real spectrograms, nothing real, "
                      f"tested on the real test split; the two pools share their latents and differ only by the "
                      f"texture. Texture level: {x['sigma_source']}. {_source(r)}", "", *floor, *_texture_strategy(r)])


def _texture_strategy(r: dict[str, Any]) -> list[str]:
    """benchmarks/texture.py --strategy: the study's chosen strategy drawn without and with the texture."""
    if "strategy" not in r:
        return []
    rows = ["", "| repeat | strategy | real + classical | + synthetic without texture (samples kept) | with texture |",
            "|---|---|---|---|---|"]
    rows += [f"| {x['repeat']} | {x['strategy']} | {_pct(x['real+classical'])} | "
             + " | ".join(f"{_pct(x[k]['test'])} ({x[k]['samples']})" for k in ("without texture", "with texture"))
             + " |" for x in r["strategy"]["repeats"]]
    return [*rows, "", f"The texture's change to the real + classical + synthetic arm, paired: "
                       f"{_gain(r['strategy']['gain'])}."]


def _period_row(period: dict[str, float]) -> tuple[str, str]:
    """Medians where the file has them (the estimates are bimodal, step and stride, with harmonic mis-picks that
    drag a mean), with the means beside them; means alone for files measured before medians were recorded."""
    rel = lambda f, r: f"{100 * (f / r - 1):+.0f}%"  # noqa: E731
    mean = f"{period['fake_mean']:.1f} / {period['real_mean']:.1f} ({rel(period['fake_mean'], period['real_mean'])})"
    if "fake_median" not in period:
        return "gait period, generated / real (frames, mean)", mean
    med = period["fake_median"], period["real_median"]
    return ("gait period, generated / real (frames, median; mean)",
            f"{med[0]:.1f} / {med[1]:.1f} ({rel(*med)}); {mean}")


def render_demo(r: dict[str, Any]) -> str:
    """What the demo's report measured (its metrics.json), against the real data beside each figure."""
    m = r["metrics"]
    s, rec, gen = m["summary"], m["reconstruction"], m["generation"]["ldm"]
    real = s["real_identity"]
    period = gen["physical"]["period"]
    u = m["utility"]["summary"]
    rows = [
        ("evaluation recogniser on real held-out sessions", _pct(real)),
        ("stage-1 test PSNR / SSIM", f"{rec['psnr_db']:.1f} dB / {rec['ssim']:.2f}"),
        ("stage-1 reconstructions identified (ratio to real)",
         f"{_pct(rec['identity']['reconstructions'])} ({rec['identity']['ratio']:.2f}x)"),
        ("latent-health verdicts flagged", s["latent_problems"] or "none"),
        ("generated samples identified as their person (ratio to real)",
         f"**{_pct(s['ldm_identity'])}** ({s['ldm_identity'] / real:.2f}x; chance 3.2%)"),
        ("FID in the recogniser's feature space (floor: real train vs test; stage-1 ceiling)",
         f"{s['ldm_fid']:.1f} ({gen['floor']['fid']:.1f}; {gen['stage1_ceiling']['fid']:.1f})"),
        _period_row(period),
        ("near-copies of training samples", _pct(s["ldm_copies_pct"] / 100)),
    ]
    for b, x in u.items():
        a = x["arms"]
        names = [k for k in ("real", "real+classical", "pretrained+classical", "real+classical+synthetic",
                             "synthetic") if k in a]
        label = {"real": "real", "real+classical": "+ classical", "pretrained+classical": "pretrained recogniser",
                 "real+classical+synthetic": f"+ synthetic ({x['synthetic']})",
                 "synthetic": f"synthetic only ({_tstr(x)})"}
        rows.append((f"utility at {b} real per person: " + " / ".join(label[k] for k in names),
                     " / ".join(_pct(a[k]["mean"]) for k in names)))
        sub = x.get("by_condition") or {}
        if "unseen conditions" in (x.get("subsets") or {}):
            rows.append((f"the same on the {x['subsets']['unseen conditions']:.0f} test recordings in conditions their "
                         "person's training lacks", " / ".join(_pct(sub[k]["unseen conditions"]["mean"])
                                                               for k in names if k in sub)))
    w = r["wall_s"]
    body = "\n".join(f"| {k} | {v} |" for k, v in rows)
    how = "; ".join(x for x in (r.get("data_cache") and f"data cache {r['data_cache']}", r.get("note")) if x)
    return "\n".join([f"> {m['utility']['verdict']}", "", "| | demo (quick) |\n|---|---|", body, "",
                      f"{w['pipeline'] / 60:.1f} minutes for the pipeline, {w['fresh_clone_with_setup'] / 60:.1f} "
                      f"from a fresh clone with set-up" + (f" ({how})" if how else "") + "; peak resident memory "
                      f"{r['peak_rss_gb']:.1f} GB. {_source(r)}"])


def render_demo_spread(runs: dict[str, dict[str, Any]]) -> str:
    """The demo's figures over several fresh-clone runs (other seeds), each run's value and the range."""
    def rows(r: dict[str, Any]) -> dict[str, float]:
        m = r["metrics"]
        s, rec = m["summary"], m["reconstruction"]
        b, u = next(iter(m["utility"]["summary"].items()))
        out = {"evaluation recogniser on real held-out sessions (%)": 100 * s["real_identity"],
               "stage-1 test PSNR (dB)": rec["psnr_db"],
               "stage-1 reconstructions identified (%)": 100 * rec["identity"]["reconstructions"],
               "generated samples identified as their person (%)": 100 * s["ldm_identity"],
               "the same, ratio to real": s["ldm_identity"] / s["real_identity"],
               "FID in the recogniser's feature space": s["ldm_fid"]}
        for arm, title in (("real", "real only"), ("real+classical", "real + classical"),
                           ("pretrained+classical", "pretrained recogniser"),
                           ("real+classical+synthetic", "+ synthetic (chosen)"), ("synthetic", "synthetic only")):
            if arm in u["arms"]:
                out[f"utility at {b} per person: {title} (%)"] = 100 * u["arms"][arm]["mean"]
        if "synthetic over best non-generative" in u["gains"]:
            out["+ synthetic over the better non-generative arm (points)"] = \
                100 * u["gains"]["synthetic over best non-generative"]["mean"]
        out["pipeline time (minutes)"] = r["wall_s"]["pipeline"] / 60
        return out

    table = {name: rows(r) for name, r in runs.items()}
    names = list(runs)
    seeds = [(runs[n]["command"].split("seed=")[1].split()[0].strip("'") if "seed=" in runs[n]["command"] else "0")
             for n in names]
    head = "| | " + " | ".join(f"seed {s}" for s in seeds) + " | range |\n|---|" + "---|" * (len(names) + 1)
    body = []
    for key in table[names[0]]:
        vals = [table[n].get(key) for n in names]
        got = [v for v in vals if v is not None]
        fmt = "{:.2f}" if "ratio" in key else "{:+.1f}" if "points" in key else "{:.1f}"
        spread = f"{fmt.format(min(got))} to {fmt.format(max(got))}" if got else "-"
        body.append(f"| {key} | " + " | ".join("-" if v is None else fmt.format(v) for v in vals) + f" | {spread} |")
    when = {(runs[n]["date"], runs[n]["machine"]) for n in names}
    on = (f"on {next(iter(when))[0]} ({next(iter(when))[1]})" if len(when) == 1 else "on " + ", ".join(
        f"seed {s} {runs[n]['date']} ({runs[n]['machine']})" for s, n in zip(seeds, names))
        + " (runs of other days may have run on another host of the same size, with other CPU kernels)")
    notes = [f"Seed {s}: {runs[n]['note']}." for s, n in zip(seeds, names) if runs[n].get("note")]
    return "\n".join([head, *body, "", f"{len(names)} fresh-clone runs of `make demo` with every training seed set "
                      f"(`benchmarks/demo_fresh_clone.py --empty-cache --seed S`), {on}; "
                      "one repeat of the utility study each, so the range is the spread between runs, not an "
                      "interval (the study's own recognisers are seeded per repeat, so its real arms move least). "
                      "Commands: " + "; ".join(f"`{runs[n]['command']}`" for n in names) + "."
                      + (" " + " ".join(notes) if notes else "")])


ARM_TITLES = {"real": "real", "real+classical": "real + classical",
              "pretrained+classical": "real + classical, pretrained recogniser",
              "real+classical+synthetic": "+ synthetic (chosen)", "synthetic": "synthetic only"}
CONDITION_ROWS = ("all", "seen conditions", "unseen conditions")
"""The subsets by condition every study table shows first; then the per-condition ones it has."""


def _study_order(b: str) -> tuple[int, int]:
    return (2, 0) if b == "all" else (1, int(b[:-1])) if b.endswith("s") else (0, int(b))


def _budget_label(b: str, s: dict[str, Any]) -> str:
    what = f"{b[:-1]} sessions" if b.endswith("s") else "all" if b == "all" else f"{b} per person"
    return f"{what} ({s['real_train']})"


def _paired(values: list[float]) -> dict[str, Any]:
    """Mean and 95% t interval of paired differences (as the study's own gains)."""
    from mdaug.workflows.utility.summary import interval

    return interval(values).model_dump()


def render_conditions_study(r: dict[str, Any]) -> str:
    """A utility study with conditions (issue 25): per budget each arm's accuracy with its interval, the lower-SNR dose
    chosen, the paired gains of the physics transform (the chosen real + classical recogniser against its dose-0
    candidate, the classical augmentation of before), of the pretrained recogniser and of the synthetic samples over
    the better non-generative arm; then every arm on the subsets of the test split by condition."""
    rep = r["report"]
    budgets = sorted(rep["summary"], key=_study_order)
    arms = [a for a in ARM_TITLES if any(a in rep["summary"][b]["arms"] for b in budgets)]
    head = ("| real data per person | " + " | ".join(ARM_TITLES[a] for a in arms) + " | dose chosen (dB) | "
            "lower SNR over none | pretrained over classical | the better non-generative over real + classical of "
            "before | synthetic over the better non-generative |\n" + "|" + "---|" * (len(arms) + 6))
    rows, by_condition = [], []
    for b in budgets:
        s = rep["summary"][b]
        recs = [x for x in rep["records"] if x["budget"] == b]
        physics = [x["accuracy"]["real+classical"] - x["classical_candidates"]["0"]["test_accuracy"] for x in recs
                   if "0" in (x.get("classical_candidates") or {})]
        g = s["gains"]
        best = s.get("best_non_generative")
        syn = g.get("synthetic over best non-generative")
        before = [x["accuracy"][best] - x["classical_candidates"]["0"]["test_accuracy"] for x in recs
                  if best and "0" in (x.get("classical_candidates") or {})]
        rows.append(f"| {_budget_label(b, s)} | " + " | ".join(_interval(s["arms"][a]) if a in s["arms"] else "-"
                                                               for a in arms)
                    + f" | {', '.join(f'{d} x{n}' for d, n in (s.get('snr_drop_db') or {}).items())} | "
                    f"{_gain(_paired(physics)) if physics else '-'} | "
                    f"{_gain(g['pretrained over classical']) if 'pretrained over classical' in g else '-'} | "
                    f"{(_gain(_paired(before)) + ' (' + ARM_TITLES[best] + ')') if before else '-'} | "
                    f"{(_gain(syn) + ' (over ' + ARM_TITLES[best] + ')') if syn and best else '-'} |")
        sub = s.get("by_condition") or {}
        if sub:
            names = [k for k in CONDITION_ROWS if k in s["subsets"]] + sorted(
                (k for k in s["subsets"] if k not in CONDITION_ROWS), key=_subset_order)
            present = [a for a in arms if a in sub]
            by_condition.append(f"\n{_budget_label(b, s)}:\n\n| test recordings | how many (mean) | "
                                + " | ".join(ARM_TITLES[a] for a in present) + " |\n|" + "---|" * (len(present) + 2))
            by_condition += [f"| {k} | {s['subsets'][k]:.0f} | "
                             + " | ".join(_interval(sub[a][k]).split(" (n=")[0] for a in present) + " |"
                             for k in names]
    doses = _dose_table(rep["records"])
    hours = r["wall_s"] / 3600
    return "\n".join([f"> {rep['verdict']}", "", head, *rows, "", *doses,
                      "Accuracy on the real test split, mean over repeats with its 95% interval (Student t over the "
                      "repeats, shown within 0-100%); gains paired per repeat. *Lower SNR over none*: the real + "
                      "classical recogniser at the dose chosen on validation "
                      "against the same recipe without the lower SNR (the classical augmentation of before, dose 0). "
                      "*The better non-generative*: of real + classical and the pretrained recogniser's, the better on "
                      "validation.",
                      "", "**By condition** (a test recording is in an unseen condition when no training recording of "
                      "its person is within the condition's tolerance; *below* / *above*: beyond every one):",
                      *by_condition, "", f"{_source(r)} The whole study took {hours:.1f} hours."])


def render_conditions_control(r: dict[str, Any]) -> str:
    """benchmarks/conditions_control.py: per condition the estimators read, the median error of samples asked for
    it against chance and the estimator's floor, and what was read back at each value asked; identity at conditions
    a person lacks; the walking model's speed-cadence relation."""
    res = r["result"]
    rows = ["| condition | asked (10-90% of training) | read back (median per value) | median error | asked for "
            "nothing (chance) | the estimator on recordings |", "|---|---|---|---|---|---|"]
    for name, c in res.get("controllability", {}).items():
        asked = ", ".join(f"{v:.3g}" for v in c["asked"])
        read = ", ".join("-" if v is None else f"{v:.3g}" for v in c["read_back_per_value"])
        floor = c["estimator_median_abs_error"]
        rows.append(f"| {name} | {asked} | {read} | {c['median_abs_error']:.3g} {c['unit']} | "
                    f"{c['chance_median_abs_error']:.3g} | {'-' if floor is None else f'{floor:.3g}'} |")
    lines = [f"{r['note']} ({r['train_samples']} training recordings, {r['steps']} steps):", "", *rows, ""]
    ident = res.get("identity")
    if ident:
        lines.append(f"Identity: samples at a person's own conditions recognised as that person "
                     f"{_pct(ident['own']['recognised'])} (n={ident['own']['samples']}), at conditions of other "
                     f"people's recordings that the person's lack {_pct(ident['unseen']['recognised'])} "
                     f"(n={ident['unseen']['samples']}): ratio {ident['ratio']:.2f}.")
    ph = res.get("physics")
    if ph:
        lines.append(f"Walking model: asked for {ph['speeds'][0]:.2f} and {ph['speeds'][1]:.2f} m/s (aspect 0), the "
                     f"gait cycles read back are in the ratio {ph['cycle_ratio_read']:.3f} (Boulic-Thalmann: "
                     f"{ph['cycle_ratio_expected']:.3f}); torso speed read back "
                     + (", ".join(f"{v:.2f}" for v in ph["torso_speed_read"]) if ph.get("torso_speed_read") else "-")
                     + " m/s.")
    return "\n".join([*lines, "", f"{_source(r)} It took {r['wall_s'] / 60:.1f} minutes."])


def render_condition_identity(r: dict[str, Any]) -> str:
    """benchmarks/condition_identity.py: per stage-2 variant, identity of samples asked for nothing, at a person's own
    conditions and at conditions they lack, and what the conditions read back."""
    rows = ["| variant (ldm.*) | conditions taken | recognised as their person: asked for nothing | at their own "
            "conditions | at conditions they lack (ratio) | radial speed read back: error (chance) | SNR: error "
            "(chance) | gait cycle ratio at a faster walk (model) |", "|---|---|---|---|---|---|---|---|"]
    for name, v in r["variants"].items():
        ident = v.get("identity") or {}
        ctl = v.get("controllability") or {}
        ph = v.get("physics") or {}

        def ctl_cell(k: str, ctl: dict[str, Any] = ctl) -> str:
            c = ctl.get(k)
            return "-" if not c else f"{c['median_abs_error']:.2f} ({c['chance_median_abs_error']:.2f}) {c['unit']}"

        over = " ".join(o.replace("ldm.", "") for o in v["overrides"]) or "(defaults)"
        taken = ", ".join(c.split(" ")[0] for c in v["conditions"]) or "none"
        own = ident.get("own", {}).get("recognised")
        lack = ident.get("unseen", {}).get("recognised")
        rows.append(f"| {name}: `{over}` | {taken} | {_pct(v['identity_nothing_asked'])} | "
                    f"{_pct(own) if own is not None else '-'} | "
                    + (f"{_pct(lack)} ({ident['ratio']:.2f})" if lack is not None and ident.get("ratio") is not None
                       else "-")
                    + f" | {ctl_cell('radial_speed_mps')} | {ctl_cell('snr_db')} | "
                    + (f"{ph['cycle_ratio_read']:.2f} ({ph['cycle_ratio_expected']:.2f})" if ph else "-") + " |")
    return "\n".join([*rows, "", "Recognised: by the demo's evaluation recogniser (54% on real held-out sessions), 10 "
                       "samples per person asked for nothing, 4 per person at the conditions of one of their own "
                       "training recordings and 4 at those of another person's that theirs lack (the gait cycle "
                       "left to the model). Read back: 8 samples per value asked, 5 values, median absolute error, "
                       "beside the same persons and noise asked for nothing. Gait cycle: asked for the 10% and 90% "
                       "quantile speeds at aspect 0, the ratio of the cycles read back against the walking model's.",
                       "", f"{_source(r)} It took {r['wall_s'] / 60:.0f} minutes (training the stage 2 of each variant "
                       "not already trained in --out, and measuring them all)."])


def render_pretrained_recognizer(r: dict[str, Any]) -> str:
    """The shipped recogniser's pretraining record: fine-tuned from it against from scratch, per target."""
    head = ("| dataset | real budget | training | test | fine-tuned from it | from scratch | gain |\n"
            "|---|---|---|---|---|---|---|")
    rows = [f"| {t} | {m['what']} | {m['train']} | {m['test']} | {_pct(m['pretrained'])} | {_pct(m['scratch'])} | "
            f"{_points(m['pretrained'] - m['scratch'])} |" for t, m in r["measured"].items()]
    c = r["corpus"]
    about = (f"`{r['name']}`: {r['steps']} steps of {r['batch_size']} on {c['trained_on']} simulated spectrograms of "
             f"{c['people']} walkers (seeds {c['seeds'][0]}-{c['seeds'][1]}, {r['classes']} classes), "
             f"{r['training_wall_s'] / 60:.0f} minutes; {_pct(r['corpus_val_accuracy'])} of the corpus walkers' "
             "validation sessions.")
    return "\n".join([about, "", head, *rows, "", "One fine-tuning each (one seed), with the utility study's real + "
                      f"classical recipe. Made by `{r['command']}` on {r['date']} ({r['machine']})."])


def _dose_table(records: list[dict[str, Any]]) -> list[str]:
    """What each lower-SNR dose does: the real + classical recogniser on the test recordings whose SNR lies below
    every training recording of their person, and on the others, per budget (mean over repeats)."""
    rows = []
    for b in sorted({x["budget"] for x in records}, key=_study_order):
        recs = [x for x in records if x["budget"] == b and x.get("classical_by_condition")]
        if not recs or any("snr_db below" not in x["subsets"] for x in recs):
            continue
        for d in recs[0]["classical_by_condition"]:
            low, rest, allv = [], [], []
            for x in recs:
                c, n = x["classical_by_condition"][d], x["subsets"]
                low.append(c["snr_db below"])
                allv.append(c["all"])
                below = n["snr_db below"]
                rest.append((c["all"] * n["all"] - c["snr_db below"] * below) / (n["all"] - below))
            many = sum(x["subsets"]["snr_db below"] for x in recs) / len(recs)
            rows.append(f"| {b} | {d} | {_pct(sum(allv) / len(allv))} | {_pct(sum(low) / len(low))} | "
                        f"{_pct(sum(rest) / len(rest))} | {many:.0f} |")
    if not rows:
        return []
    return ["**The lower SNR, dose by dose** (real + classical; mean over repeats):", "",
            "| budget | dose (dB) | all test recordings | SNR below every training recording of the person | "
            "the others | how many below |\n|---|---|---|---|---|---|", *rows, ""]


def _subset_order(k: str) -> tuple[str, int]:
    """'unseen X', 'X below', 'X above' of one condition X together, in that order."""
    if k.startswith("unseen "):
        return k[len("unseen "):], 0
    name, _, side = k.rpartition(" ")
    return name, 1 if side == "below" else 2


def render_estimators(r: dict[str, Any]) -> str:
    """benchmarks/conditions.py: each estimator's error against the simulator's truth, per radar and display."""
    head = ("| data | display | path | MTI | recordings | radial speed: median error (90th pct) | bias | direction "
            "right | gait cycle: median error (90th pct) | SNR: median error (90th pct) | SNR only bounded | bounds "
            "hold |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for x in r["rows"]:
        if x.get("path") == "treadmill":
            speed = f"{x['speed_abs_median_mps']:.2f} m/s ({x['speed_abs_p90_mps']:.2f} m/s) | - | -"
        else:
            speed = f"{_pct(x['speed_median'])} ({_pct(x['speed_p90'])}) | {100 * x['speed_bias']:+.1f}% | " \
                    f"{_pct(x['direction'])}"
        rows.append(f"| {x['data']} | {x['display']} | {x.get('path', 'ground')} | {'yes' if x.get('mti') else 'no'} | "
                    f"{x['recordings']} | {speed} | {_pct(x['cycle_median'])} ({_pct(x['cycle_p90'])}) | "
                    f"{_num(x['snr_median_db'], 1)} dB ({_num(x['snr_p90_db'], 1)} dB) | {_pct(x['snr_bounded'], 0)} | "
                    f"{_pct(x['bounds_hold'], 0)} |")
    return "\n".join([head, *rows, "", _source(r)])


def render_calibration(r: dict[str, Any]) -> str:
    """benchmarks/sessions_calibration.py: the real + classical recogniser per budget, per variant tried."""
    head = "| variant | settings | 2 sessions | 20 recordings, all sessions | all |\n|---|---|---|---|---|"
    rows = []
    for v in r["variants"]:
        acc = {x["budget"]: x["test_accuracy"] for x in v["rows"]}
        settings = ", ".join(f"{k.split('.')[-1]}={val}" for k, val in v["overrides"].items())
        rows.append(f"| {v['name']} | {settings} | {_pct(acc.get('2s'))} | {_pct(acc.get('20'))} | "
                    f"{_pct(acc.get('all'))} |")
    return "\n".join([head, *rows, "", f"One repeat each; test split of gait-sessions (930 recordings, 31 people). "
                      f"Measured with {r['command']} on {r['date']} ({r['machine']}). {r.get('note', '')}".rstrip()])


def render_precision_recall(r: dict[str, Any]) -> str:
    spaces = list(dict.fromkeys(x["space"] for x in r["rows"]))
    chosen = {x["space"]: x["calibrated_k"] for x in r["rows"]}
    head = ("| set | " + " | ".join(f"{s}: k=3 | {s}: k={chosen[s]} (calibrated)" for s in spaces) + " |\n|---|"
            + "---|---|" * len(spaces))
    cell = lambda pr: f"{pr['precision']:.2f} / {pr['recall']:.2f}"  # noqa: E731
    sets = list(dict.fromkeys(x["set"] for x in r["rows"]))
    by = {(x["space"], x["set"]): x["by_k"] for x in r["rows"]}
    rows = [f"| {name} | " + " | ".join(f"{cell(by[s, name]['3'])} | {cell(by[s, name][str(chosen[s])])}"
                                       for s in spaces) + " |" for name in sets]
    return "\n".join([head, *rows, "", f"Precision / recall against the {r['test_samples']} real test spectrograms, "
                      f"{r['per_set']} spectrograms per set. " + _source(r)])


def render_diagnostics_rank(r: dict[str, Any]) -> str:
    """benchmarks/diagnostics_rank.py: each stage-1 model's diagnose figures beside what its latent diffusion
    generated, then each figure's Spearman rank correlation with generated identity and FID over the models."""
    figures = list(r["spearman"]) if r["spearman"] else list(r["models"][0]["figures"])
    shown = [f for f in figures if not f.startswith("reconstruction ")]
    now = all("flagged_now" in m for m in r["models"])
    head = ("| model | " + " | ".join(shown) + " | code perplexity | flagged by diagnose"
            + (" (today's verdicts)" if now else "") + " | test PSNR | reconstructions identified | "
            "generated identified | FID (floor) |\n|---|" + "---|" * (len(shown) + 6))
    rows = [f"| {m['name']} | " + " | ".join(_num(m["figures"].get(f)) for f in shown)
            + f" | {_num(m.get('code_perplexity'), 1) if m.get('code_perplexity') is not None else '-'}"
            + f" | {', '.join(m['flagged_now'] if now else m['flagged']) or 'none'} | {m['psnr_db']:.1f} dB | "
            f"{_pct(m['reconstruction_identity'])} | "
            f"{_pct(m['generated_identity'])} | {m['fid']:.1f} ({m['fid_floor']:.1f}) |" for m in r["models"]]
    rho = ["| figure | rho with generated identity | rho with FID | models |", "|---|---|---|---|",
           *[f"| {f} | {v['identity']:+.2f} | {v['fid']:+.2f} | {v.get('n', len(r['models']))} |"
             for f, v in r["spearman"].items()]]
    groups = r.get("spearman_within") or {}
    if groups:
        names = list(groups)
        rho[0] = rho[0][:-len(" models |")] + "".join(f" rho with identity: {g} ({len(groups[g]['models'])}) |"
                                                      for g in names) + " models |"
        rho[1] = "|---|---|---|" + "---|" * len(names) + "---|"
        rho[2:] = [f"| {f} | {v['identity']:+.2f} | {v['fid']:+.2f} | "
                   + "".join(f"{groups[g]['spearman'][f]['identity']:+.2f} | " if f in groups[g]["spearman"]
                             else "- | " for g in names) + f"{v.get('n', len(r['models']))} |"
                   for f, v in r["spearman"].items()]
    kept = "".join(f" Rows kept from an earlier call: `{e['command']}` on {e['date']} ({e['machine']})."
                   for e in r.get("earlier", []))
    return "\n".join([head, *rows, "", *rho, "",
                      f"{len(r['models'])} stage-1 models, {r['preset']} preset, each with a latent diffusion of the "
                      "same recipe, judged by one evaluation recogniser. Spearman's rho over the models (identity: "
                      "higher is better, so a figure that predicts it well has rho near +1 if higher is healthier; "
                      "FID: lower is better, so near -1). " + _source(r) + kept])


def _latent(folder: Path) -> str:
    cfg = json.loads((folder / "config.json").read_text())
    down = 2 ** (len(cfg["block_out_channels"]) - 1)
    shape = json.loads((folder / "pretraining.json").read_text())["input_shape"]
    return f"{shape[1]}x{shape[2]}, latent {cfg['latent_channels']}x{shape[1] // down}x{shape[2] // down}"


def _what(folder: Path, record: dict[str, Any]) -> str:
    if "family" in record:
        return f"`{record['family']}` autoencoder, {_latent(folder)}"
    if record.get("kind") == "ldm":
        conditions = record.get("conditions") or []
        return (f"class-conditional latent diffusion on the latents of `{record['autoencoder']['name']}`"
                + (f", and {len(conditions)} recording conditions" if conditions else ""))
    if record.get("kind") == "prior":
        return f"class-conditional code prior (MaskGIT) on the codes of `{record['autoencoder']['name']}`"
    return (f"the recogniser (`recognizer.init=pretrained`), trained to tell {record['classes']} corpus walkers "
            "apart")


def render_shipped() -> str:
    """Every model shipped in src/mdaug/pretrained/: what it is, its weights' size and the command that made it."""
    folders = sorted(p for p in SHIPPED.iterdir() if (p / "pretraining.json").is_file())
    rows, total = [], 0
    for folder in folders:
        record = json.loads((folder / "pretraining.json").read_text())
        weights = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
        total += weights
        rows.append(f"| `src/mdaug/pretrained/{folder.name}` | {_what(folder, record)} | {weights / 1e6:.1f} MB "
                    f"{record.get('weights_dtype', 'float32')} | `{record['command']}` |")
    return "\n".join(["| shipped model | what | weights | reproduce |", "|---|---|---|---|", *rows, "",
                      f"{len(folders)} models, {total / 1e6:.1f} MB of weights in all (the package keeps them "
                      f"under {SHIPPED_LIMIT_MB} MB)."])


def render_gan_discriminator(r: dict[str, Any]) -> str:
    """benchmarks/gan_discriminator.py: the discriminator alone against vq-64x64's corpus reconstructions."""
    rows = [f"| {s['setting']} | {s['pair_accuracy'] * 100:.1f}% | {s['logit_gap']:.4f} (sd {s['logit_gap_std']:.4f}) |"
            for s in r["settings"]]
    return "\n".join([
        "| what the discriminator sees | held-out pairs where the real one scores higher | mean logit gap, real - "
        "reconstruction |", "|---|---|---|", *rows, "",
        f"{r['steps']} steps of {r['batch_size']} real + {r['batch_size']} reconstructed spectrograms at lr "
        f"{r['lr']:g} ({r['train_pairs']} training pairs), scored on {r['test_pairs']} held-out pairs; one training "
        "per setting. "
        "A gap near 0 with about half the pairs right: the discriminator has learned nothing, and its loss only "
        "adds noise to the generator's. " + _source(r)])


GAN_CONTROL = RESULTS / "vq-64x64-continued.json"
"""The control of the GAN's effect: vq-64x64 continued as vqgan-64x64 was, without the adversarial term (its
pretraining.json, copied from the run's shipped/ folder)."""


def render_gan_effect() -> str:
    """What the adversarial term changes (issue 29, item 2): vq-64x64 (the common start), vq-64x64 continued on the
    corpus without the adversarial term (the control) and with it (vqgan-64x64, shipped), on the same budget and
    settings, each measured zero-shot on the test splits of its card."""
    records = {"vq-64x64 (the start)": json.loads((SHIPPED / "vq-64x64" / "pretraining.json").read_text()),
               "continued, no GAN (control)": json.loads(GAN_CONTROL.read_text()),
               "continued with the GAN (vqgan-64x64)": json.loads((SHIPPED / "vqgan-64x64" /
                                                                  "pretraining.json").read_text())}
    rows = []
    for target in ("gait", "held_out"):
        real = records["continued, no GAN (control)"]["measured"][target]
        floor = real["noise_floor"]["real"]
        rows.append(f"| {target}: real test spectrograms | | | {real['identity']['real'] * 100:.1f}% | | | "
                    f"{floor['spread_db']:.2f} | {floor['correlation_time']:.2f} / "
                    f"{floor['correlation_doppler']:.2f} |")
        for label, r in records.items():
            m = r["measured"][target]
            floor, ident = m["noise_floor"]["reconstructed"], m["identity"]
            rows.append(f"| {target}: {label} | {m['psnr_db']:.2f} | {m['ssim']:.3f} | "
                        f"{ident['reconstructions'] * 100:.1f}% ({ident['ratio']:.2f}x real) | "
                        f"{_num(m.get('fid_reconstructions'), 1)} | {m['latent']['codebook_usage_pct']:.0f}% | "
                        f"{floor['spread_db']:.2f} | {floor['correlation_time']:.2f} / "
                        f"{floor['correlation_doppler']:.2f} |")
    control, gan = records["continued, no GAN (control)"], records["continued with the GAN (vqgan-64x64)"]
    return "\n".join([
        "| reconstructions of | PSNR (dB) | SSIM | identified | FID to the test split | codes used | floor spread (dB) "
        "| floor correlation, time / Doppler |", "|---|---|---|---|---|---|---|---|", *rows, "",
        f"Both continuations: {gan['steps']} steps of {gan['batch_size']} from vq-64x64's weights on its corpus, the "
        "same settings but for the discriminator. The floor figures are mdaug.data.texture's (the floor: the bins "
        "below the 40% quantile of each spectrogram; its spread in dB, and the correlation of neighbouring floor bins "
        "along time and Doppler: a smoothed floor has a smaller spread and a larger correlation). FID: the "
        "reconstructions against the spectrograms they reconstruct, in the evaluation recogniser's features; the real "
        "rate is the continuations' recogniser's (the start's card was measured with its own, hence its ratio). One "
        f"training each. Control: `{control['command']}`, {control['date']} ({control['machine']}; "
        f"benchmarks/results/{GAN_CONTROL.name}); vqgan: `{gan['command']}`, {gan['date']} ({gan['machine']}; "
        "src/mdaug/pretrained/vqgan-64x64/pretraining.json)."])


DEMO_FAMILIES = ("kl", "vq", "vqgan", "rq", "fsq")


def _of_real(v: float | None, real: float) -> str:
    return "-" if v is None else f"{v * 100:.1f}% ({v / real:.2f}x)"


def _fid(m: dict[str, Any], kind: str) -> str:
    return "-" if m.get(f"{kind}_fid") is None else f"{m[f'{kind}_fid']:.1f} ({m[f'{kind}_fid_floor']:.1f})"


def _without_prior(r: dict[str, Any]) -> str:
    """Minutes from a fresh clone less the code prior's steps (training and evaluation), from the run's step times."""
    steps = r.get("step_seconds")
    if steps is None:
        return "-"
    return f"{(r['wall_s']['fresh_clone_with_setup'] - steps.get('prior', 0) - steps.get('prior_eval', 0)) / 60:.1f}"


def render_demo_families() -> str:
    """The demo of each family from a fresh clone (benchmarks/demo_fresh_clone.py [--family F --prior]: the quick
    preset from that family's shipped weights): identity of reconstructions and of each stage 2's samples as a share
    of the real rate (the issue-29 targets: 0.9, 0.8, and 0.6 for the code prior), and the time it took."""
    files = {f: RESULTS / ("demo-quick.json" if f == "kl" else f"demo-quick-{f}.json") for f in DEMO_FAMILIES}
    rows, notes = [], []
    for family, path in files.items():
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        notes += [f"`{family}`: {r['note']}."] if r.get("note") else []
        m = r["metrics"]["summary"]
        cells = [_of_real(m.get(k), m["real_identity"]) for k in ("reconstruction_identity", "ldm_identity")]
        rows.append(f"| `{family}` | {m['psnr_db']:.2f} | {m['real_identity'] * 100:.1f}% | {cells[0]} | {cells[1]} | "
                    f"{_fid(m, 'ldm')} | {_of_real(m.get('prior_identity'), m['real_identity'])} | "
                    f"{_fid(m, 'prior')} | {r['wall_s']['fresh_clone_with_setup'] / 60:.1f} | "
                    f"{_without_prior(r)} | `{r['command'].split('  # ')[0]}`, {r['date']} |")
        notes += [f"`{family}`: step times {r['step_seconds_source']}."] if r.get("step_seconds_source") else []
    return "\n".join([
        "| family | PSNR (dB) | real identified | reconstructions identified | latent diffusion identified | "
        "FID (floor) | code prior identified | FID (floor) | minutes from a fresh clone | the same without the code "
        "prior | command, date |",
        "|---|---|---|---|---|---|---|---|---|---|---|", *rows, "",
        "The quick preset (`mdaug run --config quick ae.family=F`, with `--prior` for the families with codes), each "
        "family fine-tuned from its shipped weights, on a fresh clone with `make setup` included "
        "(benchmarks/demo_fresh_clone.py; 2 CPU cores, nothing else running unless its results file says so). "
        "Identified: by the run's evaluation recogniser, beside the share of the real test split it identifies. "
        "Without the code prior: less the seconds its training and evaluation took (the run's timings.json), which is "
        "what `mdaug run --config quick ae.family=F` alone takes (the 15-minute target); - where the run has no step "
        "times.",
        *notes])


def _judged(j: dict[str, Any] | None, real: float) -> str:
    """Identity with its interval and its ratio to the real rate."""
    if j is None:
        return "- | -"
    return (f"{100 * j['identity']:.1f}% [{100 * j['low']:.1f}, {100 * j['high']:.1f}] ({j['identity'] / real:.2f}x)"
            f" | {j['fid']:.1f}")


def render_zero_shot_families(r: dict[str, Any]) -> str:
    """benchmarks/zero_shot_families.py: every shipped stage 1 and its shipped second stages on their own corpus,
    before any fine-tuning, judged by the shipped recogniser."""
    real = r["real"]["identity"]
    rows = [f"| `{f}` | {_judged(x['reconstructions'], real)} | {_judged(x.get('ldm'), real)} | "
            f"{_judged(x.get('prior'), real)} |" for f, x in r["families"].items()]
    return "\n".join([
        "| family | reconstructions identified | FID | latent diffusion identified | FID | code prior identified | "
        "FID |", "|---|---|---|---|---|---|---|", *rows, "",
        f"Judge: the shipped `{r['recognizer']}`, naming one of the {r['judge_classes']} walkers it knows; "
        f"real corpus test recordings new to it ({r['test']}; {r['left_out_seen']} it trained on left out): "
        f"{100 * real:.1f}% [{100 * r['real']['low']:.1f}, {100 * r['real']['high']:.1f}]. Each second stage: "
        f"{r['per_class']} samples for each of the {r['walkers']} corpus walkers, at its shipped sampling settings "
        "(the noise floor's texture on); reconstructions are the decoder's output, without it. Intervals: 95%, "
        "bootstrap over walkers. FID: to the real test recordings in the recogniser's features (floor, as many real "
        f"training recordings: {r['fid_floor']:.1f}). " + _source(r)])


def _generated(row: dict[str, Any], kind: str, real: float) -> list[str]:
    """A second stage's cells: identity [interval] (ratio to real), FID (floor / ceiling), precision / recall."""
    g = (row["metrics"].get("generation") or {}).get(kind)
    if not g:
        return ["-", "-", "-"]
    lo, hi = row["identity_interval"][kind]
    ident = g["identity"]["accuracy"]
    ceiling = g["stage1_ceiling"]["fid"] if g.get("stage1_ceiling") else None
    return [f"{100 * ident:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] ({ident / real:.2f}x)",
            f"{g['fid']:.1f} ({g['floor']['fid']:.1f} / {_num(ceiling, 1)})",
            f"{g['precision']:.2f} / {g['recall']:.2f}"]


def _utility_gain(m: dict[str, Any]) -> str:
    """Per budget: + synthetic over the better non-generative arm, mean [95% interval] over repeats."""
    u = m.get("utility")
    if not u:
        return "-"
    cells = []
    for b in sorted(u["summary"], key=_budget_order):
        gain = u["summary"][b]["gains"].get("synthetic over best non-generative")
        cells.append(f"{b}: {_gain(gain)}" if gain else f"{b}: -")
    return "; ".join(cells)


def render_families(r: dict[str, Any]) -> str:
    """benchmarks/families.py: `mdaug benchmark` one family at a time, from each family's shipped weights, judged by
    one evaluation recogniser: reconstruction, both second stages, memorisation, utility and the latent verdicts."""
    rows, real = [], None
    for family, row in r["families"].items():
        m = row["metrics"]
        rec, s = m["reconstruction"], m["summary"]
        real = rec["identity"]["real"]
        copies = [f"{100 * g['memorisation_pixels']['all']['share_below']:.0f}%"
                  for g in (m.get("generation") or {}).values() if g]
        start = row.get("started_from") or {}
        rows.append(" | ".join([
            f"| `{family}`", ", ".join(start.get(k, "-") for k in ("ae", "ldm", "prior") if k in start) or "-",
            f"{rec['psnr_db']:.2f} / {rec['ssim']:.3f}",
            f"{100 * rec['identity']['reconstructions']:.1f}% ({rec['identity']['ratio']:.2f}x)",
            *_generated(row, "ldm", real), *_generated(row, "prior", real)[:2], " / ".join(copies) or "-",
            _utility_gain(m), s.get("latent_problems") or "-", f"{row['minutes']:.0f} |"]))
    head = ("| family | started from (stage 1, stage 2s) | PSNR / SSIM | reconstructions identified "
            "| latent diffusion identified | FID (floor / ceiling) | precision / recall | code prior identified "
            "| FID (floor / ceiling) | near-copies | + synthetic over the better non-generative arm, per budget "
            "| flagged by diagnose | minutes |\n" + "|---" * 13 + "|")
    calls = "; ".join(f"`{x['command']}` ({x['date']}, {x['machine']}{', ' + x['note'] if x.get('note') else ''})"
                      for x in r["families"].values())
    overrides = " with " + " ".join(r["overrides"]) if r.get("overrides") else ""
    return "\n".join([head, *rows, "", (
        f"The {r['preset']} preset{overrides}, one `mdaug benchmark --families F` per family (each model fine-tuned "
        f"from the shipped one named, or from scratch), judged by one evaluation recogniser that names "
        f"{100 * real:.1f}% of the real test split. Identified: generated samples named as the person they were "
        "drawn for, [95% bootstrap interval over people] (ratio to the real rate). FID in the recogniser's features "
        "against the real test split; floor: as many real training spectrograms, ceiling: stage-1 reconstructions. "
        "Near-copies: samples whose nearest training spectrogram (pixels) is far nearer than the second nearest "
        "(latent diffusion / code prior). Utility: paired over the study's repeats. Measured with " + calls + ".")])


def render_prior_sampling(r: dict[str, Any]) -> str:
    """benchmarks/prior_sampling.py: each shipped code prior zero-shot on its corpus at each sampling setting."""
    real = r["real"]["identity"]
    rows = []
    for x in r["rows"]:
        d = x["default"]
        mark = " (shipped default)" if (x["steps"], x["guidance"], x["temperature"]) == (
            d["steps"], d["guidance_scale"], d["temperature"]) else ""
        rows.append(f"| `{x['model']}` | {x['steps']} | {x['guidance']:g} | {x['temperature']:g}{mark} | "
                    f"{100 * x['identity']:.1f}% [{100 * x['low']:.1f}, {100 * x['high']:.1f}] "
                    f"({x['identity'] / real:.2f}x) | {x['fid']:.1f} | {x['seconds']:.0f} |")
    return "\n".join([
        "| code prior | steps | guidance | temperature | identified | FID | seconds |", "|---|---|---|---|---|---|---|",
        *rows, "", f"{r['per_class']} sample(s) for each of the {r['walkers']} corpus walkers per setting (the same "
        f"seed), judged by the shipped `{r['recognizer']}` as in the zero-shot family table (real corpus test "
        f"recordings new to it: {100 * real:.1f}%; FID floor {r['fid_floor']:.1f}). Intervals: 95%, bootstrap over "
        "walkers. " + _source(r)])


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {"compression": render_compression,
                                                         "pretrained-kl-64x64": render_pretrained,
                                                         "demo-quick": render_demo, "demo-quick-seed1": render_demo,
                                                         "demo-quick-seed2": render_demo}
for _name, _render in (("utility-standard", render_utility), ("utility-quick", render_utility),
                       ("utility-k10", render_utility), ("utility-k10-mirror", render_utility),
                       ("utility-k5-mirror", render_utility), ("utility-quick-all", render_utility),
                       ("utility-all-mirror", render_utility),
                       ("strategies-k10", render_strategies),
                       ("strategies-standard", render_strategies), ("direction-k10", render_direction),
                       ("texture-quick-k10", render_texture), ("texture-quick-all", render_texture),
                       ("texture-k10-mirror", render_texture), ("conditions-k10", render_conditions_study),
                       ("sessions-curve", render_conditions_study), ("sessions-all", render_conditions_study),
                       ("conditions-estimators", render_estimators),
                       ("condition-identity-quick", render_condition_identity),
                       ("condition-identity-corpus", render_condition_identity),
                       ("conditions-gait-sessions-2s", render_conditions_control), ("fill-2s", render_conditions_study),
                       ("fill-2s-quick", render_conditions_study),
                       ("fill-2s-quick-readback", render_conditions_study),
                       ("sessions-calibration", render_calibration),
                       ("pretrained-recognizer-64x64", render_pretrained_recognizer),
                       ("precision-recall", render_precision_recall),
                       ("diagnostics-rank", render_diagnostics_rank),
                       ("gan-discriminator", render_gan_discriminator),
                       ("zero-shot-families", render_zero_shot_families),
                       ("prior-sampling", render_prior_sampling),
                       ("families-standard", render_families), ("families-quick", render_families)):
    RENDERERS[_name] = _render
COMBINED: dict[str, tuple[str, ...]] = {"utility-budgets": ("utility-k5-mirror", "utility-k10-mirror",
                                                             "utility-all-mirror"),
                                         "demo-spread": ("demo-quick", "demo-quick-seed1", "demo-quick-seed2")}
"""Tables rendered from several results files (render_budgets)."""
SOURCES: dict[str, Path] = {"pretrained-kl-64x64": ROOT / "src" / "mdaug" / "pretrained" / "kl-64x64" /
                            "pretraining.json",
                            "pretrained-recognizer-64x64": ROOT / "src" / "mdaug" / "pretrained" /
                            "recognizer-64x64" / "pretraining.json"}


FOLDERS: dict[str, Callable[[], str]] = {"shipped-models": render_shipped, "gan-effect": render_gan_effect,
                                         "demo-families": render_demo_families}
"""Tables rendered from folders of the repository rather than from one results file."""


def rendered(name: str) -> str:
    if name in FOLDERS:
        return FOLDERS[name]() + "\n"
    if name in COMBINED:
        render = render_demo_spread if name == "demo-spread" else render_budgets
        return render({n: json.loads(_path(n).read_text()) for n in COMBINED[name]}).rstrip("\n") + "\n"
    path = _path(name)
    try:
        return RENDERERS[name](json.loads(path.read_text())).rstrip("\n") + "\n"
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f"error: {path} cannot be rendered as the table {name!r}: {type(e).__name__}: {e}")


def _path(name: str) -> Path:
    path = SOURCES.get(name, RESULTS / f"{name}.json")
    if not path.exists():
        sys.exit(f"error: a document quotes the results table {name!r} but {path} does not exist")
    return path


def blocks(text: str) -> list[tuple[str, str]]:
    """(name, current content) of every results block in a document."""
    return [(m.group(2), m.group(3)) for m in BLOCK.finditer(text)]


def stale() -> list[str]:
    return [f"{doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc}: {name}" for doc in DOCS
            for name, body in blocks(doc.read_text()) if body != rendered(name)]


def update() -> None:
    for doc in DOCS:
        text = doc.read_text()
        doc.write_text(BLOCK.sub(lambda m: m.group(1) + rendered(m.group(2)) + m.group(4), text))


if __name__ == "__main__":
    if "--check" in sys.argv:
        found = stale()
        print("\n".join(found) or "every results table is current")
        sys.exit(1 if found else 0)
    update()
    print("results tables updated")
