"""The episode-start contract of the Agent interface, as the loop and evaluation keep it.

A stateful agent is told, before acting on the first observation of each episode, which
sub-envs begin one (``episode_start``), and which sub-env each row of ``act`` belongs to
(``env_ids``); a stateless agent gets neither ``env_ids`` nor any change in behaviour.
"""

from __future__ import annotations

import numpy as np
import pytest

from gymkit.agents.base import Agent, Transitions
from gymkit.config import AgentConfig
from gymkit.evaluation import evaluate_agent
from gymkit.loop import train


class Probe(Agent):
    """Counts, per env and stream, the actions since the last episode_start, and checks them
    against the steps ``observe`` reports: they must agree at every episode end."""

    config_cls = AgentConfig
    stateful = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.acted: dict[tuple[bool, int], int] = {}
        self.observed: dict[int, int] = {}
        self.lengths: list[int] = []
        self.starts: list[tuple[bool, int]] = []
        self.first_obs: dict[tuple[bool, int], np.ndarray] = {}
        self.fresh: set[tuple[bool, int]] = set()

    def episode_start(self, env_ids, *, explore):
        for i in np.asarray(env_ids).tolist():
            key = (explore, i)
            if explore:  # in training, an episode starts only where the last one ended
                assert key not in self.fresh or self.acted[key] == 0, key
            self.acted[key] = 0
            self.fresh.add(key)
            self.starts.append(key)

    def act(self, observations, *, explore, action_mask=None, env_ids=None):
        assert env_ids is not None and len(env_ids) == len(observations)
        for row, i in enumerate(np.asarray(env_ids).tolist()):
            key = (explore, i)
            assert key in self.fresh, f"act for env {i} before its episode_start"
            if self.acted[key] == 0:
                self.first_obs[key] = np.array(observations[row])
            self.acted[key] += 1
        return self.rng.integers(2, size=len(observations))

    def observe(self, batch: Transitions) -> None:
        for row, i in enumerate(batch.env_ids.tolist()):
            self.observed[i] = self.observed.get(i, 0) + 1
            if batch.terminated[row] or batch.truncated[row]:
                assert self.acted[(True, i)] == self.observed[i]
                self.lengths.append(self.observed[i])
                self.observed[i] = 0
                self.fresh.discard((True, i))  # the next action needs a new episode_start


@pytest.mark.parametrize("num_envs", [1, 3])
def test_loop_signals_every_episode_start_and_passes_env_ids(num_envs):
    result = train(Probe, "CartPole-v1", steps=600, num_envs=num_envs, seed=3, eval_episodes=2,
                   progress=False)
    agent = result.agent
    train_starts = [k for k in agent.starts if k[0]]
    # one start per episode begun: the finished ones plus the ones still running at the end
    running = [k for k in agent.fresh if k[0]]
    assert len(train_starts) == len(agent.lengths) + len(running)
    assert len(agent.lengths) >= 10
    assert sorted({i for _, i in train_starts}) == list(range(num_envs))
    assert sum(agent.lengths) + sum(agent.observed.values()) == result.steps
    # evaluation used its own stream (explore=False, env 0), one start per episode
    assert [k for k in agent.starts if not k[0]] == [(False, 0), (False, 0)]


def test_a_stateless_agent_gets_no_env_ids():
    class Plain(Agent):
        config_cls = AgentConfig

        def act(self, observations, *, explore, action_mask=None):  # no env_ids parameter
            return np.zeros(len(observations), np.int64)

    result = train(Plain, "CartPole-v1", steps=200, num_envs=2, seed=0, eval_episodes=1, progress=False)
    assert result.steps >= 200
    stats = evaluate_agent(result.agent, "CartPole-v1", episodes=2, seed=0)
    assert len(stats.returns) == 2
