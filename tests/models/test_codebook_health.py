"""Codebook collapse: a large codebook with random init and no restarts ends up with few codes in use; the
default safeguards (k-means init, dead-code restart, L2-normalised codes) keep most of it alive."""

import pytest
import torch
import torch.nn.functional as F

from mdaug.config import load_config
from mdaug.evaluation.health import codebook_stats
from mdaug.models import make_autoencoder
from mdaug.runs.run_data import load_run_data

SAFE = ["ae.kmeans_init=true", "ae.dead_code_threshold=2", "ae.cosine_codes=true"]
PRONE = ["ae.kmeans_init=false", "ae.dead_code_threshold=0", "ae.cosine_codes=false"]


@pytest.fixture(scope="module")
def x():
    ds = load_run_data(load_config("tiny")).dataset
    return torch.from_numpy(ds.x)


def usage_after_training(x, switches, steps=30):
    cfg = load_config(None, ["ae.family=vq", "ae.block_out_channels=[8,16]", "ae.norm_num_groups=8",
                             "ae.codebook_size=128"] + switches).ae
    torch.manual_seed(0)
    m = make_autoencoder(cfg)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        b = x[torch.randperm(len(x), generator=g)[:8]]
        out = m(b)
        loss = F.l1_loss(out.sample, b) + out.reg_losses["commitment"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        idx = m.encode(x).indices
    return codebook_stats(torch.bincount(idx.flatten(), minlength=128)[None].double())


def test_safeguards_keep_the_codebook_in_use(x):
    prone = usage_after_training(x, PRONE)
    safe = usage_after_training(x, SAFE)
    assert safe.codebook_usage_pct > 2 * prone.codebook_usage_pct
    assert safe.perplexity > 2 * prone.perplexity
    assert safe.codebook_usage_pct > 50


def test_codebook_stats_on_constructed_histograms():
    hist = torch.zeros(2, 8, dtype=torch.float64)
    hist[0, :4] = 10  # 4 of 8 codes, uniformly
    hist[1, 0] = 5  # 1 code
    s = codebook_stats(hist)
    assert s.usage_pct_per_level == [50.0, 12.5]
    assert s.codebook_usage_pct == pytest.approx(31.25)
    assert s.perplexity == pytest.approx((4 + 1) / 2)
    assert s.entropy_bits_per_level == pytest.approx([2.0, 0.0])
    assert s.dead_codes == pytest.approx(8 - 2.5)
