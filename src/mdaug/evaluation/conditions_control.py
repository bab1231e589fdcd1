"""What a condition does to the samples of a stage 2 that takes recording conditions (mdaug.models.conditioning):

- **controllability**: samples asked for one condition at a time, at values across its training range, read back by
  the same estimators that read the recordings (mdaug.data.estimators); the median error against the value asked
  for, beside the same samples' error when nothing is asked (what chance gives) and the estimator's own error on the
  real recordings where the data gives the truth (the floor no sample can beat);
- **identity under a change of condition**: samples of each person at the full conditions of recordings of *other*
  people that the person's own training recordings lack (mdaug.data.coverage), against samples at the conditions
  of the person's own recordings, both judged by a recogniser that knows every person under every condition;
- **physics**: samples asked for a walking speed (at one aspect) have the torso Doppler v cos(aspect) implies, and a
  gait cycle that shortens with speed as the simulator's walking model says (cycle ~ speed^-1/2 for one person:
  Boulic-Thalmann, mdaug.simulate.kinematics).

Everything is drawn from training recordings; nothing of the test split is used."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mdaug.data import estimators as est
from mdaug.data.axes import axes_of
from mdaug.data.conditions import PERSON_TRAITS
from mdaug.data.coverage import lacking
from mdaug.data.info import DataInfo
from mdaug.errors import MdaugError
from mdaug.evaluation.record_parts import Controllability, Files, IdentityUnderChange, Recognised, WalkingPhysics
from mdaug.evaluation.records import ConditionsReport
from mdaug.inference import in_batches
from mdaug.models.conditioning import ConditionSpec, encode_table
from mdaug.plotting import pyplot
from mdaug.runs.loading import Stage2Model
from mdaug.runs.run_data import RunData
from mdaug.sampling.generate import generate

READ = {"radial_speed_mps": "speed", "radial_doppler_hz": "speed", "radial_doppler_rows": "speed", "cycle_s": "cycle",
        "cycle_cols": "cycle", "snr_db": "snr"}
"""Model conditions the estimators read back from a spectrogram, and which estimator."""
UNITS = {"radial_speed_mps": "m/s", "radial_doppler_hz": "Hz", "radial_doppler_rows": "rows", "cycle_s": "s",
         "cycle_cols": "columns", "snr_db": "dB"}
GRID = (0.1, 0.3, 0.5, 0.7, 0.9)
"""Quantiles of a condition's training values that controllability asks for."""


class Reader:
    """The estimators of mdaug.data.estimators with one dataset's axes, display range and noise-floor shape (read
    from its training recordings, as estimate_conditions reads it from the data)."""

    def __init__(self, x: np.ndarray, info: DataInfo, data_cfg: Any = None) -> None:
        """`x`: real spectrograms of the data (a sample of its training split), `info` its SpectrogramSet.info."""
        if x.shape[1] != 1 or info.dynamic_range_db_mixed:
            raise MdaugError("conditions are read back only from one-channel spectrograms of one display range")
        self.dr = info.dynamic_range_or(getattr(data_cfg, "dynamic_range_db", 40.0))
        self.axes = axes_of(x.shape, info, data_cfg)
        pick = np.sort(np.random.default_rng(0).permutation(len(x))[:512])
        self.shape = est.noise_shape(est.power(x[pick], self.dr), 10.0 ** (-self.dr / 10.0))

    @classmethod
    def of(cls, data: RunData, rows: np.ndarray) -> Reader:
        return cls(data.dataset.x[np.sort(rows)], data.dataset.info, data.data_cfg)

    def read(self, x: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
        """Estimator name -> ((n,) values, unit)."""
        p = est.power(x, self.dr)
        speed, su = est.radial_speed(p, self.axes)
        cycle, cu = est.gait_cycle(p, self.axes)
        snr, _ = est.snr(p, self.axes, self.dr, shape=self.shape)
        return {"speed": (speed, {"m/s": "m/s", "Hz": "Hz", "rows": "rows"}[su]),
                "cycle": (cycle, "s" if cu == "s" else "columns"), "snr": (snr, "dB")}


def readable(specs: list[ConditionSpec], reader: Reader) -> list[ConditionSpec]:
    """The numeric conditions `reader` reads back in the model's unit."""
    probe = reader.read(np.zeros((1, 1, reader.axes.rows, reader.axes.cols), np.float32) - 1)
    return [s for s in specs if s.kind == "numeric" and s.name in READ and probe[READ[s.name]][1] == UNITS[s.name]]


def _median(v: np.ndarray) -> float | None:
    v = v[np.isfinite(v)]
    return round(float(np.median(v)), 4) if len(v) else None


def controllability(s2: Stage2Model, data: RunData, *, per_value: int = 16, seed: int = 0, batch_size: int = 64,
                    device: str | None = None) -> dict[str, Controllability]:
    """Per condition the estimators can read back: the median absolute error of samples asked for it (one
    condition at a time, the person drawn from the training recordings), of the same persons' samples asked for
    nothing, and of the estimator on the real training recordings where the data gives that condition."""
    specs = s2.conditions
    rows = data.indices("train")
    reader = Reader.of(data, rows)
    cond = data.conditions
    rng = np.random.default_rng(seed)
    settings = replace(s2.default_settings(), texture=True)  # the estimators read a recording's noise floor
    out: dict[str, Controllability] = {}
    for k, spec in ((specs.index(s), s) for s in readable(specs, reader)):
        train_values = cond.values[spec.name][rows]
        train_values = train_values[np.isfinite(train_values)]
        asked = np.repeat(np.quantile(train_values, GRID), per_value)
        labels = data.dataset.labels[rng.choice(rows, len(asked))]
        c = np.full((len(asked), len(specs)), np.nan, np.float32)
        c[:, k] = asked
        x = generate(s2, labels, settings, seed=seed, batch_size=batch_size, device=device, conditions=c)
        free = generate(s2, labels, settings, seed=seed, batch_size=batch_size, device=device)
        got = reader.read(x)[READ[spec.name]][0]
        chance = reader.read(free)[READ[spec.name]][0]
        real = None
        if cond.source.get(spec.name, "").startswith("given"):
            truth = cond.values[spec.name][rows]
            real = _median(np.abs(reader.read(data.dataset.x[rows])[READ[spec.name]][0] - truth))
        err = np.abs(got - asked)
        out[spec.name] = Controllability(
            unit=UNITS[spec.name], asked=[round(float(v), 4) for v in np.quantile(train_values, GRID)],
            samples=len(asked), median_abs_error=_median(err),
            median_rel_error=_median(err / np.maximum(np.abs(asked), 1e-9)) if spec.name != "snr_db" else None,
            chance_median_abs_error=_median(np.abs(chance - asked)), estimator_median_abs_error=real,
            read_back_per_value=[_median(got[i * per_value:(i + 1) * per_value]) for i in range(len(GRID))],
            unread=int((~np.isfinite(got)).sum()))
    return out


def _unseen_pairs(data: RunData, per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(persons, rows): for each person up to `per_class` training recordings of other people whose session
    conditions the person's own training recordings lack (mdaug.data.coverage.lacking)."""
    return lacking(data.conditions, data.dataset.labels, data.indices("train"), rng, per_class)


def asked_conditions(specs: list[ConditionSpec], values: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """(len(rows), K) the encoded conditions of recordings `rows` to ask of another person: their session's, the
    person's own traits (PERSON_TRAITS) left unknown for the model to give."""
    table = encode_table(specs, {k: v[rows] for k, v in values.items()}, len(rows))
    for k, s in enumerate(specs):
        if s.name in PERSON_TRAITS:
            table[:, k] = np.nan
    return table


def _recognised(recognizer: torch.nn.Module, x: np.ndarray, labels: np.ndarray, device: str | None) -> np.ndarray:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    recognizer.to(dev).eval()
    return in_batches(lambda xb: recognizer(xb).argmax(1), x, device=dev).numpy() == labels


def identity_under_change(s2: Stage2Model, data: RunData, recognizer: torch.nn.Module, *, per_class: int = 8,
                          seed: int = 0, batch_size: int = 64, device: str | None = None) -> IdentityUnderChange:
    """How often `recognizer` names the person of samples at the conditions of the person's own training recordings
    and at conditions of other people's recordings that the person's lack; the ratio is what the change costs."""
    specs = s2.conditions
    if not specs:
        raise MdaugError("this stage-2 model takes no conditions; train it with ldm.conditions")
    rng = np.random.default_rng(seed)
    train = data.indices("train")
    labels = data.dataset.labels
    values = data.conditions.values
    persons, rows = _unseen_pairs(data, per_class, rng)
    own_rows = np.concatenate([rng.permutation(train[labels[train] == p])[:per_class] for p in np.unique(persons)])
    settings = s2.default_settings()
    result: list[Recognised] = []
    for who, where in ((labels[own_rows], own_rows), (persons, rows)):
        c = asked_conditions(specs, values, where)
        x = generate(s2, who, settings, seed=seed, batch_size=batch_size, device=device, conditions=c)
        ok = _recognised(recognizer, x, who, device)
        result.append(Recognised(samples=int(len(ok)), recognised=round(float(ok.mean()), 4) if len(ok) else None))
    own, new = result[0].recognised, result[1].recognised
    return IdentityUnderChange(own=result[0], unseen=result[1],
                               ratio=round(new / own, 4) if own and new is not None else None)


def physics(s2: Stage2Model, data: RunData, *, per_value: int = 16, seed: int = 0, batch_size: int = 64,
            device: str | None = None) -> WalkingPhysics | None:
    """Samples asked for the walking speeds at the 10% and 90% quantiles of the training recordings' speeds (aspect
    0, walking towards the radar, when the model takes the aspect), each person at both: the torso Doppler read back
    against v cos(aspect), and the ratio of the gait cycles read back against sqrt(v_high / v_low). None when the
    model does not take the walking speed."""
    specs = s2.conditions
    names = [s.name for s in specs]
    if "speed_mps" not in names:
        return None
    rows = data.indices("train")
    reader = Reader.of(data, rows)
    v = data.conditions.values["speed_mps"][rows]
    lo, hi = (float(q) for q in np.quantile(v[np.isfinite(v)], (0.1, 0.9)))
    persons = np.unique(data.dataset.labels[rows])
    labels = np.repeat(persons, max(1, per_value * 2 // len(persons) + 1))
    settings = replace(s2.default_settings(), texture=True)
    read: dict[float, dict[str, np.ndarray]] = {}
    for speed in (lo, hi):
        req = {"speed_mps": speed} | ({"aspect_deg": 0.0} if "aspect_deg" in names else {})
        c = encode_table(specs, {k: np.full(len(labels), val) for k, val in req.items()}, len(labels))
        x = generate(s2, labels, settings, seed=seed, batch_size=batch_size, device=device, conditions=c)
        r = reader.read(x)
        read[speed] = {"speed": r["speed"][0], "cycle": r["cycle"][0], "unit": r["speed"][1]}
    torso = read[lo]["unit"] == "m/s"
    ratio = read[lo]["cycle"] / read[hi]["cycle"]  # the same person and noise at both speeds
    return WalkingPhysics(
        speeds=[round(lo, 4), round(hi, 4)], samples=int(2 * len(labels)),
        torso_speed_read=[_median(read[s]["speed"]) for s in (lo, hi)] if torso else None,
        torso_speed_expected=[round(lo, 4), round(hi, 4)] if torso and "aspect_deg" in names else None,
        cycle_ratio_read=_median(ratio), cycle_ratio_expected=round(float(np.sqrt(hi / lo)), 4))


def evaluate_conditions(run: str | Path, recognizer: str | Path | None = None, *, per_value: int = 16,
                        per_class: int = 8, seed: int = 0, out: str | Path | None = None,
                        autoencoder: str | Path | None = None) -> ConditionsReport:
    """Every measure of this module for the stage-2 run `run`, written to conditions.json (never overwriting: the
    next free name) in `out` (default RUN/eval) with the figure of one person beside it; identity needs
    `recognizer` (an evaluation recogniser of the same data). A model without conditions gets a record saying so."""
    from mdaug.files import free_path
    from mdaug.runs.layout import EVAL
    from mdaug.runs.loading import load_recognizer, load_stage2, stage1_data

    s2 = load_stage2(run, autoencoder)
    folder = Path(out) if out else s2.folder.parent / EVAL
    folder.mkdir(parents=True, exist_ok=True)
    path = free_path(folder / "conditions.json")
    result = ConditionsReport(model=str(s2.folder.resolve()), conditions=[c.describe() for c in s2.conditions],
                              seed=seed)
    if s2.conditions:
        rec = load_recognizer(recognizer)[0] if recognizer is not None else None
        data = stage1_data(s2.autoencoder)
        result.controllability = controllability(s2, data, per_value=per_value, seed=seed)
        result.physics = physics(s2, data, per_value=per_value, seed=seed)
        result.identity = (identity_under_change(s2, data, rec, per_class=per_class, seed=seed)
                           if rec is not None else None)
        figure = path.with_name(path.stem + "-person.png")
        try:
            result.files = Files(json=str(path), person=str(person_figure(s2, data, figure, seed=seed)))
        except MdaugError as e:  # nobody lacks a condition: nothing to draw
            result.files = Files(json=str(path))
            result.note = str(e)
    result.write(path)
    return result


def _title(specs: list[ConditionSpec], row: np.ndarray, keep: int = 3) -> str:
    """A few of a recording's conditions, for a panel title (the speed-like ones first)."""
    parts = []
    for s, v in zip(specs, row):
        if not np.isfinite(v):
            continue
        parts.append(f"{s.name.split('_')[0]} {v:.3g}" if s.kind == "numeric" else f"{s.values[int(v)]}")
    return ", ".join(parts[:keep])


def person_figure(s2: Stage2Model, data: RunData, path: Path, *, person: int | None = None, n: int = 4,
                  seed: int = 0, device: str | None = None) -> Path:
    """One person: their real training recordings (top row) and samples of them at conditions of other people's
    recordings that theirs lack (bottom row), each titled with its conditions; the person with the most unseen
    conditions to show when `person` is None."""
    from mdaug.evaluation.figures import db_colorbar, draw_spectrogram, save_figure, spectrogram_axes

    specs = s2.conditions
    rng = np.random.default_rng(seed)
    persons, rows = _unseen_pairs(data, n, rng)
    if not len(rows):
        raise MdaugError("no person lacks a condition another person's recordings have: nothing to render")
    if person is None:
        counts = np.bincount(persons)
        person = int(np.argmax(counts))
    pick = rows[persons == person][:n]
    if not len(pick):
        raise MdaugError(f"person {data.dataset.class_names[person]} lacks no condition of the others")
    train = data.indices("train")
    own = rng.permutation(train[data.dataset.labels[train] == person])[:len(pick)]
    values = data.conditions.values
    table = lambda r: asked_conditions(specs, values, r)  # noqa: E731
    x = generate(s2, np.full(len(pick), person), s2.default_settings(), seed=seed, device=device,
                 conditions=table(pick))
    axes = spectrogram_axes(data.dataset.info)
    plt = pyplot()
    cols = len(pick)
    fig, grid = plt.subplots(2, cols, figsize=(2.3 * cols + 1.2, 5.4), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    im = None
    for j in range(cols):
        for i, (img, cond, kind) in enumerate(((data.dataset.x[own[j]] if j < len(own) else None, table(own)[j]
                                               if j < len(own) else None, "recorded"),
                                              (x[j], table(pick)[j], "generated"))):
            ax = grid[i, j]
            if img is None:
                ax.axis("off")
                continue
            im = draw_spectrogram(ax, img[0], axes, left=j == 0, bottom=i == 1)
            ax.set_title(f"{kind}: {_title(specs, cond)}", fontsize=6, color="#000" if i == 0 else "#036")
    if im is not None:
        db_colorbar(fig, im, grid.ravel().tolist())
    fig.suptitle(f"{data.dataset.class_names[person]}: recorded (top), and rendered at conditions of other people's "
                 "recordings that theirs lack (bottom)", fontsize=8)
    return save_figure(fig, path, axes=axes)


__all__ = ["GRID", "READ", "Reader", "asked_conditions", "controllability", "evaluate_conditions",
           "identity_under_change", "person_figure", "physics", "readable"]
