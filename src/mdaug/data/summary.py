"""`mdaug data inspect`: what a dataset holds, what is wrong with it, and a picture of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mdaug.data.canonical import SpectrogramSet
from mdaug.data.conditions import Conditions, label
from mdaug.data.coverage import Coverage, coverage
from mdaug.data.direction import walking_direction
from mdaug.data.info import DataInfo
from mdaug.data.read import Problem, ReadResult
from mdaug.data.transforms import zero_row_of
from mdaug.plotting import pyplot


@dataclass(frozen=True)
class DataSummary:
    """What `mdaug data inspect` says about a dataset: the reader's facts, classes, counts and sessions per class,
    walking directions, value ranges, problems and, when asked, the conditions and each class's coverage of them."""

    info: DataInfo
    n: int
    classes: list[str]
    counts: dict[str, int]
    sessions_per_class: dict[str, int]
    towards_away_per_class: dict[str, list[int]]
    """Class -> [samples walking towards the radar, away from it]."""
    one_way_classes: list[str]
    shape: list[int]
    value_range: list[float]
    value_mean: float
    value_std: float
    problems: list[Problem]
    conditions: Conditions | None = None
    coverage: Coverage | None = None
    """Of `conditions`, per class."""

    def to_json(self) -> dict[str, Any]:
        """The summary as `mdaug data inspect --json` writes it."""
        info, cond, cov = self.info, self.conditions, self.coverage
        return {
            "source": info.source, "layout": info.layout, "n": self.n, "classes": self.classes, "counts": self.counts,
            "sessions_per_class": self.sessions_per_class, "towards_away_per_class": self.towards_away_per_class,
            "one_way_classes": self.one_way_classes, "shape": self.shape, "native_shapes": info.native_shapes,
            "kinds": info.kinds, "colormap": info.colormap, "colormap_detected": info.colormap_detected,
            "off_map_fraction": info.off_map_fraction, "scales": info.scales, "raw_range": info.raw_range,
            "value_range": self.value_range, "value_mean": self.value_mean, "value_std": self.value_std,
            "problems": [{"level": p.level, "message": p.message} for p in self.problems],
            "conditions": None if cond is None or cov is None else {
                "source": cond.source, "compared": cond.compared(),
                "tolerance": {n: cond.tolerance(n) for n in cond.compared()}, "bins": cov.bins,
                "coverage": cov.summary(), "counts": {n: c.tolist() for n, c in cov.counts.items()},
                "notes": list(cond.notes)},
        }


def summarize(result: ReadResult, conditions: Conditions | None = None) -> DataSummary:
    """The summary of a dataset as read: classes, counts and sessions per class, shapes, value ranges, problems; with
    `conditions`, where they come from and each class's coverage of them (which bins it has and lacks)."""
    ds = result.dataset
    per_class_sessions = {n: len({r.session for r in ds.records if r.class_name == n and r.session is not None})
                          for n in ds.class_names}
    x = ds.x
    ways = walking_direction(x, zero_row_of(ds)) if len(ds) else np.zeros(0)
    labels = np.asarray(ds.labels)
    direction = {n: [int(((labels == c) & (ways > 0)).sum()), int(((labels == c) & (ways < 0)).sum())]
                 for c, n in enumerate(ds.class_names)}
    return DataSummary(
        info=ds.info, n=len(ds), classes=ds.class_names, counts=ds.counts(), sessions_per_class=per_class_sessions,
        towards_away_per_class=direction,
        one_way_classes=[n for n, (towards, away) in direction.items() if (towards == 0) != (away == 0)],
        shape=list(x.shape[1:]), value_range=[float(x.min()), float(x.max())], value_mean=float(x.mean()),
        value_std=float(x.std()), problems=list(result.problems), conditions=conditions,
        coverage=None if conditions is None else coverage(conditions, ds.labels, ds.class_names))


def print_summary(summary: DataSummary, console) -> None:
    from rich.table import Table

    info = summary.info
    console.print(f"[bold]{info.source}[/bold]  ({info.layout})")
    kinds = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in (info.kinds or {}).items())
    console.print(f"  samples: {summary.n} in {len(summary.classes)} classes   read: {kinds}")
    cmap = info.colormap
    if cmap:
        off = info.off_map_fraction or 0.0
        console.print(f"  colormap: {cmap}" + (" (detected)" if info.colormap_detected else "")
                      + (f", {off:.1%} of pixels off the map on average" if cmap not in ("rgb", "gray") else ""))
    scales = ", ".join(f"{k} ({v})" for k, v in (info.scales or {}).items())
    console.print(f"  values read as: {scales}")
    if info.raw_range:
        console.print(f"  raw value range: {info.raw_range[0]:.4g} .. {info.raw_range[1]:.4g}")
    shapes = ", ".join(f"{k} ({v})" for k, v in (info.native_shapes or {}).items())
    console.print(f"  native shapes (doppler x time): {shapes}   ->   canonical {tuple(summary.shape)}")
    lo, hi = summary.value_range
    console.print(f"  canonical values: [{lo:.3f}, {hi:.3f}], mean {summary.value_mean:.3f}, "
                  f"std {summary.value_std:.3f}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("class")
    table.add_column("samples", justify="right")
    table.add_column("sessions", justify="right")
    table.add_column("towards / away", justify="right")
    for name in summary.classes:
        towards, away = summary.towards_away_per_class[name]
        table.add_row(name, str(summary.counts[name]), str(summary.sessions_per_class[name] or "-"),
                      f"{towards} / {away}")
    console.print(table)
    one_way = summary.one_way_classes
    if one_way:
        shown = ", ".join(one_way[:6]) + (f" and {len(one_way) - 6} more" if len(one_way) > 6 else "")
        console.print(f"  walking direction (the side of zero Doppler the torso line is on): {len(one_way)} of "
                      f"{len(summary.classes)} classes go one way only ({shown}). A recogniser does not recognise "
                      "them going the other way; if the labels are people, data.direction_free=true lets the "
                      "recognisers mirror the Doppler "
                      "axis (it is on for the built-in walkers).", highlight=False)
    if summary.conditions is not None:
        for note in summary.conditions.notes:
            console.print(f"  conditions: {note}", highlight=False)
    if summary.coverage is not None and summary.coverage.bins:
        print_coverage(summary, console)
    if summary.problems:
        console.print(f"[bold]problems found ({len(summary.problems)}):[/bold]")
        for p in summary.problems:
            colour = "red" if p.level == "error" else "yellow"
            console.print(f"  [{colour}]{p.level}[/{colour}]: {p.message}", markup=True, highlight=False)
    else:
        console.print("problems found: none")


def _marks(counts: list[int]) -> str:
    """One mark per bin: filled where the class has recordings, open where it lacks what other classes have."""
    return "".join("#" if c > 0 else "." for c in counts)


def print_coverage(summary: DataSummary, console) -> None:
    """Per class, per condition: one mark per bin of the condition ('#' has recordings there, '.' has none while
    the dataset has some), and how many bins it lacks."""
    from rich.table import Table

    cond, cov = summary.conditions, summary.coverage
    assert cond is not None and cov is not None, "print_coverage needs a summary with conditions"
    names = [n for n in cond.compared() if n in cov.bins]
    console.print("[bold]conditions per recording[/bold] (# = the class has recordings in that bin, . = it lacks "
                  "them and other classes have some; lacked: bins of all conditions):")
    for n in names:
        tol = cond.tolerance(n)
        same = f"; the same condition within {tol:g}" if tol else ""
        console.print(f"  {n}: {cond.source[n]}; bins {', '.join(cov.bins[n])}{same}", highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("class")
    for n in names:
        table.add_column(label(n).split(" (")[0], no_wrap=True)
    table.add_column("lacked", justify="right")
    for i, cls in enumerate(summary.classes):
        lacked = sum(int(cov.lacks(n)[i].sum()) for n in names)
        table.add_row(cls, *[_marks(cov.counts[n][i].tolist()) for n in names], str(lacked))
    console.print(table)


def coverage_figure(cov: Coverage, path: Path, title: str = "recordings per class and condition") -> Path:
    """PNG: one panel per condition of `cov`, classes down and bins across, the count of recordings in each (white:
    none)."""
    plt = pyplot()

    names, classes = list(cov.bins), cov.class_names
    fig, axes = plt.subplots(1, len(names), figsize=(1.0 + 1.7 * len(names), 1.2 + 0.18 * len(classes)),
                             squeeze=False, sharey=True)
    for ax, n in zip(axes[0], names):
        counts = cov.counts[n].astype(float)
        ax.imshow(np.where(counts > 0, counts, np.nan), aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_xticks(range(len(cov.bins[n])), cov.bins[n], rotation=90, fontsize=6)
        ax.set_yticks(range(len(classes)), classes, fontsize=6)
        ax.set_title(label(n), fontsize=7)
    fig.suptitle(f"{title} (white: none)", fontsize=8)
    return _save(fig, path, 90)


def preview_grid(ds: SpectrogramSet, path: Path, per_class: int = 4, max_classes: int = 32, seed: int = 0,
                 cmap: str = "jet") -> Path:
    """PNG grid: one row per class (first `max_classes`), `per_class` random samples each, Doppler up."""
    plt = pyplot()

    rng = np.random.default_rng(seed)
    names = ds.class_names[:max_classes]
    fig, axes = plt.subplots(len(names), per_class, figsize=(1.3 * per_class + 1.2, 1.3 * len(names) + 0.5),
                             squeeze=False)
    for row, name in enumerate(names):
        idx = np.flatnonzero(ds.labels == row)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col < len(pick):
                x = ds.x[pick[col]]
                img = x[0] if x.shape[0] == 1 else np.moveaxis((x + 1) / 2, 0, -1)
                ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    more = f" (first {max_classes} of {len(ds.class_names)} classes)" if len(ds.class_names) > max_classes else ""
    fig.suptitle(f"{len(ds)} spectrograms, {len(ds.class_names)} classes{more}; Doppler up, time right", fontsize=9)
    return _save(fig, path, 80)


def _save(fig, path: Path, dpi: int) -> Path:
    """Lay out, write (making the folder) and close a figure."""
    plt = pyplot()

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
