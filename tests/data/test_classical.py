"""The classical-augmentation baseline keeps what the label means."""

import pytest
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


OFF = dict(time_shift=0, time_mask=0, doppler_mask=0, floor_raise=0, gain=0, blur_max=0, mixup=0, doppler_mirror=0)


def gen(seed=2):
    return torch.Generator().manual_seed(seed)


def alone(x, y, seed=2, noise=None, zero_row=None, **on):
    """ClassicalAugment with only the operations `on` switched on."""
    return ClassicalAugment(ClassicalAugmentConfig(**(OFF | on)), gen(seed), noise=noise, zero_row=zero_row)(x, y)


def test_mixup_mixes_distinct_samples_with_the_drawn_classmate_by_the_drawn_weight():
    x, y = batch(12)  # every sample distinct: a mix with anything but the drawn classmate would show
    y[11] = 9  # alone in its class
    mixed = mix_within_class(x, y, 1.0, gen(1))
    g = gen(1)  # the draws in their order: who mixes, the partner's lottery, the weight
    torch.rand(12, generator=g)
    pick = torch.rand(12, 12, generator=g)
    w = 0.5 + 0.5 * torch.rand(12, generator=g)
    for i in range(11):
        classmates = [j for j in range(12) if y[j] == y[i] and j != i]
        j = max(classmates, key=lambda k: pick[i, k])
        torch.testing.assert_close(mixed[i], w[i] * x[i] + (1 - w[i]) * x[j])
    assert torch.equal(mixed[11], x[11])
    assert 0.5 <= w.min() and w.max() < 1 and not torch.equal(mixed, x)


def test_mixup_mixes_the_drawn_share_and_draws_nothing_when_off():
    x, y = batch(16)
    mixed = mix_within_class(x, y, 0.5, gen(4))
    drawn = torch.rand(16, generator=gen(4)) < 0.5
    changed = (mixed != x).flatten(1).any(1)
    assert torch.equal(changed, drawn) and 0 < drawn.sum() < 16
    g = gen(4)
    assert mix_within_class(x, y, 0.0, g) is x
    assert torch.equal(g.get_state(), gen(4).get_state())  # p = 0 leaves the generator where it was


def test_an_augmentation_with_everything_off_draws_nothing_and_the_same_generator_gives_the_same_batch():
    x, y = batch()
    g = gen(2)
    assert torch.equal(ClassicalAugment(ClassicalAugmentConfig(**OFF), g)(x, y), x)
    assert torch.equal(g.get_state(), gen(2).get_state())  # an operation switched off takes no random draw
    outs = []
    for global_seed in (0, 1):  # the global RNG must not matter: every draw comes from the given generator
        torch.manual_seed(global_seed)
        outs.append(ClassicalAugment(ClassicalAugmentConfig(snr_drop_db=6.0, snr_drop_p=0.5, doppler_mirror=0.5),
                                     gen(5), noise=bank())(x, y))
    assert torch.equal(*outs)


def test_the_gain_alone_shifts_each_sample_by_one_offset_within_twice_the_gain():
    x, y = batch()
    out = alone(x, y, gain=0.1)
    # gain is a share of the display range, which spans 2 units of [-1, 1]: offsets uniform in [-0.2, 0.2]
    offset = (torch.rand(16, generator=gen(2)) * 2 - 1) * 0.2
    torch.testing.assert_close(out, (x + offset[:, None, None, None]).clamp(-1, 1))
    assert offset.min() < -0.1 and offset.max() > 0.1


def test_the_floor_raise_alone_lifts_the_floor_to_its_drawn_level_with_speckle_and_stays_in_range():
    x, y = batch()
    x[:, :, :8] = -1.0  # half of each spectrogram at the floor
    out = alone(x, y, floor_raise=1.0)
    g = gen(2)
    level = (torch.rand(16, generator=g) * 2.0)[:, None, None, None]  # up to the whole display range
    floor = -1 + level + torch.randn(x.shape, generator=g) * level / 2
    torch.testing.assert_close(out, torch.maximum(x, floor.clamp(-1, 1)))
    assert out.max() <= 1 and (out[:, :, :8] > -1).float().mean() > 0.5


def test_the_masks_alone_set_the_drawn_spans_to_the_floor():
    from mdaug.data.classical import _mask_spans

    x, y = batch()
    for on, spans in (({"time_mask": 0.5}, lambda g: _mask_spans(16, 24, 0.5, g)[:, None, None, :]),
                      ({"doppler_mask": 0.5}, lambda g: _mask_spans(16, 16, 0.5, g)[:, None, :, None])):
        torch.testing.assert_close(alone(x, y, **on), torch.where(spans(gen(2)), -1.0, x))
    g = gen(2)  # both: the time span's draws first, then the Doppler band's, either one masks
    both = _mask_spans(16, 24, 0.3, g)[:, None, None, :] | _mask_spans(16, 16, 0.4, g)[:, None, :, None]
    torch.testing.assert_close(alone(x, y, time_mask=0.3, doppler_mask=0.4), torch.where(both, -1.0, x))


def test_a_mask_span_is_one_run_of_the_drawn_width_and_start():
    from mdaug.data.classical import _mask_spans

    spans = _mask_spans(200, 20, 0.5, gen(7))
    g = gen(7)
    width = (torch.rand(200, generator=g) * 10).long()
    start = (torch.rand(200, generator=g) * (20 - width + 1)).long()
    for s, w, a in zip(spans, width, start):
        assert s.sum() == w and (w == 0 or (s[a:a + w].all() and s.nonzero()[0] == a))
    assert width.max() == 9 and width.min() == 0 and (start + width).max() == 20  # up to half, to the last bin


def test_shift_blur_and_mirror_alone_are_the_transforms_with_the_augmenters_draws():
    from mdaug.data.transforms import mirror_doppler, random_blur, random_time_shift

    x, y = batch()
    torch.testing.assert_close(alone(x, y, time_shift=0.5), random_time_shift(x, 0.5, gen(2)))
    torch.testing.assert_close(alone(x, y, blur_max=1.5), random_blur(x, 1.5, gen(2)))
    # a zero row off the middle: the mirror must use the one given
    torch.testing.assert_close(alone(x, y, zero_row=5.0, doppler_mirror=1.0), mirror_doppler(x, 5.0))
    torch.testing.assert_close(alone(x, y, mixup=1.0), mix_within_class(x, y, 1.0, gen(2)))


def bank():
    from mdaug.data.snr import NoiseBank

    return NoiseBank([torch.empty(6, 24).exponential_(generator=gen(0)).numpy()], 16, 24)


def test_a_lower_snr_alone_drops_the_drawn_share_by_the_drawn_decibels_on_a_40_db_display():
    from mdaug.data.snr import lower_snr

    x, y = batch()
    noise = bank()
    out = ClassicalAugment(ClassicalAugmentConfig(**OFF, snr_drop_db=10.0, snr_drop_p=0.5), gen(2), noise=noise)(x, y)
    g = gen(2)
    drop = torch.rand(16, generator=g, dtype=torch.float64) * 10.0
    drop = torch.where(torch.rand(16, generator=g) < 0.5, drop, torch.zeros_like(drop))
    torch.testing.assert_close(out, lower_snr(x, drop, noise, 40.0, g))
    assert 0 < (out != x).flatten(1).any(1).sum() < 16  # some samples lowered, the others as they were
    half_db = ClassicalAugment(ClassicalAugmentConfig(**OFF, snr_drop_db=0.5, snr_drop_p=1.0), gen(2), noise=noise)
    assert (half_db(x, y) != x).flatten(1).any(1).all()  # any drop above 0 dB is applied
    with pytest.raises(ValueError, match=r"^classical.snr_drop_db needs the data's noise bank "
                                         r"\(NoiseBank.from_data\)$"):
        ClassicalAugment(ClassicalAugmentConfig(snr_drop_db=0.5))
