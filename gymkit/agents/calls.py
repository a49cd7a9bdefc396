"""How gymkit calls an agent: the forgiving side and the strict side of the plugin contract.

:class:`AgentCalls` is made once per agent (:meth:`AgentCalls.of` caches it). When made it reads
``act``'s signature once and decides what to pass:

- ``explore`` always (an ``act`` that cannot take it is refused at once);
- ``action_mask`` only when ``act`` accepts it (a parameter of that name, or ``**kwargs``);
- ``env_ids`` only to a ``stateful`` agent, whose ``act`` must then accept it.

So the documented minimal agent ``def act(self, observations, *, explore)`` works. Every call
into the agent (``act``, ``episode_start``, ``observe``, ``update``, ``save_state`` /
``save_policy`` through ``save``, and ``load_state`` and ``__init__`` when
:meth:`Agent.load` and :func:`construct_agent` make one) turns an exception into a one-line :class:`PluginError`
naming the agent class, the method, the step and the exception's message (the exception is
kept as ``__cause__``: ``--debug`` prints its traceback). A :class:`GymkitError` the agent
raises on purpose passes through unchanged.

The actions ``act`` returns are checked against the action space (shape, dtype, range) and
the action mask; a mismatch is a PluginError saying what was expected and what came back.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.errors import GymkitError, PluginError

MAX_MESSAGE = 300
_ATTRIBUTE = "_gymkit_calls"  # where an agent keeps its AgentCalls


def _name(agent_or_cls: Any) -> str:
    cls = agent_or_cls if isinstance(agent_or_cls, type) else type(agent_or_cls)
    return cls.__qualname__


def _where(step: int | None, stream: str) -> str:
    if step is None:
        return ""
    return f" at {'evaluation ' if stream == 'evaluation' else ''}step {int(step)}"


def _first_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def plugin_error(agent_or_cls: Any, method: str, step: int | None, stream: str, exc: BaseException) -> PluginError:
    """The one-line PluginError for ``exc`` raised inside ``agent.method(...)``."""
    if method in ("__init__", "load_state"):
        after = "nothing was written"
    elif stream == "evaluation":
        after = "the evaluation stopped; no checkpoint was touched"
    else:
        after = "the run stopped; its last checkpoint is intact"
    return PluginError(f"agent {_name(agent_or_cls)}: {method}(){_where(step, stream)} raised {_first_line(exc)}; "
                       f"{after} (--debug shows the traceback)")


class plugin_call:  # noqa: N801 - used like a function: ``with plugin_call(agent, "load_state"):``
    """Turn an exception raised inside ``agent.method(...)`` into a one-line PluginError (a
    GymkitError the agent raises on purpose passes through; the original is ``__cause__``)."""

    __slots__ = ("who", "method", "step", "stream")

    def __init__(self, agent_or_cls: Any, method: str, step: int | None = None, stream: str = "training") -> None:
        self.who, self.method, self.step, self.stream = agent_or_cls, method, step, stream

    def __enter__(self) -> plugin_call:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, GymkitError):
            return False
        raise plugin_error(self.who, self.method, self.step, self.stream, exc) from exc


def construct_agent(cls: type, observation_space: gym.Space, action_space: gym.Space, config: Any,
                    *, seed: int) -> Any:
    """``cls(observation_space, action_space, config, seed=seed)``, failures in one line."""
    with plugin_call(cls, "__init__"):
        agent = cls(observation_space, action_space, config, seed=seed)
    missing = [a for a in ("observation_space", "action_space", "config", "rng") if not hasattr(agent, a)]
    if missing:
        raise PluginError(
            f"agent {_name(cls)}: __init__() did not call super().__init__(observation_space, action_space, "
            f"config, seed=seed) (it has no {', '.join(missing)}): call it first in __init__"
        )
    return agent


def _signature_names(fn: Any) -> tuple[set[str], bool] | None:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    names = {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL}
    return names, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class AgentCalls:
    """The loop's, evaluation's and pretraining's one way of calling an agent.

    Attributes:
        agent: the agent.
        pass_mask: whether ``act`` receives ``action_mask``.
        pass_env_ids: whether ``act`` receives ``env_ids`` (stateful agents).
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.name = _name(agent)
        act = getattr(agent, "act", None)
        if not callable(act):
            raise PluginError(f"agent {self.name} has no act() method: define act(self, observations, *, explore)")
        sig = _signature_names(act)
        if sig is not None and "explore" not in sig[0] and not sig[1]:
            raise PluginError(f"agent {self.name}: act() does not take explore: define it as "
                              "act(self, observations, *, explore)")
        self.pass_mask = sig is None or "action_mask" in sig[0] or sig[1]
        self.stateful = bool(getattr(agent, "stateful", False))
        self.pass_env_ids = self.stateful
        if self.stateful and sig is not None and "env_ids" not in sig[0] and not sig[1]:
            raise PluginError(f"agent {self.name} is stateful but its act() does not take env_ids: define it as "
                              "act(self, observations, *, explore, env_ids=None)")
        self._episode_start = getattr(agent, "episode_start", None)
        self._checker = _ActionChecker(self.name, getattr(agent, "action_space", None))

    @classmethod
    def of(cls, agent: Any) -> AgentCalls:
        """The AgentCalls of ``agent`` (made on first use, then kept on the agent and reused)."""
        if isinstance(agent, AgentCalls):
            return agent
        calls = getattr(agent, "__dict__", {}).get(_ATTRIBUTE)
        if calls is None or calls.agent is not agent:  # (a copy of an agent gets its own)
            calls = cls(agent)
            if hasattr(agent, "__dict__"):
                agent.__dict__[_ATTRIBUTE] = calls
        return calls

    # -- the calls ------------------------------------------------------------------------

    def act(self, observations: np.ndarray, *, explore: bool, action_mask: np.ndarray | None = None,
            env_ids: np.ndarray | None = None, step: int | None = None, stream: str = "training") -> np.ndarray:
        kwargs: dict[str, Any] = {"explore": explore}
        if self.pass_mask:
            kwargs["action_mask"] = action_mask
        if self.pass_env_ids:
            kwargs["env_ids"] = env_ids
        try:  # the hot path: a bare try costs nothing
            actions = self.agent.act(observations, **kwargs)
        except GymkitError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a plugin is reported in one line
            raise plugin_error(self.agent, "act", step, stream, exc) from exc
        return self._checker.check(actions, len(observations), action_mask, step, stream)

    def episode_start(self, env_ids: np.ndarray, *, explore: bool, step: int | None = None,
                      stream: str = "training") -> None:
        if self._episode_start is not None:
            with plugin_call(self.agent, "episode_start", step, stream):
                self._episode_start(env_ids, explore=explore)

    def observe(self, batch: Any, step: int | None = None) -> None:
        try:
            self.agent.observe(batch)
        except GymkitError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise plugin_error(self.agent, "observe", step, "training", exc) from exc

    def update(self, step: int | None = None) -> dict[str, float]:
        try:
            metrics = self.agent.update()
        except GymkitError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise plugin_error(self.agent, "update", step, "training", exc) from exc
        if not metrics:
            return {}
        if not isinstance(metrics, dict):
            raise PluginError(f"agent {self.name}: update(){_where(step, 'training')} returned "
                              f"{type(metrics).__name__}; expected a dict of metric name -> number (or {{}})")
        for k, v in metrics.items():
            try:
                float(v)
            except (TypeError, ValueError):
                raise PluginError(f"agent {self.name}: update() returned metric {k!r}={v!r}{_where(step, 'training')}, "
                                  "which is not a number") from None
        return metrics

    def save(self, directory: str | Path, *, learning_state: bool = True, step: int | None = None) -> None:
        method = "save_state" if learning_state else "save_policy"
        with plugin_call(self.agent, method, step):
            self.agent.save(directory, learning_state=learning_state)

    def __getattr__(self, name: str) -> Any:  # everything else is the agent's
        if name == "agent":
            raise AttributeError(name)
        return getattr(self.agent, name)


# -- action checks -----------------------------------------------------------------------


class _ActionChecker:
    """Checks a batch of actions against the action space and the action mask, cheaply."""

    def __init__(self, name: str, space: gym.Space | None) -> None:
        self.name, self.space = name, space
        self.kind = None
        S = gym.spaces
        if isinstance(space, S.Discrete):
            self.kind, self.low, self.high = "discrete", int(space.start), int(space.start + space.n - 1)
        elif isinstance(space, S.MultiDiscrete):
            self.kind = "multidiscrete"
            self.low = np.asarray(space.start)
            self.high = self.low + np.asarray(space.nvec) - 1
        elif isinstance(space, S.MultiBinary):
            self.kind, self.low, self.high = "multibinary", 0, 1
        elif isinstance(space, S.Box):
            self.kind, self.low, self.high = "box", np.asarray(space.low), np.asarray(space.high)
        self.shape = tuple(space.shape) if self.kind else None

    def _fail(self, what: str, step: int | None, stream: str) -> None:
        raise PluginError(f"agent {self.name}: act(){_where(step, stream)} returned {what}")

    def check(self, actions: Any, n: int, mask: np.ndarray | None, step: int | None, stream: str) -> Any:
        if self.kind is None:  # Tuple/Dict action spaces: passed through as given
            return actions
        if actions is None:
            self._fail(f"None; expected an array of shape {(n, *self.shape)}, one action per row of observations",
                       step, stream)
        a = actions
        if type(a) is not np.ndarray:
            try:
                a = np.asarray(actions)
            except (TypeError, ValueError):
                self._fail(f"{type(actions).__name__}, not an array of actions", step, stream)
        if self.kind == "discrete" and a.ndim == 1 and len(a) == n and a.dtype.kind in "iu" and 0 < n <= 64:
            # the common case, checked in a microsecond or two (Python beats NumPy on a few rows)
            values, low = a.tolist(), self.low
            if min(values) >= low and max(values) <= self.high:
                if mask is None:
                    return a
                rows = mask.tolist() if type(mask) is np.ndarray and mask.shape == (n, self.high - low + 1) else None
                if rows is not None and all(row[v - low] for row, v in zip(rows, values, strict=True)):
                    return a
        if a.shape != (n, *self.shape):
            self._fail(f"actions of shape {a.shape}; expected {(n, *self.shape)} (one action per row of "
                       f"observations) for {self.space}", step, stream)
        if self.kind == "box":
            if a.dtype.kind not in "iuf":
                self._fail(f"actions of dtype {a.dtype}; expected numbers ({self.space.dtype}) for {self.space}",
                           step, stream)
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                self._fail(f"a non-finite action (NaN or inf); expected values in [low, high] of {self.space}",
                           step, stream)
            bad = (a < self.low) | (a > self.high)
            if bad.any():
                i = tuple(int(x) for x in np.argwhere(bad)[0])
                self._fail(f"action value {a[i].item()!r} at index {list(i)}, outside {self.space} "
                           f"(low {self.low[i[1:]].item()!r}, high {self.high[i[1:]].item()!r}); clip actions "
                           "to the space", step, stream)
            return a
        if a.dtype.kind not in ("iub" if self.kind == "multibinary" else "iu"):
            self._fail(f"actions of dtype {a.dtype}; expected integers for {self.space}", step, stream)
        bad = (a < self.low) | (a > self.high)
        if bad.any():
            i = tuple(int(x) for x in np.argwhere(bad)[0])
            self._fail(f"action {a[i].item()!r} in row {i[0]}, outside {self.space} (allowed "
                       f"{self._range_text(i)})", step, stream)
        if mask is not None and self.kind == "discrete":
            m = np.asarray(mask, dtype=bool).reshape(n, -1)
            allowed = m[np.arange(n), a - self.low] if m.shape[1] == self.high - self.low + 1 else None
            if allowed is not None and not allowed.all():
                row = int(np.flatnonzero(~allowed)[0])
                ok = [int(x) + self.low for x in np.flatnonzero(m[row])]
                self._fail(f"action {int(a[row])} in row {row}, which the action mask forbids (allowed there: "
                           f"{ok}); take action_mask in act() and choose among the allowed actions",
                           step, stream)
        return a

    def _range_text(self, index: tuple[int, ...]) -> str:
        if self.kind == "discrete":
            return f"{self.low}..{self.high}"
        if self.kind == "multibinary":
            return "0 or 1"
        j = index[1:]
        return f"{int(self.low[j])}..{int(self.high[j])}"

