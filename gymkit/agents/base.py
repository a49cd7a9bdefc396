"""The Agent interface every gymkit agent implements, and the Transitions it observes.

The loop (:mod:`gymkit.loop`) knows nothing about any algorithm: it asks the agent for
actions, tells it what happened, and lets it decide when to learn::

    agent.episode_start(env_ids, explore=True)                  # rows whose episode begins
    actions = agent.act(obs, explore=True, action_mask=mask)   # batch-first
    next_obs, rewards, terminated, truncated, infos = envs.step(actions)
    agent.observe(Transitions(obs, actions, rewards, next_obs, terminated, truncated, env_ids))
    metrics = agent.update()                                    # may be {}

Subclasses implement :meth:`act` (the minimal form is ``act(self, observations, *, explore)``)
and may set ``config_cls`` (without one an agent gets an empty :class:`AgentConfig`); learning
agents also implement :meth:`observe`, :meth:`update` and :meth:`save_state`/:meth:`load_state`.
The loop calls every agent through :class:`gymkit.agents.calls.AgentCalls`: ``action_mask`` and
``env_ids`` reach ``act`` only when it takes them, an exception in a hook is a one-line
PluginError naming the agent, the method and the step, and the returned actions are checked
against the action space and mask. Keep to one level of inheritance: ``Agent`` -> your agent.
"""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from gymkit.config import AgentConfig
from gymkit.errors import RunDirError, SpaceError
from gymkit.spaces_json import SPACES_FILE, read_spaces, write_spaces

AGENT_FILE = "agent.json"
#: what format-1 run directories held instead of spaces.json (a pickle: never read)
LEGACY_SPACES_FILE = "spaces.pkl"


def config_class(cls: type) -> type[AgentConfig]:
    """The agent class's ``config_cls``; an empty :class:`AgentConfig` when it has none."""
    config_cls = getattr(cls, "config_cls", None)
    return config_cls if isinstance(config_cls, type) and issubclass(config_cls, AgentConfig) else AgentConfig


class Transitions(NamedTuple):
    """A batch of real environment steps, one row per sub-environment that stepped.

    Rows from the autoreset step of a vector env (where the action was ignored and the
    observation is the first of a new episode) never appear here.

    Attributes:
        observations: observations the actions were taken in, shape ``(n, *obs_shape)``.
        actions: the actions taken, shape ``(n, *action_shape)``.
        rewards: float rewards, shape ``(n,)``.
        next_observations: the observations reached (the *final* observation of an episode
            when it ended), shape ``(n, *obs_shape)``.
        terminated: True where the episode reached a terminal state: do not bootstrap.
        truncated: True where it was cut short (time limit): bootstrap from next_observations.
        env_ids: the sub-environment index of each row, for agents that keep per-env state.
        action_masks: the boolean masks ``(n, n_actions)`` the actions were chosen under
            (``info["action_mask"]``), or None when the env gives none.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    env_ids: np.ndarray
    action_masks: np.ndarray | None = None


class Agent(abc.ABC):
    """Base of every agent.

    Args:
        observation_space: the single (unbatched) observation space.
        action_space: the single (unbatched) action space.
        config: an instance of ``config_cls``.
        seed: seeds every random generator the agent owns.
    """

    config_cls: ClassVar[type[AgentConfig]] = AgentConfig

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: AgentConfig,
        *,
        seed: int,
    ) -> None:
        config_cls = config_class(type(self))
        if not isinstance(config, config_cls):
            raise TypeError(f"{type(self).__name__} needs a {config_cls.__name__}, got {config!r}")
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    # -- what the loop calls -------------------------------------------------------------

    @classmethod  # noqa: B027 - optional hook
    def check_spaces(cls, observation_space: gym.Space, action_space: gym.Space) -> None:
        """Raise :class:`SpaceError` if this agent cannot handle these spaces.

        Called before any env step or model is built. The default accepts anything.
        """

    def bind_env(self, env: gym.Env) -> None:  # noqa: B027 - optional hook
        """Receive one (unvectorised) instance of the env before training starts.

        Planning agents read the env's model here (``env.unwrapped.T``/``.R``/``.P``);
        the default ignores it.
        """

    #: True for agents that carry state from step to step of an episode (a recurrent
    #: policy's hidden state). The loop and evaluation then pass ``env_ids`` to :meth:`act`
    #: (which sub-env each row belongs to) and call :meth:`episode_start` before the first
    #: action of every episode. Stateless agents ignore both and need not accept ``env_ids``.
    stateful: bool = False

    def episode_start(self, env_ids: np.ndarray, *, explore: bool) -> None:  # noqa: B027 - optional hook
        """Episodes begin in these sub-envs: the next :meth:`act` rows for them show the
        first observation of a new episode (reset carried state here).

        Called for every agent, before acting on reset observations: by the training loop
        with ``explore=True`` (sub-env indices of the vector env) and by evaluation with
        ``explore=False`` (index 0 of its single env). The two streams are separate, so a
        stateful agent keeps one state per ``explore`` value: evaluating mid-training must
        not disturb the training episodes' state. Default: nothing.
        """

    @abc.abstractmethod
    def act(
        self, observations: np.ndarray, *, explore: bool, action_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Choose one action per row of ``observations``.

        A subclass may leave out ``action_mask`` (``def act(self, observations, *, explore)``):
        the loop then never passes it, and an action the env's mask forbids is an error.

        Args:
            observations: a batch, shape ``(n, *obs_shape)``.
            explore: True while training (sample, epsilon-greedy, ...); False for the
                greedy policy used in evaluation.
            action_mask: optional boolean ``(n, n_actions)``, True where an action is allowed.

        Returns:
            ``(n, *action_shape)`` actions inside the action space (integers for discrete
            spaces), allowed by ``action_mask``.

        Stateful agents (``stateful = True``) also take ``env_ids``, ``(n,)`` ints: the
        sub-env of each row (``None`` means rows ``0..n-1``).
        """

    def observe(self, batch: Transitions) -> None:  # noqa: B027 - optional hook
        """Record what happened (store in replay, update a table, ...). Default: nothing."""

    def update(self) -> dict[str, float]:
        """Learn if it is time to; return metrics to log (empty when nothing happened)."""
        return {}

    def summary(self) -> str | None:
        """A human-readable picture of what was learnt (tables, arrows), or None."""
        return None

    # -- saving ---------------------------------------------------------------------------

    def save(self, directory: str | Path, *, learning_state: bool = True) -> None:
        """Write the agent to ``directory``: class, config, spaces and learnt state.

        Args:
            directory: the folder to write (created if missing).
            learning_state: True writes everything a resumed run needs (:meth:`save_state`);
                False only what acting needs (:meth:`save_policy`), e.g. for ``RUN_DIR/best/``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "config": self.config.to_dict(),
            "seed": self.seed,
            # The generator's position, so a resumed run draws the same numbers next.
            "rng_state": self.rng.bit_generator.state,
        }
        (directory / AGENT_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        write_spaces(directory / SPACES_FILE, self.observation_space, self.action_space)
        if learning_state:
            self.save_state(directory)
        else:
            self.save_policy(directory)

    @classmethod
    def load(cls, directory: str | Path) -> Agent:
        """Rebuild an agent saved by :meth:`save` (on ``Agent`` itself: whatever class it was).

        Reads only data: ``agent.json`` (the class is a registered name or an importable
        ``module:Class``, never a file path, and must be an Agent subclass) and ``spaces.json``;
        ``__init__`` and :meth:`load_state` failures are one-line PluginErrors.
        """
        from gymkit.agents.calls import construct_agent, plugin_call
        from gymkit.registry import resolve_saved_class
        from gymkit.safe_files import check_tree, refuse_link

        directory = Path(directory)
        refuse_link(directory)
        check_tree(directory, skip=())  # no symbolic link: nothing is read from outside the folder
        if (directory / LEGACY_SPACES_FILE).exists() or (directory / LEGACY_SPACES_FILE).is_symlink():
            raise RunDirError(f"{directory / LEGACY_SPACES_FILE} is a pickle, which gymkit never reads, in a folder "
                              "of format version 2 (spaces live in spaces.json): the folder was tampered with; "
                              "restore it from a copy")
        meta = read_agent_meta(directory / AGENT_FILE)
        if cls is Agent:
            agent_cls = resolve_saved_class(meta["class"], directory / AGENT_FILE, _run_root(directory))
        else:  # e.g. --resume: the class config.yaml names; agent.json must agree
            agent_cls, own = cls, f"{cls.__module__}:{cls.__qualname__}"
            if meta["class"] != own:
                raise RunDirError(f"{directory / AGENT_FILE} names the agent class {meta['class']!r}, but the folder is "
                                  f"being loaded as {own}: it belongs to another agent; restore it from a copy")
        observation_space, action_space = read_spaces(directory / SPACES_FILE)
        try:
            config = config_class(agent_cls).from_dict(meta["config"])
        except (TypeError, ValueError) as exc:
            raise RunDirError(f"{directory / AGENT_FILE}: its config does not fit {agent_cls.__name__} ({exc}): "
                              "restore the file from a copy") from None
        agent = construct_agent(agent_cls, observation_space, action_space, config, seed=meta["seed"])
        if "rng_state" in meta:
            try:
                agent.rng.bit_generator.state = meta["rng_state"]
            except (TypeError, ValueError, KeyError) as exc:
                raise RunDirError(f"{directory / AGENT_FILE}: rng_state is not a generator state ({exc}): "
                                  "restore the file from a copy") from None
        with plugin_call(agent, "load_state"):
            agent.load_state(directory)
        return agent

    def save_state(self, directory: Path) -> None:  # noqa: B027 - optional hook
        """Write learnt state (weights, tables, replay) into ``directory``. Default: none."""

    def save_policy(self, directory: Path) -> None:
        """Write what acting needs (weights, tables), not the learning state (replay,
        optimizer slots). :meth:`load_state` must read it back. Default: :meth:`save_state`."""
        self.save_state(directory)

    def load_state(self, directory: Path) -> None:  # noqa: B027 - optional hook
        """Read back what :meth:`save_state` (or :meth:`save_policy`) wrote. Default: nothing."""


def read_agent_meta(path: Path) -> dict[str, Any]:
    """``agent.json``, its fields checked: class (str), config (mapping), seed (int), rng_state."""
    from gymkit.safe_files import read_json

    meta = read_json(path)
    problems = []
    if not isinstance(meta, dict):
        problems.append("it is not a JSON object")
    else:
        if not isinstance(meta.get("class"), str):
            problems.append("'class' is not a string")
        if not isinstance(meta.get("config"), dict):
            problems.append("'config' is not a mapping")
        if isinstance(meta.get("seed"), bool) or not isinstance(meta.get("seed"), int):
            problems.append("'seed' is not a whole number")
        if "rng_state" in meta and not isinstance(meta["rng_state"], dict):
            problems.append("'rng_state' is not a mapping")
    if problems:
        raise RunDirError(f"{path} is not an agent description ({'; '.join(problems)}): restore it from a copy")
    return meta


def _run_root(directory: Path) -> Path:
    """The run directory a sealed folder belongs to (``agent/``, ``best/``, ``checkpoints/step_*``)."""
    for up in (directory.parent, directory.parent.parent):
        if (up / "config.yaml").exists():
            return up
    return directory


# -- helpers for check_spaces ------------------------------------------------------------


def require_discrete_actions(agent: str, action_space: gym.Space) -> int:
    """Return the number of actions, or raise a SpaceError naming the space."""
    if not isinstance(action_space, gym.spaces.Discrete):
        raise SpaceError(
            f"agent '{agent}' needs a Discrete action space, but the env has {action_space}: "
            "pick an env with discrete actions (e.g. CartPole-v1)"
        )
    return int(action_space.n)


def require_discrete_observations(agent: str, observation_space: gym.Space) -> int:
    """Return the number of states, or raise a SpaceError naming the space."""
    if not isinstance(observation_space, gym.spaces.Discrete):
        raise SpaceError(
            f"agent '{agent}' needs a Discrete observation space (a table of states), but the env "
            f"has {observation_space}: use a toy-text env such as FrozenLake-v1 or gymkit/BookMDP-v0"
        )
    return int(observation_space.n)


def require_box_observations(agent: str, observation_space: gym.Space) -> tuple[int, ...]:
    """Return the observation shape, or raise a SpaceError naming the space."""
    if not isinstance(observation_space, gym.spaces.Box):
        raise SpaceError(
            f"agent '{agent}' needs a Box (array) observation space, but the env has "
            f"{observation_space}: " + ("add --wrappers flatten (one-hot observations) "
            if isinstance(observation_space, gym.spaces.Discrete) else "wrap the env (--wrappers) ")
            + "or pick another agent"
        )
    return tuple(observation_space.shape)


def masked_argmax(values: np.ndarray, action_mask: np.ndarray | None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Row-wise argmax over allowed actions; ties broken at random when ``rng`` is given."""
    values = np.asarray(values, dtype=np.float64)
    if action_mask is not None:
        values = np.where(action_mask, values, -np.inf)
    if rng is None:
        return values.argmax(axis=1)
    best = values == values.max(axis=1, keepdims=True)
    noise = rng.random(values.shape)
    return np.where(best, noise, -1.0).argmax(axis=1)


def sample_masked(rng: np.random.Generator, n_actions: int, n: int, action_mask: np.ndarray | None) -> np.ndarray:
    """Uniformly random actions, one per row, among the allowed ones when a mask is given."""
    if action_mask is None:
        return rng.integers(n_actions, size=n)
    scores = np.where(action_mask, rng.random((n, n_actions)), -1.0)
    return scores.argmax(axis=1)


