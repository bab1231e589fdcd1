"""Every file and folder name of a run folder and of a pipeline folder, in one place.

A training run (train-ae, train-ldm, train-prior, train-recognizer) writes:

    RUN/config.yaml        the resolved config it was started with
    RUN/data.json          what data it saw (checked again on resume); RUN/split.json, the exact split
    RUN/checkpoints/       step-NNNNNNN/ folders (see mdaug.training.checkpoint)
    RUN/losses.jsonl       one line per step; RUN/logs/ TensorBoard; RUN/images/ grids during training
    RUN/final/             the finished model (save_pretrained) and its card, mdaug.json; written last
    RUN/eval/              evaluations of the finished model (reconstruction-*.json, diagnose*.json, generation*.json)

`mdaug run` lays its steps out in one pipeline folder (PipelineFolders)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mdaug.config import CONFIG_FILE
from mdaug.data import SPLIT_FILE

FINAL = "final"
CARD = "mdaug.json"
FILTER_RECOGNIZER = "filter-recognizer"
"""In a pipeline folder: the recogniser that sifts the export (OUT/synthetic) when its strategy filters."""
DATA_RECORD = "data.json"
SPLIT = SPLIT_FILE
CHECKPOINTS = "checkpoints"
LOSSES = "losses.jsonl"
LOGS = "logs"
IMAGES = "images"
HEALTH = "health"
"""Stage 1: the latent-health accumulators of every epoch."""
LATENTS = "latents"
"""Stage 1: the cached latents of its training split, which stage 2 and diagnose read."""
EVAL = "eval"
INIT_RECORD = "init.json"
"""Stage 1: where it started (ae.init), written when it starts; the card repeats it."""
AUTOENCODER_RECORD = "autoencoder.json"
"""Stage 2: which stage-1 model it trains on (path and weights' SHA-256)."""

__all__ = ["AUTOENCODER_RECORD", "CARD", "CHECKPOINTS", "CONFIG_FILE", "DATA_RECORD", "EVAL", "FINAL", "HEALTH",
           "INIT_RECORD",
           "IMAGES", "LATENTS", "LOGS", "LOSSES", "SPLIT", "PipelineFolders", "final_dir", "newest", "run_finished"]


def final_dir(run: str | Path) -> Path:
    return Path(run) / FINAL


def run_finished(run: str | Path) -> bool:
    """Did the training run in `run` write its final/ model (the last thing a run writes)?"""
    return (final_dir(run) / CARD).exists()


def newest(folder: Path, stem: str, suffix: str = ".json") -> Path | None:
    """The newest of folder/stem.json, stem-2.json, ... (by modification time): evaluations never overwrite."""
    found = [p for p in folder.glob(f"{stem}*{suffix}") if p.stem == stem or p.stem[len(stem) + 1:].isdigit()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


@dataclass(frozen=True)
class PipelineFolders:
    """What `mdaug run` writes into its folder:

        OUT/recognizer-eval/  the evaluation recogniser (real training split only, its own seed)
        OUT/ae/               stage 1 (+ ae/eval: reconstruction and latent diagnostics)
        OUT/ldm/, OUT/prior/  stage 2 (+ <kind>/eval: generation quality)
        OUT/synthetic/        the augmented dataset, in the input's format, with its manifest
        OUT/utility/          downstream utility
        OUT/report.html, OUT/metrics.json, OUT/pipeline.json (its plan), OUT/config.yaml
        OUT/timings.json      seconds each step took (where its minutes went)
    """

    root: Path

    @property
    def recognizer(self) -> Path:
        return self.root / "recognizer-eval"

    @property
    def ae(self) -> Path:
        return self.root / "ae"

    def stage2(self, kind: str) -> Path:
        return self.root / kind

    @property
    def synthetic(self) -> Path:
        return self.root / "synthetic"

    @property
    def utility(self) -> Path:
        return self.root / "utility"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def plan(self) -> Path:
        return self.root / "pipeline.json"

    @property
    def timings(self) -> Path:
        return self.root / "timings.json"

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE
