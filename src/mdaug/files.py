"""Small file-system helpers: atomic writes and never-overwrite paths."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from mdaug.errors import MdaugError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and a rename.

    A reader never sees a half-written file, and a crash leaves the old file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise as_os_error(e, path) from None  # a failed write names no file: name the one being written
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


WRITE_HINTS = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space (disk quota)",
               errno.EROFS: "the file system is read-only; choose another folder",
               errno.EACCES: "check the folder's permissions", errno.EPERM: "check the folder's permissions",
               errno.EFBIG: "the file system takes no file this large"}


def as_os_error(e: BaseException, path: str | os.PathLike) -> OSError:
    """`e` as an OSError naming `path`: an OSError without a file name gets it; another library's wrapper of one
    (safetensors' SafetensorError quotes the OS message: 'IoError(Os { code: 28, ... message: "No space left on
    device" })') is unwrapped into one."""
    if isinstance(e, OSError):
        return e if e.filename is not None else OSError(e.errno, e.strerror or str(e), str(path))
    code = re.search(r"code: (\d+)", str(e))
    reason = re.search(r'message: "([^"]+)"', str(e))
    return OSError(int(code.group(1)) if code else errno.EIO,
                   reason.group(1) if reason else f"{type(e).__name__}: {str(e)[:80]}", str(path))


def write_failure(e: OSError) -> str:
    """'cannot write PATH: No space left on device (free some space)': one line for a failed write."""
    hint = WRITE_HINTS.get(e.errno)
    return f"cannot write {e.filename}: {e.strerror or e}" + (f" ({hint})" if hint else "")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_savez(path: str | os.PathLike, **arrays) -> Path:
    """np.savez to `path` atomically (built in memory, then atomic_write_bytes): a full disk or a kill never leaves
    an unreadable .npz at the final name."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def csv_text(rows: list[dict]) -> str:
    """Rows of equal keys as CSV text (a header of the first row's keys)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def free_path(path: str | os.PathLike) -> Path:
    """`path` if nothing is there, else the first of `name-2.ext`, `name-3.ext`, ... that is free."""
    path = Path(path)
    if not path.exists():
        return path
    for i in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise MdaugError(f"too many files named like {path}; clean up that folder")


def ensure_empty_dir(path: str | os.PathLike, *, what: str = "output folder", create: bool = True) -> Path:
    """Create `path` (unless create=False), refusing a folder that already holds files."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise MdaugError(f"{what} {path} exists and is a file; choose another --out")
    if path.is_dir() and any(path.iterdir()):
        raise MdaugError(f"{what} {path} is not empty; choose a new --out (nothing was overwritten)")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def building(out: str | os.PathLike, *, what: str = "output folder") -> Iterator[Path]:
    """A new folder `out` written whole or not at all: the block writes into a hidden sibling, renamed to `out` when
    it completes and removed when it fails. A full disk or a kill never leaves at `out` a folder that reads as a
    complete dataset (a kill -9 leaves only the hidden .NAME.partial, cleared by the next attempt)."""
    out = Path(out)
    ensure_empty_dir(out, what=what, create=False)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.is_dir():
        out.rmdir()  # empty: checked above
    tmp.rename(out)


LOCK = ".mdaug.lock"
"""The file a job holds locked in its --out while it runs (the lock goes with the process, even on kill -9)."""


def hold_lock(folder: str | os.PathLike, what: str) -> IO[str] | None:
    """Lock `folder` for this process (LOCK inside it) and return the open lock file, which must be kept; a folder
    another process holds is refused naming it. None where the system has no file locks (fcntl: not on Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    import time

    f = open(Path(folder) / LOCK, "a+")  # noqa: SIM115 - held open for as long as the job runs
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise MdaugError(f"{folder} is in use by another {what} ({holder}); wait for it to finish, or use another "
                         "--out (nothing was written)") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
    f.flush()
    return f


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def copy_tree_atomic(src: str | os.PathLike, dst: str | os.PathLike, *, skip: tuple[str, ...] = ()) -> Path:
    """Copy the folder `src` to `dst` (leaving out entries named in `skip`, at any depth) through a
    temporary name, so that a killed copy never looks finished; whatever was at `dst` is replaced."""
    import shutil

    dst = Path(dst)
    tmp = dst.with_name(dst.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns(*skip) if skip else None)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
    return dst

