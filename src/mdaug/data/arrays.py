"""Array containers radar people use: .npy, .npz, MATLAB .mat (v7 via scipy, v7.3 via h5py) and HDF5.

`load_arrays` returns every variable of a file as a numpy array (strings as str arrays), without ever
unpickling. MATLAB v7.3 files are HDF5 with the axes stored in reverse; they are transposed back so a
variable has the shape MATLAB shows.
"""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from mdaug.data.images import BadFile

ARRAY_SUFFIXES = (".npy", ".npz", ".mat", ".h5", ".hdf5", ".he5")
_MATLAB_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2026 HDF5 schema 1.00 ."


def load_arrays(path: Path, data: bytes) -> dict[str, np.ndarray]:
    """All variables in the file whose raw bytes are `data` ({'': array} for .npy)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return {"": np.load(io.BytesIO(data), allow_pickle=False)}
        if suffix == ".npz":
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        if suffix == ".mat":
            if data[:4] == b"\x89HDF" or data[512:516] == b"\x89HDF":
                return _load_hdf5(data, matlab=True)
            return _load_mat_v7(data)
        return _load_hdf5(data, matlab=False)
    except BadFile:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise BadFile("holds Python objects; mdaug never unpickles files, save plain arrays") from None
        raise BadFile(f"cannot be read ({str(e)[:100]})") from None
    except Exception as e:  # noqa: BLE001 - any decoder failure means a corrupt file, reported by name
        kind = {".npz": "a NumPy .npz (a zip archive of .npy files)", ".npy": "a NumPy .npy file",
                ".mat": "a MATLAB .mat file (v5 or v7.3)"}.get(suffix, "an HDF5 file")
        raise BadFile(f"is not {kind}: truncated, corrupt or another format ({type(e).__name__}: "
                      f"{str(e)[:80]})") from None


def _load_mat_v7(data: bytes) -> dict[str, np.ndarray]:
    raw = scipy.io.loadmat(io.BytesIO(data), chars_as_strings=True)
    return {k: _mat_value(v) for k, v in raw.items() if not k.startswith("__")}


def _mat_value(v: np.ndarray) -> np.ndarray:
    """MATLAB cell arrays of strings -> str arrays; char arrays -> str; numbers unchanged."""
    if v.dtype == object:
        flat = [np.asarray(c).ravel() for c in v.ravel()]
        if all(c.dtype.kind == "U" for c in flat):
            return np.array(["".join(c) for c in flat])
        return v
    if v.dtype.kind == "U" and v.ndim == 2:
        return np.array([s.rstrip() for s in v.ravel()])
    return v


def _load_hdf5(data: bytes, *, matlab: bool) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(io.BytesIO(data), "r") as f:

        def visit(name: str, obj: object) -> None:
            if not isinstance(obj, h5py.Dataset) or name.startswith("#refs#"):
                return
            out[name] = _h5_value(f, obj, matlab)

        f.visititems(visit)
    return out


def _h5_value(f: h5py.File, ds: h5py.Dataset, matlab: bool) -> np.ndarray:
    cls = ds.attrs.get("MATLAB_class", b"")
    cls = cls.decode() if isinstance(cls, bytes) else str(cls)
    if h5py.check_string_dtype(ds.dtype) is not None:  # variable-length or fixed strings
        return np.asarray(ds.asstr()[()], dtype=str)
    if h5py.check_ref_dtype(ds.dtype) is not None:  # MATLAB cell array: references
        items = [_h5_value(f, f[ref], matlab) for ref in np.asarray(ds[()]).T.ravel()]
        if items and all(i.dtype.kind in "fciu" and i.ndim >= 2 for i in items):  # cell of matrices
            cell = np.empty(len(items), dtype=object)
            cell[:] = items
            return cell
        return np.array([str(i) if i.ndim == 0 else "".join(map(str, i.ravel())) for i in items])
    a = ds[()]
    if matlab and cls == "char":
        return np.array("".join(chr(c) for c in np.asarray(a).T.ravel()))
    if a.dtype.names and {"real", "imag"} <= set(a.dtype.names):
        a = a["real"] + 1j * a["imag"]
    if a.dtype.kind == "S":
        a = a.astype(str)
    elif a.dtype.kind == "O":
        a = np.array([s.decode() if isinstance(s, bytes) else str(s) for s in a.ravel()]).reshape(a.shape)
    return np.asarray(a).T if matlab else np.asarray(a)


# ---------------------------------------------------------------- writers


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez_compressed(path, **arrays)


def save_mat(path: Path, arrays: dict[str, np.ndarray], *, v73: bool = False) -> None:
    """MATLAB file: v7 through scipy, or v7.3 (HDF5, axes reversed, MATLAB attributes) through h5py."""
    if not v73:
        scipy.io.savemat(path, arrays, do_compression=True)
        return
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, a in arrays.items():
            a = np.asarray(a)
            if a.dtype.kind in "UO":  # cell array: one dataset per cell, referenced from the variable
                refs = f.require_group("#refs#")
                ref_list = []
                for i, s in enumerate(a.ravel()):
                    if isinstance(s, str):
                        d = refs.create_dataset(f"{k}_{i}", data=np.array([[ord(c)] for c in s], dtype=np.uint16))
                        d.attrs["MATLAB_class"] = np.bytes_("char")
                    else:
                        d = refs.create_dataset(f"{k}_{i}", data=np.asarray(s, dtype=np.float64).T)
                        d.attrs["MATLAB_class"] = np.bytes_("double")
                    ref_list.append(d.ref)
                d = f.create_dataset(k, data=np.array([ref_list], dtype=h5py.ref_dtype))
                d.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                if a.dtype.kind == "c":  # MATLAB stores complex as a compound of real and imag
                    c = np.empty(a.shape, dtype=[("real", "<f8"), ("imag", "<f8")])
                    c["real"], c["imag"] = a.real, a.imag
                    a_store, mclass = c, "double"
                else:
                    a_store, mclass = a, {"float64": "double", "float32": "single"}.get(a.dtype.name, a.dtype.name)
                d = f.create_dataset(k, data=a_store.T)
                d.attrs["MATLAB_class"] = np.bytes_(mclass)
    with open(path, "r+b") as fh:
        fh.write(_MATLAB_HEADER.ljust(128, b" "))


def save_hdf5(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with h5py.File(path, "w") as f:
        for k, a in arrays.items():
            a = np.asarray(a)
            f.create_dataset(k, data=a.astype("S") if a.dtype.kind == "U" else a)
