"""The loop: autoreset handling, terminated vs truncated, step counting, vector envs."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.agents.base import Agent
from gymkit.config import AgentConfig


class CountingEnv(gym.Env):
    """Observation = steps taken in this episode. Episode i lasts 3 + (i % 3) steps.

    Even-numbered episodes terminate; odd-numbered ones are cut by truncation.
    """

    observation_space = gym.spaces.Box(0, 100, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.episode = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        self.length = 3 + self.episode % 3
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        terminated = end and self.episode % 2 == 0
        truncated = end and self.episode % 2 == 1
        return np.array([float(self.t)], np.float32), 1.0, terminated, truncated, {}


gym.register("gymkit-test/Counting-v0", entry_point=CountingEnv)


@dataclass(frozen=True)
class RecorderConfig(AgentConfig):
    pass


class Recorder(Agent):
    """Records every batch it is shown."""

    config_cls = RecorderConfig
    batches: list = []

    def act(self, observations, *, explore, action_mask=None):
        Recorder.acted.append(len(observations))
        return np.zeros(len(observations), dtype=np.int64)

    def observe(self, batch):
        Recorder.batches.append(batch)


@pytest.fixture
def recorder():
    Recorder.batches, Recorder.acted = [], []
    return Recorder


@pytest.mark.parametrize("num_envs", [1, 3])
def test_no_autoreset_step_reaches_the_agent(recorder, num_envs):
    result = gymkit.train(recorder, "gymkit-test/Counting-v0", steps=60, num_envs=num_envs,
                          eval_episodes=0, progress=False)
    rows = [(o, no, te, tr) for b in recorder.batches
            for o, no, te, tr in zip(b.observations[:, 0], b.next_observations[:, 0], b.terminated, b.truncated, strict=True)]
    # Every transition moves one step forward inside an episode: none goes from a final
    # observation to the first observation of the next episode.
    assert all(no == o + 1 for o, no, _, _ in rows)
    assert sum(len(b.actions) for b in recorder.batches) == result.steps >= 60
    # The agent was never asked to act for an env that was autoresetting.
    assert sum(recorder.acted) == result.steps


def test_terminated_and_truncated_stay_apart(recorder):
    gymkit.train(recorder, "gymkit-test/Counting-v0", steps=40, eval_episodes=0, progress=False)
    ends = [(int(no), bool(te), bool(tr)) for b in recorder.batches
            for no, te, tr in zip(b.next_observations[:, 0], b.terminated, b.truncated, strict=True) if te or tr]
    # Episodes 0..: lengths 3,4,5,3,4,5...; even ones terminate, odd ones truncate.
    expected = [(3 + i % 3, i % 2 == 0, i % 2 == 1) for i in range(len(ends))]
    assert ends == expected
    assert len(ends) >= 8


def test_env_ids_identify_sub_envs(recorder):
    gymkit.train(recorder, "gymkit-test/Counting-v0", steps=30, num_envs=2, eval_episodes=0, progress=False)
    ids = np.concatenate([b.env_ids for b in recorder.batches])
    assert set(ids.tolist()) == {0, 1}
    assert all(len(np.unique(b.env_ids)) == len(b.env_ids) for b in recorder.batches)


def test_episode_budget_counts_episodes(recorder):
    result = gymkit.train(recorder, "gymkit-test/Counting-v0", episodes=7, eval_episodes=0, progress=False)
    assert result.episodes == 7
    assert result.steps == sum(3 + i % 3 for i in range(7))


def test_action_masks_reach_the_agent():
    result = gymkit.train("random", "gymkit/BookMDP-v0", steps=3000, eval_episodes=0, progress=False)
    # The book MDP raises on an impossible action, so 3,000 steps without an error mean the
    # random agent only ever chose allowed actions.
    assert result.steps == 3000


def test_non_finite_reward_stops_the_run(tmp_path):
    class NanEnv(CountingEnv):
        def step(self, action):
            obs, r, te, tr, info = super().step(action)
            return obs, (float("nan") if self.t == 2 else r), te, tr, info

    gym.register("gymkit-test/Nan-v0", entry_point=NanEnv)
    from gymkit.loop import NonFiniteError

    with pytest.raises(NonFiniteError, match=r"non-finite value \(NaN or inf\) in the reward at step 1"):
        gymkit.train("random", "gymkit-test/Nan-v0", steps=50, eval_episodes=0, progress=False,
                     run_dir=tmp_path / "run")


class ProbeResetter(Recorder):
    """A plugin whose bind_env plays with the env it is shown (gymkit's agents only read it)."""

    def bind_env(self, env):
        env.reset(seed=5)
        env.step(0)


def test_the_probe_env_serves_as_the_first_sub_env_unless_something_reset_it(recorder, monkeypatch):
    """The env made to read the spaces becomes sub-env 0 of a sync vector env (one env fewer
    to make: an Atari ROM load), with the very run a new env gives; an env that bind_env
    reset is closed instead (CountingEnv counts its resets, so reusing it would show)."""
    import gymkit.envs.factory as factory
    import gymkit.loop as loop

    made, closed = [], []
    make_env = factory.make_env

    def counted(*args, **kwargs):
        env = make_env(*args, **kwargs)
        made.append(env)
        env.unwrapped.close = lambda: closed.append(env)
        return env

    monkeypatch.setattr(factory, "make_env", counted)
    monkeypatch.setattr(loop, "make_env", counted)

    def run(agent, reuse=True):
        made.clear(), closed.clear()
        recorder.batches, recorder.acted = [], []
        with monkeypatch.context() as m:
            if not reuse:
                m.setattr(loop, "never_reset", lambda env: False)
            gymkit.train(agent, "gymkit-test/Counting-v0", steps=30, num_envs=2, eval_episodes=0, progress=False)
        probe = made[0]
        played = np.concatenate([b.next_observations[:, 0] for b in recorder.batches])
        return len(made), probe.unwrapped.episode, closed.count(probe), played

    reused, fresh, reset_by_plugin = run(recorder), run(recorder, reuse=False), run(ProbeResetter)
    assert (reused[0], fresh[0], reset_by_plugin[0]) == (2, 3, 3)  # the probe + the sub-envs made
    # the reused probe played episodes (CountingEnv counts them from -1); the others were
    # closed as they were: never reset, or reset once by the plugin
    assert reused[1] >= 3 and fresh[1] == -1 and reset_by_plugin[1] == 0
    assert reused[2] == fresh[2] == reset_by_plugin[2] == 1
    np.testing.assert_array_equal(reused[3], fresh[3])
    np.testing.assert_array_equal(reset_by_plugin[3], fresh[3])
