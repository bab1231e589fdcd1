"""What the report's header line says about a pipeline folder: which preset it ran (read back from its resolved
config.yaml: the preset it differs least from, and the keys that differ), what that preset is for, the mdaug
version, when it finished and how long it ran (from the times of the files it wrote), and where its TensorBoard
logs are. A pipeline folder does not record its preset by name, so it is inferred, and said to be."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml

from mdaug import __version__
from mdaug.config import config_to_yaml, load_config, preset_names, preset_summary
from mdaug.evaluation.records import EvalRecord
from mdaug.runs.layout import DATA_RECORD, EVAL, LOGS, SPLIT, PipelineFolders

PRESET_MEANING = {
    "quick": "64x64 demo schedule for CPUs (minutes; shows the system end to end, models are short)",
    "standard": "64x64, the 2-CPU schedule of the benchmarks (longer training, utility at 5/10/20/all per class)",
    "full": "256x256 for one 16 GB GPU (hours)",
    "tiny": "32x32 smoke run for tests (seconds; results mean nothing)",
    "gait31": "the built-in 31-person simulated benchmark at 64x64, spelled out",
}
"""One line per pipeline preset; other presets are described by the first sentence of their YAML's comment."""


class RunHeader(EvalRecord):
    preset: str | None
    """The preset the run's config differs least from (None without a config)."""
    preset_meaning: str
    changed: dict[str, str]
    """Keys whose value differs from that preset: key -> the run's value."""
    version: str
    finished: str | None
    """Date and time of the last result written (local time)."""
    minutes: float | None
    """From the first to the last file the run wrote (a resumed run includes its pause)."""
    logdirs: list[str]
    """The runs with TensorBoard logs."""


def preset_meaning(name: str) -> str:
    if name in PRESET_MEANING:
        return PRESET_MEANING[name]
    return preset_summary(name).rstrip(".")[:160] if name in preset_names() else ""


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in config.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def infer_preset(config_text: str) -> tuple[str | None, dict[str, str]]:
    """The preset a resolved config differs least from, and the keys that differ (key -> the config's value)."""
    try:
        run = _flat(yaml.safe_load(config_text) or {})
    except yaml.YAMLError:
        return None, {}
    best: tuple[int, str, dict[str, str]] | None = None
    names = preset_names()  # on a tie the pipeline presets win, in PRESET_MEANING's order
    for name in [n for n in PRESET_MEANING if n in names] + sorted(set(names) - set(PRESET_MEANING)):
        preset = _flat(yaml.safe_load(config_to_yaml(load_config(name))))
        diff = {k: str(run.get(k, "(absent)")) for k in sorted(run.keys() | preset.keys())
                if run.get(k) != preset.get(k)}
        if best is None or len(diff) < best[0]:
            best = (len(diff), name, diff)
    return (best[1], best[2]) if best else (None, {})


def _mtimes(paths: list[Path]) -> list[float]:
    return [p.stat().st_mtime for p in paths if p.is_file()]


def run_span(folder: Path) -> tuple[float | None, float | None]:
    """(first, last) modification time of what the steps of a pipeline folder wrote (report and metrics
    excluded: they are rewritten whenever a report is made). The last is the augmented dataset's manifest, the
    last step before the report, when there is one (a later re-evaluation does not lengthen the run)."""
    p = PipelineFolders(folder)
    runs = [p.recognizer, p.ae, *[d for d in folder.iterdir() if d.is_dir() and (d / "autoencoder.json").exists()]]
    first = _mtimes([p.plan] + [r / name for r in runs for name in (DATA_RECORD, SPLIT)])
    last = _mtimes([p.synthetic / "manifest.csv"]) or _mtimes(
        [f for r in runs for f in (r / EVAL).glob("*.json")] + [r / "final" / "mdaug.json" for r in runs]
        + [p.utility / "utility.json"])
    return (min(first) if first else None), (max(last) if last else None)


def run_header(folder: str | Path, config_text: str | None) -> RunHeader:
    folder = Path(folder)
    preset, changed = infer_preset(config_text) if config_text else (None, {})
    first, last = run_span(folder)
    logdirs = sorted(str(d.parent) for d in folder.glob(f"*/{LOGS}") if d.is_dir() and any(d.iterdir()))
    return RunHeader(preset=preset, preset_meaning=preset_meaning(preset) if preset else "", changed=changed,
                     version=__version__,
                     finished=datetime.datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M") if last else None,
                     minutes=(last - first) / 60 if first and last and last >= first else None, logdirs=logdirs)


__all__ = ["PRESET_MEANING", "RunHeader", "infer_preset", "preset_meaning", "run_header", "run_span"]
