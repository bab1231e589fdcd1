"""The report page as a new user reads it: a header line (preset and what it means, version, date, run time), a
verdict box with the utility numbers, generation verdicts, figures on physical axes with captions that say what
they show, tables with plain names and units, the identity confusion and loss curves, a class selector, and the
config collapsed. Fixtures come from the record types the evaluations write (tests.evaluation.test_report)."""

import html
import json
import os
import re

import numpy as np
import pytest

from mdaug import __version__
from mdaug.config import config_to_yaml, load_config
from mdaug.data import save_prepared, save_split
from mdaug.data.info import DataInfo
from mdaug.data.splits import Split
from mdaug.evaluation.figures import (
    SpectrogramAxes,
    figure_axes_note,
    reconstruction_figure,
    reconstruction_grid,
    sample_row_figure,
    spectrogram_axes,
)
from mdaug.evaluation.record_parts import PhysicalStat
from mdaug.evaluation.report import write_report
from mdaug.evaluation.report_context import infer_preset, preset_meaning
from mdaug.evaluation.report_figures import class_pngs, confusion_figure, loss_figure
from mdaug.evaluation.report_verdicts import Units, generation_verdicts, physical_rows
from mdaug.runs.loss_log import loss_curves as read_losses
from tests.evaluation.test_report import generation, make_pipeline

PHYSICAL = SpectrogramAxes(doppler_hz=(-1000.0, 1000.0), time_s=(0.0, 3.2), dynamic_range_db=40.0)


def _page(root) -> str:
    page, _ = write_report(root)
    return page.read_text()


def _pipeline_with_config(root, overrides=("ae_train.steps=7",)):
    make_pipeline(root)
    (root / "config.yaml").write_text(config_to_yaml(load_config("quick", list(overrides))))
    (root / "pipeline.json").write_text("{}")
    t0 = 1_800_000_000
    for path in [root / "pipeline.json"] + list(root.rglob("*.json")):
        os.utime(path, (t0, t0))
    os.utime(root / "utility" / "utility.json", (t0 + 1800, t0 + 1800))  # the last result: 30 minutes later
    return root


# --- header, verdict box, config ----------------------------------------------------------------------------------

def test_header_names_preset_meaning_version_date_and_run_time(tmp_path):
    text = _page(_pipeline_with_config(tmp_path / "p"))
    header = re.search(r"<p class='header'>(.*?)</p>", text).group(1)
    assert "preset <b>quick</b>: 64x64 demo schedule for CPUs" in header
    assert "1 key(s) differ from it: ae_train.steps=7" in header  # the inference says what it did not match
    assert f"mdaug {__version__}" in header and "run time 30 min" in header
    assert re.search(r"finished 20\d\d-\d\d-\d\d \d\d:\d\d", header)
    assert text.index("<p class='header'>") < text.index("<h2")


def test_preset_is_read_back_from_a_resolved_config():
    assert infer_preset(config_to_yaml(load_config("standard"))) == ("standard", {})
    name, changed = infer_preset(config_to_yaml(load_config("quick", ["ae_train.steps=7"])))
    assert name == "quick" and changed == {"ae_train.steps": "7"}
    assert preset_meaning("vqgan").startswith("VQ-GAN on the quick preset")  # from the preset's own comment
    assert preset_meaning("full").startswith("256x256")


def test_verdict_box_opens_the_page_with_numbers_interval_and_repeats(tmp_path):
    text = _page(_pipeline_with_config(tmp_path / "p"))
    box = re.search(r"<div class='verdict-box'>(.*?)</div>", text).group(1)
    assert text.index("<div class='verdict-box'>") < text.index("<h2")
    assert "Does the synthetic data help?" in box and "raised held-out accuracy" in box
    # the paired gain with its 95% interval and the number of repeats, then the accuracy of every arm
    # (the line names the repeats once, not after every number)
    # against the better non-generative arm: the pretrained recogniser's here (56% against 55%)
    assert re.search(r"At 10 per class \(3 repeats\): synthetic over real \+ classical, pretrained recogniser "
                     r"<b>\+2\.1 pt \[[-+\d.]+, [-+\d.]+\]</b>", box)
    assert box.count("repeats") == 2  # the verdict sentence's and this line's
    assert "real + classical + synthetic 58.1%" in box
    # and how each arm does on the test recordings in conditions their person's training lacks
    assert "on the 201 test recordings in conditions their person's training lacks: real 25.0%" in box
    # what the synthetic-only figure is: samples from noise alone, the guidance chosen per repeat, its ratio to real
    assert "(synthetic: 310 samples from noise alone, guidance 1 (2x), 2 (1x); 0.40x real only)" in box
    # the evidence: generation verdicts and the latent-health problem, each linked to its section
    assert "Generated samples (ldm):" in box and "href='#generated-samples-ldm'" in text
    assert "id='generated-samples-ldm'" in text
    assert "Latent space: <span class='problem'>smoothness</span>" in box


def test_config_is_collapsed_at_the_end(tmp_path):
    text = _page(_pipeline_with_config(tmp_path / "p"))
    assert "<h2>Config</h2>" not in text
    m = re.search(r"<details><summary>Config[^<]*</summary><pre>(.*?)</pre></details>", text, re.S)
    assert m and "steps: 7" in m.group(1)
    assert text.index("<details><summary>Config") > text.index("Which real data each model saw")


# --- generation verdicts and plain tables --------------------------------------------------------------------------

def _units(physical=True):
    return Units(PHYSICAL if physical else SpectrogramAxes(), rows=64, cols=64)


def test_generation_verdicts_say_what_is_wrong_with_value_and_threshold(tmp_path):
    (tmp_path / "ldm" / "eval").mkdir(parents=True)
    g = generation(tmp_path, 12.5)
    g.precision = 0.0
    g.physical["period"] = PhysicalStat(real_mean=16.0, real_std=2.0, fake_mean=20.0, fake_std=2.0, difference=4.0,
                                        wasserstein=4.0, real_median=16.0, fake_median=20.0)
    v = {x.problem: x for x in generation_verdicts(g, _units())}
    off = v["samples off the real data"]
    assert not off.ok and off.value == 0.0 and off.threshold == pytest.approx(0.45)  # half the real floor's 0.9
    assert "no generated sample lies among the real ones" in off.message
    gait = v["gait period"]
    assert not gait.ok and gait.value == pytest.approx(0.25) and gait.threshold == 0.10
    assert "generated 1 s against real 0.8 s (medians, +25%" in gait.message  # 20 and 16 frames of 0.05 s
    ident = v["class identity lost"]  # 55% against the stage-1 ceiling of 60%: within 80% of it
    assert ident.ok and ident.threshold == pytest.approx(0.48) and "60.0% for stage-1 reconstructions" in ident.message
    g.identity.accuracy = 0.30
    g.physical["period"].fake_median = 16.8  # +5%
    v = {x.problem: x for x in generation_verdicts(g, _units())}
    assert not v["class identity lost"].ok and v["gait period"].ok and v["near-copies of training samples"].ok
    # the verdict reads medians: a mean dragged by mis-picked strides does not fail it
    g.physical["period"] = g.physical["period"].model_copy(update={"fake_mean": 24.0, "real_median": 12.0,
                                                                   "fake_median": 11.0})
    gait = {x.problem: x for x in generation_verdicts(g, _units())}["gait period"]
    assert gait.ok and gait.value == pytest.approx(-1 / 12) and "(medians, -8%" in gait.message


def test_generation_verdicts_appear_in_the_page(tmp_path):
    root = make_pipeline(tmp_path / "p")
    g = generation(root, 12.5)
    g.precision = 0.0
    g.write(root / "ldm" / "eval" / "generation.json")
    text = _page(root)
    assert ("<td class='problem'>PROBLEM</td><td>samples off the real data</td><td>0.000</td><td>at least 0.450</td>"
            in text)
    assert "<span class='problem'>samples off the real data</span>" in text  # and in the verdict box


def test_physical_table_uses_plain_names_and_units():
    nan = float("nan")  # no median: '-'
    physical = {"bandwidth_max": PhysicalStat(real_mean=32.0, real_std=4.0, fake_mean=16.0, fake_std=2.0,
                                              difference=-16.0, wasserstein=16.0, real_median=nan, fake_median=nan),
                "torso_mean": PhysicalStat(real_mean=31.5, real_std=1.0, fake_mean=47.5, fake_std=1.0, difference=16.0,
                                           wasserstein=16.0, real_median=31.5, fake_median=47.5),
                "period": PhysicalStat(real_mean=16.0, real_std=2.0, fake_mean=20.0, fake_std=2.0, difference=4.0,
                                       wasserstein=4.0, real_median=12.0, fake_median=12.0)}
    rows = {r[0]: r[1:] for r in physical_rows(physical, _units())}
    # 2000 Hz over 64 rows: 31.25 Hz a row; 3.2 s over 64 columns: 0.05 s a column
    assert rows["max bandwidth (Hz)"] == ["1000 ± 125", "500 ± 62.5", "-500", "500", "-", "-", "-"]
    assert rows["torso Doppler (body speed) (Hz)"][:2] == ["0 ± 31.2", "500 ± 31.2"]  # row 31.5 is the centre
    # the period's verdict is on medians: they stand beside the means (here the means differ, the medians agree)
    assert rows["gait period (s)"] == ["0.8 ± 0.1", "1 ± 0.1", "+0.2", "0.2", "0.6", "0.6", "+0"]
    bare = {r[0]: r[1:] for r in physical_rows(physical, _units(physical=False))}
    assert bare["gait period (frames)"][0] == "16 ± 2" and "max bandwidth (Doppler bins)" in bare


def test_report_tables_name_units(tmp_path):
    text = _page(make_pipeline(tmp_path / "p"))
    for needle in ("PSNR (dB, higher is better)", "torso Doppler (body speed) (Doppler bins)",
                   "recognised as their class (0-1)", "<th>value</th><th>threshold</th>", "difference of medians"):
        assert needle in text, needle


# --- figures: physical axes, colour bars, captions ----------------------------------------------------------------

def test_spectrogram_axes_come_from_the_data_metadata():
    a = spectrogram_axes(DataInfo(doppler_hz=[-1394.5, 1394.5], time_s=[0.04, 2.94], dynamic_range_db=50))
    assert a.physical and a.labels == ("time (s)", "Doppler (Hz)") and a.dynamic_range_db == 50
    assert a.extent(64, 64) == [0.04, 2.94, -1394.5, 1394.5]
    assert a.db(np.array([-1.0, 0.0, 1.0])).tolist() == [-50.0, -25.0, 0.0]
    bare = spectrogram_axes(DataInfo(source="my images"))  # a folder of user images: no physical axes, and it says so
    assert not bare.physical and bare.labels == ("time frame", "Doppler bin") and "no physical axes" in bare.note


def test_reconstruction_figure_has_physical_axes_and_db_colour_bars():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 16, 16)).astype(np.float32)
    fig = reconstruction_figure(x, x * 0.5, ["a", "b", "c"], PHYSICAL)
    grids = [ax for ax in fig.axes if ax.get_images() and ax.get_label() != "<colorbar>"]
    assert len(grids) == 9  # three rows (input, reconstruction, |error|) of three columns
    assert grids[0].get_ylabel() == "input\nDoppler (Hz)" and grids[-1].get_xlabel() == "time (s)"
    assert list(grids[0].get_images()[0].get_extent()) == [0.0, 3.2, -1000.0, 1000.0]
    bars = [ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert bars == ["dB below peak", "|error| (dB)"]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_grids_record_their_axes_for_the_caption(tmp_path):
    x = np.zeros((2, 1, 8, 8), np.float32)
    with_axes = reconstruction_grid(x, x, tmp_path / "a.png", ["a", "b"], axes=PHYSICAL)
    bare = reconstruction_grid(x, x, tmp_path / "b.png", ["a", "b"])  # training-time thumbnails: no axes
    assert figure_axes_note(with_axes) == PHYSICAL.note and figure_axes_note(bare) is None


def test_reconstruction_caption_matches_the_figure(tmp_path):
    root = make_pipeline(tmp_path / "p")
    text = _page(root)  # the fixture's PNG carries no axes: the caption says so instead of claiming them
    cap = re.search(r"<figcaption>(Three rows[^<]*)</figcaption>", text).group(1)
    assert "real test spectrogram" in cap and "reconstruction" in cap and "|error|" in cap
    assert "Drawn without axes by an older evaluation" in cap
    x = np.zeros((2, 1, 8, 8), np.float32)
    reconstruction_grid(x, x, root / "ae" / "eval" / "reconstruction-test.png", ["a", "b"], axes=PHYSICAL)
    cap = html.unescape(re.search(r"<figcaption>(Three rows[^<]*)</figcaption>", _page(root)).group(1))
    assert "Doppler in Hz against time in s; colour: dB below each spectrogram's peak (40 dB range)" in cap


def test_confusion_has_a_colour_bar_and_per_class_accuracy():
    fig = confusion_figure([[3, 1], [0, 4]], [0.75, 1.0], ["anna", "bert"])
    matrix, bars = fig.axes[0], fig.axes[1]
    assert matrix.get_images()[0].get_array().tolist() == [[0.75, 0.25], [0.0, 1.0]]
    assert [round(p.get_width(), 3) for p in bars.patches] == [75.0, 100.0]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["anna", "bert"]
    assert any(ax.get_label() == "<colorbar>" and "share" in ax.get_ylabel() for ax in fig.axes)
    import matplotlib.pyplot as plt

    plt.close(fig)


# --- loss curves and TensorBoard -------------------------------------------------------------------------------

def _losses(path, n=30):
    lines = [json.dumps({"step": i + 1, "loss": 1.0 / (i + 1), "rec_l1": 0.5 / (i + 1), "lr": 1e-4}) for i in range(n)]
    path.write_text("\n".join(lines[:5] + ["{broken"] + lines[5:]) + "\n")
    return path


def test_loss_curves_are_read_from_losses_jsonl(tmp_path):
    c = read_losses(_losses(tmp_path / "losses.jsonl"))
    assert c["step"].tolist() == list(range(1, 31)) and c["loss"][1] == 0.5  # the broken line is skipped
    fig = loss_figure({"stage 1": tmp_path / "losses.jsonl", "absent": tmp_path / "none.jsonl"})
    (ax,) = fig.axes
    assert ax.get_title() == "stage 1" and [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "rec_l1"]
    assert loss_figure({"absent": tmp_path / "none.jsonl"}) is None
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_report_shows_loss_curves_and_the_tensorboard_command(tmp_path):
    root = make_pipeline(tmp_path / "p")
    text = _page(root)
    assert "(no losses.jsonl in this folder)" in text and "(no TensorBoard logs in this folder)" in text
    _losses(root / "ae" / "losses.jsonl")
    (root / "ae" / "logs").mkdir()
    (root / "ae" / "logs" / "events.out.tfevents.1").write_bytes(b"x")
    text = _page(root)
    assert "<img alt='training losses'" in text
    assert f"<code>tensorboard --logdir {root}</code> (runs: ae)" in text


# --- samples by class --------------------------------------------------------------------------------------------

def test_sample_rows_show_real_then_generated_on_physical_axes(small_set):
    fig = sample_row_figure(small_set.x[:1], small_set.x[1:4], PHYSICAL, title="person1")
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in panels] == ["real", "generated", "generated", "generated"]
    assert panels[0].get_ylabel() == "Doppler (Hz)" and panels[0].get_xlabel() == "time (s)"
    import matplotlib.pyplot as plt

    plt.close(fig)
    pngs = class_pngs(small_set.x, small_set.labels, small_set.class_names, PHYSICAL, per_class=2)
    assert list(pngs) == ["person1", "person2", "person3"] and all(p[:4] == b"\x89PNG" for p in pngs.values())


def test_class_selector_browses_the_augmented_dataset(tmp_path, small_set):
    root = make_pipeline(tmp_path / "p")
    real = tmp_path / "real"
    save_prepared(small_set, real)
    (root / "ae" / "data.json").write_text(json.dumps({
        "source": str(real), "shape": [1, 32, 32], "class_names": small_set.class_names,
        "info": {"doppler_hz": [-1000.0, 1000.0], "time_s": [0.0, 3.2]}}))
    ids = [r.id for r in small_set.records]
    save_split(Split(ids={"train": ids[:12], "val": [], "test": ids[12:]}, group_by="session", seed=0,
                     fingerprint=small_set.fingerprint()), root / "ae" / "split.json")
    save_prepared(small_set, root / "synthetic")  # stands in for the generated samples
    text = _page(root)
    select = re.search(r"<select id='mdaug-class-select' onchange='mdaugShowClass\(this\)'>(.*?)</select>", text)
    assert re.findall(r"<option value='([^']+)'>", select.group(1)) == ["person1", "person2", "person3"]
    rows = re.findall(r"<div class='mdaug-class' data-class='([^']+)'( hidden)?>", text)
    assert rows == [("person1", ""), ("person2", " hidden"), ("person3", " hidden")]  # one class shown at a time
    assert "function mdaugShowClass" in text and "<script src" not in text  # inline, nothing external
    assert "a real test spectrogram of the class; Doppler in Hz against time in s" in text



def test_the_utility_answer_comes_before_the_evidence_and_every_term_is_defined_at_the_end(tmp_path):
    """The utility section and its figure right after the verdict box; the page ends with the glossary (the same
    list as docs/glossary.md), which the header links to."""
    from pathlib import Path

    from mdaug.glossary import GLOSSARY, anchor, glossary_markdown

    text = _page(_pipeline_with_config(tmp_path / "p"))
    heads = re.findall(r"<h2[^>]*>(.*?)</h2>", text)
    assert heads[0] == "Downstream utility" and heads[-1] == "Terms"
    assert text.index("id='downstream-utility'") < text.index("id='generated-samples-ldm'")
    assert "href='#terms'" in re.search(r"<p class='header'>(.*?)</p>", text).group(1)
    for term, _ in GLOSSARY:
        assert f"<dt id='{anchor(term)}'>{html.escape(term)}</dt>" in text
    docs = (Path(__file__).parents[2] / "docs" / "glossary.md").read_text()
    assert docs == glossary_markdown(), "docs/glossary.md is stale: run .venv/bin/python scripts/update_docs.py"


def test_a_one_repeat_answer_says_what_to_run_for_an_interval_and_a_three_repeat_one_does_not(tmp_path):
    from mdaug.evaluation.records import UtilityReport
    from mdaug.workflows.utility import summarise, verdict

    root = _pipeline_with_config(tmp_path / "p")
    assert "How sure?" not in _page(root)
    path = root / "utility" / "utility.json"
    u = UtilityReport.model_validate_json(path.read_text())
    one = [r for r in u.records if r.repeat == 0]
    summary = summarise(one)
    u.model_copy(update={"records": one, "summary": summary, "verdict": verdict(summary), "seeds": 1}).write(path)
    box = re.search(r"<div class='verdict-box'>(.*?)</div>", _page(root)).group(1)
    line = re.search(r"<b>How sure\?</b>(.*?)</p>", box).group(1)
    assert "mdaug run --config standard" in line and "3 repeats" in line and "hours" in line and "--repeats 5" in line


def test_a_threshold_reads_as_the_side_it_allows():
    from mdaug.evaluation.records import Verdict
    from mdaug.evaluation.report_html import bound

    def v(value, threshold, ok):
        return Verdict(problem="p", ok=ok, value=value, threshold=threshold, message="")

    assert bound(v(0.001, 0.01, True)) == "at most 0.010"  # variance collapse: a small share is fine
    assert bound(v(0.2, 0.5, False)) == "at least 0.500"  # precision below its threshold: a problem
    assert bound(v(0.7, 0.5, True)) == "at least 0.500" and bound(v(0.09, 0.05, False)) == "at most 0.050"


def test_the_per_class_utility_table_lists_who_gained_first_against_the_arm_the_study_compared_with(tmp_path):
    from mdaug.evaluation.records import UtilityReport

    root = _pipeline_with_config(tmp_path / "p")
    path = root / "utility" / "utility.json"
    u = UtilityReport.model_validate_json(path.read_text())
    per = {"real": [0.5, 0.5, 0.5], "real+classical": [0.6, 0.6, 0.6], "pretrained+classical": [0.7, 0.2, 0.7],
           "real+classical+synthetic": [0.6, 0.9, 0.4], "synthetic": [0.1, 0.1, 0.1]}
    recs = [r.model_copy(update={"by_class": {a: [v + 0.01 * (r.repeat - 1) for v in vals]
                                              for a, vals in per.items()}}) for r in u.records]
    u.model_copy(update={"records": recs}).write(path)
    text = _page(root)
    table = re.search(r"which classes gained, which lost</summary>(.*?)</details>", text, re.S).group(1)
    assert u.summary["10"].best_non_generative == "pretrained+classical"
    assert "+ synthetic over real + classical, pretrained recogniser (points)" in table
    rows = re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", table)
    gains = [re.findall(r"<td>([^<]*)</td>", cells)[-1] for _, cells in rows]
    assert gains == ["+70", "-10", "-30"]  # class 1: 0.9 - 0.2; class 0: 0.6 - 0.7; class 2: 0.4 - 0.7
    assert "<td>90%</td>" in rows[0][1]


@pytest.mark.parametrize("floor_recall", [0.9, 0.3])
def test_precision_rows_say_whether_real_data_reached_the_calibration_target(tmp_path, floor_recall):
    """k is calibrated until real training data counts as real (0.5); where no k gets there, the row must not claim
    it did: it says k is the largest the sets allow and that the real column is the yardstick."""
    root = make_pipeline(tmp_path / "p")
    g = generation(root, 12.5)
    g.neighbours = 30
    g.floor = g.floor.model_copy(update={"recall": floor_recall})
    g.write(root / "ldm" / "eval" / "generation.json")
    text = _page(root)
    reached = "30 nearest neighbours: the smallest k at which real training spectrograms count as real"
    fallback = ("30 nearest neighbours: the largest k the sets allow, and real training spectrograms still score "
                "below 0.5")
    assert text.count(reached if floor_recall >= 0.5 else fallback) == 2  # the precision row and the recall row
    assert (fallback if floor_recall >= 0.5 else reached) not in text
