"""Tiny-config tests of the class-conditional masked code prior: sampling shapes and determinism, label
dropout, the mask schedule, learning a toy class->code mapping, save/load, and the input checks."""

import math

import pytest
import torch

from mdaug.models.code_prior import CodePrior

K, GRID, CLASSES = 8, (4, 4), 3


@pytest.fixture(autouse=True)
def one_thread():
    """Ops this small run fastest on one thread, and far slower when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(levels: int = 1, **extra) -> CodePrior:
    torch.manual_seed(0)
    kw = dict(codebook_size=K, levels=levels, grid=GRID, num_classes=CLASSES, dim=32, depth=1, heads=2)
    return CodePrior(**(kw | extra))


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("levels", [1, 3])
@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_sample_shapes_and_values(levels, guidance):
    m = tiny(levels).eval()
    labels = torch.tensor([0, 1, 2, m.null_class])
    out = m.sample(labels, steps=3, guidance_scale=guidance, generator=gen(0))
    assert out.dtype == torch.int64
    assert out.shape == ((4, *GRID) if levels == 1 else (4, *GRID, levels))
    assert out.min() >= 0 and out.max() < K  # no [MASK] (= K) left
    # more steps than positions still decodes everything
    out = m.sample(labels[:1], steps=20, temperature=0.0, generator=gen(0))
    assert out.min() >= 0 and out.max() < K


@pytest.mark.parametrize("levels", [1, 2])
def test_decoding_follows_the_cosine_schedule(levels):
    """Each step's input has floor(n * cos(pi/2 * t / steps)) masked positions, and what is fixed stays."""
    m = tiny(levels).eval()
    seen = []
    m.token_embeddings[-1].register_forward_hook(lambda mod, args, out: seen.append(args[0].clone()))
    out = m.sample(torch.tensor([0, 1, 2]), steps=4, generator=gen(3))
    n = GRID[0] * GRID[1]
    assert [int((s == m.mask_token).sum(1).max()) for s in seen] == [16, 14, 11, 6]
    assert [int((s == m.mask_token).sum(1).min()) for s in seen] == [16, 14, 11, 6]
    final = out.reshape(3, n, levels)[..., -1]
    for s in seen:
        fixed = s != m.mask_token
        assert torch.equal(s[fixed], final[fixed])


@pytest.mark.parametrize("levels", [1, 2])
def test_sample_is_deterministic_per_seed(levels):
    m = tiny(levels).eval()
    labels = torch.tensor([0, 1, 2, 0])
    a = m.sample(labels, steps=4, guidance_scale=2.0, generator=gen(7))
    torch.manual_seed(123)  # the global RNG plays no part
    b = m.sample(labels, steps=4, guidance_scale=2.0, generator=gen(7))
    c = m.sample(labels, steps=4, guidance_scale=2.0, generator=gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_label_dropout_rate():
    m = tiny(cond_drop_prob=0.3).train()
    labels = torch.arange(20000) % CLASSES
    torch.manual_seed(1)
    dropped = m.drop_labels(labels)
    is_null = dropped == m.null_class
    assert abs(is_null.float().mean().item() - 0.3) < 0.02
    assert torch.equal(dropped[~is_null], labels[~is_null])  # the others are kept as they were
    assert torch.equal(m.eval().drop_labels(labels), labels)  # never in eval
    assert torch.equal(tiny(cond_drop_prob=0.0).train().drop_labels(labels), labels)


def test_mask_schedule():
    n = GRID[0] * GRID[1]
    r = torch.cat([torch.tensor([0.0, 1.0, 1 - 1e-7]), torch.rand(1000)])
    counts = CodePrior.mask_count(CodePrior.mask_ratio(r), n)
    assert counts.dtype == torch.int64 and counts.min() >= 1 and counts.max() <= n
    assert counts[0] == n and counts[1] == 1  # r=0 masks everything, r=1 still one position
    assert CodePrior.mask_count(torch.tensor(0.5), n) == 8
    # the mean masked fraction of the cosine schedule is 2/pi (plus the ceil's rounding up)
    assert abs(counts[3:].float().mean().item() / n - 2 / math.pi) < 0.06

    # training masks whole stacks, between 1 and n per sample, and logs the realised ratio
    m = tiny(levels=3).train()
    seen = []
    m.token_embeddings[0].register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    m.token_embeddings[2].register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    idx = torch.randint(0, K, (64, *GRID, 3))
    _, logs = m.training_loss(idx, torch.randint(0, CLASSES, (64,)))
    first, last = (s == m.mask_token for s in seen)
    assert torch.equal(first, last)
    per_sample = first.sum(1)
    assert per_sample.min() >= 1 and per_sample.max() <= n
    assert logs["mask_ratio"] == pytest.approx(per_sample.sum().item() / (64 * n))
    assert set(logs) == {"ce", "masked_accuracy", "mask_ratio"}


@pytest.mark.parametrize("levels", [1, 2])
def test_learns_class_to_code(levels):
    """Class c always has every code equal to c: the prior must learn it and sample it back."""
    m = tiny(levels, dropout=0.0).train()
    labels = torch.arange(24) % CLASSES
    idx = labels[:, None, None, None].expand(24, *GRID, levels).clone()
    if levels == 1:
        idx = idx[..., 0]  # the (b, h, w) form for vq/fsq
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss, _ = m.training_loss(idx, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.2 * sum(losses[:5]) / 5
    m.eval()
    out = m.sample(labels, steps=4, guidance_scale=1.0, generator=gen(0))
    want = labels.view(-1, *[1] * (out.dim() - 1)).expand_as(out)
    assert (out == want).float().mean() > 0.9


def test_save_load_round_trip(tmp_path):
    m = tiny(levels=2).eval()
    m.save_pretrained(tmp_path / "prior")
    loaded = CodePrior.from_pretrained(tmp_path / "prior").eval()
    assert loaded.config.grid in (GRID, list(GRID)) and loaded.config.levels == 2
    labels = torch.tensor([0, 2, 1])
    a = m.sample(labels, steps=3, guidance_scale=2.0, generator=gen(5))
    b = loaded.sample(labels, steps=3, guidance_scale=2.0, generator=gen(5))
    assert torch.equal(a, b)


def test_training_loss_calls_the_wrapped_net():
    """The trainer passes its DDP-wrapped model as `net`: the forward that runs must be that one."""
    m = tiny(levels=2).train()
    calls = []

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, tokens, labels):
            calls.append(tokens.shape)
            return self.inner(tokens, labels)

    idx = torch.randint(0, K, (5, *GRID, 2))
    torch.manual_seed(4)
    a, _ = m.training_loss(idx, torch.arange(5) % CLASSES, net=Wrapper(m))
    torch.manual_seed(4)
    b, _ = m.training_loss(idx, torch.arange(5) % CLASSES)
    assert calls == [(5, *GRID, 2)]
    assert torch.equal(a, b)


def test_bad_inputs_raise():
    m = tiny(levels=1)
    labels = torch.tensor([0, 1])
    good = torch.randint(0, K, (2, *GRID))
    m.training_loss(good, labels)
    m.training_loss(good[..., None], labels)  # (b, h, w, 1) is accepted for levels=1
    with pytest.raises(ValueError, match="must lie in"):
        m.training_loss(good.masked_fill(good == good[0, 0, 0], K), labels)  # [MASK] is no code
    with pytest.raises(ValueError, match="must lie in"):
        m.training_loss(good - K, labels)
    with pytest.raises(ValueError, match="shape"):
        m.training_loss(torch.zeros(2, 4, 5, dtype=torch.long), labels)  # wrong grid
    with pytest.raises(ValueError, match="shape"):
        tiny(levels=2).training_loss(good, labels)  # rq needs the levels axis
    with pytest.raises(ValueError, match="labels"):
        m.training_loss(good, torch.tensor([0, CLASSES + 1]))
    with pytest.raises(ValueError, match="labels"):
        m.training_loss(good, torch.tensor([0]))
    with pytest.raises(ValueError, match="steps"):
        m.sample(labels, steps=0)
    with pytest.raises(ValueError, match="guidance_scale"):
        m.sample(labels, guidance_scale=-1.0)
