"""Downstream utility (`mdaug utility`): does adding synthetic spectrograms raise a recogniser's accuracy on
held-out real data?

At every real-data budget (k training samples per class, and as many validation samples from other sessions;
or all) and repeat, with nothing leaking:
1. stage 1 (fine-tuned from its start, ae.init) and stage 2 are trained on those k real samples per class only;
2. recognisers are trained for the arms: real only, real + classical augmentation, real + classical + the pool of
   each strategy of utility.strategies, and synthetic only (TSTR: as many samples from noise as real ones,
   unsifted); every recogniser's best step and the strategy are chosen on the real validation split;
3. every arm is tested on the real test split, which nothing saw or chose.
The summary gives each arm's mean with its 95% interval over repeats and the paired differences; the report lists,
per model, how many and which real files it saw (a SHA-256 of their ids). Every step is skipped when its output
exists, and resumed from its last checkpoint when it was interrupted.

    budget.py       one (budget, repeat): config, generative models, pools, recognisers
    synthetic.py    the pools' files and the training sets made with them
    recognisers.py  the recipe of the study's recognisers (a user's: no blur) and reusing the evaluation one
    summary.py      intervals, paired gains, the verdict sentence
    figure.py       the study's figure
    choice.py       the one rule every choice on validation follows (and its tie rule)
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from mdaug.config import Config
from mdaug.errors import MdaugError
from mdaug.evaluation.records import UtilityReport
from mdaug.files import hold_lock
from mdaug.runs.pretrained import check_stage2_init
from mdaug.runs.run_data import check_data_path
from mdaug.workflows.steps import Plan, claim_folder
from mdaug.workflows.utility.budget import budget_config, budget_name, check_strategies, fit_batches, run_budget
from mdaug.workflows.utility.figure import utility_figure
from mdaug.workflows.utility.recognisers import RecogniserStore, evaluation_recogniser_reusable, user_recipe
from mdaug.workflows.utility.summary import interval, summarise, verdict
from mdaug.workflows.utility.synthetic import with_synthetic

UTILITY_JSON = "utility.json"


class UtilityPlan(Plan):
    budgets: list[str]
    seeds: int
    family: str
    generator: str
    strategies: list[str]


def check_plan(cfg: Config) -> None:
    """What a study (or mdaug run's utility step) would otherwise find only after minutes of training, refused
    before the first step: a data path that does not exist, an ldm.init or prior.init that names nothing, strategies
    that would all be left out."""
    check_data_path(cfg)
    check_stage2_init(cfg.ldm.init, "ldm")
    check_stage2_init(cfg.prior.init, "prior")
    check_strategies(cfg)


def run_utility(cfg: Config, out: Path, *, console: Console | None = None,
                reuse: tuple[Path, Path] | None = None, real_recogniser: Path | None = None,
                store: Path | None = None) -> UtilityReport:
    """Every budget and repeat of cfg.utility into `out` (continuing what is there); writes utility.json
    and utility.png and returns the report. `reuse`: the finished stage-1 and stage-2 runs of the full
    training split, used for budget 'all' instead of training them there. `real_recogniser`: a finished
    evaluation recogniser of the full training split, taken as the real-only recogniser of budget 'all',
    repeat 0 when its recipe, seed and samples are that recogniser's (checked). `store`: a folder of recognisers
    shared with other studies of the same real data (RecogniserStore): the arms without synthetic data are taken from
    it when one there was trained exactly so, and filed in it when trained here."""
    out = Path(out)
    u = cfg.utility
    if not u.budgets:
        raise MdaugError("utility.budgets is empty; give at least one budget (e.g. [10, all])")
    check_plan(cfg)
    out.mkdir(parents=True, exist_ok=True)
    lock = hold_lock(out, "utility study")  # held for as long as the study runs
    try:
        return _run_utility(cfg, out, console=console, reuse=reuse, real_recogniser=real_recogniser,
                            store=None if store is None else RecogniserStore(store))
    finally:
        if lock is not None:
            lock.close()


def _run_utility(cfg: Config, out: Path, *, console: Console | None, reuse: tuple[Path, Path] | None,
                 real_recogniser: Path | None, store: RecogniserStore | None) -> UtilityReport:
    u = cfg.utility
    plan = UtilityPlan(budgets=[budget_name(b) for b in u.budgets], seeds=u.seeds, family=cfg.ae.family,
                       generator=u.generator, strategies=[s.name for s in u.strategies])
    claim_folder(out / "plan.json", plan, f"{out} holds a utility study with another plan ({out / 'plan.json'}); "
                 "use a new --out")
    # At budget 'all' every repeat has the same real samples, so its repeats share one pair of generative
    # models (leak-free, and saving a stage-1 and stage-2 training per repeat); they differ in the synthetic
    # samples drawn and in the recognisers' seeds. Smaller budgets draw other real samples per repeat.
    first_all = out / "budget-all" / "repeat-0"
    shared = reuse or (first_all / "ae", first_all / u.generator)
    records = []
    for k in u.budgets:
        for repeat in range(u.seeds):
            if console:
                console.rule(f"budget {budget_name(k)} per class, repeat {repeat + 1}/{u.seeds}")
            share = k == "all" and (repeat > 0 or reuse is not None)
            records.append(run_budget(cfg, out / f"budget-{budget_name(k)}" / f"repeat-{repeat}", k, repeat,
                                      console=console, reuse=shared if share else None,
                                      real_recogniser=real_recogniser if k == "all" and repeat == 0 else None,
                                      store=store))
    summary = summarise(records)
    report = UtilityReport(
        **plan.model_dump(), records=records, summary=summary, verdict=verdict(summary),
        note="test accuracy on the real test split, which nothing saw or chose; each budget's generative models saw "
             "only that budget's real training samples (real_files_seen: SHA-256 of their ids), and everything was "
             "chosen on its validation samples (other sessions)",
        files={"json": str(out / UTILITY_JSON), "figure": str(out / "utility.png")})
    utility_figure(report, out / "utility.png")
    report.write(out / UTILITY_JSON)
    return report


__all__ = ["UTILITY_JSON", "budget_config", "check_plan", "evaluation_recogniser_reusable", "fit_batches",
           "interval", "run_budget", "run_utility", "summarise", "user_recipe", "utility_figure", "verdict",
           "with_synthetic"]
