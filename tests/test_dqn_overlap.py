"""``overlap: true``: a training round runs in the background while the player acts one round
behind, on a fixed schedule, so runs stay deterministic and resume exactly."""

from __future__ import annotations

import threading

import gymnasium as gym
import numpy as np
import pytest

from gymkit.agents.base import Transitions
from gymkit.errors import ConfigError
from gymkit.registry import make_agent

TRAIN = {"training_start": 100, "training_interval": 4, "batch_size": 16, "replay_memory_size": 2000,
         "copy_steps": 10, "hidden_sizes": [16, 16], "overlap": True, "act_with": "critic",
         "eps_decay_steps": 200, "eps_decay_unit": "env_steps"}
LOOP = dict(steps=800, seed=3, eval_episodes=2, log_every=100, progress=False)


def weights(agent) -> list[np.ndarray]:
    return agent.critic.get_weights() + agent.actor.get_weights() + agent.player.get_weights()


def assert_same(first, second) -> None:
    assert first.steps == second.steps and first.agent.train_steps == second.agent.train_steps
    assert first.evaluation.returns == second.evaluation.returns
    for u, v in zip(weights(first.agent), weights(second.agent), strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.fixture(scope="module")
def reference_run():
    from gymkit.loop import train

    return train("dqn", "CartPole-v1", config=TRAIN, **LOOP)


def test_round_trains_in_a_background_thread_and_the_player_lags_one_round():
    space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    agent = make_agent("dqn", space, gym.spaces.Discrete(2), {**TRAIN, "training_start": 0,
                                                            "training_interval": 1, "act_with": "critic"},
                       seed=0)
    threads = []
    train = agent._rounds.train
    agent._rounds.train = lambda *b: (threads.append(threading.current_thread().name), train(*b))[1]
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1, 4)).astype(np.float32)
    for step in range(3):
        agent.observe(Transitions(obs, np.array([step % 2]), np.array([1.0]), obs, np.array([False]),
                                  np.array([False]), np.array([0])))
        before = [w.copy() for w in agent.critic.get_weights()]
        metrics = agent.update()
        if step == 0:
            assert metrics == {}  # no round has finished yet: nothing to report
        else:
            assert np.isfinite(metrics["loss"]) and metrics["train_steps"] == step
        # the player holds the critic as it was before the round just started
        assert agent._rounds.in_flight
        agent.join_training()
        for p, c in zip(agent.player.get_weights(), before, strict=True):
            np.testing.assert_array_equal(p, c)
    assert threads and all(name.startswith("gymkit-learner") for name in threads)
    assert agent.train_steps == 3


def test_overlap_is_deterministic_and_differs_from_serial_runs(reference_run):
    from gymkit.loop import train

    assert_same(reference_run, train("dqn", "CartPole-v1", config=TRAIN, **LOOP))
    serial = train("dqn", "CartPole-v1", config={**TRAIN, "overlap": False}, **LOOP)
    # the same rounds on the same schedule, but acting one round behind changes the episodes
    assert serial.agent.train_steps == reference_run.agent.train_steps == (800 - 100) // 4 + 1
    assert serial.agent.critic.get_weights()[0].tolist() != reference_run.agent.critic.get_weights()[0].tolist()


def test_resume_continues_exactly(reference_run, tmp_path):
    from gymkit.loop import train

    run = tmp_path / "run"
    part = train("dqn", "CartPole-v1", config=TRAIN, run_dir=run, stop_after_steps=300,
                 checkpoint_every=100, **LOOP)
    assert 300 <= part.steps < 800
    resumed = train(run_dir=run, resume=True, progress=False)
    assert_same(reference_run, resumed)
    assert (run / "agent" / "player.weights.h5").exists()


def test_overlap_refuses_a_recurrent_encoder():
    with pytest.raises(ConfigError, match="use overlap=false"):
        make_agent("dqn", gym.spaces.Box(-1.0, 1.0, (4,), np.float32), gym.spaces.Discrete(2),
                   {"encoder": "lstm", "overlap": True}, seed=0)


def test_tf_path_player_acts_while_the_round_runs():
    space = gym.spaces.Box(0, 255, (4, 88, 80), np.uint8)
    agent = make_agent("dqn", space, gym.spaces.Discrete(9),
                       {"encoder": "book-cnn", "batch_size": 4, "training_start": 0, "training_interval": 1,
                        "replay_memory_size": 64, "overlap": True, "act_with": "critic", "act_backend": "tf"},
                       seed=0)
    assert agent._numpy_q is None  # the player acts through the tf.function
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 4, 88, 80), dtype=np.uint8)
    agent.observe(Transitions(frames[:1], np.array([3]), np.array([1.0]), frames[1:], np.array([False]),
                              np.array([False]), np.array([0])))
    q_before = agent.q_values(frames)
    assert agent.update() == {} and agent._rounds.in_flight
    np.testing.assert_array_equal(agent.q_values(frames), q_before)  # the player has not moved
    agent.join_training()
    assert agent.train_steps == 1
    agent.observe(Transitions(frames[:1], np.array([3]), np.array([1.0]), frames[1:], np.array([False]),
                              np.array([False]), np.array([0])))
    assert np.isfinite(agent.update()["loss"])
    assert not np.array_equal(agent.q_values(frames), q_before)  # caught up with round 1
    agent.act(frames[:1], explore=False)  # another batch size: no new trace
    assert agent._tf_q.experimental_get_tracing_count() == 1
    assert agent.learner.train.experimental_get_tracing_count() == 1
