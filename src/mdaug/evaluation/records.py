"""The typed records of every evaluation: what each JSON in a run's eval/ folder (and utility.json) holds, written
and read through this module only, so that a writer and the report that reads it cannot drift apart.

Each record validates on construction and on reading; a file that does not fit (corrupt, or from another mdaug
version) is one MdaugError line. Their parts have named fields too (mdaug.evaluation.record_parts); mappings are kept
only where the keys are data (classes, conditions, statistics, arms, budgets)."""

from __future__ import annotations

from mdaug.evaluation.record_base import EvalRecord
from mdaug.evaluation.record_parts import (
    Controllability,
    DiagnoseThresholds,
    Fidelity,
    Files,
    IdentityCeiling,
    IdentityUnderChange,
    LatentStats,
    Memorisation,
    NoiseFloors,
    PhysicalStat,
    Roughness,
    SamplerSettings,
    WalkingPhysics,
)


class ReconstructionReport(EvalRecord):
    """`mdaug eval-ae`: reconstruction quality on one split (eval/reconstruction-<split>.json)."""

    omit_when_none = ("files", "noise_floor", "identity")
    run: str
    family: str
    split: str
    samples: int
    psnr_db: float
    ssim: float
    spectral_error: float
    l1: float
    psnr_db_std: float
    ssim_std: float
    spectral_error_std: float
    l1_std: float
    psnr_db_per_class: dict[str, float]
    latent: LatentStats
    """Code usage (code families) or posterior statistics (kl) of the same samples (evaluation.health)."""
    latent_shape: list[int]
    noise_floor: NoiseFloors | None = None
    identity: IdentityCeiling | None = None
    """With an evaluation recogniser only."""
    files: Files | None = None
    """JSON and figure; not stored in the JSON (the figure lies beside it under the same name)."""


class Verdict(EvalRecord):
    problem: str
    ok: bool
    value: float
    threshold: float
    message: str


class DiagnoseReport(EvalRecord):
    """`mdaug diagnose`: latent-space health over the whole dataset (eval/diagnose.json)."""

    omit_when_none = ("codebook_size", "learned_codebook", "class_code_hist", "fidelity")
    run: str
    family: str
    samples: int
    latent_shape: list[int]
    latent: LatentStats
    codebook_size: int | None = None
    learned_codebook: bool | None = None
    """Code families: learned vectors (vq, vqgan, rq) or a fixed grid (fsq); None in reports written before it."""
    class_code_hist: list[list[float]] | None = None
    knn_agreement: float
    knn_agreement_pixels: float
    knn_chance: float
    linear_probe: float
    linear_probe_pixels: float
    roughness: Roughness
    diffusability_steps: int
    diffusability_loss: float
    fidelity: Fidelity | None = None
    """None in reports written before it was measured."""
    thresholds: DiagnoseThresholds
    verdicts: list[Verdict]
    healthy: bool
    files: Files


class FeatureDistances(EvalRecord):
    """A set of spectrograms against the real test split, in the evaluation recogniser's feature space."""

    omit_when_none = ("identity_accuracy",)
    fid: float
    kid: float
    precision: float
    recall: float
    identity_accuracy: float | None = None
    """Stage-1 ceiling only: the evaluation recogniser's accuracy on reconstructions of the real test split."""


class Identity(EvalRecord):
    accuracy: float
    confusion: list[list[int]]
    """Rows: the class a sample was generated for; columns: the class the recogniser names."""
    per_class_accuracy: list[float]
    balanced_accuracy: float


class GenerationQuality(EvalRecord):
    """Every generation-quality measure of a set of spectrograms (mdaug.evaluation.generation_quality.quality_metrics):
    the floor and the stage-1 ceiling where their sets were given."""

    omit_when_none = ("neighbours",)
    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    neighbours: int | None = None
    """k of precision/recall (metrics.calibrated_neighbours: the smallest at which the floor's real training
    spectrograms count as real against the test split, or the largest the sets allow where none does: the floor's
    precision/recall then stay below 0.5). None: an evaluation made before it was calibrated, at k=3."""
    floor: FeatureDistances | None = None
    stage1_ceiling: FeatureDistances | None = None
    identity: Identity
    memorisation: Memorisation
    memorisation_pixels: Memorisation
    physical: dict[str, PhysicalStat]


class GenerationReport(EvalRecord):
    """`mdaug evaluate`: generation quality of a stage-2 model (eval/generation.json)."""

    omit_when_none = ("neighbours",)
    run: str
    kind: str
    family: str
    recognizer: str
    per_class: int
    samples: int
    seed: int
    settings: SamplerSettings
    test_samples: int
    recognizer_test_accuracy: float | None
    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    neighbours: int | None = None
    """k of precision/recall (metrics.calibrated_neighbours: the smallest at which the floor's real training
    spectrograms count as real against the test split, or the largest the sets allow where none does: the floor's
    precision/recall then stay below 0.5). None: an evaluation made before it was calibrated, at k=3."""
    floor: FeatureDistances
    """As many real training spectrograms: the best a generator could score."""
    stage1_ceiling: FeatureDistances
    """Stage-1 reconstructions of those: the best stage 2 can score in this latent space."""
    identity: Identity
    memorisation: Memorisation
    """In the recogniser's feature space."""
    memorisation_pixels: Memorisation
    """In pixels, before the noise floor's texture: copies show most plainly there."""
    physical: dict[str, PhysicalStat]
    """Per statistic of mdaug.evaluation.metrics.envelope_statistics."""
    files: Files


class ConditionsReport(EvalRecord):
    """`mdaug eval-conditions`: what the recording conditions do to a stage 2's samples (eval/conditions.json). A
    model without conditions gets the first three fields only."""

    omit_when_none = ("note",)
    model: str
    conditions: list[str]
    """ConditionSpec.describe() of each condition the model takes."""
    seed: int
    controllability: dict[str, Controllability] | None = None
    """Per condition the estimators read back."""
    physics: WalkingPhysics | None = None
    """None when the model does not take the walking speed."""
    identity: IdentityUnderChange | None = None
    """None without an evaluation recogniser."""
    files: Files | None = None
    note: str | None = None
    """Why there is no figure (nobody lacks a condition)."""

    def left_out(self) -> set[str]:
        measured = ("controllability", "physics", "identity", "files")
        return super().left_out() | (set() if self.conditions else set(measured))


class Interval(EvalRecord):
    """A mean over repeats with its 95% confidence interval (Student's t; none from one repeat)."""

    omit_when_none = ("low", "high")
    mean: float
    std: float
    n: int
    low: float | None = None
    high: float | None = None


ARMS = ("real", "real+classical", "pretrained+classical", "real+classical+synthetic", "synthetic")
"""The arms of the utility study: real only (the plain recipe), with classical augmentation (its lower-SNR dose chosen
on validation), the same with the shipped pretrained recogniser fine-tuned instead of one from scratch, with
classical augmentation and the chosen synthetic samples, and synthetic only (TSTR: as many samples from noise as
real ones). A study may leave out the last two (utility.generative) or the third (utility.pretrained)."""
REAL, CLASSICAL, PRETRAINED, WITH_SYNTHETIC, SYNTHETIC_ONLY = ARMS
"""The arms by name, for code that names one."""
NON_GENERATIVE = (CLASSICAL, PRETRAINED)
"""The arms a generative arm is judged against: the better of them (by mean validation accuracy at the budget)."""
ARM_TITLES = {REAL: "real", CLASSICAL: "real + classical", PRETRAINED: "real + classical, pretrained recogniser",
              WITH_SYNTHETIC: "real + classical + synthetic", SYNTHETIC_ONLY: "synthetic only"}
BEST = "best non-generative"
"""The name of the better of NON_GENERATIVE in gains."""
GAINS = {"synthetic over classical": (WITH_SYNTHETIC, CLASSICAL), "synthetic over real": (WITH_SYNTHETIC, REAL),
         "classical over real": (CLASSICAL, REAL), "pretrained over classical": (PRETRAINED, CLASSICAL),
         f"synthetic over {BEST}": (WITH_SYNTHETIC, BEST)}
"""Paired differences of the study: (arm, baseline), per repeat; a gain is left out when a study lacks one of its
arms."""


class Candidate(EvalRecord):
    """One strategy tried for the generative arm of a (budget, repeat)."""

    name: str
    val_accuracy: float
    test_accuracy: float
    pool: dict[str, int]
    """Samples drawn, near-copies and filtered out, kept."""


class UtilityRecord(EvalRecord):
    """One (budget, repeat) of the utility study."""

    omit_when_none = ("tstr_samples", "tstr_guidance", "tstr_candidates", "tstr_floor_noise_db", "snr_drop_db",
                      "classical_candidates", "subsets", "by_condition", "classical_by_condition", "by_class",
                      "notes")
    budget: str
    repeat: int
    real_train: int
    real_val: int
    """Real validation samples (other sessions) that chose the recognisers' steps and the strategy."""
    synthetic: int
    """Synthetic samples of the chosen strategy's pool."""
    tstr_samples: int | None = None
    """Samples the synthetic-only arm trained on: from noise, as many per class as real training ones (None in
    studies made before it had its own pool, kept in benchmarks/results/: it trained on the chosen pool)."""
    tstr_guidance: float | None = None
    """The guidance of those samples, chosen on validation (None in the kept studies made before it was chosen:
    the model's)."""
    tstr_candidates: dict[str, dict[str, float]] | None = None
    """Per guidance tried (utility.tstr_guidance): the synthetic-only recogniser's validation and test accuracy."""
    tstr_floor_noise_db: float | None = None
    """The noise floor's texture of those samples (dB; 0 when their stage-1 model was made before the fit)."""
    strategy: str
    """The strategy chosen on the validation split ('' without generative arms)."""
    snr_drop_db: float | None = None
    """The lower-SNR dose of the classical augmentation, chosen on validation (None in the kept studies made before
    it)."""
    classical_candidates: dict[str, dict[str, float]] | None = None
    """Per dose tried (utility.snr_drop_db): the real + classical recogniser's validation and test accuracy."""
    subsets: dict[str, int] | None = None
    """Test recordings per subset by condition (mdaug.data.coverage: all, seen and unseen conditions, per
    condition), against this budget's real training recordings of each one's class."""
    by_condition: dict[str, dict[str, float]] | None = None
    """Per arm: test accuracy on each subset."""
    classical_by_condition: dict[str, dict[str, float]] | None = None
    """Per lower-SNR dose tried: the real + classical recogniser's test accuracy on each subset (what the dose does to
    the recordings of the condition it targets, and to the others)."""
    by_class: dict[str, list[float]] | None = None
    """Per arm: test accuracy of each class (in the order of the data's class names), which people gained and lost."""
    notes: list[str] | None = None
    """What was left out and why (an arm without a fitting shipped model, a transform the data does not allow, a
    conditions file that does not fit), and which recognisers were copied from shared ones instead of trained."""
    accuracy: dict[str, float]
    """Per arm (ARMS): accuracy on the real test split, which nothing chose."""
    val_accuracy: dict[str, float]
    candidates: list[Candidate]
    real_files_seen: dict[str, str | None]
    """Per model: SHA-256 (16 hex digits) of the ids of the real samples it saw."""


class BudgetSummary(EvalRecord):
    omit_when_none = ("tstr_samples", "tstr_guidance", "best_non_generative", "snr_drop_db", "subsets", "by_condition")
    repeats: int
    real_train: int
    synthetic: int
    """Synthetic samples of the chosen pools (mean over repeats)."""
    tstr_samples: int | None = None
    """Samples of the synthetic-only arm (mean over repeats; None in the kept studies made before it had
    its own pool)."""
    arms: dict[str, Interval]
    gains: dict[str, Interval]
    """Paired differences (GAINS), in accuracy (0.05 = 5 points)."""
    strategies: dict[str, int]
    """How often each strategy was chosen."""
    tstr_guidance: dict[str, int] | None = None
    """How often each guidance was chosen for the synthetic-only arm (None in the kept studies made before it
    was chosen)."""
    best_non_generative: str | None = None
    """The better of NON_GENERATIVE here (by mean validation accuracy): the baseline of the gains 'over best
    non-generative'."""
    snr_drop_db: dict[str, int] | None = None
    """How often each lower-SNR dose was chosen."""
    subsets: dict[str, float] | None = None
    """Mean test recordings per subset by condition over the repeats that have it."""
    by_condition: dict[str, dict[str, Interval]] | None = None
    """Per arm and subset: test accuracy over the repeats that have the subset."""


class UtilityReport(EvalRecord):
    """`mdaug utility`: downstream utility of the synthetic data (utility/utility.json)."""

    budgets: list[str]
    seeds: int
    family: str
    generator: str
    strategies: list[str]
    records: list[UtilityRecord]
    summary: dict[str, BudgetSummary]
    verdict: str
    """The answer in one sentence, with its numbers."""
    note: str
    files: Files


__all__ = ["ARMS", "ARM_TITLES", "BEST", "CLASSICAL", "GAINS", "NON_GENERATIVE", "PRETRAINED", "REAL", "SYNTHETIC_ONLY",
           "WITH_SYNTHETIC", "BudgetSummary", "Candidate", "ConditionsReport",
           "DiagnoseReport", "EvalRecord", "FeatureDistances", "GenerationQuality", "GenerationReport", "Identity",
           "Interval", "ReconstructionReport", "UtilityRecord", "UtilityReport", "Verdict"]
