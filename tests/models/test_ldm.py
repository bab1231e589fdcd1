"""The class-conditional latent diffusion model: shapes, determinism per seed for every sampler, label
dropout, guidance, save/load, and that training actually fits a class-dependent latent distribution."""

import pytest
import torch

from mdaug.models.ldm import SAMPLERS, LatentDiffusion


def tiny(**kw):
    args = dict(latent_channels=2, grid=(8, 8), num_classes=3, block_out_channels=(16, 32), attention=(False, True),
                norm_num_groups=8, num_train_timesteps=100, cond_drop_prob=0.2)
    return LatentDiffusion(**(args | kw))


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samples_have_the_latent_shape_and_depend_only_on_the_seed(sampler):
    torch.manual_seed(0)
    m = tiny().eval()
    y = torch.tensor([0, 1, 2, 1])
    a = m.sample(y, steps=4, guidance_scale=2.0, sampler=sampler, generator=torch.Generator().manual_seed(5))
    b = m.sample(y, steps=4, guidance_scale=2.0, sampler=sampler, generator=torch.Generator().manual_seed(5))
    c = m.sample(y, steps=4, guidance_scale=2.0, sampler=sampler, generator=torch.Generator().manual_seed(6))
    assert a.shape == (4, 2, 8, 8) and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_label_dropout_rate_and_none_in_eval():
    m = tiny(cond_drop_prob=0.3).train()
    torch.manual_seed(1)
    dropped = m.drop_labels(torch.zeros(20000, dtype=torch.long))
    rate = (dropped == m.null_class).float().mean().item()
    assert abs(rate - 0.3) < 0.015
    assert set(dropped.unique().tolist()) == {0, m.null_class}
    assert torch.equal(m.eval().drop_labels(torch.zeros(100, dtype=torch.long)), torch.zeros(100, dtype=torch.long))


def test_guidance_one_skips_the_unconditional_branch_and_guidance_changes_samples():
    torch.manual_seed(0)
    m = tiny().eval()
    calls = []
    m.unet.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape[0]))
    y = torch.tensor([0, 1])
    g1 = m.sample(y, steps=3, guidance_scale=1.0, sampler="ddim", generator=torch.Generator().manual_seed(0))
    assert calls == [2, 2, 2]
    calls.clear()
    g3 = m.sample(y, steps=3, guidance_scale=3.0, sampler="ddim", generator=torch.Generator().manual_seed(0))
    assert calls == [4, 4, 4] and not torch.allclose(g1, g3)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    m = tiny(prediction_type="epsilon", beta_schedule="linear").eval()
    m.save_pretrained(tmp_path)
    m2 = LatentDiffusion.from_pretrained(tmp_path).eval()
    assert m2.config.prediction_type == "epsilon" and m2.config.beta_schedule == "linear"
    y = torch.tensor([2, 0])
    a = m.sample(y, steps=3, sampler="dpm++", generator=torch.Generator().manual_seed(1))
    b = m2.sample(y, steps=3, sampler="dpm++", generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_bad_sampling_arguments_are_refused():
    m = tiny().eval()
    y = torch.tensor([0])
    with pytest.raises(ValueError, match="steps"):
        m.sample(y, steps=0)
    with pytest.raises(ValueError, match="steps"):
        m.sample(y, steps=101)
    with pytest.raises(ValueError, match="guidance"):
        m.sample(y, steps=2, guidance_scale=-1)
    with pytest.raises(ValueError, match="sampler"):
        m.sample(y, steps=2, sampler="euler")


@pytest.mark.parametrize("prediction_type,schedule", [("epsilon", "scaled_linear"),
                                                      ("v_prediction", "squaredcos_cap_v2")])
def test_training_learns_class_dependent_latents(prediction_type, schedule):
    """Class c's latents are the constant (c - 1) * 1.5 plus small noise; after a short training most guided
    samples of each class lie nearest their own class's value."""
    torch.manual_seed(0)
    m = tiny(num_classes=3, latent_channels=1, grid=(4, 4), block_out_channels=(16, 16), attention=(False, False),
             cond_drop_prob=0.1, prediction_type=prediction_type, beta_schedule=schedule, num_train_timesteps=1000)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    first = None
    for _ in range(250):
        y = torch.randint(0, 3, (32,))
        x = ((y.float() - 1) * 1.5).view(-1, 1, 1, 1) + 0.1 * torch.randn(32, 1, 4, 4)
        loss, logs = m.training_loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else logs["mse"]
    assert logs["mse"] < 0.5 * first
    m.eval()
    y = torch.arange(3).repeat_interleave(16)
    z = m.sample(y, steps=20, guidance_scale=1.5, sampler="dpm++", generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([-1.5, 0.0, 1.5])
    nearest = (z.mean(dim=(1, 2, 3))[:, None] - targets[None]).abs().argmin(dim=1)
    assert (nearest == y).float().mean() >= 0.8, z.mean(dim=(1, 2, 3))
