"""`mdaug benchmark`: every stage-1 family on the same data, split and budget, each through the whole
pipeline (latent diffusion, plus the code prior for the code families), then one comparison table.

    OUT/recognizer-eval/   the evaluation recogniser, trained once and shared (same data, split and seed)
    OUT/recognisers/       the recognisers of the real data the families share (the evaluation recogniser, and
                           each utility study's arms without synthetic data): trained by the first family that
                           needs one, copied by the others (--recognisers: a folder shared with other benchmarks)
    OUT/<family>/          one `mdaug run` folder per family
    OUT/benchmark.md       the `mdaug compare` table of the families, with the command that made it
    OUT/benchmark.json     its rows

Like `mdaug run`, it continues where it stopped: finished steps are skipped, interrupted ones resume.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from mdaug.errors import MdaugError
from mdaug.evaluation.results import compare_table
from mdaug.files import atomic_write_text, copy_tree_atomic
from mdaug.models.stage2 import CODE_FAMILIES
from mdaug.runs.layout import CHECKPOINTS, PipelineFolders, run_finished
from mdaug.runs.run_data import load_run_data
from mdaug.workflows.pipeline import Pipeline, evaluation_recogniser, pipeline_config
from mdaug.workflows.steps import Plan, claim_folder, refuse_foreign_files
from mdaug.workflows.utility.recognisers import RecogniserStore

FAMILIES = ("kl", "vq", "vqgan", "rq", "fsq")
"""Every stage-1 family (the parameterless pixels control aside: `--families pixels` adds it)."""
PLAN, TABLE, RECOGNISERS = "benchmark-plan.json", "benchmark.md", "recognisers"


class BenchmarkPlan(Plan):
    preset: str
    families: list[str]
    data: str | None
    overrides: list[str]
    prior: bool


def share_recognizer(shared: Path, run: Path) -> None:
    """Copy the finished shared recogniser run into a pipeline folder (skipped there as done; whole, config
    included, so the utility study can tell it is its real-only recogniser too)."""
    target = PipelineFolders(run).recognizer
    if not run_finished(target):
        copy_tree_atomic(shared, target, skip=(CHECKPOINTS,))


def _check_out(out: Path, families: tuple[str, ...]) -> None:
    """Refuse, before any work, an --out that is a file or holds files of the user's own (a folder without a
    benchmark plan that names something a benchmark does not write), as every other command does."""
    if out.exists() and not out.is_dir():
        raise MdaugError(f"--out {out} is a file; choose a folder")
    if not out.is_dir() or (out / PLAN).exists():
        return
    refuse_foreign_files(out, {PLAN, TABLE, PipelineFolders(out).recognizer.name, RECOGNISERS, *families},
                         "mdaug benchmark")


def run_benchmark(out: Path, *, preset: str = "quick", families: tuple[str, ...] = FAMILIES, data: Path | None = None,
                  overrides: list[str] | None = None, prior: bool = True, console: Console | None = None,
                  command: str | None = None, recognisers: Path | None = None) -> tuple[Path, str]:
    """Run (or continue) the benchmark into `out`; returns the table's path and the table. `recognisers`: the
    folder of shared recognisers of the real data (default OUT/recognisers; another benchmark's, to share with it)."""
    out, con = Path(out), console or Console()
    if not families:
        raise MdaugError("no families to benchmark; give at least one of kl, vq, vqgan, rq, fsq")
    if len(set(families)) != len(families):
        raise MdaugError(f"a family is listed twice in {','.join(families)}")
    cfgs = {f: pipeline_config(preset, f, data, list(overrides or [])) for f in families}  # bad names fail here
    _check_out(out, families)
    if recognisers is not None and Path(recognisers).exists() and not Path(recognisers).is_dir():
        raise MdaugError(f"--recognisers {recognisers} is a file; give a folder (of shared recognisers, or a new one)")
    first = cfgs[families[0]]
    run_data = load_run_data(first, con)  # bad data fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    plan = BenchmarkPlan(preset=preset, families=list(families), data=first.data.path,
                         overrides=list(overrides or []), prior=prior)
    claim_folder(out / PLAN, plan, f"{out} holds a benchmark with another plan ({out / PLAN}); use a new --out")

    shared, store = PipelineFolders(out).recognizer, RecogniserStore(recognisers or out / RECOGNISERS)
    con.rule("evaluation recogniser, shared by every family")
    if run_finished(shared):
        con.print("done before: skipped")
    else:
        evaluation_recogniser(first, shared, run_data, con, store)
    for i, family in enumerate(families, 1):
        con.rule(f"family {i}/{len(families)}: {family}", style="bold")
        share_recognizer(shared, out / family)
        Pipeline(cfgs[family], out / family, con, prior=prior and family in CODE_FAMILIES,
                 recognisers=store.folder).run()

    rows, table = compare_table([out / f for f in families])
    how = command or f"mdaug benchmark --config {preset} --families {','.join(families)}"
    atomic_write_text(out / "benchmark.json", json.dumps(rows, indent=1, default=float))
    md = atomic_write_text(out / TABLE, f"Made by `{how}`.\n\n{table}\n")
    con.print(table, markup=False)
    con.print(f"table: {md}")
    return md, table


__all__ = ["FAMILIES", "run_benchmark", "share_recognizer"]
