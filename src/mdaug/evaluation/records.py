"""The typed records of every evaluation: what each JSON in a run's eval/ folder (and utility.json) holds, written
and read through this module only, so that a writer and the report that reads it cannot drift apart.

Each record validates on construction and on reading; a file that does not fit (corrupt, or from another mdaug
version) is one MdaugError line. Measurements whose structure is their own (latent statistics, memorisation per
class, physical statistics) are kept as mappings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer

from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text

R = TypeVar("R", bound="EvalRecord")


class EvalRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    omit_when_none: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the JSON when they are None (measurements that only some models have)."""

    @model_serializer(mode="wrap")
    def _omit(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (k in self.omit_when_none and v is None)}

    def to_json(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), indent=1, default=float)

    def write(self, path: Path) -> Path:
        return atomic_write_text(path, self.to_json())

    @classmethod
    def read(cls: type[R], path: Path) -> R:
        try:
            return cls.model_validate(json.loads(Path(path).read_text()))
        except (OSError, ValueError, ValidationError):
            raise MdaugError(f"{path} is unreadable, corrupt or from another mdaug version; run its evaluation "
                             "again") from None


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
    latent: dict[str, Any]
    """Code usage (code families) or posterior statistics (kl) of the same samples (evaluation.health)."""
    latent_shape: list[int]
    noise_floor: dict[str, dict[str, float]] | None = None
    """'real' and 'reconstructed': level and spread (dB) and neighbour correlation of the floor (data/texture.py)."""
    identity: dict[str, float] | None = None
    """The identity ceiling: the evaluation recogniser's accuracy on the real spectrograms ('real') and on their
    reconstructions ('reconstructions'), and their 'ratio'."""
    files: dict[str, str] | None = None
    """'json' and 'figure'; not stored in the JSON (the figure lies beside it under the same name)."""


class Verdict(EvalRecord):
    problem: str
    ok: bool
    value: float
    threshold: float
    message: str


class DiagnoseReport(EvalRecord):
    """`mdaug diagnose`: latent-space health over the whole dataset (eval/diagnose.json)."""

    omit_when_none = ("codebook_size", "class_code_hist")
    run: str
    family: str
    samples: int
    latent_shape: list[int]
    latent: dict[str, Any]
    codebook_size: int | None = None
    class_code_hist: list[list[float]] | None = None
    knn_agreement: float
    knn_agreement_pixels: float
    knn_chance: float
    linear_probe: float
    linear_probe_pixels: float
    roughness: dict[str, float]
    diffusability_steps: int
    diffusability_loss: float
    thresholds: dict[str, float]
    verdicts: list[Verdict]
    healthy: bool
    files: dict[str, str]


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


class GenerationReport(EvalRecord):
    """`mdaug evaluate`: generation quality of a stage-2 model (eval/generation.json)."""

    run: str
    kind: str
    family: str
    recognizer: str
    per_class: int
    samples: int
    seed: int
    settings: dict[str, Any]
    test_samples: int
    recognizer_test_accuracy: float | None
    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    floor: FeatureDistances
    """As many real training spectrograms: the best a generator could score."""
    stage1_ceiling: FeatureDistances
    """Stage-1 reconstructions of those: the best stage 2 can score in this latent space."""
    identity: Identity
    memorisation: dict[int | str, Any]
    memorisation_pixels: dict[int | str, Any]
    physical: dict[str, dict[str, float]]
    files: dict[str, str]


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
NON_GENERATIVE = ("real+classical", "pretrained+classical")
"""The arms a generative arm is judged against: the better of them (by mean validation accuracy at the budget)."""
ARM_TITLES = {"real": "real", "real+classical": "real + classical",
              "pretrained+classical": "real + classical, pretrained recogniser",
              "real+classical+synthetic": "real + classical + synthetic", "synthetic": "synthetic only"}
BEST = "best non-generative"
"""The name of the better of NON_GENERATIVE in gains."""
GAINS = {"synthetic over classical": ("real+classical+synthetic", "real+classical"),
         "synthetic over real": ("real+classical+synthetic", "real"),
         "classical over real": ("real+classical", "real"),
         "pretrained over classical": ("pretrained+classical", "real+classical"),
         f"synthetic over {BEST}": ("real+classical+synthetic", BEST)}
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
    studies before that: it trained on the chosen pool)."""
    tstr_guidance: float | None = None
    """The guidance of those samples, chosen on validation (None in studies before it was chosen: the model's)."""
    tstr_candidates: dict[str, dict[str, float]] | None = None
    """Per guidance tried (utility.tstr_guidance): the synthetic-only recogniser's validation and test accuracy."""
    tstr_floor_noise_db: float | None = None
    """The noise floor's texture of those samples (dB; 0 when their stage-1 model was made before the fit)."""
    strategy: str
    """The strategy chosen on the validation split ('' without generative arms)."""
    snr_drop_db: float | None = None
    """The lower-SNR dose of the classical augmentation, chosen on validation (None in studies before it)."""
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
    conditions file that does not fit)."""
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
    """Samples of the synthetic-only arm (mean over repeats; None in studies before it had its own pool)."""
    arms: dict[str, Interval]
    gains: dict[str, Interval]
    """Paired differences (GAINS), in accuracy (0.05 = 5 points)."""
    strategies: dict[str, int]
    """How often each strategy was chosen."""
    tstr_guidance: dict[str, int] | None = None
    """How often each guidance was chosen for the synthetic-only arm (None in studies before it was chosen)."""
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
    files: dict[str, str]


__all__ = ["ARMS", "ARM_TITLES", "BEST", "GAINS", "NON_GENERATIVE", "BudgetSummary", "Candidate", "DiagnoseReport",
           "EvalRecord", "FeatureDistances", "GenerationReport", "Identity", "Interval", "ReconstructionReport",
           "UtilityRecord", "UtilityReport", "Verdict"]
