import numpy as np
import torch

from mdaug.training.batches import BatchOrder


def test_the_batch_order_is_a_pure_function_of_the_step_and_shards_disjointly():
    a, b = BatchOrder(np.arange(40), 4, seed=3, rank=0, world=2), BatchOrder(np.arange(40), 4, seed=3, rank=1, world=2)
    for step in (0, 4, 11):  # across epochs
        assert not set(a.batch(step)) & set(b.batch(step))
        assert np.array_equal(a.batch(step), BatchOrder(np.arange(40), 4, seed=3, rank=0, world=2).batch(step))
    assert sorted(np.concatenate([a.batch(s) for s in range(5)] + [b.batch(s) for s in range(5)])) == list(range(40))


def test_augmentation_streams_are_independent_and_stream_zero_is_the_original_seed():
    order = BatchOrder(np.arange(40), 4, seed=3)
    base = (3 * 7_919 + 5) * 1_009 + 0  # the formula every earlier run used: kept, so resumed runs stay exact
    assert order.generator(5).initial_seed() == base
    draws = [torch.rand(4, generator=order.generator(5, s)) for s in (0, 1, 2)]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
    torch.testing.assert_close(torch.rand(4, generator=order.generator(5, 1)), draws[1])
