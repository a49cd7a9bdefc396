"""The random agent: the baseline every learning curve is compared with."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from gymkit.agents.base import Agent, sample_masked
from gymkit.config import AgentConfig
from gymkit.errors import SpaceError


@dataclass(frozen=True)
class RandomConfig(AgentConfig):
    """The random agent has nothing to configure."""


class RandomAgent(Agent):
    """Uniformly random actions from a seeded generator, respecting action masks.

    Works on any action space Gymnasium can sample; on a Discrete space with an action
    mask (``info["action_mask"]``) it picks uniformly among the allowed actions.
    """

    config_cls = RandomConfig

    def __init__(self, observation_space, action_space, config, *, seed):
        super().__init__(observation_space, action_space, config, seed=seed)
        # Non-discrete spaces are sampled through a private, seeded copy of the space, so
        # seeding never touches the caller's space object.
        self._space = copy.deepcopy(action_space)
        self._space.seed(int(self.rng.integers(2**31 - 1)))
        self.eval_rng = np.random.default_rng([self.seed, 1])

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        try:
            action_space.sample()
        except Exception as exc:  # noqa: BLE001 - any failure means we cannot sample it
            raise SpaceError(
                f"agent 'random' cannot sample the action space {action_space} ({exc}): "
                "give the env a sampleable action space"
            ) from None

    def act(self, observations, *, explore, action_mask=None):
        n = len(observations)
        if isinstance(self.action_space, gym.spaces.Discrete):
            start = int(self.action_space.start)
            mask = None if action_mask is None else np.asarray(action_mask, dtype=bool)
            # evaluation draws from its own generator: evaluating never shifts training's draws
            rng = self.rng if explore else self.eval_rng
            return sample_masked(rng, int(self.action_space.n), n, mask) + start
        return np.stack([self._space.sample() for _ in range(n)])

    def save_state(self, directory: Path) -> None:
        if self._space.np_random is not None:
            state = self._space.np_random.bit_generator.state
            (Path(directory) / "action_space_rng.json").write_text(json.dumps(state), encoding="utf-8")
        (Path(directory) / "eval_rng.json").write_text(json.dumps(self.eval_rng.bit_generator.state),
                                                       encoding="utf-8")

    def load_state(self, directory: Path) -> None:
        from gymkit.checkpoint import make_generator
        from gymkit.safe_files import read_json

        path = Path(directory) / "action_space_rng.json"
        if path.exists() or path.is_symlink():
            self._space.np_random.bit_generator.state = make_generator(read_json(path), path).bit_generator.state
        path = Path(directory) / "eval_rng.json"
        if path.exists() or path.is_symlink():
            self.eval_rng.bit_generator.state = make_generator(read_json(path), path).bit_generator.state
