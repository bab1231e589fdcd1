"""Stage 2 with recording conditions on the tiny preset: which conditions it takes and their ranges (read
independently from the simulator's recordings.csv), asking for them from the CLI and the API with one-line errors,
the measures of what a condition does, and the rows of 'conditions a person lacks'."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mdaug.config import StrategyConfig, load_config
from mdaug.errors import MdaugError
from mdaug.evaluation.conditions_control import Reader, _unseen_pairs
from mdaug.models.conditioning import encode_table
from mdaug.runs.loading import load_stage2, stage1_data
from mdaug.sampling.generate import generate, requested_conditions
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.pools import draw_pool, fill_plan, read_back_ok
from tests.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cond")
    cfg = load_config("tiny", ["ae.family=kl", "ldm.conditions=auto"])
    ae = train_autoencoder(cfg, root / "ae").parent
    out = {"ae": ae, "auto": train_stage2(cfg, root / "auto", "ldm", autoencoder=ae).parent}
    # the walking speed is a trait of each tiny walker (auto leaves it out): named, it is taken
    listed = load_config("tiny", ["ae.family=kl", "ldm.conditions=[speed_mps,aspect_deg,snr_db,radial_speed_mps,"
                                  "direction]"])
    out["listed"] = train_stage2(listed, root / "listed", "ldm", autoencoder=ae).parent
    plain = load_config("tiny", ["ae.family=kl"])  # the default: no conditions
    out["plain"] = train_stage2(plain, root / "plain", "ldm", autoencoder=ae).parent
    return out


def _recordings(data) -> dict[str, dict[str, str]]:
    with open(Path(data.source) / "recordings.csv", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def test_auto_takes_the_conditions_the_recordings_differ_in_with_their_training_range(runs):
    s2 = load_stage2(runs["auto"])
    data = stage1_data(s2.autoencoder)
    rec = _recordings(data)
    train_ids = [data.dataset.ids[i] for i in data.indices("train")]
    by_name = {c.name: c for c in s2.conditions}
    # every column that varies over the training recordings, but the range (never compared: on a display normalised
    # to its peak it acts only through the SNR), phase0 (where the cycle starts, not a condition) and the gait cycle
    # (the person's own trait, left to the person)
    varying = {k for k in rec[train_ids[0]] if k not in ("id", "person", "session", "recording", "phase0", "range_m")
               and len({rec[i][k] for i in train_ids}) > 1}
    # ... and the walking speed, which varies within a tiny walker by far less than a fifth of its variance overall
    speed = np.array([float(rec[i]["speed_mps"]) for i in train_ids])
    who = np.array([rec[i]["person"] for i in train_ids])
    within = np.mean([speed[who == p].var() for p in set(who)])
    assert within < 0.2 * speed.var() and "cycle_s" in varying
    assert set(by_name) == varying - {"cycle_s", "speed_mps"} and {"snr_db", "aspect_deg", "direction"} <= varying
    for name in ("radial_speed_mps", "snr_db"):
        v = [float(rec[i][name]) for i in train_ids]
        assert (by_name[name].low, by_name[name].high) == (pytest.approx(min(v)), pytest.approx(max(v)))
    assert by_name["direction"].values == ("away", "towards")
    assert s2.card.condition_sources["snr_db"] == "given (recordings.csv)"
    assert [c["name"] for c in s2.card.conditions] == [c.name for c in s2.conditions]
    assert load_stage2(runs["plain"]).conditions == []
    assert [c.name for c in load_stage2(runs["listed"]).conditions] == ["speed_mps", "aspect_deg", "snr_db",
                                                                        "radial_speed_mps", "direction"]


def test_a_request_changes_the_sample_and_only_through_the_conditions_named(runs):
    s2 = load_stage2(runs["listed"])
    # give the (tiny, barely trained) encoders weights, so that a condition visibly acts
    import torch

    with torch.no_grad():
        for p in s2.model.unet.class_embedding.encoders.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)))
    settings = s2.default_settings()
    lo = requested_conditions(s2, ["speed=" + str(s2.conditions[0].low)], 2) if s2.conditions[0].name == "speed_mps" \
        else requested_conditions(s2, {"speed_mps": min(c.low for c in s2.conditions if c.name == "speed_mps")}, 2)
    hi = requested_conditions(s2, {"speed": max(c.high for c in s2.conditions if c.name == "speed_mps")}, 2)
    k = [c.name for c in s2.conditions].index("speed_mps")
    assert np.isfinite(lo[:, k]).all() and np.isnan(np.delete(lo, k, axis=1)).all()
    a = generate(s2, [0, 1], settings, seed=5, conditions=lo)
    b = generate(s2, [0, 1], settings, seed=5, conditions=hi)
    c = generate(s2, [0, 1], settings, seed=5, conditions=lo)
    free = generate(s2, [0, 1], settings, seed=5)
    assert np.array_equal(a, c) and not np.allclose(a, b, atol=1e-4) and not np.allclose(a, free, atol=1e-4)
    with pytest.raises(MdaugError, match="one row of"):
        generate(s2, [0, 1], settings, conditions=lo[:, :2])


def test_cli_sample_at_conditions_and_its_one_line_errors(runs, cli, tmp_path):
    run = runs["listed"]
    s2 = load_stage2(run)
    speed = next(c for c in s2.conditions if c.name == "speed_mps")
    mid = round((speed.low + speed.high) / 2, 3)
    code, o, e = cli("sample", run, "--per-class", "1", "--classes", "0", "--out", tmp_path / "ok", "--condition",
                     f"speed={mid}", "direction=away")
    assert code == 0, e
    with np.load(tmp_path / "ok" / "samples.npz") as z:
        assert json.loads(str(z["settings"]))["conditions"] == {"speed_mps": mid, "direction": "away"}
        assert z["x"].shape[0] == 1
    code, _, e = cli("sample", run, "--out", tmp_path / "a", "--condition", "speed=9")
    assert_one_line_error(code, e, "speed_mps=9 is outside what this model knows", "snr_db")
    code, _, e = cli("sample", run, "--out", tmp_path / "b", "--condition", "mood=happy")
    assert_one_line_error(code, e, "condition 'mood' is not one of this model's conditions", "speed_mps")
    code, _, e = cli("sample", run, "--out", tmp_path / "c", "speed=1.5")
    assert_one_line_error(code, e, "conditions follow --condition")
    code, _, e = cli("sample", runs["plain"], "--out", tmp_path / "d", "--condition", "speed=1.5")
    assert_one_line_error(code, e, "trained without conditions")
    assert not (tmp_path / "a").exists() and not (tmp_path / "d").exists()  # nothing made for a bad request


def test_train_ldm_names_a_condition_the_data_lacks_in_one_line(runs, cli, tmp_path):
    code, _, e = cli("train-ldm", "--config", "tiny", "--ae", runs["ae"], "--out", tmp_path / "x", "ae.family=kl",
                     "ldm.conditions=[speed_mps,shoe_size]")
    assert_one_line_error(code, e, "'shoe_size', which the data's recordings do not have")


def test_conditions_a_person_lacks_are_unseen_in_their_own_training_recordings(runs):
    data = stage1_data(load_stage2(runs["listed"]).autoencoder)
    cond = data.conditions
    train = data.indices("train")
    labels = data.dataset.labels
    persons, rows = _unseen_pairs(data, 4, np.random.default_rng(0))
    assert len(rows) > 0 and (labels[rows] != persons).all()
    names = cond.compared()
    for p, r in zip(persons, rows):
        own = train[labels[train] == p]
        lacks = False
        for n in names:
            v = cond.values[n]
            if cond.numeric(n):
                known = own[np.isfinite(v[own])]
                tol = cond.tolerance(n)
                if np.isfinite(v[r]) and len(known) and (np.abs(v[known] - v[r]) > tol).all():
                    lacks = True
            elif v[r] and v[r] not in set(v[own]):
                lacks = True
        assert lacks, (p, r)


def test_eval_conditions_measures_against_the_training_range_and_draws_the_person(runs, cli, tmp_path):
    code, o, e = cli("eval-conditions", runs["listed"], "--per-value", "1", "--out", tmp_path / "ev")
    assert code == 0, e
    r = json.loads((tmp_path / "ev" / "conditions.json").read_text())
    data = stage1_data(load_stage2(runs["listed"]).autoencoder)
    rec = _recordings(data)
    snr = np.array([float(rec[data.dataset.ids[i]]["snr_db"]) for i in data.indices("train")])
    c = r["controllability"]
    assert set(c) == {"snr_db", "radial_speed_mps"}  # what the estimators read back (the cycle is the person's)
    assert c["snr_db"]["asked"] == pytest.approx(np.quantile(snr, (0.1, 0.3, 0.5, 0.7, 0.9)), abs=1e-3)
    assert c["snr_db"]["samples"] == 5 and c["radial_speed_mps"]["estimator_median_abs_error"] < 0.1
    p = r["physics"]
    assert p["cycle_ratio_expected"] == pytest.approx(np.sqrt(p["speeds"][1] / p["speeds"][0]), abs=1e-3)
    assert (tmp_path / "ev" / "conditions-person.png").stat().st_size > 5000
    code, _, e = cli("eval-conditions", runs["plain"], "--out", tmp_path / "ev2")
    assert_one_line_error(code, e, "trained without recording conditions")


def test_fill_asks_each_person_for_session_conditions_they_lack_and_leaves_their_gait_cycle_to_the_model(runs):
    s2 = load_stage2(runs["listed"])
    data = stage1_data(s2.autoencoder)
    train = data.indices("train")
    y = data.dataset.labels[train]
    cond = data.conditions.subset(train)
    labels = np.repeat(np.arange(len(s2.class_names)), 3)
    plan = fill_plan(s2, labels, y, cond, np.random.default_rng(0))
    names = [c.name for c in s2.conditions]
    assert plan.conditions.shape == (len(labels), len(names))
    assert "cycle_s" not in names  # the person's own trait
    k = names.index("snr_db")
    for i in np.flatnonzero(plan.filled):  # the asked session is another person's, and this person lacks it
        same = np.flatnonzero(np.isclose(cond.values["snr_db"], plan.conditions[i, k]) & (y != labels[i]))
        assert len(same)
        r = same[0]
        own = np.flatnonzero(y == labels[i])
        lacks = any((np.abs(cond.values[n][own] - cond.values[n][r]) > cond.tolerance(n)).all()
                    for n in ("speed_mps", "snr_db", "aspect_deg", "radial_speed_mps"))
        lacks |= cond.values["direction"][r] not in set(cond.values["direction"][own])
        assert lacks
    assert np.isnan(plan.conditions[~plan.filled]).all()
    with pytest.raises(MdaugError, match="trained with recording conditions"):
        fill_plan(load_stage2(runs["plain"]), labels, y, cond, np.random.default_rng(0))


def test_read_back_keeps_what_shows_the_conditions_asked_and_drops_what_does_not(runs):
    s2 = load_stage2(runs["listed"])
    data = stage1_data(s2.autoencoder)
    train = data.indices("train")
    reader = Reader.of(data, train)
    names = [c.name for c in s2.conditions]
    x = data.dataset.x[train]
    asked = encode_table(s2.conditions, data.conditions.subset(train).values, len(train))
    own = read_back_ok(s2, x, asked, reader, 2.0)
    assert own.mean() > 0.9  # recordings show their own conditions
    moved = asked.copy()
    moved[:, names.index("radial_speed_mps")] += 1.0  # 1 m/s off: five tolerances of 0.2
    assert read_back_ok(s2, x, moved, reader, 2.0).mean() < 0.1
    only_other = np.full_like(asked, np.nan)
    only_other[:, names.index("aspect_deg")] = 500.0  # a condition no estimator reads is not checked
    assert read_back_ok(s2, x, only_other, reader, 2.0).all()


def test_the_fill_pool_keeps_as_many_as_wanted_of_what_reads_back(runs):
    s2 = load_stage2(runs["listed"])
    data = stage1_data(s2.autoencoder)
    train = data.indices("train")
    x, y = data.dataset.x[train], data.dataset.labels[train]
    s = StrategyConfig(name="fill", conditions="fill", per_real=1.0, readback_tolerance=1000.0)
    pool = draw_pool(s2, s, x, y, cap=50, seed=0, conditions=data.conditions.subset(train),
                     reader=Reader.of(data, train))
    assert pool.counts["drawn"] == 2 * len(y) and pool.counts["off_condition"] == 0  # nothing is that far off
    assert pool.counts["kept"] == len(pool.labels) <= len(y)  # as many as wanted, once near-copies are out
    assert (np.bincount(pool.labels, minlength=y.max() + 1) <= np.bincount(y)).all()
    if pool.counts["near_copies"] <= min(np.bincount(y)):  # every class still has its own count to keep
        assert pool.counts["kept"] == len(y)
    strict = s.model_copy(update={"readback_tolerance": 1e-6})
    pool = draw_pool(s2, strict, x, y, cap=50, seed=0, conditions=data.conditions.subset(train),
                     reader=Reader.of(data, train))
    assert pool.counts["kept"] == 0 and pool.counts["off_condition"] == pool.counts["drawn"]
    with pytest.raises(MdaugError, match="needs the conditions"):
        draw_pool(s2, s, x, y, cap=50, seed=0)
    with pytest.raises(ValueError, match="strength 1, no mirror"):
        StrategyConfig(name="f", conditions="fill", strength=0.5)


def test_person_from_recordings_takes_the_shipped_recogniser_and_refuses_a_size_it_does_not_fit(runs, cli, tmp_path):
    from mdaug.runs.identity import identity_features, shipped_identity_recognizer

    cfg = load_config("tiny", ["ae.family=kl", "data.size=[64,64]", "ldm.person=recordings"])
    ae = train_autoencoder(cfg, tmp_path / "ae")
    s2 = load_stage2(train_stage2(cfg, tmp_path / "ldm", "ldm", autoencoder=ae))
    data = stage1_data(s2.autoencoder)
    train = data.indices("train")
    rec, name = shipped_identity_recognizer((1, 64, 64))
    want = identity_features(rec, data.dataset.x[train], data.dataset.labels[train], len(s2.class_names))
    assert s2.card.identity == name == "recognizer-64x64"
    assert torch.allclose(s2.model.unet.class_embedding.person_features[:-1], want, atol=1e-5)
    code, _, e = cli("train-ldm", "--config", "tiny", "--ae", runs["ae"], "--out", tmp_path / "x", "ae.family=kl",
                     "ldm.person=recordings")
    assert_one_line_error(code, e, "none fits 1x32x32 spectrograms")


def test_a_stage2_started_from_one_with_conditions_keeps_the_encoders_it_shares_and_resumes_exactly(runs, tmp_path):
    from safetensors.torch import load_file

    from mdaug.runs.loss_log import loss_rows as read_loss_log

    start = load_stage2(runs["listed"])  # speed_mps, aspect_deg, snr_db, radial_speed_mps, direction
    over = ["ae.family=kl", "ldm.conditions=[snr_db,cycle_s,aspect_deg]", f"ldm.init={runs['listed']}",
            "ldm_train.finetune_lr=1e-12", "ldm_train.steps=4"]
    cfg = load_config("tiny", over)
    train_stage2(cfg, tmp_path / "straight", "ldm", autoencoder=runs["ae"])
    s2 = load_stage2(tmp_path / "straight")
    assert [c["name"] for c in s2.card.init.conditions] == [c.name for c in start.conditions]
    old = {c.name: c for c in start.conditions}
    for c in s2.conditions:  # the start's scaling where it knows the condition
        if c.name in old:
            assert (c.center, c.scale) == (old[c.name].center, old[c.name].scale)
    a, b = start.model.unet.class_embedding.encoders, s2.model.unet.class_embedding.encoders
    v = torch.tensor([0.0, 5.0, 30.0, 170.0, float("nan")])
    with torch.no_grad():
        # carried at the fine-tune rate (here ~0): as the start has them; the new one (the cycle) learned from zero
        assert torch.allclose(b[0](v), a[2](v), atol=1e-5) and torch.allclose(b[2](v), a[1](v), atol=1e-5)
        assert b[1](torch.tensor([1.0, 1.2])).abs().max() > 1e-4 and a[2](v).abs().max() > 1e-4
    # interrupted and resumed: the same run (the scaling and the carried encoders come back from where it started)
    assert train_stage2(cfg, tmp_path / "split", "ldm", autoencoder=runs["ae"], stop_after=2) is None
    train_stage2(cfg, tmp_path / "split", "ldm", resume="latest")
    assert read_loss_log(tmp_path / "straight" / "losses.jsonl") == read_loss_log(tmp_path / "split" / "losses.jsonl")
    wa = load_file(str(tmp_path / "straight" / "final" / "diffusion_pytorch_model.safetensors"))
    wb = load_file(str(tmp_path / "split" / "final" / "diffusion_pytorch_model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert load_stage2(tmp_path / "split").conditions == s2.conditions
