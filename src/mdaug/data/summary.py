"""`mdaug data inspect`: what a dataset holds, what is wrong with it, and a picture of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdaug.data.canonical import SpectrogramSet
from mdaug.data.conditions import Conditions, label
from mdaug.data.coverage import Coverage, coverage
from mdaug.data.direction import walking_direction
from mdaug.data.read import ReadResult
from mdaug.data.transforms import zero_row_of
from mdaug.plotting import pyplot


def summarize(result: ReadResult, conditions: Conditions | None = None) -> dict:
    """Plain-data summary: classes, counts and sessions per class, shapes, value ranges, problems; with
    `conditions`, where they come from and each class's coverage of them (which bins it has and lacks)."""
    ds = result.dataset
    counts = ds.counts()
    per_class_sessions = {n: len({r.session for r in ds.records if r.class_name == n and r.session is not None})
                          for n in ds.class_names}
    x = ds.x
    ways = walking_direction(x, zero_row_of(ds)) if len(ds) else np.zeros(0)
    labels = np.asarray(ds.labels)
    direction = {n: [int(((labels == c) & (ways > 0)).sum()), int(((labels == c) & (ways < 0)).sum())]
                 for c, n in enumerate(ds.class_names)}
    return {
        "source": ds.info.get("source"),
        "layout": ds.info.get("layout"),
        "n": len(ds),
        "classes": ds.class_names,
        "counts": counts,
        "sessions_per_class": per_class_sessions,
        "towards_away_per_class": direction,
        "one_way_classes": [n for n, (towards, away) in direction.items() if (towards == 0) != (away == 0)],
        "shape": list(x.shape[1:]),
        "native_shapes": ds.info.get("native_shapes"),
        "kinds": ds.info.get("kinds"),
        "colormap": ds.info.get("colormap"),
        "colormap_detected": ds.info.get("colormap_detected"),
        "off_map_fraction": ds.info.get("off_map_fraction"),
        "scales": ds.info.get("scales"),
        "raw_range": ds.info.get("raw_range"),
        "value_range": [float(x.min()), float(x.max())],
        "value_mean": float(x.mean()),
        "value_std": float(x.std()),
        "problems": [{"level": p.level, "message": p.message} for p in result.problems],
        "conditions": None if conditions is None else {
            "source": conditions.source, "compared": conditions.compared(),
            "tolerance": {n: conditions.tolerance(n) for n in conditions.compared()},
            "bins": (cov := coverage(conditions, ds.labels, ds.class_names)).bins, "coverage": cov.summary(),
            "counts": {n: c.tolist() for n, c in cov.counts.items()}, "notes": list(conditions.notes)},
    }


def print_summary(summary: dict, console) -> None:
    from rich.table import Table

    s = summary
    console.print(f"[bold]{s['source']}[/bold]  ({s['layout']})")
    kinds = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in (s["kinds"] or {}).items())
    console.print(f"  samples: {s['n']} in {len(s['classes'])} classes   read: {kinds}")
    cmap = s["colormap"]
    if cmap:
        off = s.get("off_map_fraction") or 0.0
        console.print(f"  colormap: {cmap}" + (" (detected)" if s["colormap_detected"] else "")
                      + (f", {off:.1%} of pixels off the map on average" if cmap not in ("rgb", "gray") else ""))
    scales = ", ".join(f"{k} ({v})" for k, v in (s["scales"] or {}).items())
    console.print(f"  values read as: {scales}")
    if s["raw_range"]:
        console.print(f"  raw value range: {s['raw_range'][0]:.4g} .. {s['raw_range'][1]:.4g}")
    shapes = ", ".join(f"{k} ({v})" for k, v in (s["native_shapes"] or {}).items())
    console.print(f"  native shapes (doppler x time): {shapes}   ->   canonical {tuple(s['shape'])}")
    lo, hi = s["value_range"]
    console.print(f"  canonical values: [{lo:.3f}, {hi:.3f}], mean {s['value_mean']:.3f}, std {s['value_std']:.3f}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("class")
    table.add_column("samples", justify="right")
    table.add_column("sessions", justify="right")
    table.add_column("towards / away", justify="right")
    for name in s["classes"]:
        towards, away = s["towards_away_per_class"][name]
        table.add_row(name, str(s["counts"][name]), str(s["sessions_per_class"][name] or "-"), f"{towards} / {away}")
    console.print(table)
    one_way = s["one_way_classes"]
    if one_way:
        shown = ", ".join(one_way[:6]) + (f" and {len(one_way) - 6} more" if len(one_way) > 6 else "")
        console.print(f"  walking direction (the side of zero Doppler the torso line is on): {len(one_way)} of "
                      f"{len(s['classes'])} classes go one way only ({shown}). A recogniser does not recognise "
                      "them going the other way; if the labels are people, data.direction_free=true lets the "
                      "recognisers mirror the Doppler "
                      "axis (it is on for the built-in walkers).", highlight=False)
    if s.get("conditions"):
        for note in s["conditions"].get("notes") or []:
            console.print(f"  conditions: {note}", highlight=False)
        if s["conditions"]["bins"]:
            print_coverage(s, console)
    if s["problems"]:
        console.print(f"[bold]problems found ({len(s['problems'])}):[/bold]")
        for p in s["problems"]:
            colour = "red" if p["level"] == "error" else "yellow"
            console.print(f"  [{colour}]{p['level']}[/{colour}]: {p['message']}", markup=True, highlight=False)
    else:
        console.print("problems found: none")


def _marks(counts: list[int]) -> str:
    """One mark per bin: filled where the class has recordings, open where it lacks what other classes have."""
    return "".join("#" if c > 0 else "." for c in counts)


def print_coverage(summary: dict, console) -> None:
    """Per class, per condition: one mark per bin of the condition ('#' has recordings there, '.' has none while
    the dataset has some), and how many bins it lacks."""
    from rich.table import Table

    c = summary["conditions"]
    names = [n for n in c["compared"] if n in c["bins"]]
    console.print("[bold]conditions per recording[/bold] (# = the class has recordings in that bin, . = it lacks "
                  "them and other classes have some; lacked: bins of all conditions):")
    for n in names:
        tol = c["tolerance"].get(n)
        same = f"; the same condition within {tol:g}" if tol else ""
        console.print(f"  {n}: {c['source'][n]}; bins {', '.join(c['bins'][n])}{same}", highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("class")
    for n in names:
        table.add_column(label(n).split(" (")[0], no_wrap=True)
    table.add_column("lacked", justify="right")
    for i, cls in enumerate(summary["classes"]):
        lacked = sum(len(c["coverage"][cls][n]["lacks"]) for n in names)
        table.add_row(cls, *[_marks(c["counts"][n][i]) for n in names], str(lacked))
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
