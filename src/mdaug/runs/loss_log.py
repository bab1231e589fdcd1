"""A run's loss log (losses.jsonl: one JSON object per optimizer step, `step` and the logged numbers), read here
only: by training, which drops the steps a resumed run redoes, and by the report's loss curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

STEP = "step"


def loss_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a loss log, in order; a line that is not a JSON object with a numeric step (a line cut by a
    crash) is skipped."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get(STEP), (int, float)):
            rows.append(row)
    return rows


def keep_steps_up_to(path: str | Path, step: int) -> None:
    """Rewrite the log with the rows of steps up to `step` only (the steps after it are trained again)."""
    kept = [json.dumps(row) for row in loss_rows(path) if row[STEP] <= step]
    Path(path).write_text("".join(line + "\n" for line in kept))


def loss_curves(path: str | Path) -> dict[str, np.ndarray]:
    """`step` and every key that is a number in every row, as arrays over the rows."""
    rows = loss_rows(path)
    keys = [k for k in dict.fromkeys(k for r in rows for k in r)
            if all(isinstance(r.get(k), (int, float)) for r in rows)]
    return {k: np.array([float(r[k]) for r in rows]) for k in keys}


def last_values(path: str | Path, key: str, rows: int) -> list[float]:
    """`key` of the last `rows` rows that logged it."""
    return [float(r[key]) for r in loss_rows(path)[-rows:] if key in r]


__all__ = ["STEP", "keep_steps_up_to", "last_values", "loss_curves", "loss_rows"]
