"""The classical-augmentation baseline keeps what the label means."""

import torch

from mdaug.config import ClassicalAugmentConfig
from mdaug.data.classical import ClassicalAugment, mix_within_class


def batch(n=16):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 16, 24, generator=g) * 2 - 1, torch.arange(n) % 4


def test_mixup_only_mixes_within_a_class():
    x, y = batch()
    x[:, 0] = y[:, None, None].float() / 10  # each class a constant: any cross-class mix would leave that set
    mixed = mix_within_class(x, y, 1.0, torch.Generator().manual_seed(1))
    assert torch.allclose(mixed, x)
    alone = mix_within_class(x[:3], torch.tensor([0, 1, 2]), 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(alone, x[:3])  # nobody to mix with


def test_each_operation_does_what_it_says_and_nothing_is_flipped():
    x, y = batch()
    off = dict(time_shift=0, time_mask=0, doppler_mask=0, floor_raise=0, gain=0, blur_max=0, mixup=0)
    same = ClassicalAugment(ClassicalAugmentConfig(**off), torch.Generator().manual_seed(2))(x, y)
    assert torch.equal(same, x)
    rolled = ClassicalAugment(ClassicalAugmentConfig(**(off | {"time_shift": 0.5})),
                              torch.Generator().manual_seed(2))(x, y)
    torch.testing.assert_close(rolled.sum(-1), x.sum(-1))  # Doppler profile kept: a roll along time, no flip
    raised = ClassicalAugment(ClassicalAugmentConfig(**(off | {"floor_raise": 0.3})),
                              torch.Generator().manual_seed(2))(x, y)
    assert (raised >= x).all() and raised.min() >= -1  # the floor only rises
    masked = ClassicalAugment(ClassicalAugmentConfig(**(off | {"time_mask": 0.5, "doppler_mask": 0.5})),
                              torch.Generator().manual_seed(2))(x, y)
    changed = masked != x
    assert (masked[changed] == -1).all() and changed.any()  # masked bins go to the floor
    full = ClassicalAugment(ClassicalAugmentConfig(), torch.Generator().manual_seed(3))(x, y)
    assert full.shape == x.shape and full.min() >= -1 and full.max() <= 1
