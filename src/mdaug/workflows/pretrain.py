"""`mdaug pretrain-ae`: train a stage-1 model on the simulated pretraining corpus (walkers of seeds no built-in
dataset uses, seen by many radars and displays), measure it where users will use it, and write the folder that
ships with the package (fp16 weights, card, pretraining.json and MODEL_CARD.md).

    OUT/ae/                  the training run on the corpus (resumable like any train-ae run)
    OUT/recognizer-gait/     the evaluation recogniser of the gait benchmark (for the identity ceiling)
    OUT/recognizer-held_out/ the same for the gait population seen by a radar the corpus never uses
    OUT/shipped/             the shippable folder; --ship copies it (e.g. into src/mdaug/pretrained/NAME)

`mdaug pretrain-ldm` and `mdaug pretrain-prior` (pretrain_stage2) then train a stage 2 on the corpus of a shipped
stage-1 model, in OUT/ldm or OUT/prior, shippable from OUT/shipped-ldm or OUT/shipped-prior (training time in
OUT/timing-ldm.json, OUT/timing-prior.json).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from safetensors.torch import load_file, save_file

from mdaug.config import Config
from mdaug.errors import MdaugError
from mdaug.evaluation.features import embed, frechet_distance
from mdaug.evaluation.health import HealthAccumulator
from mdaug.evaluation.reconstruction import floor_stats, identity_ceiling, reconstruct_with_metrics
from mdaug.evaluation.record_parts import IdentityCeiling, LatentStats, NoiseFloors
from mdaug.files import atomic_write_text, copy_tree_atomic, sha256_file
from mdaug.models.stage2 import CODE_FAMILIES, stage2_kind
from mdaug.runs.builtin import corpus_dataset
from mdaug.runs.cards import CorpusSummary, InitRecord
from mdaug.runs.layout import CARD, INIT_RECORD, LOSSES, final_dir
from mdaug.runs.loading import (
    autoencoder_identity,
    load_pretrained_autoencoder,
    load_recognizer,
    load_stage2,
)
from mdaug.runs.loss_log import last_values
from mdaug.runs.pretrained import PRETRAINING_RECORD, shipped_origin
from mdaug.runs.run_data import load_run_data
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.recognizer import train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.provenance import provenance
from mdaug.workflows.steps import train_or_resume

TARGETS = {"gait": "the gait benchmark (simulate.*; people of seed simulate.seed)",
           "held_out": "the gait population (other people) seen by pretrain.held_out, a radar the corpus never uses"}
WEIGHTS = "diffusion_pytorch_model.safetensors"


class TargetMeasure(BaseModel):
    """A shipped stage-1 model, zero-shot, on the test split of a target dataset (TARGETS)."""

    model_config = ConfigDict(extra="forbid")
    dataset: str
    test_samples: int
    psnr_db: float
    ssim: float
    identity: IdentityCeiling
    """With an evaluation recogniser trained on the dataset's training split."""
    noise_floor: NoiseFloors
    carrier_ghz: float
    fid_reconstructions: float | None = None
    """FID in the evaluation recogniser's features between the test split's reconstructions and the test split
    itself: how far stage 1 moves spectrograms in the space that judges generation (0: not at all). None in the
    records made before it was measured (kl-64x64's)."""
    latent: LatentStats | None = None
    """The latent's health on the test split: codebook use and perplexity (code families), posterior spread and
    latent SNR (kl). None in the records made before it was measured."""


class Timing(BaseModel):
    """OUT/timing.json: the training time spent so far, over every resumption."""

    model_config = ConfigDict(extra="forbid")
    training_wall_s: float = 0.0

    @classmethod
    def read(cls, path: Path) -> Timing:
        return cls.model_validate_json(path.read_text()) if path.exists() else cls()

    def write(self, path: Path) -> None:
        atomic_write_text(path, self.model_dump_json())

    @classmethod
    @contextmanager
    def counting(cls, path: Path) -> Iterator[Timing]:
        """Add the wall time of the block to PATH, also when the block stops with an error or ctrl-c: a run stopped
        and resumed counts the training time of all its sessions, not of its last only."""
        timing = cls.read(path)
        t0 = time.monotonic()
        try:
            yield timing
        finally:
            timing.training_wall_s += time.monotonic() - t0
            timing.write(path)


class ShippedRef(BaseModel):
    """A shipped stage-1 model by its name and its weights' SHA-256."""

    model_config = ConfigDict(extra="forbid")
    name: str
    weights_sha256: str


class PretrainingRecord(BaseModel):
    """How a shipped model was made and what it measured (pretraining.json beside its weights)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    command: str
    date: str
    machine: str
    family: str
    input_shape: list[int]
    corpus: CorpusSummary
    steps: int
    batch_size: int
    training_wall_s: float
    weights_sha256: str
    weights_dtype: str
    measured: dict[str, TargetMeasure]
    """Per target dataset (TARGETS)."""
    started_from: ShippedRef | None = None
    """The stage-1 weights this pretraining continued on the corpus (ae.init set to a shipped model or a run, e.g.
    vqgan-64x64 from vq-64x64: the adversarial phase of a VQ-GAN's schedule); None: random weights."""


def corpus_config(cfg: Config) -> Config:
    """`cfg` for training on the corpus: the built-in corpus, from random weights, or continuing the weights of a
    model ae.init names by its path (a shipped model pretrained on the same corpus, or a run)."""
    init = cfg.ae.init if cfg.ae.init not in ("scratch", "auto", "pretrained") else "scratch"
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": None, "builtin": "corpus"}),
                                  "ae": cfg.ae.model_copy(update={"init": init})})


def _started_from(run: Path) -> ShippedRef | None:
    """What the corpus run continued (its init record), by the name it was shipped under."""
    path = run / INIT_RECORD
    start = InitRecord.model_validate_json(path.read_text()) if path.exists() else None
    if start is None or start.source == "scratch" or start.path is None or start.weights_sha256 is None:
        return None
    folder = Path(start.path)
    return ShippedRef(name=shipped_name(folder.parent if folder.name == "final" else folder),
                      weights_sha256=start.weights_sha256)


def target_config(cfg: Config, target: str) -> Config:
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": None, "builtin": target})})


def corpus_summary(cfg: Config) -> CorpusSummary:
    """What the corpus is: sizes, seeds, radars and displays (from its cached folder)."""
    folder = corpus_dataset(cfg)
    data = load_run_data(corpus_config(cfg))
    p = cfg.pretrain
    return CorpusSummary(spectrograms=len(data.dataset), trained_on=int(len(data.indices("train"))),
                         people=p.parts * p.people_per_part, parts=p.parts, seeds=[p.seed, p.seed + p.parts - 1],
                         radars=[r.name for r in p.radars], displays=list(p.colormaps), size=list(data.size),
                         table=str(folder / "corpus.csv"))


def measure(shipped: Path, cfg: Config, target: str, rec_dir: Path, console: Console | None) -> TargetMeasure:
    """The shipped model, zero-shot, on the test split of a target dataset: PSNR, SSIM, noise floor, and the
    identity ceiling with an evaluation recogniser trained on that dataset's training split."""
    tcfg = target_config(cfg, target)
    data = load_run_data(tcfg, console)
    train_or_resume(rec_dir, lambda r: train_recognizer(tcfg, rec_dir, role="eval", resume=r, console=console,
                                                        data=data))
    pre = load_pretrained_autoencoder(shipped)
    idx = data.indices("test")
    x, labels = data.dataset.x[idx], data.dataset.labels[idx]
    f = pre.model.downsampling
    health = HealthAccumulator(pre.model, len(data.dataset.class_names), (data.size[0] // f, data.size[1] // f))
    x_hat, metrics = reconstruct_with_metrics(pre.model, x, labels, health)
    rec, _ = load_recognizer(rec_dir)
    dr = data.dataset.info.dynamic_range_or(cfg.data.dynamic_range_db)
    return TargetMeasure(dataset=TARGETS[target], test_samples=int(len(idx)), psnr_db=float(metrics.psnr_db.mean()),
                         ssim=float(metrics.ssim.mean()), identity=identity_ceiling(rec, x, x_hat, labels),
                         noise_floor=floor_stats(x, x_hat, dr),
                         carrier_ghz=float(data.dataset.info.carrier_hz or 0.0) / 1e9,
                         fid_reconstructions=frechet_distance(embed(rec, x_hat)[0], embed(rec, x)[0]),
                         latent=health.stats())


def write_shipped(final: Path, dest: Path) -> str:
    """final/ as a shippable folder: config, card, and the weights in fp16 (integer buffers kept). Returns the
    SHA-256 of the weights file."""
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors = load_file(str(final / WEIGHTS))
    half = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file({k: v.contiguous() for k, v in half.items()}, str(tmp / WEIGHTS), metadata={"format": "pt"})
    for name in ("config.json", CARD):
        shutil.copy2(final / name, tmp / name)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return sha256_file(dest / WEIGHTS)


def pretrain_autoencoder(cfg: Config, out: Path, *, name: str, ship: Path | None = None,
                         console: Console | None = None, command: str = "") -> PretrainingRecord:
    """Train (or continue) the corpus run in OUT/ae, measure its fp16 weights on TARGETS, and write OUT/shipped
    (and a copy at `ship`). Returns the record written beside the weights."""
    out = Path(out)
    ccfg, run = corpus_config(cfg), out / "ae"
    if ccfg.ae.init != "scratch":  # a start that is no model fails here, before the corpus or any folder is made
        load_pretrained_autoencoder(ccfg.ae.init)
    corpus = corpus_summary(cfg)
    with Timing.counting(out / "timing.json") as timing:
        train_or_resume(run, lambda r: train_autoencoder(ccfg, run, resume=r, console=console))
    spent = timing.training_wall_s
    shipped = out / "shipped"
    sha = write_shipped(final_dir(run), shipped)
    measured = {t: measure(shipped, cfg, t, out / f"recognizer-{t}", console) for t in TARGETS}
    pre = load_pretrained_autoencoder(shipped)
    record = PretrainingRecord(
        name=name, **provenance(command),
        family=pre.family, input_shape=list(pre.input_shape), corpus=corpus, steps=ccfg.ae_train.steps,
        batch_size=ccfg.ae_train.batch_size * ccfg.ae_train.grad_accum, training_wall_s=round(spent, 1),
        weights_sha256=sha, weights_dtype="float16", measured=measured, started_from=_started_from(run))
    _ship(record, model_card(record), shipped, ship)
    return record


def _ship(record: BaseModel, card: str, shipped: Path, ship: Path | None) -> None:
    """Write the record and its model card beside the weights in `shipped`, and copy the folder to `ship`."""
    atomic_write_text(shipped / PRETRAINING_RECORD, record.model_dump_json(indent=1))
    atomic_write_text(shipped / "MODEL_CARD.md", card)
    if ship is not None:
        copy_tree_atomic(shipped, ship)


def _fid(m: TargetMeasure) -> str:
    return "not measured" if m.fid_reconstructions is None else f"{m.fid_reconstructions:.1f}"


def _latent_lines(r: PretrainingRecord) -> str:
    """The latent's health on each test split, where the record has it (a paragraph ending in a blank line)."""
    def one(lat: LatentStats) -> str:
        if lat.codebook_usage_pct is not None:
            return (f"{lat.codebook_usage_pct:.0f}% of the codebook used, perplexity {lat.perplexity:.0f}, "
                    f"{lat.code_entropy_bits:.1f} bits per position")
        if lat.active_units_pct is not None:
            return (f"{lat.active_units_pct:.0f}% active latent units, latent SNR of the noisiest channel "
                    f"{lat.latent_snr_min:.3g}")
        return "nothing to measure"

    parts = [f"{t}: {one(m.latent)}" for t, m in r.measured.items() if m.latent is not None]
    return f"Latent on each test split: {'; '.join(parts)}.\n\n" if parts else ""


def _continued(r: PretrainingRecord) -> str:
    s = r.started_from
    return "" if s is None else (f"continued from `{s.name}` (weights SHA-256 `{s.weights_sha256[:12]}...`, "
                                 "pretrained on the same corpus) for ")


def model_card(r: PretrainingRecord) -> str:
    """MODEL_CARD.md, generated from the record (never typed by hand)."""
    c = r.corpus
    rows = "\n".join(
        f"| {t} | {m.test_samples} | {m.carrier_ghz:g} | {m.psnr_db:.2f} | {m.ssim:.3f} | "
        f"{100 * m.identity.real:.1f}% | {100 * m.identity.reconstructions:.1f}% | "
        f"{m.identity.ratio:.2f} | {_fid(m)} |" for t, m in r.measured.items())

    def pair(nf: NoiseFloors, field: str, digits: int) -> str:
        return f"{getattr(nf.real, field):.{digits}f} / {getattr(nf.reconstructed, field):.{digits}f}"

    floors = "\n".join(f"| {t} | {pair(m.noise_floor, 'level_db', 1)} | {pair(m.noise_floor, 'spread_db', 2)} | "
                        f"{pair(m.noise_floor, 'correlation_time', 2)} |" for t, m in r.measured.items())
    return f"""# {r.name}: a pretrained {r.family} stage-1 model for {r.input_shape[1]}x{r.input_shape[2]} spectrograms

Made by `{r.command}` on {r.date} ({r.machine}); {_continued(r)}{r.steps} steps of {r.batch_size} spectrograms,
{r.training_wall_s / 60:.0f} minutes of training. Weights: `{WEIGHTS}`, {r.weights_dtype}, SHA-256
`{r.weights_sha256}`. `mdaug train-ae`, `mdaug run` and every utility budget start from it (`ae.init`) and fine-tune
it on your data.

## Data

{c.spectrograms} simulated spectrograms ({c.trained_on} in its training split) of {c.people} walkers in
{c.parts} parts, people seeds {c.seeds[0]}-{c.seeds[1]}: none of them is a walker of a built-in dataset (those
use small seeds; `tests/simulate/test_corpus.py` compares the traits). Radars: {', '.join(c.radars)}. Displays:
{', '.join(c.displays)} (a colormap is rendered to 8-bit images and read back). Each part draws its own Doppler
span, STFT window and hop, recording length, SNR (0-30 dB), clutter, dynamic range (30-60 dB), treadmill or ground
and aspect; the table of parts is `corpus.csv` in the corpus folder.

## Measured (zero-shot, the test split of each dataset; no fine-tuning)

The identity ceiling: how often an evaluation recogniser trained on the dataset's training split names the right
person for the real test spectrograms and for their reconstructions.

| dataset | test spectrograms | carrier (GHz) | PSNR (dB) | SSIM | identified: real | reconstructions | ratio | FID |
|---|---|---|---|---|---|---|---|---|
{rows}

FID: in the evaluation recogniser's features, the reconstructions against the spectrograms they reconstruct (0: stage
1 moves nothing in the space that judges generated samples; not measured for the models made before it was).

Noise floor (bins below each spectrogram's 40th percentile), real / reconstructed:

| dataset | level (dB) | spread (dB) | neighbour correlation along time |
|---|---|---|---|
{floors}

{_latent_lines(r)}`gait` is {TARGETS['gait']}; `held_out` is {TARGETS['held_out']}.
"""


class Stage2PretrainingRecord(BaseModel):
    """How a shipped stage-2 model was made (pretraining.json beside its weights)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    command: str
    date: str
    machine: str
    kind: str
    """'ldm' (latent diffusion) or 'prior' (the masked code prior)."""
    autoencoder: ShippedRef
    """The shipped stage-1 model whose latents (or codes) it models."""
    corpus: CorpusSummary
    steps: int
    batch_size: int
    training_wall_s: float
    final_loss: float
    """Mean training loss of the last 100 steps: for latent diffusion the denoising error on normalised latents (1 =
    learned nothing); for the code prior the masked-token cross-entropy in nats (ln codebook_size = a uniform
    guess)."""
    weights_sha256: str
    weights_dtype: str
    conditions: list[str] = []
    """The recording conditions it takes besides the walker (ConditionSpec.describe() each): the simulator's true
    values of every corpus recording."""
    codebook_size: int | None = None
    """The code prior's: the number of codes of its stage-1 model (None for latent diffusion)."""


def pretrain_stage2(cfg: Config, out: Path, kind: str, *, autoencoder: Path, name: str, ship: Path | None = None,
                    console: Console | None = None, command: str = "") -> Stage2PretrainingRecord:
    """Train (or continue) a class-conditional stage 2 of `kind` on the corpus of a shipped stage-1 model in OUT/KIND
    (its classes: the corpus walkers), and write OUT/shipped-KIND (and a copy at `ship`): latent diffusion ('ldm') on
    its latents, or the masked code prior ('prior') on its codes (a vq, vqgan, rq or fsq model). Fine-tuning keeps
    the network and gives every new class its 'no class' embedding to start from."""
    stage2 = stage2_kind(kind)  # an unknown kind: an error naming both
    out = Path(out)
    pre = load_pretrained_autoencoder(autoencoder)
    if kind == "prior" and pre.family not in CODE_FAMILIES:
        families = f"{', '.join(CODE_FAMILIES[:-1])} or {CODE_FAMILIES[-1]}"
        raise MdaugError(f"the code prior models discrete codes; {autoencoder} is a {pre.family} stage-1 model, which "
                         f"has none: give a shipped {families} model, or use `mdaug pretrain-ldm`")
    ccfg = corpus_config(cfg)
    section = getattr(ccfg, kind)  # ldm or prior: the kind's name is its config section's
    ccfg = ccfg.model_copy(update={kind: section.model_copy(update={"init": "scratch"})})
    run = out / kind
    with Timing.counting(out / f"timing-{kind}.json") as timing:
        train_or_resume(run, lambda r: train_stage2(ccfg, run, kind, autoencoder=autoencoder, resume=r,
                                                    console=console))
    spent = timing.training_wall_s
    shipped = out / f"shipped-{kind}"
    sha = write_shipped(final_dir(run), shipped)
    losses = last_values(run / LOSSES, "loss", 100)
    t = stage2.train_config(ccfg)
    record = Stage2PretrainingRecord(
        name=name, **provenance(command), kind=kind,
        autoencoder=ShippedRef(name=shipped_name(pre.folder), weights_sha256=autoencoder_identity(pre.folder)),
        corpus=corpus_summary(cfg), steps=t.steps, batch_size=t.batch_size * t.grad_accum,
        training_wall_s=round(spent, 1), final_loss=float(np.mean(losses)), weights_sha256=sha,
        weights_dtype="float16", conditions=[c.describe() for c in load_stage2(run).conditions],
        codebook_size=int(pre.model.codebook_size) if kind == "prior" else None)
    _ship(record, stage2_model_card(record), shipped, ship)
    return record


def shipped_name(folder: Path) -> str:
    """The name a shipped model was made under (its pretraining.json), else its folder's name."""
    origin = shipped_origin(folder)
    return origin.name if origin else Path(folder).name


def stage2_model_card(r: Stage2PretrainingRecord) -> str:
    """MODEL_CARD.md of a shipped stage-2 model, generated from its record."""
    return _prior_card(r) if r.kind == "prior" else _ldm_card(r)


def _ldm_card(r: Stage2PretrainingRecord) -> str:
    c = r.corpus
    conditions = "" if not r.conditions else f"""

It also takes each recording's conditions, the simulator's true values: {'; '.join(r.conditions)} (numbers: the
range of the corpus). Each was dropped on its own in training, and now and then all at once, so that any subset can
be asked and a missing one is 'unknown'. A stage 2 of yours that takes conditions of the same names starts from this
model (rather than from the one without conditions) and keeps their encoders, fine-tuning them at the rate of the
rest (ldm_train.finetune_lr); a condition it does not know starts new."""
    return f"""# {r.name}: pretrained latent diffusion for the stage-1 model {r.autoencoder.name}

Made by `{r.command}` on {r.date} ({r.machine}); {r.steps} steps of {r.batch_size}, {r.training_wall_s / 60:.0f}
minutes of training, mean loss of the last 100 steps {r.final_loss:.3f} (1 = learned nothing). Weights:
`{WEIGHTS}`, {r.weights_dtype}, SHA-256 `{r.weights_sha256}`; it models the latents of the stage-1 weights of SHA-256
`{r.autoencoder.weights_sha256}`.

Trained on the same corpus as its stage-1 model: {c.spectrograms} simulated spectrograms of {c.people} walkers
(seeds {c.seeds[0]}-{c.seeds[1]}, none in a built-in dataset), class-conditional on those walkers. `mdaug
train-ldm` and `mdaug run` start from it (`ldm.init`) when their stage 1 started from {r.autoencoder.name}: the
denoiser is kept and every class of yours starts from its 'no class' embedding, then fine-tunes on your
data.{conditions}
"""


def _prior_card(r: Stage2PretrainingRecord) -> str:
    c = r.corpus
    chance = f" (ln {r.codebook_size} = {math.log(r.codebook_size):.2f}: a uniform guess)" if r.codebook_size else ""
    return f"""# {r.name}: a pretrained masked code prior for the stage-1 model {r.autoencoder.name}

Made by `{r.command}` on {r.date} ({r.machine}); {r.steps} steps of {r.batch_size}, {r.training_wall_s / 60:.0f}
minutes of training, mean masked-token cross-entropy of the last 100 steps {r.final_loss:.3f} nats{chance}.
Weights: `{WEIGHTS}`, {r.weights_dtype}, SHA-256 `{r.weights_sha256}`; it models the code indices of the stage-1
weights of SHA-256 `{r.autoencoder.weights_sha256}`.

Trained on the codes of the same corpus as its stage-1 model: {c.spectrograms} simulated spectrograms of {c.people}
walkers (seeds {c.seeds[0]}-{c.seeds[1]}, none in a built-in dataset), class-conditional on those walkers. `mdaug
train-prior`, `mdaug benchmark` and `mdaug run` with `utility.generator=prior` start their code prior from it
(`prior.init`) when their stage 1 started from {r.autoencoder.name}: the transformer is kept and every class of
yours starts from its 'no class' embedding, then fine-tunes on your data (prior_train.finetune_lr, and
prior_train.class_lr for the class embeddings).
"""


__all__ = ["PretrainingRecord", "ShippedRef", "Stage2PretrainingRecord", "TargetMeasure", "Timing", "corpus_config",
           "model_card", "pretrain_autoencoder", "pretrain_stage2", "shipped_name", "stage2_model_card",
           "write_shipped"]
