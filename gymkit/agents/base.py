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
from typing import ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from gymkit.config import AgentConfig
from gymkit.errors import SpaceError
from gymkit.spaces_json import SPACES_FILE, write_spaces

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

    def end_training(self) -> None:  # noqa: B027 - optional hook
        """Called once when the loop stops (budget, signal or stop rule), before the last
        checkpoint and the final evaluation: finish work still in flight. Default: nothing."""

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

    def save_state(self, directory: Path) -> None:  # noqa: B027 - optional hook
        """Write learnt state (weights, tables, replay) into ``directory``. Default: none."""

    def save_policy(self, directory: Path) -> None:
        """Write what acting needs (weights, tables), not the learning state (replay,
        optimizer slots). :meth:`load_state` must read it back. Default: :meth:`save_state`."""
        self.save_state(directory)

    def load_state(self, directory: Path) -> None:  # noqa: B027 - optional hook
        """Read back what :meth:`save_state` (or :meth:`save_policy`) wrote. Default: nothing."""


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


