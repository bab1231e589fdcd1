"""How synthetic samples enter a recogniser's batches: one pool, a fixed share, or first alone then real alone."""

import numpy as np
import pytest

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.training.mixing import MixedBatches


def setup(**train):
    tc = load_config("tiny", [f"recognizer_train.{k}={v}" for k, v in train.items()]).recognizer_train
    rows = np.arange(40)
    synthetic = np.arange(40) >= 24  # 24 real, 16 synthetic
    return MixedBatches(rows, synthetic, tc, seed=3, rank=0, world=1), synthetic


def test_one_pool_mixes_them_as_they_fall():
    mb, syn = setup(batch_size=8)
    seen = np.concatenate([mb.batch(s, s) for s in range(5)])
    assert sorted(seen) == list(range(40))  # one epoch: every row once


def test_a_share_puts_that_many_synthetic_samples_in_every_batch():
    mb, syn = setup(batch_size=8, synthetic_share=0.25)
    for s in range(6):
        b = mb.batch(s, s)
        assert len(b) == 8 and syn[b].sum() == 2


def test_pretraining_on_synthetic_then_real_alone():
    mb, syn = setup(batch_size=8, synthetic_pretrain_steps=3)
    assert all(syn[mb.batch(s, s)].all() for s in range(3))
    assert not any(syn[mb.batch(s, s)].any() for s in range(3, 8))
    assert np.array_equal(mb.batch(5, 5), mb.batch(5, 5))  # a pure function of the step: resumes draw the same


def test_a_share_without_synthetic_samples_is_refused():
    tc = load_config("tiny", ["recognizer_train.synthetic_share=0.5"]).recognizer_train
    with pytest.raises(MdaugError, match="both real and synthetic"):
        MixedBatches(np.arange(10), np.zeros(10, bool), tc, seed=0, rank=0, world=1)


def test_each_process_draws_the_batch_order_of_its_rank_with_the_synthetic_rows_on_the_next_seed():
    from mdaug.training.batches import BatchOrder

    tc = load_config("tiny", ["recognizer_train.batch_size=4"]).recognizer_train
    rows, synthetic = np.arange(40), np.arange(40) >= 24
    for rank in (0, 1):
        pool = MixedBatches(rows, synthetic, tc, seed=3, rank=rank, world=2)
        expected = BatchOrder(rows, 4, seed=3, rank=rank, world=2)
        assert all(np.array_equal(pool.batch(s, s), expected.batch(s)) for s in range(6))
    shared = tc.model_copy(update={"synthetic_share": 0.5})
    mb = MixedBatches(rows, synthetic, shared, seed=3, rank=1, world=2)
    real = BatchOrder(np.arange(24), 2, seed=3, rank=1, world=2)
    syn = BatchOrder(np.arange(24, 40), 2, seed=4, rank=1, world=2)  # seed + 1: not the real rows' order
    for s in range(6):
        assert np.array_equal(mb.batch(s, s), np.concatenate([real.batch(s), syn.batch(s)]))


@pytest.mark.parametrize(("share", "expected"), [(0.01, 1), (0.3, 2), (0.99, 7)])
def test_a_share_keeps_at_least_one_sample_of_each_kind(share, expected):
    mb, syn = setup(batch_size=8, synthetic_share=share)  # round(share * 8), within [1, 7]
    assert [syn[mb.batch(s, s)].sum() for s in range(4)] == [expected] * 4


def test_the_refusal_names_the_settings_to_change():
    tc = load_config("tiny", ["recognizer_train.synthetic_pretrain_steps=2"]).recognizer_train
    with pytest.raises(MdaugError, match=r"^recogniser: a synthetic share or pretraining needs both real and "
                                         r"synthetic samples \(recognizer_train.batch_size, synthetic_\*\)$"):
        MixedBatches(np.arange(10), np.ones(10, bool), tc, seed=0, rank=0, world=1)


def test_synthetic_rows_are_the_samples_named_synthetic():
    from types import SimpleNamespace

    from mdaug.training.mixing import synthetic_rows

    ids = ["p0/s0.mat#0", "synthetic/p0/0", "p1/synthetic/x#1", "synthetic/p1/3"]
    assert synthetic_rows(SimpleNamespace(ids=ids)).tolist() == [False, True, False, True]
    assert synthetic_rows(SimpleNamespace(ids=[])).dtype == bool
