"""Building envs by id, with gymkit's wrappers, as one env or a vector env."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from gymkit.errors import EnvError, did_you_mean
from gymkit.wrappers import apply_wrappers


def ensure_registered(env_id: str) -> None:
    """Register the env families gymkit knows how to find (ALE ROMs ship with ale-py)."""
    if env_id.startswith("ALE/") and env_id not in gym.registry:
        try:
            import ale_py

            ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner per env
            gym.register_envs(ale_py)
        except ImportError:
            raise EnvError(f"env '{env_id}' needs ale-py: pip install ale-py") from None


def make_env(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    wrappers: Any = None,
    render_mode: str | None = None,
) -> gym.Env:
    """``gymnasium.make`` with a one-line error for unknown ids, then gymkit's wrappers."""
    ensure_registered(env_id)
    if ":" not in env_id and env_id not in gym.registry:
        raise EnvError(
            f"unknown env id '{env_id}'{did_you_mean(env_id, gym.registry)}: "
            "see `gymkit list` for gymkit's envs, or any id registered with Gymnasium"
        )
    kwargs = dict(env_kwargs or {})
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise EnvError(f"cannot make env '{env_id}': {exc}") from None
    except TypeError as exc:
        raise EnvError(f"env '{env_id}' rejected its options {kwargs} ({exc}): fix env_kwargs") from None
    return apply_wrappers(env, wrappers)


class EnvCrash(RuntimeError):
    """An exception raised inside sub-env ``index`` (possibly in a worker process)."""


class EnvIndex(gym.Wrapper):
    """Tag any exception a sub-env raises with its index, so the loop can say which env failed.

    Async workers send exceptions back as ``(type, message)``, losing where they came from;
    this wrapper puts the index and the original type into the message of an ``EnvCrash``.
    """

    def __init__(self, env: gym.Env, index: int) -> None:
        super().__init__(env)
        self.index = index

    def _crash(self, exc: BaseException) -> EnvCrash:
        return EnvCrash(f"env {self.index} raised {type(exc).__name__}: {exc}")

    def step(self, action: Any):
        try:
            return self.env.step(action)
        except Exception as exc:  # noqa: BLE001 - re-raised with the index
            raise self._crash(exc) from exc

    def reset(self, **kwargs: Any):
        try:
            return self.env.reset(**kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised with the index
            raise self._crash(exc) from exc


def _indexed_env(env_id: str, env_kwargs: dict | None, wrappers: Any, index: int) -> gym.Env:
    return EnvIndex(make_env(env_id, env_kwargs, wrappers), index)


def env_fns(env_id: str, num: int, env_kwargs: dict | None, wrappers: Any) -> list[Callable[[], gym.Env]]:
    return [functools.partial(_indexed_env, env_id, env_kwargs, wrappers, i) for i in range(num)]


def make_vector_env(
    env_id: str,
    num_envs: int = 1,
    vectorization: str = "sync",
    env_kwargs: dict[str, Any] | None = None,
    wrappers: Any = None,
    first_env: gym.Env | None = None,
) -> gym.vector.VectorEnv:
    """A vector env of ``num_envs`` copies (NEXT_STEP autoreset) with episode statistics
    (Gymnasium's classes; the sync one with a leaner step, :mod:`gymkit.envs.vector`).

    ``first_env``: an env made by :func:`make_env` with the same arguments and never reset,
    to serve as sub-env 0 of a sync vector env instead of a new one (the loop's probe: an
    Atari env costs a ROM load, 0.09 s); it is closed here when it cannot serve.
    """
    from gymkit.envs.vector import EpisodeStatistics, LeanSyncVectorEnv

    fns = env_fns(env_id, num_envs, env_kwargs, wrappers)
    if first_env is not None and vectorization != "async":
        fns[0] = functools.partial(EnvIndex, first_env, 0)
    elif first_env is not None:
        first_env.close()
    if vectorization == "async":
        envs = gym.vector.AsyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)
    else:
        envs = LeanSyncVectorEnv(fns)
    return EpisodeStatistics(envs)


def never_reset(env: gym.Env) -> bool:
    """Whether ``env`` is known never to have been reset (so never stepped either): Gymnasium's
    ``OrderEnforcing`` wrapper, which ``gymnasium.make`` adds, keeps that flag."""
    try:
        return env.get_wrapper_attr("has_reset") is False
    except AttributeError:  # no OrderEnforcing in the chain: not known
        return False


def sub_envs(envs: gym.vector.VectorEnv) -> list[gym.Env] | None:
    """The sub-env objects of a sync vector env (None for async: they live in workers)."""
    inner = envs
    while hasattr(inner, "env") and not hasattr(inner, "envs"):
        inner = inner.env
    return list(inner.envs) if hasattr(inner, "envs") else None


def detect_frame_stack(env: gym.Env, observation_shape: tuple[int, ...]) -> tuple[int, str]:
    """``(stack_size, padding)`` of the outermost FrameStackObservation, or ``(1, "reset")``.

    Only a stack whose frames make up the observation's leading axis counts (a wrapper that
    reshapes on top of it would break the replay's rebuilding, so the replay then stores
    whole observations).
    """
    from gymnasium.wrappers import FrameStackObservation

    layer: Any = env
    while layer is not None:
        if isinstance(layer, FrameStackObservation):
            ok = (layer.padding_type in ("reset", "zero") and observation_shape[:1] == (layer.stack_size,)
                  and observation_shape[1:] == tuple(layer.env.observation_space.shape))
            return (int(layer.stack_size), str(layer.padding_type)) if ok else (1, "reset")
        layer = getattr(layer, "env", None)
    return 1, "reset"
