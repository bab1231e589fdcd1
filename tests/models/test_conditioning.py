"""Recording conditions in stage 2: specs from training values, the embedding (zero at the start, unknown is its
own vector, not zero), independent dropping, requests by name with their ranges, and a denoiser that learns what a
condition does."""

import math

import numpy as np
import pytest
import torch

from mdaug.errors import MdaugError
from mdaug.models.conditioning import (
    ConditionSpec,
    carried,
    choose_specs,
    drop_conditions,
    encode_table,
    parse_request,
    request_row,
    spec_of,
)
from mdaug.models.ldm import LatentDiffusion
from mdaug.models.stage2 import stage2_kind

SMALL = dict(latent_channels=2, grid=(4, 4), block_out_channels=(16, 32), attention=(False, False), norm_num_groups=8)


def specs():
    return [spec_of("speed_mps", np.array([1.0, 1.2, 1.6, 2.0, np.nan])),
            spec_of("cycle_s", np.array([0.9, 1.0, 1.1, 1.2, 1.0])),
            spec_of("arms", np.array(["swing", "pockets", "", "swing", "box"], dtype=object))]


def test_specs_come_from_the_known_training_values():
    s, c, a = specs()
    assert (s.kind, s.low, s.high, s.center) == ("numeric", 1.0, 2.0, pytest.approx(1.4))
    assert s.scale == pytest.approx((np.quantile([1, 1.2, 1.6, 2], 0.95) - np.quantile([1, 1.2, 1.6, 2], 0.05)) / 2)
    assert a.kind == "category" and a.values == ("box", "pockets", "swing")  # '' is unknown, not a category
    assert spec_of("x", np.array([3.0, 3.0, np.nan])) is None and spec_of("y", np.array(["a", "a", ""], object)) is None
    assert ConditionSpec.from_json(a.to_json()) == a and ConditionSpec.from_json(s.to_json()) == s
    table = encode_table([s, a], {"speed_mps": np.array([1.5, np.nan]), "arms": np.array(["box", "hat"], object)}, 2)
    assert table[0].tolist() == [1.5, 0.0] and np.isnan(table[1]).all()  # an unseen category is unknown
    assert np.isnan(encode_table([s], {}, 3)).all()


def test_choosing_conditions_by_name():
    values = {"speed_mps": np.array([1.0, 2.0]), "flat": np.array([1.0, 1.0]),
              "who": np.array([f"n{i}" for i in range(20)], object)}
    assert [s.name for s in choose_specs(values, ["speed_mps", "flat", "who", "gone"], strict=False)] == ["speed_mps"]
    with pytest.raises(MdaugError, match="'gone', which the data's recordings do not have"):
        choose_specs(values, ["gone"], strict=True)
    with pytest.raises(MdaugError, match="do not vary"):
        choose_specs(values, ["flat"], strict=True)
    with pytest.raises(MdaugError, match="name per recording"):
        choose_specs(values, ["who"], strict=True)


def test_requests_by_name_within_the_known_range():
    sp = specs()
    assert parse_request(sp, ["speed=1.5", "arms=box"]) == {"speed_mps": 1.5, "arms": "box"}
    assert parse_request(sp, {"cycle_s": 1.0}) == {"cycle_s": 1.0}
    row = request_row(sp, {"speed_mps": 1.5, "arms": "box"})
    assert row[0] == 1.5 and math.isnan(row[1]) and row[2] == 0.0
    assert parse_request(sp, ["speed=2.09"]) == {"speed_mps": 2.09}  # within a tenth of the range beyond it
    for bad, needle in [(["speed=2.2"], r"outside what this model knows \(1 to 2\)"),
                        (["speed=nan"], "outside"), (["speed=fast"], "takes a number"),
                        (["arms=hat"], "one of box, pockets, swing"), (["height=2"], "speed_mps 1 to 2"),
                        (["speed1.6"], "NAME=VALUE"), (["speed=1.5", "speed_mps=1.6"], "twice")]:
        with pytest.raises(MdaugError, match=needle):
            parse_request(sp, bad)
    two = [ConditionSpec("speed_mps", "numeric", low=1, high=2), ConditionSpec("speed_hz", "numeric", low=1, high=2)]
    with pytest.raises(MdaugError, match="matches several"):
        parse_request(two, ["speed=1"])
    with pytest.raises(MdaugError, match="trained without conditions"):
        parse_request([], ["speed=1"])


def test_each_condition_is_dropped_on_its_own_and_sometimes_all_together():
    torch.manual_seed(0)
    v = torch.ones(20000, 3)
    d = drop_conditions(v, 0.2, 0.25)
    gone = torch.isnan(d)
    # a value survives only when neither its own draw nor its row's drops it: 0.8 * 0.75
    assert gone.float().mean().item() == pytest.approx(1 - 0.8 * 0.75, abs=0.01)
    assert gone.all(1).float().mean().item() == pytest.approx(0.25 + 0.75 * 0.2 ** 3, abs=0.01)
    # the two columns drop independently apart from the shared row drop
    kept = ~gone.all(1)
    assert (gone[kept, 0] & gone[kept, 1]).float().mean().item() == pytest.approx(0.2 * 0.2 / (1 - 0.2 ** 3),
                                                                                     abs=0.01)
    assert torch.equal(drop_conditions(v, 0, 0), v)


def test_a_model_with_conditions_starts_as_the_model_it_is_loaded_from_and_unknown_is_not_zero():
    torch.manual_seed(0)
    plain = LatentDiffusion(num_classes=3, **SMALL).eval()
    model = LatentDiffusion(num_classes=3, conditions=[s.to_json() for s in specs()], **SMALL).eval()
    stage2_kind("ldm").load_start(model, plain.state_dict())
    x, t = torch.randn(4, 2, 4, 4), torch.tensor([5, 100, 500, 900])
    y = torch.tensor([0, 1, 2, 0])
    c = torch.tensor([[1.2, 1.0, 0.0], [float("nan"), 0.9, 2.0], [2.0, float("nan"), float("nan")], [1.0] * 3])
    null = torch.full_like(y, 3)  # 'no class' of the new model starts from the plain model's
    with torch.no_grad():
        assert torch.allclose(model(x, t, y, c), model(x, t, null), atol=1e-6)
        assert torch.allclose(model(x, t, null), plain(x, t, torch.full_like(y, 3)), atol=1e-6)
        # once trained, a value and 'unknown' differ, and unknown is not the value zero
        for enc in model.unet.class_embedding.encoders:
            for p in enc.parameters():
                p.add_(torch.randn_like(p) * 0.5)
        nan = torch.full((4, 3), float("nan"))
        zero = torch.zeros(4, 3)
        assert not torch.allclose(model(x, t, y, nan), model(x, t, y, zero), atol=1e-4)
        assert not torch.allclose(model(x, t, y, c), model(x, t, y, nan), atol=1e-4)
        assert torch.allclose(model(x, t, y, None), model(x, t, y, nan))
    with pytest.raises(ValueError, match="takes no conditions"):
        plain(x, t, y, c)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        model(x, t, y, c[:, :2])


def test_a_start_that_knows_a_condition_gives_its_encoder_and_its_scaling():
    start = specs()  # speed_mps, cycle_s, arms (box|pockets|swing)
    mine = [spec_of("snr_db", np.array([0.0, 10.0, 20.0])),
            spec_of("speed_mps", np.array([1.4, 1.5, 1.7])),
            spec_of("arms", np.array(["swing", "box"], dtype=object)),  # other categories: a new encoder
            spec_of("cycle_s", np.array([1.0, 1.3]))]
    out, carry = carried(mine, start)
    assert carry == {1: 0, 3: 1}
    assert out[0] == mine[0] and out[2] == mine[2]
    # scaled as the start reads it, the range this data's
    assert (out[1].center, out[1].scale) == (start[0].center, start[0].scale) != (mine[1].center, mine[1].scale)
    assert (out[1].low, out[1].high) == (1.4, 1.7) and (out[3].low, out[3].high) == (1.0, 1.3)

    torch.manual_seed(0)
    old = LatentDiffusion(num_classes=3, conditions=[s.to_json() for s in start], **SMALL).eval()
    with torch.no_grad():
        for p in old.unet.class_embedding.encoders.parameters():
            p.add_(torch.randn_like(p))
    new = LatentDiffusion(num_classes=5, conditions=[s.to_json() for s in out], **SMALL).eval()
    stage2_kind("ldm").load_start(new, old.state_dict(), carry)
    a, b = old.unet.class_embedding.encoders, new.unet.class_embedding.encoders
    v = torch.tensor([1.45, 1.9, float("nan")])
    with torch.no_grad():
        assert torch.equal(b[1](v), a[0](v)) and torch.equal(b[3](v), a[1](v))
        assert not b[0](v).any() and not b[2](torch.tensor([0.0, 1.0])).any()  # new encoders: zero
    # the same load without carrying: every encoder new
    fresh = LatentDiffusion(num_classes=5, conditions=[s.to_json() for s in out], **SMALL).eval()
    stage2_kind("ldm").load_start(fresh, old.state_dict())
    with torch.no_grad():
        assert not fresh.unet.class_embedding.encoders[1](v).any()


def test_the_denoiser_learns_what_a_condition_does():
    """Latents whose mean is the condition (and the class adds nothing): after training, samples asked for a value
    have that mean, and samples asked for nothing spread over the values."""
    torch.manual_seed(0)
    spec = ConditionSpec("level", "numeric", center=0.0, scale=1.0, low=-1.5, high=1.5)
    model = LatentDiffusion(num_classes=2, conditions=[spec.to_json()], num_train_timesteps=100,
                            condition_drop_prob=0.1, condition_drop_all=0.1, **SMALL)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(250):
        level = torch.empty(64).uniform_(-1.5, 1.5)
        z = level.view(-1, 1, 1, 1) + 0.1 * torch.randn(64, 2, 4, 4)
        loss, _ = model.training_loss(z, torch.randint(0, 2, (64,)), conditions=level[:, None])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    g = torch.Generator().manual_seed(1)
    y = torch.zeros(32, dtype=torch.long)
    means = {}
    for v in (-1.0, 1.0):
        z = model.sample(y, steps=20, guidance_scale=1.0, sampler="ddim", generator=g,
                         conditions=torch.full((32, 1), v))
        means[v] = z.mean((1, 2, 3))
    assert means[-1.0].median().item() == pytest.approx(-1.0, abs=0.3)
    assert means[1.0].median().item() == pytest.approx(1.0, abs=0.3)
    free = model.sample(torch.zeros(64, dtype=torch.long), steps=20, guidance_scale=1.0, sampler="ddim",
                        generator=g).mean((1, 2, 3))
    assert free.std().item() > 0.4  # asked for nothing: the spread of the training levels


def test_guidance_is_on_the_person_at_the_conditions_asked():
    """The unconditional branch keeps the conditions and drops the person: a model whose people are all 'no class'
    samples alike at every guidance when conditions are asked, and guidance acts once a person differs."""
    torch.manual_seed(0)
    model = LatentDiffusion(num_classes=2, conditions=[s.to_json() for s in specs()], num_train_timesteps=50,
                            **SMALL).eval()
    with torch.no_grad():
        for p in model.unet.class_embedding.encoders.parameters():
            p.add_(torch.randn_like(p))
        table = model.unet.class_embedding.weight
        table[:] = table[-1:]  # every person is 'no class'
    y = torch.tensor([0, 1])
    c = torch.tensor([[1.2, 1.0, 0.0], [1.8, float("nan"), 2.0]])

    def draw(g: float) -> torch.Tensor:
        return model.sample(y, steps=5, guidance_scale=g, sampler="ddim", generator=torch.Generator().manual_seed(0),
                            conditions=c)

    assert torch.allclose(draw(1.0), draw(5.0), atol=1e-5)
    with torch.no_grad():
        model.unet.class_embedding.weight[0] += 1.0
    assert not torch.allclose(draw(1.0), draw(5.0), atol=1e-3)


def test_a_person_known_by_their_recordings_adds_nothing_at_first_and_nothing_to_no_class():
    from mdaug.models import Recognizer
    from mdaug.runs.identity import identity_features

    torch.manual_seed(0)
    model = LatentDiffusion(num_classes=3, person_features=4, **SMALL).eval()
    plain = LatentDiffusion(num_classes=3, **SMALL).eval()
    stage2_kind("ldm").load_start(model, plain.state_dict())
    feats = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    model.set_person_features(feats)
    emb = model.unet.class_embedding
    assert torch.equal(emb.person_features[:3], feats) and not emb.person_features[3].any()
    y = torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        # every class starts from the start's 'no class' row, and the identity encoder ends in zeros
        assert torch.allclose(emb(y), plain.unet.class_embedding(torch.full_like(y, 3)))
        for p in emb.person.parameters():
            p.add_(torch.randn_like(p))
        emb.weight[:] = emb.weight[-1:]  # every row alike: only the recordings tell the people apart
        out = emb(y)
    assert not torch.allclose(out[0], out[1]) and torch.equal(out[3], emb.weight[3])  # no class: its row alone
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        model.set_person_features(torch.zeros(2, 4))
    # the features: each class's mean embedding, unit length; a class without spectrograms zeros
    rec = Recognizer(num_classes=2).eval()
    x = np.random.default_rng(0).uniform(-1, 1, (5, 1, 32, 32)).astype(np.float32)
    labels = np.array([0, 0, 1, 1, 1])
    f = identity_features(rec, x, labels, 3, batch_size=2)
    with torch.no_grad():
        e = rec.embed(torch.from_numpy(x))
    assert torch.allclose(f[0], torch.nn.functional.normalize(e[:2].mean(0), dim=0), atol=1e-6)
    assert torch.allclose(f[1], torch.nn.functional.normalize(e[2:].mean(0), dim=0), atol=1e-6)
    assert not f[2].any()


def test_another_persons_session_is_asked_without_their_gait_cycle():
    from mdaug.evaluation.conditions_control import asked_conditions

    sp = specs()  # speed_mps, cycle_s, arms
    values = {"speed_mps": np.array([1.1, 1.9]), "cycle_s": np.array([0.9, 1.2]),
              "arms": np.array(["box", "swing"], dtype=object)}
    table = asked_conditions(sp, values, np.array([1]))
    assert table[0, 0] == pytest.approx(1.9) and math.isnan(table[0, 1]) and table[0, 2] == 2.0
