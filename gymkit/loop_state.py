"""``loop_state.json``: the training loop's counters (:class:`LoopState`) and the checks
applied when a checkpoint's copy is read back (:func:`load_loop_state`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.errors import RunDirError
from gymkit.run_spec import RunSpec
from gymkit.safe_files import read_json

LOOP_STATE = "loop_state.json"
RECENT = 100  # episodes in the "recent mean return"


@dataclass
class LoopState:
    """The loop's counters: what a checkpoint's ``loop_state.json`` holds (same keys)."""

    next_log: int
    next_checkpoint: int
    step: int = 0
    episodes: int = 0
    recent_returns: deque = field(default_factory=lambda: deque(maxlen=RECENT))
    recent_lengths: deque = field(default_factory=lambda: deque(maxlen=RECENT))
    metrics: dict[str, float] = field(default_factory=dict)
    #: the envs' generator states (None: a fresh run, the envs are seeded)
    env_rng: list[Any] | None = None
    #: False when the checkpoint was not at an episode boundary (the resume reseeds instead)
    exact: bool = True
    last_log: int = -1
    wall_time_s: float = 0.0
    periodic: dict[str, Any] | None = None

    @classmethod
    def fresh(cls, spec: RunSpec) -> LoopState:
        return cls(next_log=spec.log_every, next_checkpoint=spec.checkpoint_every)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopState:
        return cls(next_log=int(data["next_log"]), next_checkpoint=int(data["next_checkpoint"]),
                   step=int(data["step"]), episodes=int(data["episodes"]),
                   recent_returns=deque(data["recent_returns"], maxlen=RECENT),
                   recent_lengths=deque(data["recent_lengths"], maxlen=RECENT),
                   metrics=dict(data["metrics"]), env_rng=data.get("env_rng"),
                   exact=bool(data.get("exact", True)), last_log=int(data.get("last_log", -1)),
                   wall_time_s=float(data.get("wall_time_s", 0.0)), periodic=data.get("periodic"))

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "episodes": self.episodes, "recent_returns": list(self.recent_returns),
                "recent_lengths": list(self.recent_lengths), "metrics": self.metrics,
                "next_log": self.next_log, "next_checkpoint": self.next_checkpoint, "env_rng": self.env_rng,
                "exact": self.exact, "last_log": self.last_log, "wall_time_s": self.wall_time_s,
                "periodic": self.periodic}

    def recent_mean_return(self) -> float | None:
        return float(np.mean(self.recent_returns)) if self.recent_returns else None


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def make_generator(state: Any, source: Any = "a saved generator") -> Any:
    """A NumPy Generator restored from ``bit_generator.state`` (only NumPy's bit generators)."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise RunDirError(f"{source}: {name!r} is not one of NumPy's bit generators "
                          f"({', '.join(_BIT_GENERATORS)}): restore the file from a copy")
    bitgen = getattr(np.random, name)()
    try:
        bitgen.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise RunDirError(f"{source}: not a {name} state ({exc}): restore the file from a copy") from None
    return np.random.Generator(bitgen)


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def load_loop_state(folder: Path) -> dict[str, Any]:
    """``loop_state.json``, every field the loop uses checked for its type."""
    path = folder / LOOP_STATE
    try:
        state = read_json(path)
    except RunDirError as exc:
        raise RunDirError(f"{exc} (or delete {folder} to use an earlier checkpoint)") from None
    bad = None
    if not isinstance(state, dict):
        bad = "it is not a JSON object"
    else:
        for key in ("step", "episodes", "next_log", "next_checkpoint"):
            if not _whole(state.get(key)) or state[key] < 0:
                bad = f"'{key}' is not a whole number >= 0"
        if "last_log" in state and not _whole(state["last_log"]):
            bad = "'last_log' is not a whole number"
        for key in ("recent_returns", "recent_lengths"):
            if not isinstance(state.get(key), list) or not all(_number(x) for x in state[key]):
                bad = f"'{key}' is not a list of numbers"
        metrics = state.get("metrics")
        if not isinstance(metrics, dict) or not all(isinstance(k, str) and _number(v) for k, v in metrics.items()):
            bad = "'metrics' is not a mapping of names to numbers"
        if not isinstance(state.get("exact", True), bool) or not _number(state.get("wall_time_s", 0.0)):
            bad = "'exact' or 'wall_time_s' has the wrong type"
        periodic = state.get("periodic")
        if periodic is not None and not isinstance(periodic, dict):
            bad = "'periodic' is not a mapping"
        rngs = state.get("env_rng")
        if bad is None and rngs is not None:
            if not isinstance(rngs, list):
                bad = "'env_rng' is not a list"
            else:
                for g in rngs:
                    make_generator(g, path)
        if bad is None and isinstance(periodic, dict):
            if periodic.get("env_rng") is not None:
                make_generator(periodic["env_rng"], path)
            for key in ("next_at", "evaluations", "best_step"):
                if periodic.get(key) is not None and not _whole(periodic[key]):
                    bad = f"'periodic.{key}' is not a whole number"
            if periodic.get("best_mean") is not None and not _number(periodic["best_mean"]):
                bad = "'periodic.best_mean' is not a number"
    if bad:
        raise RunDirError(f"{path} is not a loop state gymkit wrote ({bad}): delete {folder} to use an earlier checkpoint")
    return state
