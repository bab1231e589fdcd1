"""What each network is: the stage-1 family and its losses, the discriminator, the recogniser and the two
stage-2 models. Keys that only mean something for some families are listed in FAMILY_KEYS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mdaug.config.section import Section

Family = Literal["kl", "vq", "vqgan", "rq", "fsq", "pixels"]
FAMILIES: tuple[str, ...] = ("kl", "vq", "vqgan", "rq", "fsq", "pixels")
QUANTIZED: tuple[str, ...] = ("vq", "vqgan", "rq")
"""Families with a learned codebook (EMA, k-means init, dead-code restart)."""

# Keys that only mean something for some families: setting one for another family is an error (a config
# written for one family loaded into another), and saved configs leave them out.
FAMILY_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "ae": {
        "codebook_size": QUANTIZED, "codebook_dim": QUANTIZED, "cosine_codes": ("vq", "vqgan"),
        "codebook_ema_decay": QUANTIZED, "kmeans_init": QUANTIZED, "dead_code_threshold": QUANTIZED,
        "commitment_weight": QUANTIZED, "num_quantizers": ("rq",), "shared_codebook": ("rq",),
        "fsq_levels": ("fsq",),
    },
    "ae_loss": {"kl_weight": ("kl",), "kl_anneal_steps": ("kl",)},
    "gan": {"*": ("vqgan",)},
}


class AutoencoderConfig(Section):
    """Stage 1: one convolutional encoder/decoder backbone (diffusers blocks) for every family."""

    family: Family = "vqgan"
    """kl (VAE), vq (VQ-VAE), vqgan (VQ-VAE + PatchGAN), rq (residual quantization), fsq, or pixels: no stage 1
    (stage 2 models the spectrograms themselves; the control that shows what a stage 1 costs)."""
    init: str = "auto"
    """Where stage 1 starts. 'pretrained': the model shipped for this family, input size and architecture (trained by
    `mdaug pretrain-ae` on simulated people who are in no built-in dataset; see mdaug/pretrained/), fine-tuned on
    your data. 'scratch': random weights. 'auto': pretrained when a shipped model fits, else scratch (said when the
    run starts, and in its card). Or the path of a finished stage-1 run (or its final/) to fine-tune."""
    block_out_channels: tuple[int, ...] = (32, 64, 64)
    """Channels per resolution level; the latent grid is the input divided by 2^(levels-1)."""
    layers_per_block: int = Field(1, ge=1, le=4)
    norm_num_groups: int = Field(32, ge=1)
    attention: bool = False
    """Self-attention in the bottleneck (slower on CPU; worth it at 256x256)."""
    latent_channels: int = Field(4, ge=1)
    """Channels of the latent grid (kl), or the dimension of each code vector (vq/vqgan/rq/fsq)."""
    codebook_size: int = Field(512, ge=2)
    codebook_dim: int | None = Field(None, ge=1)
    """Look codes up in this many dimensions (a learned projection): low-dimensional codes are used more
    evenly (Yu et al. 2022, ViT-VQGAN). None: the latent_channels themselves."""
    cosine_codes: bool = True
    """vq/vqgan: L2-normalise codes and encoder outputs before the lookup (cosine similarity)."""
    codebook_ema_decay: float = Field(0.95, gt=0, lt=1)
    """Codebook vectors follow their assigned encoder outputs by an exponential moving average."""
    kmeans_init: bool = True
    """Initialise the codebook by k-means on the first batch."""
    dead_code_threshold: float = Field(1.0, ge=0)
    """Codes whose EMA usage count falls below this are restarted from encoder outputs (0: off)."""
    commitment_weight: float = Field(0.25, ge=0)
    """beta on ||sg[z_q] - z_e||^2, the term that pulls the encoder to the codes (van den Oord 2017)."""
    num_quantizers: int = Field(4, ge=1, le=16)
    """rq: levels of residual quantization (Lee et al. 2022)."""
    shared_codebook: bool = False
    """rq: one codebook for all levels instead of one per level."""
    fsq_levels: tuple[int, ...] = (8, 5, 5, 5)
    """fsq: quantization levels per code dimension (Mentzer et al. 2023); the codebook is their product."""

    @field_validator("block_out_channels", "fsq_levels")
    @classmethod
    def _non_empty(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or min(v) < 1:
            raise ValueError("must be a non-empty list of positive integers")
        return v

    @field_validator("fsq_levels")
    @classmethod
    def _fsq_levels(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        # vector-quantize-pytorch's FSQ asserts on a level of 2 (it needs its preserve_symmetry mode, which
        # quantizes differently); the smallest codebook per dimension here is 3 levels
        if min(v) < 3:
            raise ValueError(f"every level must be 3 or more (not {min(v)}): a level of 2 is not supported")
        return v

    @model_validator(mode="after")
    def _groups(self) -> "AutoencoderConfig":
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if bad:
            raise ValueError(f"norm_num_groups {self.norm_num_groups} must divide every block_out_channels entry "
                             f"(not {bad[0]})")
        return self

    @property
    def downsampling(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)


class AutoencoderLossConfig(Section):
    """Stage-1 loss terms (mdaug.losses); each is a pure function, the weights are applied here."""

    reconstruction: Literal["l1", "l2"] = "l1"
    spectral_weight: float = Field(0.1, ge=0)
    """Weight of the error of FFT magnitudes (log) along Doppler and in 2-D: keeps the speckle/noise texture
    and Doppler envelope statistics that an L1 loss blurs."""
    perceptual_weight: float = Field(0.0, ge=0)
    """Weight of the spectrogram perceptual loss (feature distances in a recogniser trained on this data)."""
    perceptual_net: str | None = None
    """Folder of a recogniser from `mdaug train-recognizer --role loss`, or of any model saved with
    save_pretrained whose class has a `features(x)` method; required when perceptual_weight > 0."""
    kl_weight: float = Field(1e-6, ge=0)
    """kl: weight of KL(q(z|x) || N(0, I)) per latent element. Small (as in Rombach et al. 2022): a larger weight
    keeps the posterior noise near the prior's, and each draw z ~ q(z|x) then carries little of the spectrogram
    (diagnose's 'noise-dominated latent'); the scale the latent takes instead is normalised before stage 2."""
    kl_anneal_steps: int = Field(0, ge=0)
    """kl: the KL weight rises linearly from 0 over this many steps (Bowman et al. 2016)."""


class GanConfig(Section):
    """vqgan: the PatchGAN discriminator and how its loss reaches the generator (Esser et al. 2021)."""

    channels: int = Field(64, ge=4)
    layers: int = Field(3, ge=1, le=6)
    """Strided conv layers; each halves the patch grid and widens the receptive field."""
    loss: Literal["hinge", "non_saturating"] = "hinge"
    weight: float = Field(0.5, ge=0)
    """Generator's adversarial weight (times the adaptive weight when that is on)."""
    adaptive_weight: bool = True
    """Scale the adversarial term by ||grad rec|| / ||grad adv|| at the decoder's last layer."""
    disc_start: int = Field(0, ge=0)
    """Step at which the discriminator starts learning."""
    gen_start: int | Literal["auto"] = "auto"
    """Step at which the adversarial loss reaches the generator; must not precede disc_start. 'auto': once
    the reconstruction loss stops improving (see plateau_*), and at least warmup_steps after disc_start. The plateau
    test is unreliable on noisy losses: on the pretraining corpus it fired at step ~140 of 4000 with the
    discriminator still at chance, so vqgan-64x64 was pretrained with 1000 (its card has the command)."""
    warmup_steps: int = Field(100, ge=0)
    """auto: the discriminator trains alone at least this many steps before the generator sees its loss."""
    latest_start: float = Field(0.5, gt=0, le=1)
    """auto: the generator sees the adversarial loss from this fraction of ae_train.steps at the latest, plateau or
    not, so that it acts within the schedule (a plateau test alone can wait until the last steps)."""
    augment: bool = True
    """Differentiable augmentation of everything the discriminator sees, real and generated alike (Zhao et al. 2020,
    DiffAugment), so that a small dataset does not let it memorise the real spectrograms: a circular time shift
    and a gain offset (dB), drawn per sample, and a cutout of augment_cutout."""
    augment_cutout: float = Field(0.0, ge=0, lt=1)
    """With augment: the largest share of the time axis and of the Doppler axis that a cutout (a band set to the
    floor) may hide. 0: no cutout. DiffAugment's cutout blinded the discriminator: on vq-64x64's corpus
    reconstructions, with the time shift and gain offset, a cutout of 0.25 left it at chance after 300 steps (mean
    logit gap between a real spectrogram and its reconstruction 1e-4) where without one it told every held-out pair
    apart (gap 0.45; benchmarks/gan_discriminator.py)."""
    plateau_window: int = Field(50, ge=2)
    """auto: steps compared (mean of the last window against the window before)."""
    plateau_tolerance: float = Field(0.02, ge=0)
    """auto: relative improvement below which the reconstruction counts as plateaued."""
    lr: float | None = Field(None, gt=0)
    """Discriminator learning rate (None: the autoencoder's, ae_train.finetune_lr when stage 1 starts from trained
    weights)."""
    r1_weight: float = Field(0.0, ge=0)
    """R1 gradient penalty on real inputs (Mescheder et al. 2018); helps with few samples."""
    lecam_weight: float = Field(0.0, ge=0)
    """LeCam regularisation (Tseng et al. 2021) for small datasets."""
    lecam_decay: float = Field(0.99, gt=0, lt=1)

    @model_validator(mode="after")
    def _order(self) -> "GanConfig":
        if isinstance(self.gen_start, int) and self.gen_start < self.disc_start:
            raise ValueError(f"gen_start ({self.gen_start}) must not precede disc_start ({self.disc_start}): "
                             "an untrained discriminator's loss damages reconstructions")
        return self


class RecognizerConfig(Section):
    """The compact CNN spectrogram classifier: the perceptual loss's features (role 'loss'), the evaluation's judge
    (role 'eval'), and the recognisers of the utility study. The two roles use different seeds, so the network
    that shapes training never judges it."""

    channels: tuple[int, ...] = (16, 32, 64, 96)
    """Channels of the conv stages (conv, BatchNorm, ReLU, max-pool: each stage halves both axes, so the
    spectrogram must be at least 2^stages bins on each axis)."""
    init: str = "scratch"
    """Where its weights start. 'scratch': random. 'pretrained': the recogniser shipped with mdaug for this input
    size and architecture (trained by `mdaug pretrain-recognizer` on simulated people who are in no built-in
    dataset, under many radars and conditions; mdaug/pretrained/), its conv stages kept and a new head for your
    classes. Or the path of a finished recogniser run to start from the same way."""
    dropout: float = Field(0.3, ge=0, lt=1)
    select_on: Literal["val", "carve_out"] = "val"
    """What picks the best step: 'val', the dataset's validation split (other recording sessions than training, so
    what predicts new sessions), or 'carve_out', val_fraction of the training split held back (the same sessions;
    also used when the data has no validation split)."""
    val_fraction: float = Field(0.15, ge=0, lt=1)
    """select_on=carve_out: share of the training split held back to pick the best step (drawn with the role's
    seed)."""
    classical: bool = False
    """Train with the classical augmentation of classical.* instead of augment.*: the baseline arm of the utility
    study (the one a generative arm has to beat), and a sound recipe for your own recogniser."""
    blur_max: float = Field(1.5, ge=0)
    """The evaluation recogniser (role 'eval') only: blur each training spectrogram with a Gaussian of sigma
    uniform in [0, blur_max] bins (0: off), so that it also knows smooth spectrograms and can judge generated
    ones (see mdaug.data.transforms.random_blur; benchmarks/README.md for the measured choice). Not for role 'loss',
    whose features must keep telling blur apart, nor for the utility recognisers, which stand for a user's
    recogniser and keep the plain recipe."""


class LatentDiffusionConfig(Section):
    """Stage 2: a class-conditional denoiser (diffusers UNet2DModel with a class embedding) on the stage-1
    latents, normalised by the stored per-channel mean and scale; classifier-free guidance by label dropout."""

    block_out_channels: tuple[int, ...] = (64, 128, 128)
    """UNet channels per resolution level of the latent grid."""
    layers_per_block: int = Field(1, ge=1, le=4)
    attention: tuple[bool, ...] = (False, True, True)
    """Self-attention per level (same length as block_out_channels)."""
    norm_num_groups: int = Field(32, ge=1)
    num_train_timesteps: int = Field(1000, ge=10)
    beta_schedule: Literal["squaredcos_cap_v2", "linear", "scaled_linear"] = "squaredcos_cap_v2"
    """Noise schedule: cosine (Nichol & Dhariwal 2021), linear (Ho et al. 2020) or scaled linear (LDM)."""
    prediction_type: Literal["epsilon", "v_prediction"] = "v_prediction"
    """What the network predicts: the noise, or v (Salimans & Ho 2022). Pair epsilon with a linear schedule: under
    the cosine one the first steps divide the predicted noise by a near-zero signal level."""
    cond_drop_prob: float = Field(0.1, ge=0, lt=1)
    """Share of training labels replaced by the null class, so one network is both conditional and not."""
    conditions: Literal["auto"] | list[str] = []
    """The recording conditions stage 2 is conditioned on besides the person (mdaug.data.conditions: given in the
    data's conditions file, or estimated from the spectrograms), so that `mdaug sample --condition speed=1.6` and the
    fill strategy can ask for them. [] (the default): none, the person alone. Started from a shipped stage 2 that
    learned them on the simulated corpus (ldm.init), conditions keep the person's identity; from a start that does
    not know them (scratch, another stage 1) they cost samples much of it (benchmarks/README.md, conditions in stage
    2). The quick preset (the demo) takes 'auto'. 'auto': every condition the data's recordings differ in (those
    coverage compares, known for at least half of the training recordings) but the person's own traits: the gait
    cycle, and whatever varies within a person by less than a fifth of its variance overall
    (mdaug.data.coverage.person_traits; the speed on gait31). Given as a condition, a trait is no longer learned as
    the person's, and samples lose the person. Or a list of names."""
    condition_drop_prob: float = Field(0.2, ge=0, lt=1)
    """Chance that a training sample's condition is made unknown, each on its own, so that any subset can be asked."""
    person: Literal["embedding", "recordings"] = "embedding"
    """How stage 2 knows a person: 'embedding', a row learned from their training recordings; 'recordings', that row
    plus the mean embedding of their training recordings by the recogniser shipped pretrained on the simulated corpus
    (mdaug.runs.identity; needs one that fits the data's size)."""
    condition_drop_all: float = Field(0.2, ge=0, lt=1)
    """Chance that all of a training sample's conditions are unknown at once: what samples asked for no condition
    (the default) are drawn from."""
    sampler: Literal["ddpm", "ddim", "dpm++"] = "dpm++"
    """Default sampler of `mdaug sample` and the sample grids."""
    init: str = "auto"
    """Where stage 2 starts. 'pretrained': the latent diffusion shipped for the shipped stage-1 model this run's
    stage 1 started from (trained by `mdaug pretrain-ldm` on the same simulated corpus, people in no built-in
    dataset); its denoiser is kept, and every class of yours starts from its 'no class' embedding. 'scratch': random
    weights. 'auto': pretrained when one fits, else scratch. Of several shipped models that fit, the one that knows
    most of the conditions this run takes (ldm.conditions), and without conditions the one without them; or name
    one (e.g. kl-64x64-ldm-conditions). Or the path of a finished latent-diffusion run."""
    sample_steps: int = Field(25, ge=1, le=1000)
    guidance_scale: float = Field(2.0, ge=0, le=20)
    """Classifier-free guidance: 1 = conditional only, 0 = unconditional, > 1 = stronger class identity."""

    @model_validator(mode="after")
    def _levels(self) -> "LatentDiffusionConfig":
        if len(self.attention) != len(self.block_out_channels):
            raise ValueError(f"attention has {len(self.attention)} entries; block_out_channels has "
                             f"{len(self.block_out_channels)}")
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if bad:
            raise ValueError(f"norm_num_groups {self.norm_num_groups} must divide every block_out_channels entry "
                             f"(not {bad[0]})")
        return self


class CodePriorConfig(Section):
    """Stage 2 for the code families (vq, vqgan, rq, fsq): a class-conditional masked transformer over code
    indices (MaskGIT, Chang et al. 2022), one code stack per position for rq."""

    dim: int = Field(256, ge=8)
    depth: int = Field(4, ge=1, le=24)
    heads: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    cond_drop_prob: float = Field(0.1, ge=0, lt=1)
    init: str = "auto"
    """Where the code prior starts, as ldm.init does for latent diffusion. 'pretrained': the code prior shipped for
    the shipped stage-1 model this run's stage 1 started from (trained by `mdaug pretrain-prior` on the codes of the
    same simulated corpus, people in no built-in dataset); its transformer is kept, and every class of yours starts
    from its 'no class' embedding. 'scratch': random weights. 'auto': pretrained when one fits, else scratch. Or name
    a shipped one (its folder's name), or the path of a finished code-prior run."""
    sample_steps: int = Field(8, ge=1, le=256)
    """Iterative decoding steps."""
    guidance_scale: float = Field(2.0, ge=0, le=20)
    temperature: float = Field(1.0, gt=0, le=10)

    @model_validator(mode="after")
    def _heads(self) -> "CodePriorConfig":
        if self.dim % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide dim ({self.dim})")
        return self


