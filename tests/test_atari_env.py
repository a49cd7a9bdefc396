"""The two Atari recipes of gymkit.envs.atari: YAML form, and the C++ vector env variant."""

from __future__ import annotations

import numpy as np
import pytest

from gymkit.envs.atari import atari_recipe, make_atari_vector_env
from gymkit.errors import EnvError


def test_recipes_in_preset_form():
    assert atari_recipe(nature=False) == {
        "env_kwargs": {},
        "wrappers": [{"skip-start": {"skip_start": 90}}, "mspacman"],
    }
    nature = atari_recipe(nature=True)
    assert nature["env_kwargs"] == {"frameskip": 1}
    assert [next(iter(w)) for w in nature["wrappers"]] == ["atari", "frame-stack"]
    assert nature["wrappers"][0]["atari"]["terminal_on_life_loss"] is False
    assert atari_recipe(nature=False, frame_stack=4)["wrappers"][-1] == {
        "frame-stack": {"stack_size": 4}
    }


def test_vector_env_nature_frames_and_unclipped_rewards():
    envs = make_atari_vector_env("ALE/MsPacman-v5", num_envs=2, num_threads=1)
    try:
        obs, info = envs.reset(seed=0)
        assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
        assert envs.single_action_space.n == 9
        rewards = []
        for _ in range(150):
            obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
            rewards.append(reward)
        assert obs.shape == (2, 4, 84, 84)
        assert np.max(rewards) >= 10  # a pellet is 10 points: rewards are not clipped to 1
    finally:
        envs.close()


def test_vector_env_refuses_non_ale_ids():
    with pytest.raises(EnvError, match="not an ALE env"):
        make_atari_vector_env("CartPole-v1")
