"""Skip the start of every game: the book's ``skip_start`` as a reusable wrapper.

The book's training loop resets Ms. Pac-Man and then plays 90 no-op steps, because the
start of a game "is just waiting time" (the intro music) and nothing the agent does
matters::

    obs = env.reset()
    for skip in range(skip_start):  # skip the start of each game
        obs, reward, done, info = env.step(0)

:class:`SkipStart` does the same after each ``reset``, so every agent (and every vector
env's autoreset) gets it. Action 0 is NOOP in every ALE game. Rewards earned while
skipping are not the agent's doing, so they are dropped as in the book; the wrapper
reports them in ``info["skip_start_reward"]`` so nothing is lost silently. If the
episode ends during the skip, the env is reset and the skip starts again.

Example::

    >>> import gymnasium as gym, ale_py
    >>> gym.register_envs(ale_py)
    >>> env = SkipStart(gym.make("ALE/MsPacman-v5"), skip_start=90)
    >>> obs, info = env.reset(seed=0)
    >>> info["episode_frame_number"]  # 90 steps of 4 frames each
    360
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from gymkit.errors import ConfigError, EnvError


class SkipStart(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """After each reset, take ``skip_start`` no-op steps before the agent plays.

    Args:
        env: the env to wrap (any discrete-action env whose ``noop_action`` does nothing).
        skip_start: no-op steps after each reset (the book: 90; 0 turns the wrapper off).
        noop_action: the action that does nothing (0 is NOOP in ALE).
        max_resets: how many times in a row an episode may end during the skip before the
            wrapper gives up with an error (``skip_start`` is then longer than the episodes).
    """

    def __init__(
        self, env: gym.Env, skip_start: int = 90, noop_action: Any = 0, max_resets: int = 10
    ) -> None:
        if int(skip_start) != skip_start or skip_start < 0:
            raise ConfigError(f"skip_start must be an integer >= 0, got {skip_start!r}")
        if max_resets < 1:
            raise ConfigError(f"max_resets must be >= 1, got {max_resets!r}")
        if not env.action_space.contains(noop_action):
            raise ConfigError(
                f"noop_action {noop_action!r} is not in the env's action space {env.action_space}: "
                "pass the action that does nothing as noop_action"
            )
        gym.utils.RecordConstructorArgs.__init__(
            self, skip_start=skip_start, noop_action=noop_action, max_resets=max_resets
        )
        super().__init__(env)
        self.skip_start = int(skip_start)
        self.noop_action = noop_action
        self.max_resets = int(max_resets)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        for _ in range(self.max_resets):
            skipped_reward = 0.0
            for _ in range(self.skip_start):
                obs, reward, terminated, truncated, info = self.env.step(self.noop_action)
                skipped_reward += float(reward)
                if terminated or truncated:
                    break
            else:  # the skip ran to its end: the agent takes over from here
                info = dict(info)
                info["skip_start_reward"] = skipped_reward
                return obs, info
            # The episode ended while skipping: start a new one (the seed was used already).
            obs, info = self.env.reset(options=options)
        raise EnvError(
            f"every episode ended within skip_start={self.skip_start} no-op steps "
            f"({self.max_resets} resets in a row): lower skip_start for this env"
        )
