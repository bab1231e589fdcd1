"""Generation quality of a stage-2 model (`mdaug evaluate RUN --recognizer REC`), in the feature space of the
evaluation recogniser (trained on the real training split only, never a training loss):

- FID and KID of generated samples against the real test split, with the floor: the same measurement for
  as many real *training* spectrograms (two real samples of the same people differ by this much);
- precision / recall (k-NN manifolds) against the real test split, with the neighbourhood k at which the floor's
  real training spectrograms count as real (metrics.calibrated_neighbours);
- identity accuracy: does the recogniser assign each sample to the class it was generated for (confusion);
- memorisation: nearest-training-sample distance ratios per class (copies of training samples);
- physical plausibility: Doppler envelope and torso-band statistics of generated versus real spectrograms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdaug.errors import MdaugError
from mdaug.evaluation.features import embed, frechet_distance
from mdaug.evaluation.figures import sample_grid, spectrogram_axes
from mdaug.evaluation.metrics import (
    calibrated_neighbours,
    identity_accuracy,
    kernel_inception_distance,
    memorisation,
    physical_plausibility,
    precision_recall,
)
from mdaug.evaluation.record_parts import Files, Memorisation, PhysicalStat, SamplerSettings
from mdaug.evaluation.records import FeatureDistances, GenerationQuality, GenerationReport, Identity
from mdaug.files import free_path
from mdaug.inference import reconstruct
from mdaug.models.stage2 import SampleSettings
from mdaug.plotting import pyplot
from mdaug.runs.cards import RecognizerCard
from mdaug.runs.layout import EVAL
from mdaug.runs.loading import Stage2Model, load_recognizer, load_stage2, stage1_data
from mdaug.sampling.generate import generate


def check_recognizer(card: RecognizerCard, s2: Stage2Model, fingerprint: str) -> None:
    """The evaluation recogniser must be an 'eval' one, on the same classes and the same data."""
    if card.role != "eval":
        raise MdaugError("the recogniser used for evaluation must be an 'eval' one (train-recognizer --role eval); "
                         "the 'loss' recogniser shaped stage-1 training and may not judge it")
    if list(card.class_names) != list(s2.class_names):
        raise MdaugError("the recogniser was trained on other classes than the stage-2 model; "
                         "train it on the same data")
    if card.data_fingerprint != fingerprint:
        raise MdaugError("the recogniser was trained on other data than the stage-2 model; train it on the same data")


def quality_metrics(real_train: np.ndarray, real_train_labels: np.ndarray, real_test: np.ndarray,
                    fake: np.ndarray, fake_labels: np.ndarray, recognizer, n_classes: int, *,
                    floor: np.ndarray | None = None, reconstructed: np.ndarray | None = None,
                    identity_set: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
                    fake_plain: np.ndarray | None = None) -> GenerationQuality:
    """Every metric of the module for spectrogram arrays (n, c, H, W); `fake_plain`: the same samples before the
    noise floor's texture (for the pixel copy check; `fake` when None); `floor` is a real set of the size of
    `fake` that stands in for it to give the floor values; `reconstructed` is that set passed through the
    stage-1 model (the best stage 2 can do: it generates in that model's latent space). `identity_set`:
    (reconstructions of the real test split, their labels), on which the ceiling's identity accuracy is measured
    (the identity ceiling of eval-ae: a recogniser names its own training samples almost always, so
    reconstructions of those would set a ceiling no new recording reaches)."""
    f_train, _ = embed(recognizer, real_train)
    f_test, _ = embed(recognizer, real_test)
    f_fake, logits = embed(recognizer, fake)
    kid, kid_std = kernel_inception_distance(f_fake, f_test, seed=seed)
    f_floor = None if floor is None else embed(recognizer, floor)[0]
    k = 3 if f_floor is None else calibrated_neighbours(f_test, f_floor)

    def distances(f: np.ndarray, identity: float | None = None) -> FeatureDistances:
        return FeatureDistances(fid=frechet_distance(f, f_test), kid=kernel_inception_distance(f, f_test, seed=seed)[0],
                                **precision_recall(f_test, f, k=k), identity_accuracy=identity)

    ceiling = None
    if reconstructed is not None:
        ceiling_identity = None if identity_set is None else _identity(
            embed(recognizer, identity_set[0])[1], identity_set[1], n_classes).accuracy
        ceiling = distances(embed(recognizer, reconstructed)[0], ceiling_identity)
    return GenerationQuality(
        fid=frechet_distance(f_fake, f_test), kid=kid, kid_std=kid_std, **precision_recall(f_test, f_fake, k=k),
        neighbours=k, floor=None if f_floor is None else distances(f_floor), stage1_ceiling=ceiling,
        identity=_identity(logits, fake_labels, n_classes),
        memorisation=_memorisation(memorisation(f_fake, fake_labels, f_train, real_train_labels)),
        # pixels: copies show most plainly here, before the texture's noise (fake_plain)
        memorisation_pixels=_memorisation(memorisation(fake if fake_plain is None else fake_plain, fake_labels,
                                                       real_train, real_train_labels)),
        physical={k: PhysicalStat(**v) for k, v in physical_plausibility(real_test, fake).items()})


def _identity(logits: np.ndarray, labels: np.ndarray, n_classes: int) -> Identity:
    return Identity(**{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                       for k, v in identity_accuracy(logits, labels, n_classes).items()})


def _memorisation(mem: dict) -> Memorisation:
    """metrics.memorisation's summaries, without its per-sample arrays."""
    return Memorisation.model_validate({k: v for k, v in mem.items() if k not in ("ratio", "nearest_train")})


def evaluate_generation(run: str | Path, recognizer: str | Path, *, per_class: int = 30,
                        settings: SampleSettings | None = None, seed: int = 0, out: Path | None = None,
                        autoencoder: str | Path | None = None, batch_size: int = 128) -> GenerationReport:
    """Generate `per_class` samples of every class with the stage-2 model, measure them, write
    generation.json, a real-vs-generated grid and a confusion matrix (never overwriting). Returns the report."""
    s2 = load_stage2(run, autoencoder)
    rec, rec_card = load_recognizer(recognizer)
    data = stage1_data(s2.autoencoder)
    ds = data.dataset
    check_recognizer(rec_card, s2, ds.fingerprint())
    train, test = data.indices("train"), data.indices("test")
    if len(test) < 2:
        raise MdaugError("the data has fewer than 2 test samples; generation cannot be measured against it")
    n_classes = len(s2.class_names)
    settings = settings or s2.default_settings()
    labels = np.repeat(np.arange(n_classes), per_class)
    plain: list[np.ndarray] = []
    fake = generate(s2, labels, settings, seed=seed, batch_size=batch_size, device="cpu", progress=True, plain=plain)
    rng = np.random.default_rng(seed)
    floor_rows = np.concatenate([rng.choice(train[ds.labels[train] == c], per_class,
                                            replace=int((ds.labels[train] == c).sum()) < per_class)
                                 for c in range(n_classes)])
    stage1 = s2.autoencoder.model.to("cpu")
    recon = reconstruct(stage1, ds.x[floor_rows], batch_size=128)
    quality = quality_metrics(ds.x[train], ds.labels[train], ds.x[test], fake, labels, rec, n_classes,
                              floor=ds.x[floor_rows], reconstructed=recon,
                              identity_set=(reconstruct(stage1, ds.x[test], batch_size=128), ds.labels[test]),
                              seed=seed, fake_plain=plain[0])
    folder = Path(out) if out else s2.folder.parent / EVAL
    folder.mkdir(parents=True, exist_ok=True)
    path = free_path(folder / "generation.json")
    show = np.concatenate([np.flatnonzero(labels == c)[:6] for c in range(n_classes)])
    grid = sample_grid(fake[show], labels[show], s2.class_names, path.with_name(path.stem + "-grid.png"),
                       real=ds.x[test], real_labels=ds.labels[test],
                       suptitle=f"{s2.kind.name} on {s2.autoencoder.family}: real (test) | generated",
                       axes=spectrogram_axes(ds.info, s2.autoencoder.card.normalisation.dynamic_range_db))
    confusion = confusion_figure(np.asarray(quality.identity.confusion), s2.class_names,
                                 path.with_name(path.stem + "-confusion.png"))
    record = GenerationReport(
        run=str(Path(run)), kind=s2.kind.name, family=s2.autoencoder.family, recognizer=str(Path(recognizer)),
        per_class=per_class, samples=int(labels.size), seed=seed,
        settings=SamplerSettings(**s2.kind.settings_dict(settings),
                                 floor_noise_db=s2.autoencoder.texture_db(settings.texture)),
        test_samples=int(len(test)), recognizer_test_accuracy=rec_card.test_accuracy, **dict(quality),
        files=Files(json=str(path), grid=str(grid), confusion=str(confusion)))
    record.write(path)
    return record


def confusion_figure(confusion: np.ndarray, class_names: list[str], path: Path) -> Path:
    plt = pyplot()

    n = len(class_names)
    fig, ax = plt.subplots(figsize=(min(2 + 0.25 * n, 10), min(2 + 0.25 * n, 10)))
    share = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    step = max(1, n // 16)
    ax.set_xticks(range(0, n, step), [class_names[i] for i in range(0, n, step)], rotation=90, fontsize=6)
    ax.set_yticks(range(0, n, step), [class_names[i] for i in range(0, n, step)], fontsize=6)
    ax.set(xlabel="recognised as", ylabel="generated for", title="identity of generated samples")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = ["check_recognizer", "confusion_figure", "evaluate_generation", "quality_metrics"]
