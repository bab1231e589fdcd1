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

from mdaug.config import DataConfig
from mdaug.data import colormaps
from mdaug.data.array_files import read_array_stack
from mdaug.data.arrays import ARRAY_SUFFIXES, load_arrays
from mdaug.data.canonical import Record, SpectrogramSet, natural_key, sample_hash
from mdaug.data.images import IMAGE_SUFFIXES, BadFile, decode_image, image_to_canonical, is_colour
from mdaug.data.info import ARRAY_SAMPLE, COLOUR_IMAGE, GREYSCALE_IMAGE, ORIENTATION, DataInfo
from mdaug.data.limits import MIN_SIDE, check_memory, check_size, one_class_message
from mdaug.data.prepared import DATASET_FILE, is_prepared, load_prepared
from mdaug.data.scaling import guess_scale, normalise
from mdaug.errors import MdaugError
from mdaug.progress import progress_bar

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
    prepared = root.is_dir() and is_prepared(root)
    if cfg.format == "prepared" and not prepared:
        raise MdaugError(f"{root} is not a prepared dataset (no {DATASET_FILE}); make one with `mdaug data "
                         "prepare`")
    check_size(cfg.size)
    if (root.is_file() and cfg.format not in ("auto", "prepared")
            and root.suffix.lower() not in FORMAT_SUFFIXES[cfg.format]):
        raise MdaugError(f"data.format={cfg.format} but {root.name} is a {root.suffix} file; use --format auto")
    if prepared:
        ds = load_prepared(root)
        if cfg.size is not None and tuple(ds.x.shape[-2:]) != tuple(cfg.size):
            check_size(cfg.size, len(ds), ds.x.shape[1])
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
                raise MdaugError(f"{self.root.name}: unsupported file type; give a folder of class folders, or a "
                                 ".npy/.npz/.mat/.h5 file")
            self._read_files([self.root], label=None)
            layout = "file"
        else:
            class_dirs = sorted((d for d in self.root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                                key=lambda folder: natural_key(folder.name))
            top_files = _data_files(self.root, suffixes, recursive=False)
            if self.cfg.label_regex:
                layout = "labels from file names"
                files = _data_files(self.root, suffixes, recursive=True)
                if not files:
                    raise MdaugError(f"no spectrogram files in {self.root} (looked for {', '.join(suffixes)})")
                self._detect_colormap(files)
                self._read_files(files, label=None)
            elif class_dirs:
                layout = "class folders"
                self._read_class_folders(class_dirs, suffixes)
                if top_files:
                    self._problem("warning", f"{len(top_files)} files directly in {self.root.name}/ were ignored: "
                                  "they are in no class folder", skippable=False)
            elif top_files and all(f.suffix.lower() in ARRAY_SUFFIXES for f in top_files):
                layout = "labelled files"
                self._read_files(top_files, label=None)
            elif top_files:
                raise MdaugError(f"{self.root} holds images but no class folders; put each class's images in a "
                                 "subfolder named after the class")
            else:
                raise MdaugError(f"no spectrogram files in {self.root} (looked for {', '.join(suffixes)})")
        if not self.samples:
            first = self.errors_text() or "no readable spectrograms"
            raise MdaugError(f"nothing could be read from {self.root}: {first}")
        return ReadResult(self._assemble(layout), self.problems)

    def _read_class_folders(self, class_dirs: list[Path], suffixes: tuple[str, ...]) -> None:
        per_class = {}
        for d in class_dirs:
            if is_prepared(d):
                self._problem("warning", f"folder '{d.name}' is a prepared mdaug dataset, not a class: left out",
                              skippable=False)
            elif not os.access(d, os.R_OK | os.X_OK):
                self._problem("error", f"class folder '{d.name}' cannot be read (permission denied)", skippable=False)
            else:
                per_class[d.name] = _data_files(d, suffixes, recursive=True)
        self.class_names = []
        for name, files in per_class.items():
            if files:
                self.class_names.append(name)
            else:
                self._problem("error", f"class folder '{name}' has no spectrogram files ({', '.join(suffixes)})",
                              skippable=False)
        all_files = [(f, name) for name, files in per_class.items() for f in files]
        self._detect_colormap([f for f, _ in all_files])
        for f, name in progress_bar(all_files, desc="reading", unit="file", enabled=self.progress, leave=False):
            self._read_one(f, label=name)

    def _read_files(self, files: list[Path], label: str | None) -> None:
        for f in progress_bar(files, desc="reading", unit="file", enabled=self.progress and len(files) > 1,
                              leave=False):
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
            label = _group(m, LABEL_GROUP)
        try:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                self._read_image(data, rel, label, sha)
            else:
                self._read_array_file(path, data, rel, label, sha)
        except BadFile as e:
            self._problem("error", f"{rel}: {e}")

    def _read_image(self, data: bytes, rel: str, label: str, sha: str) -> None:
        pixels = decode_image(data)
        if min(pixels.shape[:2]) < MIN_SIDE:
            raise BadFile(f"is only {pixels.shape[1]}x{pixels.shape[0]} pixels, too small for a spectrogram (at least "
                          f"{MIN_SIDE} on a side)")
        self.kinds[COLOUR_IMAGE if is_colour(pixels) else GREYSCALE_IMAGE] += 1
        if is_colour(pixels) and self.colormap is None:
            self._detect_colormap([self.root / rel])
        x, off = image_to_canonical(pixels, self.colormap or "gray", crop=self.cfg.crop_to_colormap)
        if self._blank(x, rel):
            return
        jpeg = rel.lower().endswith((".jpg", ".jpeg"))
        if off > (OFF_MAP_WARN_JPEG if jpeg else OFF_MAP_WARN):
            self.off_map.append((rel, off))
        self.off_map_sum += off
        self.scales["image"] += 1
        self.samples.append(_Sample(x, label, self._session(rel, 1), rel, -1, sha))

    def _read_array_file(self, path: Path, data: bytes, rel: str, label: str | None, sha: str) -> None:
        a = read_array_stack(load_arrays(path, data), self.cfg, rel=rel, is_mat=path.suffix.lower() == ".mat",
                             needs_labels=label is None)
        n = len(a.samples)
        if label is not None and a.labels is not None:  # files in class folders that carry their own labels
            self.labels_in_folders += 1
        if a.class_names is not None:
            if self.file_class_names is None:
                self.file_class_names = a.class_names
            elif a.class_names != self.file_class_names:
                raise BadFile(f"lists other class names than the first file ({a.class_names[:3]}... vs "
                              f"{self.file_class_names[:3]}...)")
        labels = a.labels if a.labels is not None else [label] * n
        self.kinds[ARRAY_SAMPLE] += n
        scale = a.scale
        if scale == "auto":
            scale = guess_scale(np.concatenate([s.ravel() for s in a.samples]))
        for i, s in enumerate(a.samples):
            sid = f"{rel}#{i}" if n > 1 else rel
            x = self._normalised(s, scale, sid)
            if x is not None:
                self.scales[scale] += 1
                session = a.sessions[i] or self._session(rel, n)
                index = i if n > 1 else -1
                self.samples.append(_Sample(np.ascontiguousarray(x), labels[i], session, rel, index, sha))

    def _normalised(self, sample: np.ndarray, scale: str, sid: str) -> np.ndarray | None:
        """One array sample in canonical form, or None (and a problem) when it cannot be."""
        complex_values = np.iscomplexobj(sample)
        finite = np.isfinite(sample.real).all() and (not complex_values or np.isfinite(sample.imag).all())
        if not finite:
            self._problem("error", f"{sid}: contains NaN or inf values")
            return None
        mag = np.abs(sample) if complex_values else sample
        self.raw_range = [min(self.raw_range[0], float(mag.min())), max(self.raw_range[1], float(mag.max()))]
        if self.cfg.flip_doppler:
            sample = sample[..., ::-1, :]
        try:
            x = normalise(sample, scale, self.cfg.dynamic_range_db)
        except MdaugError as e:
            self._problem("error", f"{sid}: {e}")
            return None
        return None if self._blank(x, sid) else x

    def _blank(self, x: np.ndarray, sid: str) -> bool:
        """A spectrogram whose every value is the same carries no signal (a blank export, a zeroed array): a
        problem, skippable, not a sample."""
        if float(np.ptp(x)) > 0:
            return False
        self._problem("error", f"{sid}: every value is the same ({float(x.flat[0]):.3g} after scaling): a blank "
                               "spectrogram, no signal")
        return True

    # ------------------------------------------------------------ helpers

    def _session(self, rel: str, n: int) -> str | None:
        """Recording id: the session regex, else a nested folder, else the file when it holds a stack
        (a single file holding the whole dataset is not one recording, so there it stays None)."""
        if self.cfg.session_regex:
            m = re.search(self.cfg.session_regex, rel)
            if m:
                return _group(m, SESSION_GROUP)
        parent = str(Path(rel).parent)
        if parent.count("/") >= 1:  # class/session/file: the nested folder is the recording
            return parent
        return rel if n > 1 and self.root.is_dir() else None

    def _detect_colormap(self, files: list[Path]) -> None:
        """Detect the colormap of the first colour images, or check the one the user named against them."""
        if self.colormap in ("rgb", "gray"):
            return
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
        if colour and self.colormap is None:
            self.colormap, _ = colormaps.detect(colour)
            self.colormap_detected = True
        elif colour:  # named by the user: refuse one the images were not rendered with, before reading them all
            colormaps.check_named(colour, self.colormap)

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
            self._problem("warning", f"{self.labels_in_folders} files in class folders carry their own labels "
                          "variable: classes come from it, not from the folder names", skippable=False)
        names = self._class_names()
        counts = Counter(str(s.label) for s in samples)
        for n in [n for n in names if counts[n] == 0]:
            self._problem("warning", f"class '{n}' has no readable samples and was left out", skippable=False)
        names = [n for n in names if counts[n] > 0]
        if len(names) == 1:
            self._problem("error", one_class_message(names[0], len(samples)), skippable=False)
        index = {n: i for i, n in enumerate(names)}
        if self.off_map:
            worst = max(self.off_map, key=lambda t: t[1])
            hint = "" if self.cfg.crop_to_colormap is True else "; figures with axes: set data.crop_to_colormap=true"
            self._problem("warning", f"{len(self.off_map)} images have many pixels off the {self.colormap} colormap "
                          f"(worst: {worst[0]}, {worst[1]:.0%}): axes, labels or borders{hint}", skippable=False)
        if len(self.kinds.keys() & {COLOUR_IMAGE, GREYSCALE_IMAGE}) == 2:
            self._problem("warning", f"mixed greyscale ({self.kinds[GREYSCALE_IMAGE]}) and colour "
                          f"({self.kinds[COLOUR_IMAGE]}) images", skippable=False)
        channels = Counter(s.x.shape[0] for s in samples)
        if len(channels) > 1:
            self._problem("error", f"samples have different channel counts {dict(channels)}; use data.colormap to map "
                          "colour images to one channel", skippable=False)
        shapes = Counter(s.x.shape[1:] for s in samples)
        size = self.cfg.size
        if size is None and len(shapes) > 1:
            (s1, n1), (s2, n2) = shapes.most_common(2)
            ex = next(s.file for s in samples if s.x.shape[1:] == s2)
            self._problem("error", f"samples have different shapes: {s1[0]}x{s1[1]} ({n1}) and {s2[0]}x{s2[1]} ({n2}, "
                          f"e.g. {ex}); set data.size (e.g. --size 64) to resize them", skippable=False)
            size = s1
        errs = [p for p in self.problems if p.level == "error"]
        if errs and not self.collect:
            hint = "; pass --skip-bad to skip bad files" if all(p.skippable for p in errs) else ""
            raise MdaugError(f"{self.errors_text()}{hint}")
        c = max(channels, key=channels.get)
        keep = [s for s in samples if s.x.shape[0] == c]
        check_memory(tuple(size or keep[0].x.shape[1:]), len(keep), c)
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
            self._problem("warning", f"{n_dup} duplicate samples (e.g. {' = '.join(ex)}); duplicates can leak across "
                          "splits", skippable=False)
        info = DataInfo(
            source=str(self.root), layout=layout, format=self.cfg.format, kinds=dict(self.kinds),
            colormap=self.colormap, colormap_detected=self.colormap_detected,
            off_map_fraction=self.off_map_sum / max(1, self.kinds[COLOUR_IMAGE]), scales=dict(self.scales),
            raw_range=self.raw_range if np.isfinite(self.raw_range[0]) else None,
            dynamic_range_db=self.cfg.dynamic_range_db,
            native_shapes={f"{k[0]}x{k[1]}": v for k, v in shapes.items()}, orientation=ORIENTATION)
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


LABEL_GROUP, SESSION_GROUP = "label", "session"
"""The named groups of data.label_regex and data.session_regex (without one: the whole match)."""


def _group(match: re.Match, name: str) -> str:
    return match.groupdict().get(name) or match.group(0)


def _data_files(folder: Path, suffixes: tuple[str, ...], *, recursive: bool) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    files = [p for p in it if p.is_file() and p.suffix.lower() in suffixes
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(files, key=lambda p: natural_key(str(p.relative_to(folder))))


