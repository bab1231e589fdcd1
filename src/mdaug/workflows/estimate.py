"""Estimated durations of the pipeline's steps, for its progress display.

Each step's cost is its amount of work (training steps x batch x pixels, samples x sampler steps, ...) times a
rate measured on the reference machine: 2 CPU cores, `mdaug run --config quick` (benchmarks/README.md). On
another machine the rates are wrong by some factor, so the display corrects itself as the run goes: once a
step has run, the rest is scaled by (time taken / time estimated) of the steps run so far. Hand-written
because no library estimates a heterogeneous pipeline; tqdm's own ETA covers the inside of each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mdaug.config import Config, tstr_strategies
from mdaug.workflows.utility.recognisers import evaluation_recogniser_reusable


@dataclass(frozen=True)
class Rates:
    """Seconds per unit on the reference machine (2 CPU cores), measured on the quick preset (64x64, kl)."""

    recognizer: float  # per training image-pixel
    ae: float  # per training image-pixel, channels (32, 64, 64)
    reconstruction: float  # per test image-pixel: reconstruct, PSNR, SSIM, spectra
    diagnose: float  # per dataset image-pixel: encode, probes, neighbours, denoiser
    ldm: float  # per training latent element (with sample grids and checkpoints)
    prior: float  # per training code position (dim 128, depth 3)
    sample: float  # per generated image-pixel per sampler step (with guidance), decode included


RATE = Rates(recognizer=42.0 / (300 * 64 * 64 * 64), ae=0.91 / (16 * 64 * 64), reconstruction=30.0 / (930 * 64 * 64),
             diagnose=48.0 / (4650 * 64 * 64), ldm=0.43 / (64 * 16 * 16 * 4), prior=1.22 / (32 * 16 * 16),
             sample=0.0052 / (64 * 64))
AE_FAMILY = {"kl": 1.0, "vq": 1.07, "vqgan": 1.33, "rq": 1.07, "fsq": 1.0}  # benchmarks/ae_speed.py, 2 cores
REFERENCE_CHANNELS = (32, 64, 64)


def _width(channels: tuple[int, ...]) -> float:
    """Convolution cost of an encoder/decoder with these channels per level, relative to the reference: each
    level costs channels^2 x its pixels, a quarter of the level above."""
    cost = lambda ch: sum(c * c / 4 ** i for i, c in enumerate(ch))  # noqa: E731
    return cost(channels) / cost(REFERENCE_CHANNELS)


def step_costs(cfg: Config, n_samples: int, n_test: int, n_classes: int, *, prior: bool,
               n_train: int | None = None) -> dict[str, float]:
    """Reference seconds for each kind of pipeline step, for a dataset of these sizes."""
    h, w = cfg.data.size or (64, 64)
    px = h * w
    down = 2 ** (len(cfg.ae.block_out_channels or REFERENCE_CHANNELS) - 1)
    latent = cfg.ae.latent_channels * (h // down) * (w // down)
    rt, at, lt, pt = cfg.recognizer_train, cfg.ae_train, cfg.ldm_train, cfg.prior_train
    rec = RATE.recognizer * rt.steps * rt.batch_size * rt.grad_accum * px
    sampling = RATE.sample * px * cfg.ldm.sample_steps
    per_eval = cfg.utility.synthetic_per_class // 2 or 1
    u = cfg.utility
    budgets = [b for b in u.budgets for _ in range(u.seeds)]
    # budget 'all' reuses the pipeline's models; a smaller budget trains its own stage 1 and 2
    gen = sum(0.0 if b == "all" else 1.0 for b in budgets) if u.generative else 0.0
    ae = RATE.ae * at.steps * at.batch_size * at.grad_accum * px * AE_FAMILY.get(cfg.ae.family, 1.0) * \
        _width(tuple(cfg.ae.block_out_channels or REFERENCE_CHANNELS))
    ldm = RATE.ldm * lt.steps * lt.batch_size * lt.grad_accum * latent
    # per (budget, repeat): the real and classical arms, one per strategy, one per synthetic-only guidance (the same
    # guidance twice, e.g. the model's being 1, is drawn once: workflows/utility/budget.py); at 'all',
    # repeat 0 the evaluation recogniser is the real arm when its recipe is the utility one's
    model_guidance = cfg.ldm.guidance_scale if u.generator == "ldm" else cfg.prior.guidance_scale
    tstr = tstr_strategies(u.tstr_guidance, model_guidance)
    # (and the real + classical arm at each lower-SNR dose, the pretrained recogniser's arm)
    per_budget = 1 + len(u.snr_drop_db) + (1 if u.pretrained else 0) + (
        len(u.strategies) + len(tstr) if u.generative else 0)
    recognisers = per_budget * len(budgets) - (1 if "all" in u.budgets and evaluation_recogniser_reusable(cfg) else 0)
    train_per_class = (n_train if n_train is not None else 0.6 * n_samples) / n_classes
    # a session budget ('2s') is counted as the whole training split per class: an upper bound
    per_class = lambda b: b if isinstance(b, int) else train_per_class  # noqa: E731
    over = lambda s: 2 if s.filter_confidence or s.filter_named or s.conditions == "fill" else 1  # noqa: E731
    draws = sum(min(s.per_real * per_class(b), u.max_synthetic_per_class) * n_classes * over(s) * s.strength
                for b in budgets for s in (*u.strategies, *tstr)) if u.generative else 0.0
    return {
        "recognizer": rec,
        "ae": ae,
        "reconstruction": RATE.reconstruction * n_test * px,
        "diagnose": RATE.diagnose * n_samples * px,
        "ldm": ldm,
        "ldm_eval": sampling * per_eval * n_classes * 2,  # the samples, then the same again for the ceiling, features
        "conditions": sampling * (240 + 10 * n_classes),  # 3 conditions x 5 values x 8, twice; identity and physics
        "prior": RATE.prior * pt.steps * pt.batch_size * pt.grad_accum * latent / cfg.ae.latent_channels
        if prior else 0.0,
        "prior_eval": sampling * per_eval * n_classes * 2 if prior else 0.0,
        "export": sampling * u.synthetic_per_class * n_classes * 2 + rec,  # drawn twice over, and the filter
        "utility": recognisers * rec + draws * sampling + gen * (ae + ldm),
        "report": 10.0,
    }


@dataclass
class Clock:
    """Estimated seconds per step, corrected by how the steps run so far compared with their estimates."""

    estimates: list[float]
    spent: float = 0.0  # seconds of the steps that ran (not skipped)
    spent_estimated: float = 0.0
    skipped: set[int] = field(default_factory=set)

    @property
    def factor(self) -> float:
        """This machine's speed against the reference, from the steps run so far (1 until one ran)."""
        return self.spent / self.spent_estimated if self.spent_estimated > 30 else 1.0

    def ran(self, i: int, seconds: float) -> None:
        self.spent += seconds
        self.spent_estimated += self.estimates[i]

    def skip(self, i: int) -> None:
        self.skipped.add(i)

    def left(self, i: int) -> float:
        """Estimated seconds for steps i, i+1, ... (skipped ones excluded)."""
        return self.factor * sum(e for j, e in enumerate(self.estimates[i:], i) if j not in self.skipped)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


__all__ = ["AE_FAMILY", "RATE", "Clock", "minutes", "step_costs"]
