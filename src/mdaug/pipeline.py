"""`mdaug run`: from a dataset (the simulated 31-person set by default) to an evaluated augmented dataset and
an HTML report, as one resumable job. Each step is skipped when its output exists and is complete, and a
training step that was interrupted resumes from its last checkpoint, so a killed run continues where it
stopped (across notebook time limits too).

    OUT/recognizer-eval/  the evaluation recogniser (real training split only, its own seed)
    OUT/ae/               stage 1 (+ ae/eval: reconstruction and latent diagnostics)
    OUT/ldm/              stage 2 (+ ldm/eval: generation quality)
    OUT/prior/            with prior=True: the code prior (+ prior/eval)
    OUT/synthetic/        the augmented dataset, in the input's format, with its manifest
    OUT/utility/          downstream utility
    OUT/report.html, OUT/metrics.json
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from mdaug.config import Config, load_config
from mdaug.errors import MdaugError
from mdaug.estimate import Clock, minutes, step_costs
from mdaug.files import atomic_write_text
from mdaug.training.checkpoint import run_finished, train_or_resume
from mdaug.training.stage2 import CODE_FAMILIES


def pipeline_config(preset: str, family: str | None, data: Path | None, overrides: list[str]) -> Config:
    extra = list(overrides) + ([f"ae.family={family}"] if family else []) + ([f"data.path={data}"] if data else [])
    return load_config(preset, extra)


class Pipeline:
    """The steps of one run into `out`; `prior` adds a code prior beside latent diffusion (code families only)."""

    def __init__(self, cfg: Config, out: Path, console: Console, *, prior: bool = False) -> None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # set by accelerate launch / torchrun
            raise MdaugError("mdaug run is one process; launch the training commands (train-recognizer, train-ae, "
                             "train-ldm) with accelerate into OUT/recognizer-eval, OUT/ae, OUT/ldm, then run "
                             "mdaug run --out OUT without accelerate: it takes them as done")
        if prior and cfg.ae.family not in CODE_FAMILIES:
            raise MdaugError(f"a code prior needs discrete codes; family {cfg.ae.family} has none "
                             f"(use one of {', '.join(CODE_FAMILIES)})")
        self.cfg, self.out, self.console, self.prior = cfg, Path(out), console, prior
        self.t0 = time.monotonic()

    def run(self) -> Path:
        from mdaug.augment import export_augmented
        from mdaug.evaluation.diagnose import diagnose
        from mdaug.evaluation.generation_quality import evaluate_generation
        from mdaug.evaluation.reconstruction import evaluate_reconstruction
        from mdaug.evaluation.utility import run_utility
        from mdaug.generation import load_stage2
        from mdaug.report import newest, write_report
        from mdaug.training.autoencoder import train_autoencoder
        from mdaug.training.data import load_run_data
        from mdaug.training.recognizer import train_recognizer
        from mdaug.training.stage2 import train_stage2

        cfg, out, con = self.cfg, self.out, self.console
        if out.exists() and not out.is_dir():
            raise MdaugError(f"--out {out} is a file; choose a folder")
        data = load_run_data(cfg, con)  # first: bad data fails before anything is written
        out.mkdir(parents=True, exist_ok=True)
        plan = {"family": cfg.ae.family, "data": cfg.data.path, "size": list(cfg.data.size or []),
                "ae_steps": cfg.ae_train.steps, "ldm_steps": cfg.ldm_train.steps}
        plan_path = out / "pipeline.json"
        if plan_path.exists() and json.loads(plan_path.read_text()).get("plan") != plan:
            raise MdaugError(f"{out} holds a run with another family, data or preset ({plan_path}); use a new --out")
        from mdaug.config import config_to_yaml

        atomic_write_text(plan_path, json.dumps({"plan": plan}, indent=1))
        atomic_write_text(out / "config.yaml", config_to_yaml(cfg))
        rec, ae, syn = out / "recognizer-eval", out / "ae", out / "synthetic"
        con.print(f"data: {data.source}: {len(data.dataset)} spectrograms, {len(data.dataset.class_names)} classes, "
                  f"split {', '.join(f'{k} {len(v)}' for k, v in data.split.ids.items())}")
        per_eval = cfg.utility.synthetic_per_class // 2 or 1

        def stage2(kind: str) -> list[tuple[str, Callable[[], bool], Callable[[], Any], str]]:
            run = out / kind
            title = "latent diffusion" if kind == "ldm" else "code prior"
            return [(f"stage 2: {title}", lambda: run_finished(run),
                     lambda: train_or_resume(run, lambda r: train_stage2(cfg, run, kind, autoencoder=ae / "final",
                                                                          resume=r, console=con)), kind),
                    (f"generation quality ({title})", lambda: newest(run / "eval", "generation") is not None,
                     lambda: evaluate_generation(run, rec, per_class=per_eval), f"{kind}_eval")]

        def export() -> None:
            tmp = syn.with_name(syn.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            export_augmented(load_stage2(out / "ldm"), tmp, per_class=cfg.utility.synthetic_per_class, seed=cfg.seed)
            tmp.rename(syn)

        page: list[Path] = []
        steps: list[tuple[str, Callable[[], bool], Callable[[], Any], str]] = [
            ("evaluation recogniser (real training split only)", lambda: run_finished(rec),
             lambda: train_or_resume(rec, lambda r: train_recognizer(cfg, rec, role="eval", resume=r, console=con,
                                                                     data=data)), "recognizer"),
            (f"stage 1: {cfg.ae.family} autoencoder", lambda: run_finished(ae),
             lambda: train_or_resume(ae, lambda r: train_autoencoder(cfg, ae, resume=r, console=con, data=data)), "ae"),
            ("reconstruction on held-out data", lambda: newest(ae / "eval", "reconstruction-test") is not None,
             lambda: evaluate_reconstruction(ae), "reconstruction"),
            ("latent-space health", lambda: newest(ae / "eval", "diagnose") is not None,
             lambda: diagnose(ae, **cfg.diagnose.model_dump()), "diagnose"),
            *stage2("ldm"),
            *(stage2("prior") if self.prior else []),
            (f"augmented dataset ({cfg.utility.synthetic_per_class} per class)",
             lambda: (syn / "synthetic_manifest.csv").exists(), export, "export"),
            ("downstream utility", lambda: (out / "utility" / "utility.json").exists(),
             lambda: run_utility(cfg, out / "utility", console=con, reuse=(ae, out / "ldm"),
                                 real_recogniser=rec, augmented=syn), "utility"),
            ("report", lambda: False, lambda: page.extend(write_report(out)), "report"),
        ]
        costs = step_costs(cfg, len(data.dataset), len(data.split.ids["test"]), len(data.dataset.class_names),
                           prior=self.prior)
        clock = Clock([costs[key] for *_, key in steps])
        for i, (_, done, _, _) in enumerate(steps):
            if done():  # for the estimate only; each step is checked again when it comes
                clock.skip(i)
        con.print(f"{len(steps)} steps, estimated {minutes(clock.left(0))} on 2 CPU cores (the estimate adjusts "
                  "to this machine as the steps run)")
        for n, (name, done, run, _) in enumerate(steps, 1):
            i = n - 1
            so_far = time.monotonic() - self.t0
            if done():  # checked when the step comes, after the steps before it
                clock.skip(i)
                con.rule(f"[{n}/{len(steps)}] {name}")
                con.print("done before: skipped")
                continue
            clock.skipped.discard(i)
            con.rule(f"[{n}/{len(steps)}] {name}")
            con.print(f"about {minutes(clock.factor * clock.estimates[i])} for this step; {so_far / 60:.1f} min so "
                      f"far, about {minutes(clock.left(i))} left", style="dim")
            t = time.monotonic()
            run()
            clock.ran(i, time.monotonic() - t)
        con.rule(f"finished in {(time.monotonic() - self.t0) / 60:.1f} min")
        con.print(f"report: {page[0]}")
        return page[0]


def run_pipeline(out: Path, *, preset: str = "quick", family: str | None = None, data: Path | None = None,
                 overrides: list[str] | None = None, console: Console | None = None, prior: bool = False) -> Path:
    cfg = pipeline_config(preset, family, data, overrides or [])
    return Pipeline(cfg, out, console or Console(), prior=prior).run()


__all__ = ["Pipeline", "pipeline_config", "run_pipeline"]
