"""Reading files from run directories people share: data only, inside the directory, bounded.

Every reader here refuses, with a one-line :class:`~gymkit.errors.RunDirError` naming the
file and the reason, and before anything is allocated or executed:

- a symbolic link or anything that is not a regular file (a FIFO would block reading);
- ``.npy`` arrays whose header is malformed, has an ``object`` (pickled) dtype, claims more
  bytes than the machine has available, or disagrees with the file's size; an expected
  dtype or shape that does not match; non-finite (or NaN) values where none belong;
- ``.npz`` archives whose members fail those checks (each header is read first);
- HDF5 weight files (Keras ``.weights.h5``) with external links, soft links, external or
  virtual datasets (they would read other files), object datasets, datasets too large for
  memory, or NaN/inf in floating-point weights;
- JSON that is malformed, nested too deeply or larger than :data:`MAX_JSON_BYTES`.

Nothing here ever unpickles: NumPy is always called with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from gymkit.errors import RunDirError
from gymkit.safe_paths import (  # noqa: F401  (re-exported)
    UNREAD_FOLDERS,
    check_tree,
    open_regular,
    refuse_link,
    require_regular,
)

MAX_JSON_BYTES = 64 * 2**20


# -- JSON ----------------------------------------------------------------------------------


def read_text(path: Path, limit: int = MAX_JSON_BYTES) -> str:
    st = require_regular(path)
    if st.st_size > limit:
        raise RunDirError(f"{path} is {st.st_size:,} bytes, more than gymkit ever writes there "
                          f"({limit:,}): restore it from a copy")
    with open_regular(path) as fh:
        data = fh.read(limit + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RunDirError(f"{path} is not UTF-8 text: restore it from a copy") from None


def read_json(path: Path) -> Any:
    """A JSON file gymkit wrote, or a one-line RunDirError naming it."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}): restore it from a copy") from None
    except RecursionError:
        raise RunDirError(f"{path} is nested too deeply to be a file gymkit wrote: restore it from a copy") from None


# -- NumPy -------------------------------------------------------------------------------


def _available() -> int:
    from gymkit.replay.budget import available_memory_bytes

    return available_memory_bytes()


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"


def _header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"npy format version {version[0]}.{version[1]}, which gymkit does not write")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(f"{where} is not a NumPy array file gymkit wrote ({text[:200]}): restore it from a copy") from None
    if dtype.hasobject:
        raise RunDirError(f"{where} holds Python objects (dtype {dtype}), which only a pickle can read: gymkit "
                          "never unpickles; restore the file from a copy")
    return tuple(int(n) for n in shape), bool(fortran), dtype


def _check_size(shape: tuple[int, ...], dtype: np.dtype, where: str, available: int | None = None) -> int:
    count = 1
    for n in shape:
        count *= n
    nbytes = count * dtype.itemsize
    available = _available() if available is None else available
    if nbytes > available:
        raise RunDirError(f"{where} claims shape {shape} {dtype} ({count:,} elements, {_human(nbytes)}), more than "
                          f"the {_human(available)} of memory available: the header is corrupt or crafted; "
                          "restore the file from a copy")
    return nbytes


def _check_expected(array_shape: tuple[int, ...], array_dtype: np.dtype, where: str,
                    dtype: Any = None, shape: tuple[int, ...] | None = None) -> None:
    if dtype is not None and array_dtype != np.dtype(dtype):
        raise RunDirError(f"{where} holds dtype {array_dtype}, expected {np.dtype(dtype)}: it was not written "
                          "by this agent with this config; restore it from a copy")
    if shape is not None and tuple(array_shape) != tuple(shape):
        raise RunDirError(f"{where} has shape {tuple(array_shape)}, expected {tuple(shape)}: it was not written "
                          "by this agent with this config; restore it from a copy")


def check_values(array: np.ndarray, where: str, finite: str | None) -> np.ndarray:
    """``finite``: None (no check), ``"nan"`` (no NaN: -inf may mark impossible actions) or
    ``"all"`` (no NaN, no infinity)."""
    if finite is None or array.dtype.kind not in "fc":
        return array
    bad = np.isnan(array) if finite == "nan" else ~np.isfinite(array)
    if bad.any():
        what = "NaN" if finite == "nan" or np.isnan(array).any() else "an infinity"
        raise RunDirError(f"{where} holds {what} ({int(bad.sum())} of {array.size} values): a run never saves "
                          "non-finite weights, so the file is corrupt or crafted; restore it from a copy")
    return array


def _read_array(fh: IO[bytes], where: str, size: int | None, dtype: Any, shape: Any, finite: str | None,
                budget: list[int] | None = None) -> np.ndarray:
    array_shape, fortran, array_dtype = _header(fh, where)
    available = None if budget is None else budget[0]
    nbytes = _check_size(array_shape, array_dtype, where, available)
    if budget is not None:
        budget[0] -= nbytes
    if size is not None and size != fh.tell() + nbytes:
        raise RunDirError(f"{where} is {size:,} bytes but its header describes {fh.tell() + nbytes:,}: "
                          "it is truncated or crafted; restore it from a copy")
    _check_expected(array_shape, array_dtype, where, dtype, shape)
    array = np.empty(nbytes // max(array_dtype.itemsize, 1) if array_dtype.itemsize else 0, dtype=array_dtype)
    view, done = memoryview(array.view(np.uint8)), 0
    while done < nbytes:  # straight into the array: no second copy of a large replay file
        got = fh.readinto(view[done:])
        if not got:
            raise RunDirError(f"{where} is truncated: restore it from a copy")
        done += got
    array = array.reshape(array_shape[::-1]).transpose() if fortran else array.reshape(array_shape)
    return check_values(array, where, finite)


def load_npy(path: Path, *, dtype: Any = None, shape: tuple[int, ...] | None = None,
             finite: str | None = None) -> np.ndarray:
    """An ``.npy`` array, its header checked before anything is allocated (see the module doc)."""
    path = Path(path)
    st = require_regular(path)
    with open_regular(path) as fh:
        return _read_array(fh, str(path), st.st_size, dtype, shape, finite)


def load_npz(path: Path, *, finite: str | None = None) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, each member's header checked first."""
    path = Path(path)
    with open_regular(path) as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise RunDirError(f"{path} is not a NumPy .npz archive ({exc}): restore it from a copy") from None
        with zf:
            out: dict[str, np.ndarray] = {}
            budget = [_available()]
            for info in zf.infolist():
                where = f"{path} member {info.filename}"
                if not info.filename.endswith(".npy") or info.is_dir():
                    raise RunDirError(f"{where} is not an .npy array: restore the file from a copy")
                key = info.filename[:-4]
                if key in out:
                    raise RunDirError(f"{where} appears twice: restore the file from a copy")
                try:
                    with zf.open(info) as member:
                        out[key] = _read_array(member, where, info.file_size, None, None, finite, budget)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                    raise RunDirError(f"{where} cannot be read ({exc}): restore the file from a copy") from None
    return out


def save_npy(path: Path, array: np.ndarray) -> None:
    np.save(path, np.asarray(array), allow_pickle=False)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, allow_pickle=False, **arrays)


# -- HDF5 (Keras weights) ----------------------------------------------------------------


def check_h5(path: Path, *, finite: str | None = "all") -> None:
    """Refuse an HDF5 file that would read other files, hold objects, exhaust memory or carry
    non-finite weights; the file is walked without following any link."""
    import h5py

    path = Path(path)
    budget = [_available()]

    def walk(group: Any, depth: int) -> None:
        if depth > 64:
            raise RunDirError(f"{path} nests groups more than 64 deep: restore it from a copy")
        for name in group:
            where = f"{path}:{group.name.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink | h5py.SoftLink):
                raise RunDirError(f"{where} is an HDF5 link ({type(link).__name__}), which gymkit never writes and "
                                  "which could read another file: restore the file from a copy")
            obj = group[name]
            if isinstance(obj, h5py.Group):
                walk(obj, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                if obj.external or obj.is_virtual:
                    raise RunDirError(f"{where} stores its data in another file: restore the file from a copy")
                if obj.dtype.kind not in "biuf":
                    raise RunDirError(f"{where} holds dtype {obj.dtype}, not numbers: restore the file from a copy")
                nbytes = _check_size(tuple(obj.shape or ()), obj.dtype, where, budget[0])
                budget[0] -= nbytes
                if finite is not None and obj.dtype.kind == "f":
                    check_values(np.asarray(obj[()]), where, finite)
            else:
                raise RunDirError(f"{where} is an HDF5 object gymkit never writes: restore the file from a copy")

    with open_regular(path) as fh:
        try:
            with h5py.File(fh, "r") as f:
                walk(f, 0)
        except RunDirError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunDirError(f"{path} is not an HDF5 weights file gymkit wrote ({text[:200]}): "
                              "restore it from a copy") from None


def load_keras_weights(model: Any, path: Path) -> None:
    """``model.load_weights(path)`` after :func:`check_h5`; a mismatch is one line."""
    check_h5(path)
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(f"{path} does not fit this agent's network ({text[:200]}): it was saved by "
                          "another config; restore it from a copy") from None
