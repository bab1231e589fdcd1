"""The recogniser recipe on the tiny preset: it learns, the two roles are different networks validated on
different parts of the training split, a resumed run reproduces the uninterrupted one, and its outputs load."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.models import Recognizer
from mdaug.runs.loading import load_recognizer as load_card
from mdaug.runs.run_data import RunData, load_run_data
from mdaug.training.recognizer import carve_out, train_recognizer

T = "recognizer_train."
# Every training key is set: the test must not depend on which defaults the preset carries.
BASE = ["simulate.per_person=16", "simulate.sessions=4", "split.val_fraction=0.1", "split.test_fraction=0.2",
        "recognizer.select_on=carve_out", "recognizer.channels=[8,16]", "recognizer.dropout=0.2",
        "recognizer.val_fraction=0.15", T + "batch_size=8", T + "lr=3e-3", T + "betas=[0.9,0.999]",
        T + "weight_decay=0", T + "lr_schedule=constant", T + "warmup_steps=0", T + "grad_clip=null",
        T + "ema_decay=null", T + "seed=1", T + "steps=4", T + "checkpoint_every=2", T + "on_nan=stop"]


def make_cfg(*overrides: str):
    return load_config("tiny", BASE + list(overrides))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> RunData:
    """4 people x 16 recordings in 4 sessions, 32x32: 48 training samples (12 per person)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MDAUG_CACHE", str(tmp_path_factory.mktemp("cache")))
        return load_run_data(make_cfg())


@pytest.fixture(scope="module")
def learned(data, tmp_path_factory):
    cfg = make_cfg(T + "steps=120", T + "batch_size=16", T + "checkpoint_every=40", "recognizer.dropout=0")
    out = tmp_path_factory.mktemp("learned") / "run"
    return cfg, out, train_recognizer(cfg, out, data=data)


def losses(run: Path) -> list[tuple[int, float | None, float]]:
    rows = [json.loads(ln) for ln in (run / "losses.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"], r["lr"]) for r in rows]


def logits(model: Recognizer, x: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x))


def killed_in_step(monkeypatch, augment: str, step: int, run) -> None:
    """`run()` killed (KeyboardInterrupt) when the recipe builds its augmentation `augment` for step `step`."""
    import mdaug.training.recognizer as recipe

    real, calls = getattr(recipe, augment), []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(recipe, augment, dying)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(recipe, augment, real)


def load_recognizer(folder):
    model, card = load_card(folder)
    return model, card.model_dump()


def test_it_learns(data, learned):
    cfg, out, final = learned
    model, meta = load_recognizer(final)
    fit, _ = carve_out(data, cfg.recognizer.val_fraction, meta["seed"])
    train_acc = (logits(model, data.dataset.x[fit]).argmax(1).numpy() == data.dataset.labels[fit]).mean()
    assert train_acc >= 0.6, f"training accuracy {train_acc:.2f} after 120 steps; chance is 0.25"
    ls = [loss for _, loss, _ in losses(out)]
    assert len(ls) == 120 and np.mean(ls[-10:]) < 0.8 * np.mean(ls[:10])
    assert sorted((out / "checkpoints").iterdir())[-1].name == "step-0000120"
    assert (out / "config.yaml").is_file() and (out / "data.json").is_file() and any((out / "logs").iterdir())


def test_final_round_trip(data, learned):
    cfg, out, final = learned
    model, meta = load_recognizer(final)
    again, _ = load_recognizer(out)  # the run folder works too
    x = data.dataset.x[:8]
    assert torch.equal(logits(model, x), logits(again, x))
    # final/ holds the best state of the run, and its record matches what that model does
    best = load_file(str(out / "checkpoints" / "step-0000120" / "best.safetensors"))
    assert all(torch.equal(v, best[k]) for k, v in model.state_dict().items())
    pos = {i: k for k, i in enumerate(data.dataset.ids)}
    for ids, key in ((meta["selection_ids"], "selection_accuracy"), (list(data.split.ids["test"]), "test_accuracy")):
        idx = np.array([pos[i] for i in ids])
        acc = (logits(model, data.dataset.x[idx]).argmax(1).numpy() == data.dataset.labels[idx]).mean()
        assert meta[key] == pytest.approx(acc)
    assert meta["class_names"] == data.dataset.class_names and meta["input_shape"] == [1, 32, 32]
    assert meta["data_fingerprint"] == data.dataset.fingerprint() and meta["role"] == "eval"
    assert meta["train_count"] == len(meta["train_ids"]) == 48 - len(meta["selection_ids"])
    assert meta["selection"] == "carve_out"


def test_load_recognizer_errors(learned, tmp_path):
    import shutil

    _, _, final = learned
    broken = tmp_path / "final"
    shutil.copytree(final, broken)
    (broken / "mdaug.json").unlink()
    with pytest.raises(MdaugError, match="mdaug.json"):
        load_recognizer(broken)
    with pytest.raises(MdaugError, match="not a saved model"):
        load_recognizer(tmp_path / "nothing")


def test_roles_differ(data, tmp_path):
    cfg = make_cfg(T + "steps=2")
    metas, models = {}, {}
    for role in ("eval", "loss"):
        models[role], metas[role] = load_recognizer(train_recognizer(cfg, tmp_path / role, role=role, data=data))
    assert (metas["eval"]["seed"], metas["loss"]["seed"]) == (1, 1001)
    held = {role: set(m["selection_ids"]) for role, m in metas.items()}
    assert held["eval"] != held["loss"]
    train, other = set(data.split.ids["train"]), set(data.split.ids["val"]) | set(data.split.ids["test"])
    for role, m in metas.items():
        assert held[role] and held[role] <= train and not held[role] & other
        assert set(m["train_ids"]) == train - held[role]
        assert {data.dataset.class_names[data.dataset.labels[data.dataset.ids.index(i)]] for i in held[role]} == \
            set(data.dataset.class_names)  # every class is validated on
        assert models[role].config.role == role
    w = [models[r].stages[0][0].weight for r in ("eval", "loss")]
    assert not torch.equal(*w)


def test_only_the_evaluation_recogniser_blurs(data, tmp_path):
    """recognizer.blur_max changes the 'eval' training and leaves the 'loss' one (the perceptual features) alone."""
    weights = {}
    for role in ("eval", "loss"):
        for blur in (0, 1.5):
            final = train_recognizer(make_cfg(T + "steps=2", f"recognizer.blur_max={blur}"), tmp_path / f"{role}{blur}",
                                     role=role, data=data)
            weights[role, blur] = load_file(final / "diffusion_pytorch_model.safetensors")
    assert not all(torch.equal(v, weights["eval", 1.5][k]) for k, v in weights["eval", 0].items())
    assert all(torch.equal(v, weights["loss", 1.5][k]) for k, v in weights["loss", 0].items())


def test_resume_reproduces_uninterrupted_run(data, tmp_path, monkeypatch):
    # dropout, time shifts, warm-up + cosine, clipping and EMA: every source of state a resume must restore
    cfg = make_cfg(T + "steps=6", T + "checkpoint_every=3", T + "lr_schedule=cosine", T + "warmup_steps=2",
                   T + "grad_clip=1.0", T + "ema_decay=0.9", "augment.time_shift=0.25")
    whole = train_recognizer(cfg, tmp_path / "whole", data=data)

    # the run is killed in step 5, after the checkpoint at 3 and the log of step 4
    killed_in_step(monkeypatch, "TimeAugment", 5, lambda: train_recognizer(cfg, tmp_path / "cut", data=data))
    assert [s for s, _, _ in losses(tmp_path / "cut")] == [1, 2, 3, 4]
    resumed = train_recognizer(cfg, tmp_path / "cut", data=data, resume="latest")

    assert losses(tmp_path / "cut") == losses(tmp_path / "whole")  # steps 1..6 once each, equal to the bit
    a, b = load_recognizer(whole)[0].state_dict(), load_recognizer(resumed)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    last = [load_file(str(tmp_path / run / "checkpoints" / "step-0000006" / "model.safetensors"))
            for run in ("whole", "cut")]
    assert all(torch.equal(last[0][k], last[1][k]) for k in last[0])


def test_refuses_non_empty_out(data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(MdaugError, match="not empty"):
        train_recognizer(make_cfg(), out, data=data)
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "mine"


def test_corrupt_checkpoint_is_refused(data, tmp_path):
    out = tmp_path / "run"
    train_recognizer(make_cfg(T + "steps=2", T + "checkpoint_every=1"), out, data=data)
    weights = out / "checkpoints" / "step-0000002" / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-4:] = bytes(b ^ 0xFF for b in raw[-4:])
    weights.write_bytes(bytes(raw))
    with pytest.raises(MdaugError, match="corrupt"):
        train_recognizer(make_cfg(T + "steps=3", T + "checkpoint_every=1"), out, data=data, resume="latest")
    with pytest.raises(MdaugError, match="not a checkpoint"):
        train_recognizer(make_cfg(), out, data=data, resume=str(out / "final"))


@pytest.mark.parametrize("on_nan", ["stop", "skip"])
def test_nan_loss(data, tmp_path, on_nan):
    cfg = make_cfg(T + "steps=5", T + "checkpoint_every=1", T + f"on_nan={on_nan}")
    fit, _ = carve_out(data, cfg.recognizer.val_fraction, cfg.recognizer_train.seed)
    x = data.dataset.x.copy()
    x[fit[0]] = np.nan  # one training sample; 40 fit samples in batches of 8 are all seen within 5 steps
    bad = dataclasses.replace(data, dataset=dataclasses.replace(data.dataset, x=x))
    if on_nan == "stop":
        with pytest.raises(MdaugError, match=r"NaN/inf at step \d.*checkpoint"):
            train_recognizer(cfg, tmp_path / "run", data=bad)
        return
    train_recognizer(cfg, tmp_path / "run", data=bad)
    rows = [json.loads(ln) for ln in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    skipped = [r["step"] for r in rows if r.get("skipped")]  # the one NaN policy of every recipe
    assert len(skipped) == 1 and "loss" not in rows[skipped[0] - 1]
    assert all(np.isfinite(r["loss"]) for r in rows if not r.get("skipped"))
    state = json.loads((tmp_path / "run" / "checkpoints" / "step-0000005" / "state.json").read_text())
    assert state["loop"]["skipped"] == skipped


def test_the_best_step_is_chosen_on_the_validation_sessions_and_synthetic_samples_weigh_as_configured(tmp_path):
    from mdaug.workflows.utility import with_synthetic

    cfg = make_cfg("split.val_fraction=0.25", "split.test_fraction=0.25", "recognizer.select_on=val", T + "steps=4")
    data = load_run_data(cfg)
    val = set(data.split.ids["val"])
    _, card = load_card(train_recognizer(cfg, tmp_path / "val", data=data))
    assert card.selection == "val" and set(card.selection_ids) == val and set(card.train_ids) == set(
        data.split.ids["train"])  # nothing held back from training: the other sessions choose
    # the synthetic share and weight take effect: 2 of every 8 are synthetic, and weighing them 0 leaves the real
    # part of the first step's loss (the same network and batch, so the weighted loss is smaller)
    x = np.zeros((8, *data.dataset.x.shape[1:]), np.float32)
    both = with_synthetic(data, x, np.repeat(np.arange(4), 2), "real+synthetic")
    first = {}
    for w in (0, 1):
        run = tmp_path / f"w{w}"
        train_recognizer(make_cfg("split.val_fraction=0.25", "split.test_fraction=0.25", "recognizer.select_on=val",
                                  T + "synthetic_share=0.25", T + f"synthetic_weight={w}"), run, data=both)
        first[w] = json.loads((run / "losses.jsonl").read_text().splitlines()[0])["loss"]
        _, card = load_card(run)
        assert sum(i.startswith("synthetic/") for i in card.train_ids) == 8
    assert 0 < first[0] < first[1]


def test_a_recogniser_starts_from_another_ones_conv_stages_with_a_new_head(data, learned, tmp_path):
    _, source, _ = learned
    cfg = make_cfg(T + "steps=1", "recognizer.init=" + str(source), T + "lr=1e-12", T + "checkpoint_every=1")
    out = train_recognizer(cfg, tmp_path / "tuned", data=data)
    tuned, card = load_card(out)
    start, _ = load_card(source)
    start_sd, tuned_sd = start.state_dict(), tuned.state_dict()
    conv = [k for k in start_sd if k.startswith("stages.") and k.endswith("weight")]
    assert conv and all(torch.allclose(start_sd[k], tuned_sd[k], atol=1e-6) for k in conv)
    assert not torch.allclose(start_sd["head.1.weight"], tuned_sd["head.1.weight"])  # a new head
    assert card.init.source == "run" and card.init.path.endswith("final")
    scratch = load_card(train_recognizer(make_cfg(T + "steps=1"), tmp_path / "scratch", data=data))[1]
    assert scratch.init.source == "scratch"
    with pytest.raises(MdaugError, match="other conv stages"):
        train_recognizer(make_cfg("recognizer.init=" + str(source), "recognizer.channels=[8,24]"), tmp_path / "bad",
                         data=data)
    with pytest.raises(MdaugError, match="no shipped pretrained recogniser fits"):
        train_recognizer(make_cfg("recognizer.init=pretrained", "recognizer.channels=[8,24]"), tmp_path / "bad2",
                         data=data)


def test_resume_with_the_lower_snr_reproduces_the_uninterrupted_run(data, tmp_path, monkeypatch):
    # the classical augmentation with a lower SNR draws its doses and noise fields from the step's generator
    cfg = make_cfg(T + "steps=4", T + "checkpoint_every=2", "recognizer.classical=true", "classical.snr_drop_db=15",
                   "classical.snr_drop_p=1.0")
    whole = train_recognizer(cfg, tmp_path / "whole", data=data)

    killed_in_step(monkeypatch, "ClassicalAugment", 4, lambda: train_recognizer(cfg, tmp_path / "cut", data=data))
    resumed = train_recognizer(cfg, tmp_path / "cut", data=data, resume="latest")
    assert losses(tmp_path / "cut") == losses(tmp_path / "whole")
    a, b = load_recognizer(whole)[0].state_dict(), load_recognizer(resumed)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and the dose changes what it trains on (the test could not tell otherwise)
    train_recognizer(make_cfg(T + "steps=4", T + "checkpoint_every=2", "recognizer.classical=true"),
                     tmp_path / "none", data=data)
    assert losses(tmp_path / "none") != losses(tmp_path / "whole")
