"""``VelocityMask``: hide the velocities of CartPole, making it partially observable.

CartPole's observation is (cart position, cart velocity, pole angle, pole angular velocity).
Keeping only the positions leaves a state that one observation cannot tell: the velocities
must be inferred from successive observations, i.e. remembered (the hidden state of the
book's chapter 14, in an RL task). A recurrent encoder, or frame stacking, can recover them.

Example:
    >>> import gymnasium as gym
    >>> env = VelocityMask(gym.make("CartPole-v1"))
    >>> env.observation_space.shape
    (2,)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.errors import ConfigError

#: indices of CartPole's observation to keep: cart position and pole angle
CARTPOLE_POSITIONS = (0, 2)


class VelocityMask(gym.ObservationWrapper):
    """Keep only the ``keep`` entries of a flat Box observation (default: CartPole's positions).

    Args:
        env: an env with a 1-D Box observation space.
        keep: indices of the entries to keep.
    """

    def __init__(self, env: gym.Env, keep: Sequence[int] = CARTPOLE_POSITIONS) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ConfigError(f"velocity-mask needs a 1-D Box observation space, got {space}; "
                              "use it on CartPole-like envs")
        keep = tuple(int(i) for i in keep)
        if not keep or any(not 0 <= i < space.shape[0] for i in keep):
            raise ConfigError(f"velocity-mask keep={list(keep)} must list indices in [0, {space.shape[0]})")
        self.keep = np.asarray(keep)
        self.observation_space = gym.spaces.Box(space.low[self.keep], space.high[self.keep],
                                                dtype=space.dtype)

    def observation(self, observation: Any) -> np.ndarray:
        return np.asarray(observation)[self.keep]
