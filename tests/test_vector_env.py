"""gymkit's lean sync vector env and episode statistics give Gymnasium's results, step for step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from gymkit.envs.factory import env_fns
from gymkit.envs.vector import EpisodeStatistics, LeanSyncVectorEnv


class InfoEnv(gym.Env):
    """Episodes of 3-7 steps whose infos vary: a scalar on some steps, an array on others,
    a nested dict at the end, nothing at all on the rest."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.integers(3, 8))
        return self.np_random.normal(size=2).astype(np.float32), {"start": 1}

    def step(self, action):
        self.t += 1
        obs = np.array([self.t, action], np.float32)
        info: dict = {}
        if self.t % 2:
            info["odd"] = float(self.t)
        if action == 2:
            info["mask"] = np.array([True, False, True])
        done = self.t >= self.length
        if done:
            info["end"] = {"t": self.t}
        return obs, float(self.np_random.normal()), done and action == 0, done and action != 0, info


def gymnasium_pair(fns):
    envs = gym.vector.SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP)
    return gym.wrappers.vector.RecordEpisodeStatistics(envs)


def assert_same_tree(a, b, where="info"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}[{k!r}]")
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if where.endswith("['t']"):  # wall-clock episode durations differ between the two
            return
        np.testing.assert_array_equal(a, b, err_msg=where)


def allowed_actions(info, n_actions, n, rng):
    """Random actions, within ``info["action_mask"]`` where the env gives one (the book's MDP)."""
    mask = np.ones((n, n_actions), bool)
    if "action_mask" in info:
        mask[info["_action_mask"]] = info["action_mask"][info["_action_mask"]]
    return np.where(mask, rng.random((n, n_actions)), -1.0).argmax(axis=1)


@pytest.mark.parametrize("make", [
    pytest.param(lambda n: [lambda: InfoEnv() for _ in range(n)], id="varying-infos"),
    pytest.param(lambda n: env_fns("CartPole-v1", n, None, None), id="cartpole"),
    pytest.param(lambda n: env_fns("gymkit/BookMDP-v0", n, {"max_episode_steps": 15}, None), id="book-mdp"),
])
@pytest.mark.parametrize("n", [1, 3])
def test_lean_envs_step_like_gymnasiums(make, n):
    ours, theirs = EpisodeStatistics(LeanSyncVectorEnv(make(n))), gymnasium_pair(make(n))
    assert ours.env._lean
    rng = np.random.default_rng(n)
    obs_a, info_a = ours.reset(seed=7)
    obs_b, info_b = theirs.reset(seed=7)
    np.testing.assert_array_equal(obs_a, obs_b)
    assert_same_tree(info_a, info_b)
    episodes = 0
    for _ in range(300):
        actions = allowed_actions(info_b, theirs.single_action_space.n, n, rng)
        a, b = ours.step(actions), theirs.step(actions)
        info_b = b[4]
        for x, y in zip(a[:4], b[:4], strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)
        assert_same_tree(a[4], b[4])
        episodes += int(np.sum(b[4].get("_episode", 0)))
    assert episodes > 10  # the comparison crossed many episode ends and autoresets
    assert list(ours.return_queue) == list(theirs.return_queue)
    assert list(ours.length_queue) == list(theirs.length_queue)
    assert ours.episode_count == theirs.episode_count


def test_other_spaces_take_gymnasiums_path():
    class DictEnv(InfoEnv):
        observation_space = gym.spaces.Dict({"x": gym.spaces.Box(-10.0, 10.0, (2,), np.float32)})

        def reset(self, *, seed=None, options=None):
            obs, info = super().reset(seed=seed)
            return {"x": obs}, info

        def step(self, action):
            obs, *rest = super().step(action)
            return {"x": obs}, *rest

    ours, theirs = EpisodeStatistics(LeanSyncVectorEnv([DictEnv, DictEnv])), gymnasium_pair([DictEnv, DictEnv])
    assert not ours.env._lean
    ours.reset(seed=3), theirs.reset(seed=3)
    for _ in range(20):
        a, b = ours.step(np.array([1, 0])), theirs.step(np.array([1, 0]))
        np.testing.assert_array_equal(a[0]["x"], b[0]["x"])
        np.testing.assert_array_equal(a[1], b[1])


def test_a_wrong_number_of_actions_is_refused():
    envs = LeanSyncVectorEnv(env_fns("CartPole-v1", 2, None, None))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="3 actions for 2 envs"):
        envs.step(np.zeros(3, np.int64))
