"""Gymnasium spaces as plain JSON (``spaces.json``), so loading an agent never unpickles.

Described spaces: ``Box`` (shape, dtype, low, high), ``Discrete`` (n, start),
``MultiDiscrete`` (nvec, dtype, start), ``MultiBinary`` (n), ``Tuple`` and ``Dict`` of those.
Bounds that are the same everywhere are stored once; infinities are the strings ``"inf"``
and ``"-inf"``. Anything else (``Text``, ``Graph``, ``Sequence``, custom spaces) cannot be
described, and :func:`check_describable` says so when a run starts, not at its first
checkpoint. Reading is strict: unknown types, unknown keys, bad dtypes, negative sizes, deep
nesting and huge shapes are refused with a :class:`~gymkit.errors.RunDirError` naming the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.errors import RunDirError, SpaceError

SPACES_FILE = "spaces.json"
DESCRIBED = "Box, Discrete, MultiDiscrete, MultiBinary, Tuple, Dict"
#: a Box larger than this (elements) is refused when read: no env has such observations
MAX_ELEMENTS = 2**28
MAX_DEPTH = 32
_INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_BOX_DTYPES = ("float16", "float32", "float64", *_INT_DTYPES)


class _Undescribable(Exception):
    pass


# -- writing -----------------------------------------------------------------------------


def _number(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            raise _Undescribable("a NaN bound")
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    return int(x)


def _bounds(a: np.ndarray) -> Any:
    flat = a.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return _number(flat[0])
    return _nested(a)


def _nested(a: np.ndarray) -> Any:
    if a.ndim == 0:
        return _number(a[()])
    return [_nested(x) for x in a]


def _describe(space: gym.Space) -> dict[str, Any]:
    S = gym.spaces
    if isinstance(space, S.Box):
        return {"type": "Box", "shape": [int(n) for n in space.shape], "dtype": np.dtype(space.dtype).name,
                "low": _bounds(np.asarray(space.low)), "high": _bounds(np.asarray(space.high))}
    if isinstance(space, S.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, S.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist(),
                "dtype": np.dtype(space.dtype).name, "start": np.asarray(space.start).tolist()}
    if isinstance(space, S.MultiBinary):
        n = space.n
        return {"type": "MultiBinary", "n": [int(x) for x in n] if isinstance(n, tuple | list | np.ndarray) else int(n)}
    if isinstance(space, S.Tuple):
        return {"type": "Tuple", "spaces": [_describe(s) for s in space.spaces]}
    if isinstance(space, S.Dict):
        for key in space.spaces:
            if not isinstance(key, str):
                raise _Undescribable(f"a Dict key {key!r} that is not a string")
        return {"type": "Dict", "spaces": [[k, _describe(s)] for k, s in space.spaces.items()]}
    raise _Undescribable(f"{type(space).__name__}")


def space_to_json(space: gym.Space) -> dict[str, Any]:
    """The JSON description of ``space``; SpaceError if it cannot be described exactly."""
    try:
        data = _describe(space)
        back = space_from_json(json.loads(json.dumps(data)))
    except _Undescribable as exc:
        raise SpaceError(f"the space {space} cannot be saved as JSON ({exc}): gymkit saves {DESCRIBED} "
                         "spaces; wrap the env so its spaces are one of those") from None
    except RunDirError as exc:
        raise SpaceError(f"the space {space} cannot be saved as JSON ({exc})") from None
    if back != space:
        raise SpaceError(f"the space {space} does not survive a JSON round trip (it reads back as {back}): "
                         f"gymkit saves {DESCRIBED} spaces exactly; wrap the env")
    return data


def check_describable(observation_space: gym.Space, action_space: gym.Space, env_id: str = "") -> None:
    """Refuse, before a run starts, spaces that ``spaces.json`` could not hold."""
    for what, space in (("observation", observation_space), ("action", action_space)):
        try:
            space_to_json(space)
        except SpaceError as exc:
            where = f" of {env_id}" if env_id else ""
            raise SpaceError(f"the {what} space{where}: {exc}") from None


def write_spaces(path: Path, observation_space: gym.Space, action_space: gym.Space) -> None:
    data = {"observation_space": space_to_json(observation_space), "action_space": space_to_json(action_space)}
    Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


# -- reading -----------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _keys(d: Any, required: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise _Bad(f"expected an object, got {type(d).__name__}")
    missing = required - set(d)
    extra = set(d) - required - optional - {"type"}
    if missing:
        raise _Bad(f"{d.get('type')} lacks {', '.join(sorted(missing))}")
    if extra:
        raise _Bad(f"{d.get('type')} has unknown keys {', '.join(sorted(extra))}")
    return d


def _int(x: Any, what: str, low: int | None = None) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise _Bad(f"{what} must be a whole number, got {x!r}")
    if low is not None and x < low:
        raise _Bad(f"{what} must be >= {low}, got {x}")
    return x


def _shape(x: Any, what: str) -> tuple[int, ...]:
    if not isinstance(x, list) or len(x) > 32:
        raise _Bad(f"{what} must be a list of sizes")
    shape = tuple(_int(n, what, 0) for n in x)
    if math.prod(shape) > MAX_ELEMENTS:
        raise _Bad(f"{what} {list(shape)} has more than {MAX_ELEMENTS} elements")
    return shape


def _dtype(name: Any, allowed: tuple[str, ...]) -> np.dtype:
    if name not in allowed:
        raise _Bad(f"dtype {name!r} is not one of {', '.join(allowed)}")
    return np.dtype(name)


def _scalar(x: Any) -> float | int:
    if x == "inf":
        return math.inf
    if x == "-inf":
        return -math.inf
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise _Bad(f"a bound must be a number, 'inf' or '-inf', got {x!r}")
    return x


def _bound_array(x: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    def convert(v: Any, depth: int) -> Any:
        if isinstance(v, list):
            if depth >= len(shape):
                raise _Bad("a bound is nested deeper than the shape")
            return [convert(e, depth + 1) for e in v]
        return _scalar(v)

    values = convert(x, 0)
    if dtype.kind in "iu":
        arr = np.asarray(values)
        if arr.dtype.kind not in "iu":
            raise _Bad(f"the bounds of an integer Box must be whole numbers, got {arr.dtype}")
        info = np.iinfo(dtype)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise _Bad(f"a bound lies outside {dtype.name}")
    else:
        arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(shape, arr[()])
    if arr.shape != shape:
        raise _Bad(f"a bound has shape {arr.shape}, the space {shape}")
    return arr.astype(dtype)


def _build(d: Any, depth: int) -> gym.Space:
    S = gym.spaces
    if depth > MAX_DEPTH:
        raise _Bad(f"spaces nested more than {MAX_DEPTH} deep")
    if not isinstance(d, dict):
        raise _Bad(f"expected a space object, got {type(d).__name__}")
    kind = d.get("type")
    if kind == "Box":
        _keys(d, {"shape", "dtype", "low", "high"})
        shape, dtype = _shape(d["shape"], "Box shape"), _dtype(d["dtype"], _BOX_DTYPES)
        low, high = _bound_array(d["low"], shape, dtype), _bound_array(d["high"], shape, dtype)
        if np.any(low > high):
            raise _Bad("Box low exceeds high")
        return S.Box(low, high, shape, dtype)
    if kind == "Discrete":
        _keys(d, {"n"}, {"start"})
        return S.Discrete(_int(d["n"], "Discrete n", 1), start=_int(d.get("start", 0), "Discrete start"))
    if kind == "MultiDiscrete":
        _keys(d, {"nvec"}, {"dtype", "start"})
        nvec = np.asarray(d["nvec"])
        start = np.asarray(d.get("start", np.zeros_like(nvec).tolist()))
        if nvec.dtype.kind not in "iu" or start.dtype.kind not in "iu" or nvec.shape != start.shape:
            raise _Bad("MultiDiscrete nvec and start must be equally shaped whole numbers")
        if nvec.size > MAX_ELEMENTS or np.any(nvec < 1):
            raise _Bad("MultiDiscrete nvec must hold positive sizes")
        return S.MultiDiscrete(nvec, dtype=_dtype(d.get("dtype", "int64"), _INT_DTYPES), start=start)
    if kind == "MultiBinary":
        _keys(d, {"n"})
        n = d["n"]
        return S.MultiBinary(list(_shape(n, "MultiBinary n")) if isinstance(n, list) else _int(n, "MultiBinary n", 1))
    if kind == "Tuple":
        _keys(d, {"spaces"})
        if not isinstance(d["spaces"], list):
            raise _Bad("Tuple spaces must be a list")
        return S.Tuple([_build(s, depth + 1) for s in d["spaces"]])
    if kind == "Dict":
        _keys(d, {"spaces"})
        items = d["spaces"]
        if not isinstance(items, list) or not all(isinstance(i, list) and len(i) == 2 and isinstance(i[0], str)
                                                  for i in items):
            raise _Bad("Dict spaces must be a list of [name, space] pairs")
        return S.Dict({k: _build(s, depth + 1) for k, s in items})
    raise _Bad(f"unknown space type {kind!r} (gymkit reads {DESCRIBED})")


def space_from_json(data: Any, source: str = "spaces.json") -> gym.Space:
    """The space ``data`` describes; RunDirError naming ``source`` when it describes none."""
    try:
        return _build(data, 0)
    except (_Bad, ValueError, TypeError, OverflowError, AssertionError) as exc:
        raise RunDirError(f"{source} does not describe a space ({exc}): restore the file from a copy") from None


def read_spaces(path: Path) -> tuple[gym.Space, gym.Space]:
    """The observation and action spaces stored in ``spaces.json``."""
    from gymkit.safe_files import read_json

    data = read_json(path)
    if not isinstance(data, dict) or set(data) != {"observation_space", "action_space"}:
        raise RunDirError(f"{path} must hold exactly observation_space and action_space: restore it from a copy")
    return (space_from_json(data["observation_space"], str(path)),
            space_from_json(data["action_space"], str(path)))
