"""Array files (.npy, .npz, .mat, HDF5): which variable holds the spectrograms, the labels, the sessions and the
class names, and how an array of any supported layout becomes a stack of (channels, doppler, time) samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdaug.config import DataConfig
from mdaug.data.images import BadFile
from mdaug.data.limits import MIN_SIDE

ARRAY_NAMES = ("x", "X", "data", "spectrograms", "spectrogram", "specs", "spec", "images", "S", "md", "microdoppler")
LABEL_NAMES = ("y", "Y", "labels", "label", "targets", "target", "person", "person_id", "subject_id", "activity")
SESSION_NAMES = ("sessions", "session", "session_ids", "session_id", "recordings", "recording", "groups")
CLASS_NAME_NAMES = ("class_names", "classes", "label_names", "names")


@dataclass
class ArrayStack:
    """What one array file holds, before normalisation."""

    samples: list[np.ndarray] | np.ndarray
    """(channels, doppler, time) each, raw values (complex, dB, linear or display values)."""
    scale: str
    """data.scale, or 'unit' for 8/16-bit display values read with scale 'auto'."""
    labels: list | None
    """The labels variable (ints or names per sample), None when the file has none."""
    class_names: list[str] | None
    sessions: list[str | None]
    magnitude_range: tuple[float, float] | None = None


def read_array_stack(arrays: dict[str, np.ndarray], cfg: DataConfig, *, rel: str, is_mat: bool,
                     needs_labels: bool) -> ArrayStack:
    """The samples and variables of one loaded array file (`arrays`: name -> array). `needs_labels`: the file
    is not in a class folder, so it must carry a labels variable. Raises BadFile naming what is wrong."""
    others = {k for k in (cfg.label_key, cfg.session_key, cfg.class_names_key) if k} | set(LABEL_NAMES) \
        | set(SESSION_NAMES) | set(CLASS_NAME_NAMES)
    raw = arrays[pick(arrays, cfg.array_key, ARRAY_NAMES, "spectrogram", numeric_2d=True, exclude=others)]
    stack = as_samples(raw, cfg.sample_axis, is_mat)
    n = len(stack)
    scale = cfg.scale
    if scale == "auto" and raw.dtype in (np.uint8, np.uint16):  # 8/16-bit display values, like images
        stack = [a / (255.0 if raw.dtype == np.uint8 else 65535.0) for a in stack]
        scale = "unit"
    lkey = pick(arrays, cfg.label_key, LABEL_NAMES, "labels")
    if needs_labels and lkey is None:
        raise BadFile("has no labels variable (e.g. 'labels'); set data.label_key, or put files in one folder per "
                      "class")
    labels = _vector(arrays[lkey], n, "labels") if lkey is not None else None
    ckey = pick(arrays, cfg.class_names_key, CLASS_NAME_NAMES, "class names") if lkey is not None else None
    names = [str(v) for v in _vector(arrays[ckey], None, "class names")] if ckey is not None else None
    skey = pick(arrays, cfg.session_key, SESSION_NAMES, "sessions")
    sessions = [str(v) for v in _vector(arrays[skey], n, "sessions")] if skey else [None] * n
    return ArrayStack(samples=stack, scale=scale, labels=labels, class_names=names, sessions=sessions)


def pick(arrays: dict, key: str | None, names: tuple[str, ...], what: str, *, numeric_2d: bool = False,
         exclude: set[str] = frozenset()) -> str | None:
    """The variable holding `what`: `key` when given (it must exist), else the first of `names`, else (for the
    spectrograms, numeric_2d) the one 2-D numeric variable that is not a vector (MATLAB stores a vector as a 1 x n
    matrix) and not named in `exclude` (the labels, sessions and class names); None when an optional variable is
    absent."""
    if key is not None:
        if key not in arrays:
            raise BadFile(f"has no variable '{key}' (it has: {', '.join(arrays) or 'nothing'})")
        return key
    if "" in arrays:  # .npy
        return "" if numeric_2d else None
    for name in names:
        if name in arrays:
            return name
    if numeric_2d:
        cands = [k for k, a in arrays.items() if k not in exclude
                 and ((a.dtype.kind in "fciu" and np.squeeze(a).ndim >= 2) or _is_cell_of_matrices(a))]
        if len(cands) == 1:
            return cands[0]
        if not cands:
            have = ", ".join(f"{k} {'x'.join(map(str, np.shape(a))) or 'scalar'}" for k, a in arrays.items())
            raise BadFile(f"has no {what} variable: no 2-D numeric array that is not a vector or the labels (it "
                          f"has: {have or 'nothing'}); set data.array_key if one of them is")
        raise BadFile(f"has several arrays ({', '.join(cands)}); set data.array_key to the {what} one")
    return None


def _is_cell_of_matrices(a: np.ndarray) -> bool:
    return a.dtype == object and a.size > 0 and all(
        isinstance(e, np.ndarray) and e.dtype.kind in "fciu" and np.squeeze(e).ndim == 2 for e in a.ravel())


def as_samples(a: np.ndarray, axis: str, is_mat: bool) -> list[np.ndarray] | np.ndarray:
    """Any supported array -> samples of shape (channels, doppler, time): an (n, c, d, t) array, or a
    list when a MATLAB cell array holds matrices of different sizes."""
    if _is_cell_of_matrices(a):  # MATLAB {spec1, spec2, ...}, in MATLAB's linear (column-major) order
        return [as_samples(np.squeeze(e), axis, is_mat)[0] for e in a.ravel(order="F" if is_mat else "C")]
    if a.dtype.kind not in "fciub":
        raise BadFile(f"spectrogram variable has dtype {a.dtype}, not numbers")
    if a.size == 0 or a.ndim < 2:
        raise BadFile(f"spectrogram variable is empty or not 2-D (shape {a.shape})")
    a = a.astype(np.complex64 if a.dtype.kind == "c" else np.float64, copy=False)
    last = axis == "last" or (axis == "auto" and is_mat)
    out = None
    if a.ndim == 2:
        out = a[None, None]
    elif a.ndim == 3:
        out = (np.moveaxis(a, -1, 0) if last else a)[:, None]
    elif a.ndim == 4:
        a = np.moveaxis(a, (-1, -2), (0, 1)) if last else a  # MATLAB (doppler, time, channels, n)
        out = a if a.shape[1] in (1, 3) else None
    if out is None:
        raise BadFile(f"spectrogram array has shape {a.shape}; expected (doppler, time), a stack of them, or "
                      "(n, channels, doppler, time)")
    if min(out.shape[-2:]) < MIN_SIDE:
        raise BadFile(f"spectrograms of {out.shape[-2]}x{out.shape[-1]} are too small (at least {MIN_SIDE} on a side; "
                      "a 1-D vector is not a spectrogram); check data.sample_axis")
    return out


def _vector(a: np.ndarray, n: int | None, what: str) -> list:
    """A labels / sessions / names variable as a list of ints or strings (n entries, or any if None)."""
    v = np.asarray(a).ravel()
    if v.dtype == object:  # MATLAB cell: one value per cell
        items = [np.asarray(e).ravel() for e in v]
        if not all(i.size == 1 for i in items):
            raise BadFile(f"{what} variable holds cells that are not single numbers or strings")
        v = np.array([i[0] for i in items])
    if v.dtype.kind == "S":
        v = np.char.decode(v, "utf-8", errors="replace")
    if v.dtype.kind not in "fiuUb":
        raise BadFile(f"{what} variable is not numbers or strings (dtype {v.dtype})")
    if n is not None and v.size == 1 and n > 1:
        v = np.repeat(v, n)
    if n is not None and v.size != n:
        raise BadFile(f"has {v.size} {what} for {n} spectrograms")
    if v.dtype.kind == "f":
        if not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
            raise BadFile(f"{what} are not whole numbers or strings")
        v = v.astype(np.int64)
    return [str(x).strip() if v.dtype.kind == "U" else int(x) for x in v]


__all__ = ["ARRAY_NAMES", "ArrayStack", "as_samples", "pick", "read_array_stack"]
