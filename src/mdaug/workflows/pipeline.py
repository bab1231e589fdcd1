"""`mdaug run`: from a dataset (the simulated 31-person set by default) to an evaluated augmented dataset and
an HTML report, as one resumable job. Each step is skipped when its output exists and is complete, and a
training step that was interrupted resumes from its last checkpoint, so a killed run continues where it
stopped (across notebook time limits too). The folder's layout is mdaug.runs.layout.PipelineFolders."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import yaml
from rich.console import Console

from mdaug.config import Config, config_to_yaml, load_config
from mdaug.data.prepare import check_output_outside
from mdaug.errors import MdaugError
from mdaug.evaluation.conditions_control import evaluate_conditions
from mdaug.evaluation.diagnose import diagnose
from mdaug.evaluation.generation_quality import evaluate_generation
from mdaug.evaluation.reconstruction import evaluate_reconstruction
from mdaug.evaluation.records import UtilityReport
from mdaug.evaluation.report import write_report
from mdaug.files import LOCK, atomic_write_text, hold_lock
from mdaug.models.stage2 import CODE_FAMILIES, STAGE2_KINDS
from mdaug.runs.layout import EVAL, FILTER_RECOGNIZER, PipelineFolders, final_dir, newest, run_finished
from mdaug.runs.loading import load_stage2
from mdaug.runs.run_data import RunData, load_run_data
from mdaug.sampling.export import MANIFEST
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.recognizer import train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.estimate import Clock, minutes, step_costs
from mdaug.workflows.pools import StrategyChoice, export_with_strategy
from mdaug.workflows.steps import (
    EXPORT_KIND,
    Plan,
    Step,
    check_claim,
    claim_folder,
    refuse_foreign_files,
    train_or_resume,
)
from mdaug.workflows.utility import UTILITY_JSON, check_plan, run_utility
from mdaug.workflows.utility.budget import strategies_to_run
from mdaug.workflows.utility.choice import largest_budget, most_chosen
from mdaug.workflows.utility.recognisers import RecogniserStore, shared_training, user_recipe


class PipelinePlan(Plan):
    family: str
    data: str | None
    size: list[int]
    ae_steps: int
    ldm_steps: int


CONDITION_SAMPLES = 8
"""Samples per value asked for in the pipeline's measure of the conditions (and half as many per person for
identity): enough for a median, within the demo's minutes."""


def pipeline_config(preset: str, family: str | None, data: Path | None, overrides: list[str]) -> Config:
    extra = list(overrides) + ([f"ae.family={family}"] if family else []) + ([f"data.path={data}"] if data else [])
    return load_config(preset, extra)


def _pipeline_names() -> set[str]:
    f = PipelineFolders(Path())
    return {p.name for p in (f.recognizer, f.ae, f.synthetic, f.utility, f.report, f.metrics, f.plan, f.config)} \
        | set(STAGE2_KINDS) | {FILTER_RECOGNIZER, f.synthetic.name + ".partial", LOCK}


def check_pipeline_folder(folders: PipelineFolders, plan: PipelinePlan, refusal: str, config_yaml: str) -> None:
    """Refuse, before any work, an --out that is a file, holds files of its own (no run's plan, and names a run
    does not write: training runs launched into it by hand, OUT/ae and so on, are welcome), holds another plan, or
    holds a config.yaml that is not this run's (garbage, hand-edited or other settings): never written over."""
    out = folders.root
    if out.exists() and not out.is_dir():
        raise MdaugError(f"--out {out} is a file; choose a folder")
    if not out.is_dir():
        return
    if not folders.plan.exists():
        refuse_foreign_files(out, _pipeline_names(), "mdaug run")
    check_claim(folders.plan, plan, refusal, under="plan")
    if folders.config.exists():
        _check_config(folders.config, yaml.safe_load(config_yaml))


def _check_config(path: Path, now: dict) -> None:
    try:
        saved = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        saved = None
    if not isinstance(saved, dict):
        raise MdaugError(f"{path} is not a config mdaug wrote (not a YAML mapping: edited by hand?); put back the "
                         "original or use a new --out (nothing was overwritten)")
    diff = _first_difference(saved, now, "")
    if diff:
        raise MdaugError(f"{path.parent} holds a run with other settings: {diff} ({path}); repeat its preset and "
                         "overrides, or use a new --out (nothing was overwritten)")


def _first_difference(a: object, b: object, prefix: str) -> str | None:
    """The first key whose value differs, over the keys both have (a newer mdaug may add keys)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(a.keys() & b.keys(), key=str):
            found = _first_difference(a[k], b[k], f"{prefix}{k}.")
            if found:
                return found
        return None
    return None if a == b else f"{prefix[:-1]} is {a!r} there and {b!r} now"


def record_timing(path: Path, key: str, seconds: float) -> None:
    """Set one step's seconds in the run's timings.json ({"seconds": {step key: seconds}}), keeping the steps timed
    before a resume: where a run's minutes went, for the estimates and the benchmarks. A step that runs again (its
    output was removed) is timed anew; one skipped as done keeps its first time."""
    timings = json.loads(path.read_text()) if path.exists() else {"seconds": {}}
    timings["seconds"][key] = round(seconds, 1)
    atomic_write_text(path, json.dumps(timings, indent=1) + "\n")


def evaluation_recogniser(cfg: Config, target: Path, data: RunData, console: Console | None,
                          store: RecogniserStore | None = None) -> None:
    """Train (or resume) the evaluation recogniser into `target`, or copy the one in `store` trained exactly so
    (same recipe, seed and samples), and file a newly trained one there."""
    def train() -> None:
        if not run_finished(target):
            train_or_resume(target, lambda r: train_recognizer(cfg, target, role="eval", resume=r, console=console,
                                                               data=data))
    shared_training(store, cfg, target, data, train, console)


class Pipeline:
    """The steps of one run into `out`; `prior` adds a code prior beside latent diffusion (code families only);
    `recognisers`: a folder of recognisers of the same real data shared with other runs (RecogniserStore; `mdaug
    benchmark` shares one between its families), for the evaluation recogniser and the utility study's arms without
    synthetic data."""

    def __init__(self, cfg: Config, out: Path, console: Console, *, prior: bool = False,
                 recognisers: Path | None = None) -> None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # set by accelerate launch / torchrun
            raise MdaugError("mdaug run is one process; launch the training commands (train-recognizer, train-ae, "
                             "train-ldm) with accelerate into OUT/recognizer-eval, OUT/ae, OUT/ldm, then run "
                             "mdaug run --out OUT without accelerate: it takes them as done")
        if not cfg.utility.generative:
            raise MdaugError("mdaug run makes and exports synthetic data, so it needs utility.generative=true; the "
                             "learning curve alone is `mdaug utility ... utility.generative=false`")
        check_plan(cfg)
        if prior and cfg.ae.family not in CODE_FAMILIES:
            raise MdaugError(f"a code prior needs discrete codes; family {cfg.ae.family} has none "
                             f"(use one of {', '.join(CODE_FAMILIES)})")
        self.cfg, self.out, self.console, self.prior = cfg, Path(out), console, prior
        self.store = None if recognisers is None else RecogniserStore(recognisers)
        self.folders = PipelineFolders(self.out)
        self.t0 = time.monotonic()
        self.page: list[Path] = []

    def _start(self) -> RunData:
        """The folder is checked first (before minutes of simulation), then the data (bad data fails before
        anything is written), then the folder is claimed with its plan and config."""
        cfg, out = self.cfg, self.out
        plan = PipelinePlan(family=cfg.ae.family, data=cfg.data.path, size=list(cfg.data.size or []),
                            ae_steps=cfg.ae_train.steps, ldm_steps=cfg.ldm_train.steps)
        refusal = (f"{out} holds a run with another family, data or preset ({self.folders.plan}); use the same "
                   "ones, or a new --out")
        if cfg.data.path is not None:
            check_output_outside(cfg.data.path, out)
        check_pipeline_folder(self.folders, plan, refusal, config_to_yaml(cfg))
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        self.lock = hold_lock(out, "mdaug run")  # before the data: a second run into this folder stops here
        try:
            data = load_run_data(cfg, self.console)
        except BaseException:
            if created:  # bad data leaves no folder behind
                shutil.rmtree(out, ignore_errors=True)
            raise
        claim_folder(self.folders.plan, plan, refusal, under="plan")
        if not self.folders.config.exists():  # one that exists was checked equal (or older, with fewer keys)
            atomic_write_text(self.folders.config, config_to_yaml(cfg))
        self.console.print(f"data: {data.source}: {len(data.dataset)} spectrograms, {len(data.dataset.class_names)} "
                           f"classes, split {', '.join(f'{k} {len(v)}' for k, v in data.split.ids.items())}")
        return data

    def _stage2_steps(self, kind: str) -> list[Step]:
        cfg, f, con = self.cfg, self.folders, self.console
        run, title = f.stage2(kind), STAGE2_KINDS[kind].title
        per_eval = cfg.utility.synthetic_per_class // 2 or 1
        return [Step(f"stage 2: {title}", lambda: run_finished(run),
                     lambda: train_or_resume(run, lambda r: train_stage2(cfg, run, kind, autoencoder=final_dir(f.ae),
                                                                          resume=r, console=con)), kind),
                Step(f"generation quality ({title})", lambda: newest(run / EVAL, "generation") is not None,
                     lambda: evaluate_generation(run, f.recognizer, per_class=per_eval), f"{kind}_eval"),
                *([Step("what the recording conditions do (controllability, identity, a person at conditions they "
                        "lack)", lambda: newest(run / EVAL, "conditions") is not None,
                        lambda: evaluate_conditions(run, f.recognizer, per_value=CONDITION_SAMPLES,
                                                    per_class=CONDITION_SAMPLES // 2, seed=cfg.seed),
                        "conditions")] if kind == "ldm" else [])]

    def _choice(self, data: RunData) -> StrategyChoice:
        """The strategy the utility study chose on validation (at budget 'all' when it ran, else its largest budget),
        with a filter recogniser of the full training split when the strategy filters."""
        cfg, f = self.cfg, self.folders
        report = UtilityReport.read(f.utility / UTILITY_JSON)
        budget = largest_budget(report)
        chosen = report.summary[budget].strategies
        strategies, _ = strategies_to_run(cfg)
        name = most_chosen(chosen, [s.name for s in strategies])
        strategy = next(s for s in strategies if s.name == name)
        recognizer = None
        if strategy.filter_confidence > 0 or strategy.filter_named:
            reused = f.utility / "budget-all" / "repeat-0" / "recognizer-real"
            recognizer = reused if budget == "all" and run_finished(reused) else f.root / FILTER_RECOGNIZER
            if recognizer != reused:
                if self.console and not run_finished(recognizer):
                    self.console.print("  the export's filter recogniser (the strategy keeps the samples a recogniser "
                                       "of the real training split names): trained on the whole training split")
                rc = user_recipe(cfg, len(data.split.train))
                train_or_resume(recognizer, lambda r: train_recognizer(rc, recognizer, role="eval", resume=r,
                                                                       console=self.console, data=data))
        n = chosen[name]
        return StrategyChoice(strategy=strategy, recognizer=None if recognizer is None else str(recognizer.resolve()),
                              selected=f"chosen on the validation split by the utility study in {f.utility}: the best "
                                       f"in {n} of {sum(chosen.values())} repeat(s) at budget {budget}")

    def _export(self, data: RunData) -> None:
        """The augmented dataset, drawn with the chosen strategy (recorded beside the stage-2 model for `mdaug
        augment`), written beside and renamed into place."""
        syn, run = self.folders.synthetic, self.folders.stage2(EXPORT_KIND)
        choice = self._choice(data)
        choice.write(run)
        tmp = syn.with_name(syn.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        r = export_with_strategy(load_stage2(run), tmp, self.cfg.utility.synthetic_per_class, choice,
                                 seed=self.cfg.seed)
        tmp.rename(syn)
        if self.console:
            self.console.print(f"  {r.samples} synthetic spectrograms, {len(r.classes)} classes x {r.per_class}"
                               + (f"; fewer than asked: {r.shortfall()}" if r.shortfall() else
                                  " (every class in full)"), markup=False)

    def steps(self, data: RunData) -> list[Step]:
        cfg, f, con = self.cfg, self.folders, self.console
        return [
            Step("evaluation recogniser (real training split only)", lambda: run_finished(f.recognizer),
                 lambda: evaluation_recogniser(cfg, f.recognizer, data, con, self.store), "recognizer"),
            Step(f"stage 1: {cfg.ae.family} autoencoder", lambda: run_finished(f.ae),
                 lambda: train_or_resume(f.ae, lambda r: train_autoencoder(cfg, f.ae, resume=r, console=con,
                                                                           data=data)),
                 "ae"),
            Step("reconstruction on held-out data", lambda: newest(f.ae / EVAL, "reconstruction-test") is not None,
                 lambda: evaluate_reconstruction(f.ae, recognizer=f.recognizer), "reconstruction"),
            Step("latent-space health", lambda: newest(f.ae / EVAL, "diagnose") is not None,
                 lambda: diagnose(f.ae, **cfg.diagnose.model_dump()), "diagnose"),
            *self._stage2_steps(EXPORT_KIND),
            *(self._stage2_steps("prior") if self.prior else []),
            Step("downstream utility", lambda: (f.utility / UTILITY_JSON).exists(),
                 lambda: run_utility(cfg, f.utility, console=con, reuse=(f.ae, f.stage2(EXPORT_KIND)),
                                     real_recogniser=f.recognizer,
                                     store=None if self.store is None else self.store.folder), "utility"),
            Step(f"augmented dataset ({cfg.utility.synthetic_per_class} per class, the chosen strategy)",
                 lambda: (f.synthetic / MANIFEST).exists(), lambda: self._export(data), "export"),
            Step("report", lambda: False, lambda: self.page.extend(write_report(self.out)), "report"),
        ]

    def run(self) -> Path:
        try:
            return self._run()
        finally:  # the folder is free again for the next run (in this process too)
            if getattr(self, "lock", None) is not None:
                self.lock.close()

    def _run(self) -> Path:
        con = self.console
        data = self._start()
        steps = self.steps(data)
        costs = step_costs(self.cfg, len(data.dataset), len(data.split.test), len(data.dataset.class_names),
                           prior=self.prior, n_train=len(data.split.train))
        clock = Clock([costs[s.cost] for s in steps])
        for i, s in enumerate(steps):
            if s.done():  # for the estimate only; each step is checked again when it comes
                clock.skip(i)
        con.print(f"{len(steps)} steps, estimated {minutes(clock.left(0))} at the speed measured on 2 CPU cores "
                  "(the estimate adjusts to this machine as the steps run)")
        for i, s in enumerate(steps):
            con.rule(f"[{i + 1}/{len(steps)}] {s.name}")
            if s.done():  # checked when the step comes, after the steps before it
                clock.skip(i)
                con.print("done before: skipped")
                continue
            clock.skipped.discard(i)
            con.print(f"about {minutes(clock.factor * clock.estimates[i])} for this step; "
                      f"{(time.monotonic() - self.t0) / 60:.1f} min so far, about {minutes(clock.left(i))} left",
                      style="dim")
            t = time.monotonic()
            s.run()
            clock.ran(i, time.monotonic() - t)
            record_timing(self.folders.timings, s.cost, time.monotonic() - t)
        con.rule(f"finished in {(time.monotonic() - self.t0) / 60:.1f} min")
        con.print(f"report: {self.page[0]}")
        return self.page[0]


def run_pipeline(out: Path, *, preset: str = "quick", family: str | None = None, data: Path | None = None,
                 overrides: list[str] | None = None, console: Console | None = None, prior: bool = False) -> Path:
    cfg = pipeline_config(preset, family, data, overrides or [])
    return Pipeline(cfg, out, console or Console(), prior=prior).run()


__all__ = ["Pipeline", "check_pipeline_folder", "evaluation_recogniser", "pipeline_config", "record_timing",
           "run_pipeline"]
