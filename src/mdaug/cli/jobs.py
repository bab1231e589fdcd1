"""Whole jobs: the pipeline, the family benchmark and the simulator tour."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mdaug.cli.app import FAMILY, OVERRIDES, PRESETS_HELP, app, command_config, out
from mdaug.config.models import FAMILIES
from mdaug.errors import MdaugError


@app.command("run", rich_help_panel="Run")
def run_cmd(
    out_dir: Path = typer.Option(Path("runs/mdaug"), "--out", "-o", help="Pipeline folder (continued when it exists)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Your dataset (default: the simulated 31-person set)."),
    preset: str = typer.Option("quick", "--config", "-c", help=f"Preset or YAML: {PRESETS_HELP}."),
    old_preset: Optional[str] = typer.Option(None, "--preset", hidden=True),
    family: Optional[str] = FAMILY,
    prior: bool = typer.Option(False, "--prior/--no-prior",
                               help="Also train and evaluate the code prior beside latent diffusion (families with "
                                    "codes: vq, vqgan, rq, fsq; from the shipped one where it fits)."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """The whole job: data -> split -> recogniser -> stage 1 -> stage 2 -> augmented dataset -> diagnostics,
    generation metrics, utility -> HTML report. Finished steps are skipped; interrupted ones resume."""
    from mdaug.workflows.pipeline import run_pipeline

    run_pipeline(out_dir, preset=old_preset or preset, family=family, data=data, overrides=list(overrides or []),
                 console=out, prior=prior)


@app.command("benchmark", rich_help_panel="Run")
def benchmark_cmd(
    out_dir: Path = typer.Option(Path("runs/benchmark"), "--out", "-o",
                                 help="Benchmark folder (continued when it exists)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Your dataset (default: the simulated 31-person set)."),
    preset: str = typer.Option("quick", "--config", "-c", help=f"Preset or YAML: {PRESETS_HELP}."),
    old_preset: Optional[str] = typer.Option(None, "--preset", hidden=True),
    families: str = typer.Option(",".join(f for f in FAMILIES if f != "pixels"), "--families",
                                 help="Stage-1 families, comma-separated."),
    prior: bool = typer.Option(True, "--prior/--no-prior",
                               help="Also train and evaluate the code prior (code families)."),
    recognisers: Optional[Path] = typer.Option(
        None, "--recognisers", help="Folder of recognisers of the real data shared with other benchmarks "
        "(default OUT/recognisers): the evaluation recogniser and the utility arms without synthetic data, "
        "each copied when one there was trained exactly so."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Every stage-1 family on the same data and budget, each with latent diffusion (and the code prior), then one
    table: reconstruction, latent health, generation quality, identity and utility gain. The recognisers that do not
    depend on the family (the evaluation recogniser, the utility study's real and classical arms) are trained once
    and shared."""
    import shlex
    import sys

    from mdaug.workflows.benchmark import run_benchmark

    names = tuple(f.strip() for f in families.split(",") if f.strip())
    run_benchmark(out_dir, preset=old_preset or preset, families=names, data=data, overrides=list(overrides or []),
                  prior=prior, console=out, command="mdaug " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                  recognisers=recognisers)


@app.command("tour", rich_help_panel="Run")
def tour(out_dir: Path = typer.Option(Path("runs/sim"), "--out", "-o", help="Folder for the tour's outputs."),
         config: str = typer.Option("gait31", "--config", "-c", help="Preset or YAML file.")) -> None:
    """The simulator tour: simulate the 31-person gait dataset, write it as jet images, read it back, preview it
    (the demo job, `make demo`, is `mdaug run`)."""
    from mdaug.workflows.tour import run_demo

    run_demo(out_dir, out, config)


@app.command("demo", hidden=True, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def demo() -> None:
    """The old name of the simulator tour: says where each thing went instead of guessing."""
    raise MdaugError("there is no `mdaug demo`: the demo job (`make demo`) is `mdaug run`, "
                     "and the simulator tour is `mdaug tour`")


@app.command("utility", rich_help_panel="Run")
def utility_cmd(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder of the study (continued when it exists)."),
    config: Optional[str] = typer.Option(None, "--config", "-c",
                                         help=f"Preset or YAML (default: quick): {PRESETS_HELP}."),
    family: Optional[str] = FAMILY,
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset path (default: the simulator)."),
    budgets: Optional[str] = typer.Option(None, "--budgets",
                                          help="Real data per class: samples, 'Ns' for the samples of N sessions, "
                                          "or all, e.g. 5,10,2s,all (default: the config's utility.budgets; "
                                          "quick: 10)."),
    repeats: Optional[int] = typer.Option(None, "--repeats", min=1, help="Repeats per budget, each its own split "
                                          "and models, for the intervals (default: utility.seeds; quick 1, "
                                          "standard 3)."),
    old_seeds: Optional[int] = typer.Option(None, "--seeds", min=1, hidden=True),
    generative: Optional[bool] = typer.Option(None, "--generative/--no-generative",
                                              help="With --no-generative only the arms without synthetic data (real, "
                                              "real + classical, the pretrained recogniser's): the learning curve, "
                                              "in minutes (utility.generative)."),
    ae: Optional[Path] = typer.Option(None, "--ae", help="A finished stage-1 run on the whole training split, "
                                      "reused for budget 'all' (with --stage2)."),
    stage2: Optional[Path] = typer.Option(None, "--stage2", help="The finished stage-2 run trained on --ae."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Downstream utility: recognisers trained on real data, with classical augmentation (and from the shipped
    pretrained recogniser), with synthetic data and on synthetic data alone, at several real budgets (the generative
    models of each budget trained on that budget only), tested on held-out real data as a whole and by condition."""
    from mdaug.workflows.utility import run_utility

    extra = list(overrides or [])
    if budgets:
        extra.append(f"utility.budgets=[{budgets}]")
    if old_seeds or repeats:
        extra.append(f"utility.seeds={old_seeds or repeats}")
    if generative is not None:
        extra.append(f"utility.generative={str(generative).lower()}")
    if family:
        extra.append(f"ae.family={family}")
    cfg = command_config(config or "quick", extra, data)
    if (ae is None) != (stage2 is None):
        raise MdaugError("--ae and --stage2 go together (the stage-2 run trained on that stage-1 run)")
    r = run_utility(cfg, out_dir, console=out, reuse=(ae, stage2) if ae is not None else None)
    out.rule("utility")
    out.print(r.verdict, markup=False)
    for b, s in r.summary.items():
        cells = ", ".join(f"{a} {100 * s.arms[a].mean:.1f}%" for a in s.arms)
        out.print(f"  budget {b} ({s.repeats} repeat{'s' if s.repeats > 1 else ''}): {cells}", markup=False)
    out.print(f"report: {r.files.json_file}  figure: {r.files.figure}")
