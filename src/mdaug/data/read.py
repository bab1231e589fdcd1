"""Read any supported dataset into a SpectrogramSet, reporting every problem by file name.

Layouts:
  * a folder with one subfolder per class, holding images and/or array files (nested folders inside a
    class folder are taken as recording sessions);
  * one .npy/.npz/.mat/.h5 file, or a folder of them, with a labels variable;
  * a folder written by `mdaug data prepare`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from mdaug.config import DataConfig
from mdaug.data import colormaps
from mdaug.data.arrays import ARRAY_SUFFIXES, load_arrays
from mdaug.data.canonical import Record, SpectrogramSet, natural_key, sample_hash
from mdaug.data.images import IMAGE_SUFFIXES, BadFile, decode_image, image_to_canonical, is_colour
from mdaug.data.scaling import guess_scale, normalise
from mdaug.errors import MdaugError

ARRAY_NAMES = ("x", "X", "data", "spectrograms", "spectrogram", "specs", "spec", "images", "S", "md", "microdoppler")
LABEL_NAMES = ("y", "Y", "labels", "label", "targets", "target", "person", "person_id", "subject_id", "activity")
SESSION_NAMES = ("sessions", "session", "session_ids", "session_id", "recordings", "recording", "groups")
CLASS_NAME_NAMES = ("class_names", "classes", "label_names", "names")
FORMAT_SUFFIXES = {
    "images": IMAGE_SUFFIXES, "npy": (".npy",), "npz": (".npz",), "mat": (".mat",),
    "hdf5": (".h5", ".hdf5", ".he5"), "auto": IMAGE_SUFFIXES + ARRAY_SUFFIXES,
}
OFF_MAP_WARN = 0.05  # share of off-colormap pixels above which a lossless image is flagged (axes, borders)
# JPEG halves colour resolution, which pushes pixels at sharp spectrogram lines off the colormap (10-15%
# at matplotlib's default quality): only far more than that points at axes or borders.
OFF_MAP_WARN_JPEG = 0.30


@dataclass
class Problem:
    level: Literal["error", "warning"]
    message: str
    skippable: bool = True
    """Goes away by skipping the file (a corrupt file, NaNs); False for dataset-wide problems."""


@dataclass
class ReadResult:
    dataset: SpectrogramSet
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


@dataclass
class _Sample:
    x: np.ndarray  # (channels, doppler, time) float32 in [-1, 1], native size
    label: str | int  # class folder name, or the value of the labels variable
    session: str | None
    file: str
    index: int
    sha: str


def read_dataset(path: str | Path, cfg: DataConfig, *, progress: bool = True, collect: bool = False) -> ReadResult:
    """Read `path` into canonical form.

    Raises MdaugError on the first dataset-level problem, or, after reading everything, on any bad file
    (unless cfg.skip_bad). With collect=True, problems are returned instead of raised wherever reading
    can go on, which is what `mdaug data inspect` shows.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise MdaugError(f"path not found: {root}")
    is_prepared = root.is_dir() and (root / "mdaug_dataset.json").is_file()
    if cfg.format == "prepared" and not is_prepared:
        raise MdaugError(f"{root} is not a prepared dataset (no mdaug_dataset.json); make one with `mdaug data prepare`")
    if root.is_file() and cfg.format not in ("auto", "prepared") and root.suffix.lower() not in FORMAT_SUFFIXES[cfg.format]:
        raise MdaugError(f"data.format={cfg.format} but {root.name} is a {root.suffix} file; use --format auto")
    if is_prepared:
        from mdaug.data.prepared import load_prepared

        ds = load_prepared(root)
        if cfg.size is not None and tuple(ds.x.shape[-2:]) != tuple(cfg.size):
            ds.x = np.stack([resize(s, cfg.size) for s in ds.x])
        return ReadResult(ds)
    return _Reader(root, cfg, progress, collect).run()


def resize(x: np.ndarray, size: tuple[int, int], *, clamp: bool = True) -> np.ndarray:
    """(channels, doppler, time) -> (channels, *size), bilinear with anti-aliasing (an area average when
    shrinking), kept in [-1, 1] unless clamp=False."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    out = F.interpolate(t, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)[0]
    return (out.clamp_(-1.0, 1.0) if clamp else out).numpy()


class _Reader:
    def __init__(self, root: Path, cfg: DataConfig, progress: bool, collect: bool) -> None:
        self.root, self.cfg, self.progress, self.collect = root, cfg, progress, collect
        self.problems: list[Problem] = []
        self.samples: list[_Sample] = []
        self.colormap: str | None = None if cfg.colormap == "auto" else cfg.colormap
        self.class_names: list[str] | None = None  # class folder names
        self.file_class_names: list[str] | None = None  # a class-names variable in the files
        self.labels_in_folders = 0  # files in class folders with a labels variable of their own
        self.scales: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()  # grey / colour images, arrays
        self.raw_range = [np.inf, -np.inf]
        self.off_map: list[tuple[str, float]] = []
        self.colormap_detected = False
        self.off_map_sum = 0.0

    # ------------------------------------------------------------ layout

    def run(self) -> ReadResult:
        suffixes = FORMAT_SUFFIXES[self.cfg.format if self.cfg.format != "prepared" else "auto"]
        if self.root.is_file():
            if self.root.suffix.lower() not in ARRAY_SUFFIXES:
                raise MdaugError(f"{self.root.name}: unsupported file type; give a folder of class folders, or a .npy/.npz/.mat/.h5 file")
            self._read_files([self.root], label=None)
            layout = "file"
        else:
            class_dirs = sorted((d for d in self.root.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: natural_key(d.name))
            top_files = _data_files(self.root, suffixes, recursive=False)
            if self.cfg.label_regex:
                layout = "labels from file names"
                files = _data_files(self.root, suffixes, recursive=True)
                if not files:
                    raise MdaugError(f"no spectrogram files in {self.root} (looked for {', '.join(suffixes)})")
                if self.colormap is None:
                    self._detect_colormap(files)
                self._read_files(files, label=None)
            elif class_dirs:
                layout = "class folders"
                self._read_class_folders(class_dirs, suffixes)
                if top_files:
                    self._problem("warning", f"{len(top_files)} files directly in {self.root.name}/ were ignored: they are in no class folder", skippable=False)
            elif top_files and all(f.suffix.lower() in ARRAY_SUFFIXES for f in top_files):
                layout = "labelled files"
                self._read_files(top_files, label=None)
            elif top_files:
                raise MdaugError(f"{self.root} holds images but no class folders; put each class's images in a subfolder named after the class")
            else:
                raise MdaugError(f"no spectrogram files in {self.root} (looked for {', '.join(suffixes)})")
        if not self.samples:
            first = self.errors_text() or "no readable spectrograms"
            raise MdaugError(f"nothing could be read from {self.root}: {first}")
        return ReadResult(self._assemble(layout), self.problems)

    def _read_class_folders(self, class_dirs: list[Path], suffixes: tuple[str, ...]) -> None:
        per_class = {}
        for d in class_dirs:
            if (d / "mdaug_dataset.json").exists():
                self._problem("warning", f"folder '{d.name}' is a prepared mdaug dataset, not a class: left out", skippable=False)
            elif not os.access(d, os.R_OK | os.X_OK):
                self._problem("error", f"class folder '{d.name}' cannot be read (permission denied)", skippable=False)
            else:
                per_class[d.name] = _data_files(d, suffixes, recursive=True)
        self.class_names = []
        for name, files in per_class.items():
            if files:
                self.class_names.append(name)
            else:
                self._problem("error", f"class folder '{name}' has no spectrogram files ({', '.join(suffixes)})", skippable=False)
        all_files = [(f, name) for name, files in per_class.items() for f in files]
        if self.colormap is None:
            self._detect_colormap([f for f, _ in all_files])
        for f, name in tqdm(all_files, desc="reading", unit="file", disable=None if self.progress else True, leave=False):
            self._read_one(f, label=name)

    def _read_files(self, files: list[Path], label: str | None) -> None:
        for f in tqdm(files, desc="reading", unit="file", disable=None if self.progress and len(files) > 1 else True, leave=False):
            self._read_one(f, label=label)

    # ------------------------------------------------------------ one file

    def _read_one(self, path: Path, label: str | None) -> None:
        rel = str(path.relative_to(self.root)) if path != self.root else path.name
        try:
            data = path.read_bytes()
        except OSError as e:
            self._problem("error", f"{rel}: cannot be opened ({e.strerror})")
            return
        sha = hashlib.sha256(data).hexdigest()
        if label is None and self.cfg.label_regex:
            m = re.search(self.cfg.label_regex, rel)
            if not m:
                self._problem("error", f"{rel}: does not match data.label_regex {self.cfg.label_regex!r}")
                return
            label = m.groupdict().get("label") or m.group(0)
        try:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                self._read_image(data, rel, label, sha)
            else:
                self._read_array_file(path, data, rel, label, sha)
        except BadFile as e:
            self._problem("error", f"{rel}: {e}")

    def _read_image(self, data: bytes, rel: str, label: str, sha: str) -> None:
        pixels = decode_image(data)
        self.kinds["colour image" if is_colour(pixels) else "greyscale image"] += 1
        if is_colour(pixels) and self.colormap is None:
            self._detect_colormap([self.root / rel])
        x, off = image_to_canonical(pixels, self.colormap or "gray", crop=self.cfg.crop_to_colormap)
        jpeg = rel.lower().endswith((".jpg", ".jpeg"))
        if off > (OFF_MAP_WARN_JPEG if jpeg else OFF_MAP_WARN):
            self.off_map.append((rel, off))
        self.off_map_sum += off
        self.scales["image"] += 1
        self.samples.append(_Sample(x, label, self._session(rel, 1), rel, -1, sha))

    def _read_array_file(self, path: Path, data: bytes, rel: str, label: str | None, sha: str) -> None:
        arrays = load_arrays(path, data)
        key = self._pick(arrays, self.cfg.array_key, ARRAY_NAMES, "spectrogram", numeric_2d=True, path=rel)
        raw = arrays[key]
        stack = _as_samples(raw, self.cfg.sample_axis, path.suffix.lower() == ".mat")
        n = len(stack)
        scale = self.cfg.scale
        if scale == "auto" and raw.dtype in (np.uint8, np.uint16):  # 8/16-bit display values, like images
            stack = [a / (255.0 if raw.dtype == np.uint8 else 65535.0) for a in stack]
            scale = "unit"
        labels: list = [label] * n
        lkey = self._pick(arrays, self.cfg.label_key, LABEL_NAMES, "labels", path=rel, required=False)
        if label is not None and lkey is not None:  # files in class folders that carry their own labels
            self.labels_in_folders += 1
        if label is None or lkey is not None:
            if lkey is None:
                raise BadFile("has no labels variable (e.g. 'labels'); set data.label_key, or put files in one folder per class")
            labels = _vector(arrays[lkey], n, "labels")
            ckey = self._pick(arrays, self.cfg.class_names_key, CLASS_NAME_NAMES, "class names", path=rel, required=False)
            if ckey is not None:
                names = [str(v) for v in _vector(arrays[ckey], None, "class names")]
                if self.file_class_names is None:
                    self.file_class_names = names
                elif names != self.file_class_names:
                    raise BadFile(f"lists other class names than the first file ({names[:3]}... vs {self.file_class_names[:3]}...)")
        skey = self._pick(arrays, self.cfg.session_key, SESSION_NAMES, "sessions", path=rel, required=False)
        sessions = [str(v) for v in _vector(arrays[skey], n, "sessions")] if skey else [None] * n
        self.kinds["array sample"] += n
        if scale == "auto":
            scale = guess_scale(np.concatenate([a.ravel() for a in stack]))
        for i, s in enumerate(stack):
            sid = f"{rel}#{i}" if n > 1 else rel
            finite = np.isfinite(s.real).all() and (not np.iscomplexobj(s) or np.isfinite(s.imag).all())
            if not finite:
                self._problem("error", f"{sid}: contains NaN or inf values")
                continue
            mag = np.abs(s) if np.iscomplexobj(s) else s
            self.raw_range = [min(self.raw_range[0], float(mag.min())), max(self.raw_range[1], float(mag.max()))]
            if self.cfg.flip_doppler:
                s = s[..., ::-1, :]
            try:
                x = normalise(s, scale, self.cfg.dynamic_range_db)
            except MdaugError as e:
                self._problem("error", f"{sid}: {e}")
                continue
            self.scales[scale] += 1
            session = sessions[i] or self._session(rel, n)
            self.samples.append(_Sample(np.ascontiguousarray(x), labels[i], session, rel, i if n > 1 else -1, sha))

    # ------------------------------------------------------------ helpers

    def _session(self, rel: str, n: int) -> str | None:
        """Recording id: the session regex, else a nested folder, else the file when it holds a stack
        (a single file holding the whole dataset is not one recording, so there it stays None)."""
        if self.cfg.session_regex:
            m = re.search(self.cfg.session_regex, rel)
            if m:
                return m.groupdict().get("session") or m.group(0)
        parent = str(Path(rel).parent)
        if parent.count("/") >= 1:  # class/session/file: the nested folder is the recording
            return parent
        return rel if n > 1 and self.root.is_dir() else None

    def _pick(self, arrays: dict, key: str | None, names: tuple[str, ...], what: str, *, path: str,
              numeric_2d: bool = False, required: bool = True) -> str | None:
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
            cands = [k for k, a in arrays.items() if (a.dtype.kind in "fciu" and a.ndim >= 2) or _is_cell_of_matrices(a)]
            if len(cands) == 1:
                return cands[0]
            if not cands:
                raise BadFile(f"has no 2-D numeric variable to read as a {what} (it has: {', '.join(arrays) or 'nothing'})")
            raise BadFile(f"has several arrays ({', '.join(cands)}); set data.array_key to the {what} one")
        return None

    def _detect_colormap(self, files: list[Path]) -> None:
        colour = []
        for f in files[:40]:
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                pixels = decode_image(f.read_bytes())
            except (BadFile, OSError):
                continue
            if is_colour(pixels):
                colour.append(pixels)
            if len(colour) == 4:
                break
        if colour:
            self.colormap, _ = colormaps.detect(colour)
            self.colormap_detected = True

    def _problem(self, level: str, message: str, skippable: bool = True) -> None:
        if level == "error" and skippable and self.cfg.skip_bad:
            level, message = "warning", f"skipped {message}"
        self.problems.append(Problem(level, message, skippable))

    def errors_text(self) -> str:
        errs = [p for p in self.problems if p.level == "error"]
        if not errs:
            return ""
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        return f"{errs[0].message}{more}"

    # ------------------------------------------------------------ assembly

    def _assemble(self, layout: str) -> SpectrogramSet:
        samples = self.samples
        if self.labels_in_folders:
            self._problem("warning", f"{self.labels_in_folders} files in class folders carry their own labels variable: "
                          "classes come from it, not from the folder names", skippable=False)
        names = self._class_names()
        counts = Counter(str(s.label) for s in samples)
        for n in [n for n in names if counts[n] == 0]:
            self._problem("warning", f"class '{n}' has no readable samples and was left out", skippable=False)
        names = [n for n in names if counts[n] > 0]
        index = {n: i for i, n in enumerate(names)}
        if self.off_map:
            worst = max(self.off_map, key=lambda t: t[1])
            hint = "" if self.cfg.crop_to_colormap is True else "; figures with axes: set data.crop_to_colormap=true"
            self._problem("warning", f"{len(self.off_map)} images have many pixels off the {self.colormap} colormap "
                          f"(worst: {worst[0]}, {worst[1]:.0%}): axes, labels or borders{hint}", skippable=False)
        if len(self.kinds.keys() & {"colour image", "greyscale image"}) == 2:
            self._problem("warning", f"mixed greyscale ({self.kinds['greyscale image']}) and colour ({self.kinds['colour image']}) images", skippable=False)
        channels = Counter(s.x.shape[0] for s in samples)
        if len(channels) > 1:
            self._problem("error", f"samples have different channel counts {dict(channels)}; use data.colormap to map colour images to one channel", skippable=False)
        shapes = Counter(s.x.shape[1:] for s in samples)
        size = self.cfg.size
        if size is None and len(shapes) > 1:
            (s1, n1), (s2, n2) = shapes.most_common(2)
            ex = next(s.file for s in samples if s.x.shape[1:] == s2)
            self._problem("error", f"samples have different shapes: {s1[0]}x{s1[1]} ({n1}) and {s2[0]}x{s2[1]} ({n2}, e.g. {ex}); "
                          "set data.size (e.g. --size 64) to resize them", skippable=False)
            size = s1
        errs = [p for p in self.problems if p.level == "error"]
        if errs and not self.collect:
            hint = "; pass --skip-bad to skip bad files" if all(p.skippable for p in errs) else ""
            raise MdaugError(f"{self.errors_text()}{hint}")
        c = max(channels, key=channels.get)
        keep = [s for s in samples if s.x.shape[0] == c]
        x = np.stack([resize(s.x, size) if size is not None else s.x for s in keep]).astype(np.float32)
        labels = np.array([index[str(s.label)] for s in keep], dtype=np.int64)
        records = [
            Record(id=f"{s.file}#{s.index}" if s.index >= 0 else s.file, file=s.file, index=s.index,
                   class_name=names[lab], session=s.session, orig_shape=tuple(s.x.shape), file_sha256=s.sha,
                   sample_hash=sample_hash(xi))
            for s, lab, xi in zip(keep, labels, x)
        ]
        dup = Counter(r.sample_hash for r in records)
        n_dup = sum(v - 1 for v in dup.values() if v > 1)
        if n_dup:
            ex = [r.id for r in records if dup[r.sample_hash] > 1][:2]
            self._problem("warning", f"{n_dup} duplicate samples (e.g. {' = '.join(ex)}); duplicates can leak across splits", skippable=False)
        info = {
            "source": str(self.root), "layout": layout, "format": self.cfg.format,
            "kinds": dict(self.kinds), "colormap": self.colormap, "colormap_detected": self.colormap_detected,
            "off_map_fraction": self.off_map_sum / max(1, self.kinds["colour image"]), "scales": dict(self.scales),
            "raw_range": self.raw_range if np.isfinite(self.raw_range[0]) else None,
            "dynamic_range_db": self.cfg.dynamic_range_db, "native_shapes": {f"{k[0]}x{k[1]}": v for k, v in shapes.items()},
            "orientation": "doppler ascending (row 0 = lowest Doppler), time ascending",
        }
        return SpectrogramSet(x=x, labels=labels, class_names=names, records=records, info=info)

    def _class_names(self) -> list[str]:
        """Class names in order; integer labels that index a class-names variable become names."""
        labels = [s.label for s in self.samples]
        if any(isinstance(v, str) for v in labels) and not all(isinstance(v, str) for v in labels):
            raise MdaugError("labels mix numbers and names across files; use one kind")
        given = self.file_class_names if self.labels_in_folders or self.class_names is None else self.class_names
        if given is None:
            return sorted({str(v) for v in labels}, key=natural_key)
        if all(isinstance(v, str) for v in labels):
            unknown = sorted(set(labels) - set(given))
            if unknown:
                raise MdaugError(f"labels {unknown[:3]} are not among the class names {given[:5]}")
            return list(given)
        ints = np.array(labels, dtype=np.int64)
        base = 1 if ints.min() >= 1 and ints.max() == len(given) else 0
        if ints.min() - base < 0 or ints.max() - base >= len(given):
            raise MdaugError(f"labels run from {ints.min()} to {ints.max()} but there are {len(given)} class names")
        for smp in self.samples:
            smp.label = given[int(smp.label) - base]
        return list(given)


def _data_files(folder: Path, suffixes: tuple[str, ...], *, recursive: bool) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    files = [p for p in it if p.is_file() and p.suffix.lower() in suffixes and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: natural_key(str(p.relative_to(folder))))


def _is_cell_of_matrices(a: np.ndarray) -> bool:
    return a.dtype == object and a.size > 0 and all(
        isinstance(e, np.ndarray) and e.dtype.kind in "fciu" and np.squeeze(e).ndim == 2 for e in a.ravel())


def _as_samples(a: np.ndarray, axis: str, is_mat: bool) -> list[np.ndarray] | np.ndarray:
    """Any supported array -> samples of shape (channels, doppler, time): an (n, c, d, t) array, or a
    list when a MATLAB cell array holds matrices of different sizes."""
    if _is_cell_of_matrices(a):  # MATLAB {spec1, spec2, ...}, in MATLAB's linear (column-major) order
        return [_as_samples(np.squeeze(e), axis, is_mat)[0] for e in a.ravel(order="F" if is_mat else "C")]
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
        raise BadFile(f"spectrogram array has shape {a.shape}; expected (doppler, time), a stack of them, or (n, channels, doppler, time)")
    if min(out.shape[-2:]) < 4:
        raise BadFile(f"spectrograms of {out.shape[-2]}x{out.shape[-1]} are too small (a 1-D vector is not a spectrogram); "
                      "check data.sample_axis")
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
