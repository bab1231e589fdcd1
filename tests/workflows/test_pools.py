"""A strategy's pool: sizes per class, variations of real samples, no near-copies, sifted by a recogniser."""

import numpy as np
import pytest
import torch

from mdaug.config import StrategyConfig, load_config
from mdaug.errors import MdaugError
from mdaug.runs.loading import load_stage2, stage1_data
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.pools import draw_pool, pool_sizes
from tests.conftest import with_texture


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    cfg = load_config("tiny", ["ae.family=kl"])
    root = tmp_path_factory.mktemp("m")
    ae = train_autoencoder(cfg, root / "ae")
    s2 = load_stage2(train_stage2(cfg, root / "ldm", "ldm", autoencoder=ae))
    data = stage1_data(s2.autoencoder)
    train = data.indices("train")
    return s2, data.dataset.x[train], data.dataset.labels[train]


class Constant(torch.nn.Module):
    """A stand-in recogniser whose confidence in class c is fixed: 0.9 for class 0, 0.1 for the others."""

    def forward(self, x):
        logits = torch.full((len(x), 4), -10.0)
        logits[:, 0] = 10.0
        return logits


def test_pool_sizes_follow_the_real_counts_up_to_the_cap():
    labels = np.array([0] * 5 + [1] * 2 + [2] * 9)
    s = StrategyConfig(name="x", per_real=2.0)
    assert pool_sizes(labels, 4, s, cap=12).tolist() == [10, 4, 12, 0]


def test_a_pool_has_its_sizes_and_anchored_samples_stay_near_their_real_sample(model):
    s2, x, y = model
    plain = draw_pool(s2, StrategyConfig(name="p", per_real=1.0, remove_copies=False), x, y, cap=10, seed=0)
    assert np.bincount(plain.labels).tolist() == np.bincount(y).tolist() and plain.counts["kept"] == len(y)
    near = draw_pool(s2, StrategyConfig(name="a", per_real=1.0, strength=0.2, remove_copies=False), x, y, cap=10,
                     seed=0)
    d_near = np.abs(near.x - x[np.argsort(y, kind="stable")]).mean()  # anchors go through each class in turn
    assert d_near < np.abs(plain.x - x[np.argsort(y, kind="stable")]).mean()


def test_near_copies_are_removed_and_the_filter_keeps_the_confident_ones(model, monkeypatch):
    import mdaug.workflows.pools as pools

    s2, x, y = model
    def copying(s2, labels, settings, plain=None, **kw):
        """A generator that returns real training samples (all copies), under a heavy texture: the copy check must
        look at the decoder's output before the texture (`plain`), where copies show."""
        out = x[np.searchsorted(np.sort(y), labels)].copy()
        plain.append(out.copy())
        return np.clip(out + np.random.default_rng(0).normal(0, 0.5, out.shape), -1, 1).astype(np.float32)

    monkeypatch.setattr(pools, "generate", copying)
    copies = draw_pool(s2, StrategyConfig(name="c", per_real=1.0), x, y, cap=10, seed=0)
    assert copies.counts["near_copies"] == copies.counts["drawn"] and copies.counts["kept"] == 0
    monkeypatch.undo()
    sifted = draw_pool(s2, StrategyConfig(name="f", per_real=1.0, filter_confidence=0.5, remove_copies=False), x, y,
                       cap=10, seed=0, recognizer=Constant())
    assert set(sifted.labels) == {0} and sifted.counts["drawn"] == 2 * len(y)  # drawn twice over, class 0 passes
    assert (sifted.labels == 0).sum() == (y == 0).sum()
    with pytest.raises(MdaugError, match="recogniser"):
        draw_pool(s2, StrategyConfig(name="f", filter_confidence=0.5), x, y, cap=10, seed=0)


class Unsure(torch.nn.Module):
    """A stand-in recogniser that names every sample class 1, with a probability of only 0.3 (the rest spread)."""

    def forward(self, x):
        p = torch.full((len(x), 4), 0.7 / 3)
        p[:, 1] = 0.3
        return p.log()


def test_the_named_filter_keeps_what_the_recogniser_names_however_unsure(model):
    s2, x, y = model
    named = draw_pool(s2, StrategyConfig(name="n", per_real=1.0, filter_named=True, remove_copies=False), x, y,
                      cap=10, seed=0, recognizer=Unsure())
    assert set(named.labels) == {1} and (named.labels == 1).sum() == (y == 1).sum()
    assert named.counts["drawn"] == 2 * len(y) and named.counts["filtered_out"] == 2 * len(y) - 2 * (y == 1).sum()
    both = draw_pool(s2, StrategyConfig(name="b", per_real=1.0, filter_named=True, filter_confidence=0.5,
                                        remove_copies=False), x, y, cap=10, seed=0, recognizer=Unsure())
    assert both.counts["kept"] == 0  # named, but not with 0.5
    with pytest.raises(MdaugError, match="recogniser"):
        draw_pool(s2, StrategyConfig(name="n", filter_named=True), x, y, cap=10, seed=0)


def test_mirrored_anchors_are_the_class_walking_the_other_way(model, monkeypatch):
    import mdaug.workflows.pools as pools
    from mdaug.data.transforms import mirror_doppler

    s2, x, y = model
    monkeypatch.setattr(pools, "generate", lambda s2, labels, settings, anchors=None, **kw: anchors.copy())
    s = StrategyConfig(name="m", per_real=2.0, strength=0.5, mirror=0.5, remove_copies=False)
    pool = draw_pool(s2, s, x, y, cap=100, seed=0, zero_row=5.0)  # the stand-in generator returns its anchors
    assert np.bincount(pool.labels).tolist() == (2 * np.bincount(y)).tolist()
    mirrored = mirror_doppler(x, 5.0)
    for c in np.unique(y):
        got = pool.x[pool.labels == c]
        as_is = [any(np.array_equal(g, r) for r in x[y == c]) for g in got]
        flipped = [any(np.array_equal(g, r) for r in mirrored[y == c]) for g in got]
        assert all(a or b for a, b in zip(as_is, flipped))  # every anchor a real sample of its class, or its mirror
        assert sum(flipped) == len(got) // 2  # half of each class mirrored
    with pytest.raises(ValueError, match="strength below 1"):
        StrategyConfig(name="m", mirror=1.0)


def test_a_strategy_without_texture_draws_the_decoder_output_and_with_it_that_plus_the_fitted_noise(model, tmp_path):
    s2, x, y = model
    s2 = load_stage2(s2.folder, autoencoder=with_texture(s2.autoencoder.folder, tmp_path / "ae", 2.0))
    on = draw_pool(s2, StrategyConfig(name="on", per_real=1.0, remove_copies=False, texture=True), x, y, cap=10,
                   seed=3)
    off = draw_pool(s2, StrategyConfig(name="off", per_real=1.0, remove_copies=False), x, y, cap=10, seed=3)
    assert not StrategyConfig(name="default").texture  # mixed with recordings, samples go without it by default
    sigma = s2.autoencoder.floor_noise
    assert sigma == pytest.approx(2 * 2.0 / s2.autoencoder.card.normalisation.dynamic_range_db)
    assert np.array_equal(on.labels, off.labels)
    inside = (off.x > -0.9) & (off.x < 0.9) & (on.x > -1) & (on.x < 1)
    # the same latents: the samples differ by the texture alone
    assert float((on.x - off.x)[inside].std()) == pytest.approx(sigma, rel=0.15)


class ByMean(torch.nn.Module):
    """A stand-in recogniser: class 0 named surely always, class 1 surely when the sample's mean is above zero
    (about half of noise), class 2 never; 4 classes."""

    def forward(self, x):
        logits = torch.full((len(x), 4), -10.0)
        logits[:, 0] = 10.0
        above = x.mean(dim=(1, 2, 3)) > 0
        logits[above, 0], logits[above, 1] = -10.0, 10.0
        return logits


def noise_generator(drawn_labels):
    def generate(s2, labels, settings, plain=None, seed=0, **kw):
        drawn_labels.extend(labels.tolist())
        x = np.random.default_rng(seed).normal(0, 0.3, (len(labels), 1, 8, 8)).astype(np.float32)
        x[labels == 0] = x[labels == 0] + 0.5  # class 0's samples are never mistaken for class 1
        x[labels == 0] = -np.abs(x[labels == 0])
        if plain is not None:
            plain.append(x.copy())
        return x
    return generate


def test_an_export_draws_again_until_each_class_has_the_number_asked_or_its_draws_run_out(model, monkeypatch):
    """Class 0 passes the filter every time, class 1 about half the time, class 2 never: 0 and 1 get the 5 asked
    (1 after drawing again), 2 gets none after exactly 8 draws per sample asked, and class 3 (asked none) none."""
    import mdaug.workflows.pools as pools

    s2, x, y = model
    drawn: list[int] = []
    monkeypatch.setattr(pools, "generate", noise_generator(drawn))
    s = StrategyConfig(name="f", per_real=1.0, filter_confidence=0.5, remove_copies=False)
    pool, rounds = pools.draw_until(s2, s, x[:, :, :8, :8], y, np.array([5, 5, 5, 0]), seed=0, recognizer=ByMean())
    assert np.bincount(pool.labels, minlength=4).tolist() == [5, 5, 0, 0]
    assert np.bincount(drawn, minlength=4)[[0, 2, 3]].tolist() == [10, 40, 0]  # class 0 once; 2 to the limit
    assert 10 < np.bincount(drawn, minlength=4)[1] <= 40 and rounds >= 2
    assert pool.counts["drawn"] == len(drawn) and pool.counts["kept"] == 10
    assert 40 <= pool.counts["filtered_out"] <= len(drawn) - 15  # class 2's all; none of class 0's, 5 of 1's pass


def test_augment_json_names_the_classes_that_fell_short_and_why_and_the_manifest_every_sample(model, monkeypatch,
                                                                                              tmp_path):
    import mdaug.workflows.pools as pools
    from mdaug.sampling.export import MANIFEST, AugmentRecord
    from mdaug.workflows.pools import StrategyChoice, export_with_strategy

    s2, _, _ = model
    monkeypatch.setattr(pools, "load_recognizer", lambda path: (ByMean(), None))
    s = StrategyConfig(name="f", per_real=1.0, filter_confidence=0.5, remove_copies=False)
    choice = StrategyChoice(strategy=s, selected="by hand", recognizer="stand-in")
    r = export_with_strategy(s2, tmp_path / "syn", 3, choice, seed=0)
    names = s2.class_names
    assert AugmentRecord.read(tmp_path / "syn") == r
    got = {n: 3 for n in names} | r.short
    assert r.samples == sum(got.values()) and r.short and all(v < 3 for v in r.short.values())
    assert names[2] in r.short and names[0] not in r.short  # class 2 is never named by the stand-in
    assert "filter recogniser with confidence 0.5" in r.shortfall() and f"{len(r.short)} of 4 classes" in r.shortfall()
    rows = (tmp_path / "syn" / MANIFEST).read_text().splitlines()[1:]
    assert len(rows) == r.samples
    ids = (tmp_path / "syn" / "manifest.csv").read_text().splitlines()[1:]
    assert len(ids) == r.samples and not any(".png" in line.split(",")[0] for line in ids)  # no file it lacks
