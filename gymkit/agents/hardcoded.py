"""The hard-coded policy agent: the book's CartPole policy, or any function you give it.

The book's ``basic_policy`` pushes the cart toward the side the pole leans::

    def basic_policy(obs):
        angle = obs[2]
        return 0 if angle < 0 else 1

Any other policy is a plain function from one observation to one action, named as
``module:function`` (``--set policy=my_pkg.policies:lean_left``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from gymkit.agents.base import Agent
from gymkit.config import AgentConfig, param
from gymkit.errors import ConfigError, RegistryError, SpaceError


def basic_policy(obs: np.ndarray) -> int:
    """The book's CartPole policy: accelerate toward the side the pole leans."""
    angle = obs[2]
    return 0 if angle < 0 else 1


@dataclass(frozen=True)
class HardcodedConfig(AgentConfig):
    policy: str = param(
        "cartpole",
        "'cartpole' for the book's policy, or 'module:function' mapping one observation to an action",
    )

    def check(self) -> None:
        if self.policy != "cartpole" and ":" not in self.policy:
            raise ConfigError(
                f"policy={self.policy!r} is neither 'cartpole' nor 'module:function': "
                "write a function as module:function"
            )


def _load_function(path: str) -> Callable:
    import inspect

    from gymkit.imports import import_path

    try:
        fn = import_path(path, "policy function", RegistryError)
    except RegistryError as exc:
        raise RegistryError(f"cannot load policy function '{path}': {exc}") from None
    if not inspect.isfunction(fn):  # a Python function of the user's, never a builtin or a class
        raise RegistryError(f"policy '{path}' is not a Python function: give a function of one observation")
    return fn


class HardcodedAgent(Agent):
    """A fixed policy: the book's CartPole rule or a user function; it does not learn."""

    config_cls = HardcodedConfig

    def __init__(self, observation_space, action_space, config, *, seed):
        super().__init__(observation_space, action_space, config, seed=seed)
        if config.policy == "cartpole":
            self._check_cartpole(observation_space, action_space)
            self._fn = None
        else:
            self._fn = _load_function(config.policy)

    @staticmethod
    def _check_cartpole(observation_space, action_space) -> None:
        ok = (
            isinstance(observation_space, gym.spaces.Box)
            and observation_space.shape == (4,)
            and isinstance(action_space, gym.spaces.Discrete)
            and action_space.n == 2
        )
        if not ok:
            raise SpaceError(
                "the book's hard-coded policy needs CartPole's spaces (Box of shape (4,) and "
                f"Discrete(2)), but the env has {observation_space} and {action_space}: use "
                "CartPole-v1, or give your own policy with --set policy=module:function"
            )

    def act(self, observations, *, explore, action_mask=None):
        obs = np.asarray(observations)
        if self._fn is None:
            # Vectorised basic_policy: 0 (left) when the pole leans left, else 1 (right).
            return (obs[:, 2] >= 0).astype(np.int64)
        return np.asarray([self._fn(o) for o in obs])
