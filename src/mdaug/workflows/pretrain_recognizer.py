"""`mdaug pretrain-recognizer`: train the recogniser on the simulated corpus (walkers of seeds no built-in dataset
uses, under many radars, displays, speeds, aspects, arm postures and SNRs), measure what starting from it does where
users fine-tune it, and write the folder that ships with the package (weights, card, pretraining.json and
MODEL_CARD.md).

The same outside knowledge a pretrained generator gets, used directly: the utility study's arm `real + classical,
pretrained recogniser` fine-tunes it on the budget's real data, and a generator must beat it to earn its cost.

    OUT/recognizer/                the training run on the corpus (resumable like any train-recognizer run)
    OUT/measure/TARGET-INIT/       fine-tuned on a target's budget, from the shipped weights and from scratch
    OUT/shipped/                   the shippable folder; --ship copies it (e.g. into src/mdaug/pretrained/NAME)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from rich.console import Console

from mdaug.config import Config
from mdaug.files import sha256_file
from mdaug.runs.cards import CorpusSummary
from mdaug.runs.layout import CARD, final_dir
from mdaug.runs.loading import load_recognizer
from mdaug.runs.run_data import load_run_data
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.pretrain import WEIGHTS, Timing, _ship, corpus_summary
from mdaug.workflows.provenance import provenance
from mdaug.workflows.steps import train_or_resume
from mdaug.workflows.utility.recognisers import user_recipe

TARGETS = {
    "gait": ("10", "gait31: 10 recordings per person from its training sessions"),
    "gait-sessions": ("2s", "gait-sessions: all recordings of 2 training sessions per person"),
    "held_out": ("10", "gait31's population (other people) seen by a radar the corpus never uses: 10 per person"),
}
"""Where the shipped recogniser is measured: built-in dataset -> (the real budget it is fine-tuned on, what that
is). Every figure is on the dataset's test split (sessions no model saw)."""


class FineTuning(BaseModel):
    """The shipped recogniser fine-tuned on one target's real budget, against the same recipe from scratch."""

    model_config = ConfigDict(extra="forbid")
    budget: str
    what: str
    train: int
    """Real training samples of the budget."""
    test: int
    classes: int
    pretrained: float
    """Test accuracy fine-tuned from the shipped weights."""
    scratch: float
    """Test accuracy from scratch."""


class RecognizerPretrainingRecord(BaseModel):
    """How the shipped recogniser was made and what it measured (pretraining.json beside its weights)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    command: str
    date: str
    machine: str
    input_shape: list[int]
    channels: list[int]
    classes: int
    corpus: CorpusSummary
    steps: int
    batch_size: int
    training_wall_s: float
    corpus_val_accuracy: float | None
    """On the corpus's validation sessions (other sessions of the corpus walkers), at the kept step."""
    weights_sha256: str
    measured: dict[str, FineTuning]
    """Per target (TARGETS)."""


def corpus_recognizer_config(cfg: Config) -> Config:
    """`cfg` for training on the corpus: the built-in corpus, from random weights."""
    return cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": None, "builtin": "corpus"}),
                                  "recognizer": cfg.recognizer.model_copy(update={"init": "scratch"})})


def budget_overrides(budget: str, dataset: str) -> list[str]:
    """The config overrides of a real budget ('10' per class, '2s' sessions per class) on a built-in dataset."""
    extra = [f"data.builtin={dataset}", "data.path=null"]
    if budget.endswith("s"):
        n = int(budget[:-1])
        return extra + [f"split.train_sessions_per_class={n}", f"split.val_sessions_per_class={n}"]
    return extra + [f"split.train_per_class={int(budget)}", f"split.val_per_class={int(budget)}"]


def measure(shipped: Path, measure_cfg: Config, out: Path, console: Console | None) -> dict[str, FineTuning]:
    """Fine-tune from `shipped` and from scratch on every target's budget (the recipe of the utility study's real +
    classical arm, measure_cfg's); their test accuracies."""
    from mdaug.config import apply_overrides

    result = {}
    for target, (budget, what) in TARGETS.items():
        tcfg = apply_overrides(measure_cfg, budget_overrides(budget, target))
        data = load_run_data(tcfg, console)
        accuracy: dict[str, float] = {}
        for init in ("pretrained", "scratch"):
            rc = user_recipe(tcfg, len(data.indices("train")), classical=True)
            rc = rc.model_copy(update={"recognizer": rc.recognizer.model_copy(
                update={"init": str(shipped) if init == "pretrained" else "scratch"})})
            run = out / f"{target}-{init}"
            train_or_resume(run, lambda r, rc=rc, run=run, data=data: train_recognizer(
                rc, run, role="eval", resume=r, console=console, data=data))
            accuracy[init] = float(load_recognizer(run)[1].test_accuracy)
        result[target] = FineTuning(budget=budget, what=what, train=int(len(data.indices("train"))),
                                    test=int(len(data.indices("test"))), classes=len(data.dataset.class_names),
                                    **accuracy)
    return result


def write_shipped_recognizer(final: Path, dest: Path) -> str:
    """final/ as a shippable folder (the weights in fp32: the network is small); the SHA-256 of its weights."""
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in (WEIGHTS, "config.json", CARD):
        shutil.copy2(final / name, tmp / name)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return sha256_file(dest / WEIGHTS)


def pretrain_recognizer(cfg: Config, out: Path, *, measure_cfg: Config, name: str, ship: Path | None = None,
                        console: Console | None = None, command: str = "") -> RecognizerPretrainingRecord:
    """Train (or continue) the corpus run in OUT/recognizer, measure it on TARGETS, write OUT/shipped (and a copy
    at `ship`). Returns the record written beside the weights."""
    out = Path(out)
    ccfg, run = corpus_recognizer_config(cfg), out / "recognizer"
    with Timing.counting(out / "timing.json") as timing:
        train_or_resume(run, lambda r: train_recognizer(ccfg, run, role="eval", resume=r, console=console))
    spent = timing.training_wall_s
    shipped = out / "shipped"
    sha = write_shipped_recognizer(final_dir(run), shipped)
    _, card = load_recognizer(shipped)
    measured = measure(shipped, measure_cfg, out / "measure", console)
    t = ccfg.recognizer_train
    record = RecognizerPretrainingRecord(
        name=name, **provenance(command), input_shape=list(card.input_shape), channels=list(ccfg.recognizer.channels),
        classes=len(card.class_names), corpus=corpus_summary(cfg), steps=t.steps,
        batch_size=t.batch_size * t.grad_accum, training_wall_s=round(spent, 1),
        corpus_val_accuracy=card.selection_accuracy, weights_sha256=sha, measured=measured)
    _ship(record, recognizer_model_card(record), shipped, ship)
    return record


def recognizer_model_card(r: RecognizerPretrainingRecord) -> str:
    """MODEL_CARD.md of the shipped recogniser, generated from its record."""
    c = r.corpus
    rows = "\n".join(f"| {t} | {m.what} | {m.train} | {m.test} | {100 * m.pretrained:.1f}% | "
                     f"{100 * m.scratch:.1f}% | {100 * (m.pretrained - m.scratch):+.1f} |"
                     for t, m in r.measured.items())
    val = "-" if r.corpus_val_accuracy is None else f"{100 * r.corpus_val_accuracy:.1f}%"
    return f"""# {r.name}: a pretrained recogniser for {r.input_shape[1]}x{r.input_shape[2]} spectrograms

Made by `{r.command}` on {r.date} ({r.machine}); {r.steps} steps of {r.batch_size} spectrograms,
{r.training_wall_s / 60:.0f} minutes of training. Weights: `{WEIGHTS}`, float32, SHA-256 `{r.weights_sha256}`.
The compact CNN of mdaug (conv stages {r.channels}), trained to tell {r.classes} simulated walkers apart; its
accuracy on their validation sessions was {val}. `recognizer.init=pretrained` starts a recogniser from its conv
stages with a new head for your classes; the utility study's arm `real + classical, pretrained recogniser` does.

## Data

{c.spectrograms} simulated spectrograms ({c.trained_on} in its training split) of {c.people} walkers in
{c.parts} parts, people seeds {c.seeds[0]}-{c.seeds[1]}: none of them is a walker of a built-in dataset.
Radars: {', '.join(c.radars)}. Displays: {', '.join(c.displays)}. Each part draws its own Doppler span, STFT,
recording length, SNR, clutter, dynamic range, path, aspect and speed spread between sessions; sessions also differ
in what the arms do (swinging, hands in the pockets, carrying a box). The table of parts is `corpus.csv` in the
corpus folder.

## Measured (fine-tuned with the recipe of the utility study's real + classical arm; test split)

| dataset | real budget | training | test | from these weights | from scratch | gain (points) |
|---|---|---|---|---|---|---|
{rows}

One fine-tuning each (one seed): the utility study measures the same arm with repeats and intervals.
"""


__all__ = ["FineTuning", "RecognizerPretrainingRecord", "TARGETS", "budget_overrides", "corpus_recognizer_config",
           "measure", "pretrain_recognizer", "recognizer_model_card", "write_shipped_recognizer"]
