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


def test_each_operation_does_what_it_says_and_nothing_is_flipped_unless_asked():
    x, y = batch()
    off = dict(time_shift=0, time_mask=0, doppler_mask=0, floor_raise=0, gain=0, blur_max=0, mixup=0,
               doppler_mirror=0)
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


def test_the_doppler_mirror_reverses_about_the_given_zero_and_only_for_direction_free_labels():
    from mdaug.config import load_config
    from mdaug.training.recognizer import classical_augmentation

    x, y = batch()
    only = dict(time_shift=0, time_mask=0, doppler_mask=0, floor_raise=0, gain=0, blur_max=0, mixup=0)
    always = ClassicalAugment(ClassicalAugmentConfig(**only, doppler_mirror=1.0), torch.Generator().manual_seed(2),
                              zero_row=7.5)(x, y)
    torch.testing.assert_close(always, x.flip(-2))
    half = ClassicalAugment(ClassicalAugmentConfig(**only, doppler_mirror=0.5), torch.Generator().manual_seed(2),
                            zero_row=7.5)(x, y)
    flipped = [torch.equal(h, f) for h, f in zip(half, x.flip(-2))]
    kept = [torch.equal(h, o) for h, o in zip(half, x)]
    assert all(a != b for a, b in zip(flipped, kept)) and 0 < sum(flipped) < len(x)  # each one or the other
    builtin = load_config("tiny")  # the built-in walkers: people, so direction-free
    assert builtin.data.labels_direction_free() and classical_augmentation(builtin).doppler_mirror == 0.5
    yours = load_config("tiny", ["data.path=/somewhere"])  # a user's labels may be approach / retreat
    assert not yours.data.labels_direction_free() and classical_augmentation(yours).doppler_mirror == 0.0
    people = load_config("tiny", ["data.path=/somewhere", "data.direction_free=true"])
    assert classical_augmentation(people).doppler_mirror == 0.5
