"""DQN agent: TD targets on known networks, bootstrapping, copies, schedules, saving."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gymkit.agent_files import load_agent  # noqa: E402
from gymkit.agents.base import Transitions
from gymkit.agents.dqn.schedule import first_training_step, linear_epsilon, rounds_due
from gymkit.registry import make_agent

OBS = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
ACT = gym.spaces.Discrete(3)
W_ACTOR = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, -3.0]], np.float32)
W_CRITIC = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, -1.0]], np.float32)


def linear_agent(**config):
    """A DQN whose Q-values are known: no hidden layer, Q(s) = s @ W (zero biases)."""
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [], **config}, seed=0)
    for model, w in ((agent.actor, W_ACTOR), (agent.critic, W_CRITIC)):
        model.get_layer("q_values").kernel.assign(w)
        model.get_layer("q_values").bias.assign(np.zeros(3, np.float32))
    agent._numpy_stale = True
    return agent


def rows(obs, actions, rewards, next_obs, terminated, truncated, env_ids=None):
    n = len(actions)
    return Transitions(np.asarray(obs, np.float32), np.asarray(actions), np.asarray(rewards, np.float32),
                       np.asarray(next_obs, np.float32), np.asarray(terminated), np.asarray(truncated),
                       np.arange(n) if env_ids is None else np.asarray(env_ids))


NEXT = np.array([[1.0, 1.0], [0.0, 2.0], [-1.0, 0.5]], np.float32)
REWARDS = np.array([1.0, -1.0, 0.5], np.float32)
DISCOUNTS = np.array([0.9, 0.0, 0.81], np.float32)


@pytest.mark.parametrize("double_dqn", [False, True])
def test_td_target_on_a_known_batch(double_dqn):
    agent = linear_agent(double_dqn=double_dqn)
    y = agent.learner._targets(REWARDS, NEXT, DISCOUNTS).numpy()
    q_actor = NEXT @ W_ACTOR  # [[3, -1, -2.5], [4, 0, -6], [0, 1, -2]]
    if double_dqn:  # the critic picks a', the actor rates it
        best = (NEXT @ W_CRITIC).argmax(axis=1)  # [1, 0, 0]
        expected = REWARDS + DISCOUNTS * q_actor[np.arange(3), best]
    else:  # Eq. 16-7: y = r + gamma * max_a' Q_actor(s', a')
        expected = REWARDS + DISCOUNTS * q_actor.max(axis=1)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [3.7, -1.0, 1.31] if not double_dqn else
                               [1.0 + 0.9 * -1.0, -1.0, 0.5 + 0.81 * 0.0], rtol=1e-6)


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_loss_on_a_known_batch(loss):
    agent = linear_agent(loss=loss)
    obs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    actions = np.array([0, 1, 2], np.int32)
    q_taken = (obs @ W_CRITIC)[np.arange(3), actions]  # [0, 1, 1]
    y = REWARDS + DISCOUNTS * (NEXT @ W_ACTOR).max(axis=1)
    err = y - q_taken  # [3.7, -2.0, 0.31]
    expected = np.mean(err**2) if loss == "mse" else np.mean(
        np.where(np.abs(err) < 1, 0.5 * err**2, np.abs(err) - 0.5))
    got, q_mean = agent.learner.train(obs[None], actions[None], REWARDS[None], NEXT[None], DISCOUNTS[None])
    assert float(got) == pytest.approx(expected, rel=1e-5)
    assert float(q_mean) == pytest.approx(q_taken.mean(), rel=1e-5)


def test_terminal_versus_truncated_bootstrapping():
    agent = linear_agent(training_start=0, training_interval=1, discount_rate=0.9)
    s = np.array([[1.0, 0.0], [0.0, 1.0]])
    final = np.array([[1.0, 1.0], [1.0, 1.0]])  # the same last observation for both episodes
    agent.observe(rows(s, [0, 1], [1.0, 2.0], final, [True, False], [False, True]))
    sample = agent.replay.sample(np.random.default_rng(0), 64, 0.9)
    y = agent.learner._targets(sample.rewards, sample.next_observations.astype(np.float32),
                               sample.discounts).numpy()
    max_next = (final[0] @ W_ACTOR).max()  # 3.0
    terminated = sample.rewards == 1.0
    assert terminated.any() and (~terminated).any()
    np.testing.assert_allclose(y[terminated], 1.0)  # y = r: no future after termination
    np.testing.assert_allclose(y[~terminated], 2.0 + 0.9 * max_next, rtol=1e-6)  # time limit: bootstrap


def test_copy_critic_to_actor_makes_weights_identical():
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "copy_steps": 4, "batch_size": 4,
                                         "training_start": 8, "training_interval": 1,
                                         "gradient_steps": 3}, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(8):
        agent.observe(rows(rng.normal(size=(1, 2)), [rng.integers(3)], [1.0], rng.normal(size=(1, 2)),
                           [False], [False]))
    assert agent.update()["train_steps"] == 3  # one round of 3 gradient steps: no copy yet
    same = [np.array_equal(a, c) for a, c in zip(agent.actor.get_weights(), agent.critic.get_weights(), strict=True)]
    assert not all(same)
    agent.copy_critic_to_actor()
    for a, c in zip(agent.actor.get_weights(), agent.critic.get_weights(), strict=True):
        np.testing.assert_array_equal(a, c)


def test_graph_copy_every_copy_steps():
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "copy_steps": 5, "batch_size": 4,
                                         "training_start": 0, "training_interval": 1,
                                         "gradient_steps": 5}, seed=0)
    rng = np.random.default_rng(1)
    agent.observe(rows(rng.normal(size=(1, 2)), [1], [1.0], rng.normal(size=(1, 2)), [False], [False]))
    agent.update()  # exactly 5 steps: the copy is the last thing the graph does
    for a, c in zip(agent.actor.get_weights(), agent.critic.get_weights(), strict=True):
        np.testing.assert_array_equal(a, c)


def test_epsilon_schedule():
    assert linear_epsilon(0, 1.0, 0.05, 50_000) == 1.0
    assert linear_epsilon(25_000, 1.0, 0.05, 50_000) == pytest.approx(0.525)
    assert linear_epsilon(50_000, 1.0, 0.05, 50_000) == pytest.approx(0.05)
    assert linear_epsilon(90_000, 1.0, 0.05, 50_000) == 0.05
    agent = linear_agent(eps_decay_steps=100, eps_min=0.1, eps_decay_unit="training_steps")
    agent.train_steps = 50
    assert agent.epsilon() == pytest.approx(0.55)
    agent = linear_agent(eps_decay_steps=100, eps_min=0.1, eps_decay_unit="env_steps")
    agent.env_steps = 100
    assert agent.epsilon() == pytest.approx(0.1)


def test_acting_greedy_and_epsilon_greedy():
    agent = linear_agent(eps_decay_steps=1000, eps_decay_unit="env_steps")
    obs = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
    greedy = (obs @ W_ACTOR).argmax(axis=1)  # the book's actor plays
    np.testing.assert_array_equal(agent.act(obs, explore=False), greedy)
    agent.env_steps = 500  # epsilon 0.525: ~47.5% greedy + 52.5% uniform
    agree = np.mean(agent.act(obs, explore=True) == greedy)
    assert 0.62 < agree < 0.71  # expected 0.475 + 0.525 / 3 = 0.65
    mask = np.zeros((2000, 3), bool)
    mask[:, 1] = True
    assert (agent.act(obs, explore=True, action_mask=mask) == 1).all()


def test_numpy_forward_matches_keras():
    for dueling in (False, True):
        agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [16, 8], "dueling": dueling,
                                             "act_with": "critic"}, seed=3)
        obs = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
        assert agent._numpy_q is not None
        np.testing.assert_allclose(agent.q_values(obs), agent.critic(obs).numpy(), rtol=1e-5, atol=1e-6)


def test_the_update_is_traced_once_whatever_the_number_of_rounds_due():
    """G varies with the rounds due (3, 1, 2 at once): one trace serves every call."""
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "copy_steps": 4, "batch_size": 4,
                                         "training_start": 0, "training_interval": 1,
                                         "gradient_steps": 2}, seed=0)
    rng = np.random.default_rng(2)
    copies = []
    for n in (3, 1, 2):  # env rows per observe: 3, 1, 2 rounds due
        agent.observe(rows(rng.normal(size=(n, 2)), [1] * n, [1.0] * n, rng.normal(size=(n, 2)),
                           [False] * n, [False] * n, np.arange(n)))
        agent.update()
        copies.append(int(agent.learner.copies.numpy()))
    assert agent.learner.train.experimental_get_tracing_count() == 1
    assert agent.train_steps == 2 * (3 + 1 + 2) == int(agent.learner.train_steps.numpy())
    assert copies == [1, 2, 3]  # one counter: a copy every 4 training steps (after 6, 8, 12)


def test_jit_step_runs_the_same_schedule_one_xla_step_at_a_time():
    """jit_step: G steps from Python, one XLA-compiled step each, the same counters and copies."""
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "copy_steps": 4, "batch_size": 4,
                                         "training_start": 0, "training_interval": 1,
                                         "gradient_steps": 2, "jit_step": True}, seed=0)
    rng = np.random.default_rng(2)
    copies = []
    for n in (3, 1, 2):
        agent.observe(rows(rng.normal(size=(n, 2)), [1] * n, [1.0] * n, rng.normal(size=(n, 2)),
                           [False] * n, [False] * n, np.arange(n)))
        assert np.isfinite(agent.update()["loss"])
        copies.append(int(agent.learner.copies.numpy()))
    assert agent.learner.train_one.experimental_get_tracing_count() == 1
    assert agent.train_steps == 12 and copies == [1, 2, 3]


def test_training_schedule():
    assert first_training_step(1000, 3) == 1002  # the book: iteration >= 1000 and % 3 == 0
    assert rounds_due(1001, 1002, 3) == (0, 1002)
    assert rounds_due(1008, 1002, 3) == (3, 1011)
    agent = linear_agent(training_start=10, training_interval=3, batch_size=2, gradient_steps=2)
    trained_at = []
    for t in range(1, 11):  # two envs: env steps 2, 4, ..., 20
        agent.observe(rows(np.ones((2, 2)), [0, 1], [0.0, 0.0], np.ones((2, 2)), [False, False],
                           [False, False]))
        if agent.update():
            trained_at.append((2 * t, agent.train_steps))
    assert trained_at == [(12, 2), (16, 4), (18, 6)]  # rounds at 12, 15, 18 (21 not yet)


def test_save_load_resumes_exactly(tmp_path):
    def feed(agent, seed):
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(30):
            o = rng.normal(size=(2, 2))
            agent.observe(rows(o, agent.act(o, explore=True), rng.normal(size=2), rng.normal(size=(2, 2)),
                               rng.random(2) < 0.1, [False, False]))
            out.append(agent.update())
        return out

    config = {"hidden_sizes": [8], "batch_size": 8, "training_start": 4, "training_interval": 2,
              "copy_steps": 3, "eps_decay_steps": 50, "eps_decay_unit": "env_steps", "n_step": 2}
    a = make_agent("dqn", OBS, ACT, config, seed=5)
    feed(a, 0)
    a.save(tmp_path / "agent")
    b = load_agent(tmp_path / "agent", type(a))
    assert b.env_steps == a.env_steps and b.train_steps == a.train_steps
    assert b.rng.bit_generator.state == a.rng.bit_generator.state
    for x, y in zip(a.learner.optimizer.variables, b.learner.optimizer.variables, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert feed(a, 1) == feed(b, 1)  # same actions, samples, losses afterwards
    for x, y in zip(a.critic.get_weights() + a.actor.get_weights(),
                    b.critic.get_weights() + b.actor.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


class Frames(gym.Env):
    observation_space = gym.spaces.Box(0, 255, (6, 5), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 1.0, bool(self.np_random.random() < 0.1), False, {}


def test_bind_env_detects_frame_stack_and_refuses_a_replay_that_does_not_fit(monkeypatch):
    from gymkit.errors import ConfigError
    from gymkit.replay import budget

    env = gym.wrappers.FrameStackObservation(Frames(), 4)
    agent = make_agent("dqn", env.observation_space, env.action_space, {"replay_memory_size": 1000}, seed=0)
    agent.bind_env(env)
    assert (agent.stack_size, agent.padding) == (4, "reset")
    obs, _ = env.reset(seed=0)
    nxt, *_ = env.step(0)
    agent.observe(Transitions(obs[None], np.array([0]), np.array([1.0]), nxt[None], np.array([False]),
                              np.array([False]), np.array([0])))
    assert agent.replay.bytes_per_slot == 6 * 5 + 9  # one frame, not four
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 10_000)
    big = make_agent("dqn", env.observation_space, env.action_space, {"replay_memory_size": 1000}, seed=0)
    with pytest.raises(ConfigError, match="give a smaller replay_memory_size"):
        big.bind_env(env)


def test_book_cnn_on_stacked_uint8_frames_trains():
    space = gym.spaces.Box(0, 255, (4, 88, 80), np.uint8)
    agent = make_agent("dqn", space, gym.spaces.Discrete(9),
                       {"encoder": "book-cnn", "batch_size": 4, "training_start": 0,
                        "training_interval": 1, "replay_memory_size": 64, "act_backend": "tf"}, seed=0)
    assert agent._numpy_q is None  # acting through the tf.function
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(2, 4, 88, 80), dtype=np.uint8)
    agent.observe(Transitions(frames[:1], np.array([3]), np.array([1.0]), frames[1:], np.array([False]),
                              np.array([False]), np.array([0])))
    metrics = agent.update()
    assert np.isfinite(metrics["loss"]) and agent.train_steps == 1
    assert agent.act(frames, explore=False).shape == (2,)


def test_vector_envs_through_the_loop():
    from gymkit.loop import train

    result = train("dqn", "CartPole-v1", steps=600, num_envs=3, eval_episodes=1, progress=False,
                   config={"training_start": 100, "training_interval": 4, "batch_size": 16})
    agent = result.agent
    assert agent.replay.num_streams == 3 and agent.env_steps == result.steps >= 600
    assert agent.train_steps == (agent.env_steps - 100) // 4 + 1


def test_learning_rate_decays_linearly_in_training_steps():
    agent = linear_agent(learning_rate=0.01, lr_decay_steps=10, learning_rate_final=0.001,
                         training_start=0, training_interval=1, batch_size=2, gradient_steps=5)
    agent.observe(rows(np.ones((1, 2)), [0], [1.0], np.ones((1, 2)), [False], [False]))
    agent.update()  # 5 steps: half way
    lr = agent.learner.optimizer.learning_rate
    assert float(lr) == pytest.approx(0.01 - 0.5 * (0.01 - 0.001), rel=1e-5)
    agent.observe(rows(np.ones((1, 2)), [0], [1.0], np.ones((1, 2)), [False], [False]))
    agent.update()
    assert float(agent.learner.optimizer.learning_rate) == pytest.approx(0.001, rel=1e-5)


def test_torch_style_initialisation_bounds_and_copy():
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [64], "initializer": "torch"}, seed=0)
    kernel_0, bias_0, kernel_1, _ = agent.critic.get_weights()
    assert np.abs(kernel_0).max() <= 1 / np.sqrt(2) and np.abs(bias_0).max() <= 1 / np.sqrt(2)
    assert np.abs(kernel_1).max() <= 1 / 8 and np.abs(kernel_1).max() > 0.9 / 8  # U(+-1/sqrt(64))
    assert np.abs(bias_0).min() > 0  # biases drawn too, not zeros
    for a, c in zip(agent.actor.get_weights(), agent.critic.get_weights(), strict=True):
        np.testing.assert_array_equal(a, c)


def test_a_step_whose_every_row_explores_skips_the_network_and_draws_the_same_numbers():
    """act() draws its coins first: the network runs only when some row acts greedily, and the
    actions are the ones of computing Q for every step and keeping the explored rows' draws."""
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "eps_max": 0.7, "eps_min": 0.7}, seed=5)
    twin = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "eps_max": 0.7, "eps_min": 0.7}, seed=5)
    calls = []
    forward = agent.q_values
    agent.q_values = lambda obs, **kw: (calls.append(len(obs)), forward(obs, **kw))[1]
    obs = np.random.default_rng(1).normal(size=(200, 1, 2)).astype(np.float32)
    actions = [int(agent.act(o, explore=True)[0]) for o in obs]
    expected = []
    for o in obs:  # the old order: Q first, then the coins
        greedy = int(twin.q_values(o).argmax(axis=1)[0])
        coin, pick = twin.rng.random((2, 1))
        expected.append(int(pick[0] * 3) if coin[0] < 0.7 else greedy)
    assert actions == expected
    assert 30 < len(calls) < 90  # about 30% of the steps act greedily


def test_a_copy_is_seen_by_the_numpy_actor_even_when_no_step_looked_in_between():
    """A copy, then an update without one, with no greedy act between: the NumPy actor must
    still re-read the weights (a step that skips the network must not hide the copy)."""
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [8], "copy_steps": 2, "batch_size": 2,
                                         "training_start": 0, "training_interval": 1}, seed=0)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1, 2)).astype(np.float32)
    agent.q_values(obs)  # the NumPy copy is fresh now
    for _ in range(3):  # rounds 1, 2 (a copy), 3: no act in between
        agent.observe(rows(obs, [1], [1.0], obs, [False], [False]))
        agent.update()
    assert int(agent.learner.copies.numpy()) == 1
    np.testing.assert_allclose(agent.q_values(obs), agent.actor(obs).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("xla", [{"jit_step": True}, {"jit_compile": True}, {}])
def test_update_prepared_during_warm_up_gives_the_same_numbers(xla):
    """The first observe traces the update and starts its first run on copies of the
    variables (graph_call's compile_in_background: XLA compiles, TensorFlow's kernels set up);
    the run's numbers are the ones of an agent that does all that at its first update."""
    config = {"hidden_sizes": [8], "batch_size": 4, "training_start": 6, "training_interval": 2,
              "gradient_steps": 2, "copy_steps": 3, **xla}

    def run(warm: bool):
        agent = make_agent("dqn", OBS, ACT, config, seed=0)
        if not warm:
            agent.learner.compile_step_in_background = lambda: None
        rng = np.random.default_rng(5)
        losses = []
        for _ in range(12):
            agent.observe(rows(rng.normal(size=(1, 2)), [int(rng.integers(2))], [rng.normal()],
                               rng.normal(size=(1, 2)), [False], [False]))
            losses.append(agent.update().get("loss"))
        trained = agent.learner.train_one if xla.get("jit_step") else agent.learner.train
        return agent, trained, losses

    warm_agent, warm_fn, warm_losses = run(True)
    cold_agent, cold_fn, cold_losses = run(False)
    assert not isinstance(warm_fn.warm_result, Exception), warm_fn.warm_result
    assert warm_fn.warm_result is not None and cold_fn.warm_result is None
    assert warm_losses == cold_losses and sum(loss is not None for loss in warm_losses) == 4
    for a, b in zip(warm_agent.critic.weights + warm_agent.actor.weights,
                    cold_agent.critic.weights + cold_agent.actor.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert warm_fn.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("dueling", [False, True])
def test_frame_stacks_train_channels_last_with_the_numbers_of_the_channels_first_path(dueling, monkeypatch):
    """A CNN on (k, H, W) frame stacks trains through its channels-last view, on samples the
    replay memory writes channels last: no transpose in the update, and the same numbers as
    the channels-first network that transposes inside (the same layers, the same draws)."""
    import gymkit.agents.dqn.learner as learner_module

    space = gym.spaces.Box(0, 255, (4, 36, 36), np.uint8)
    config = {"encoder": "nature-cnn", "batch_size": 4, "training_start": 6, "training_interval": 2,
              "gradient_steps": 2, "copy_steps": 3, "replay_stack": 1, "dueling": dueling}

    def run(view: bool):
        if not view:
            monkeypatch.setattr(learner_module, "channels_last_view", lambda model: None)
        agent = make_agent("dqn", space, gym.spaces.Discrete(5), config, seed=0)
        monkeypatch.undo()
        rng = np.random.default_rng(4)
        losses = []
        for _ in range(12):
            obs, nxt = (rng.integers(0, 256, (1, 4, 36, 36), dtype=np.uint8) for _ in range(2))
            agent.observe(Transitions(obs, np.array([int(rng.integers(5))]), np.array([rng.normal()], np.float32),
                                      nxt, np.array([False]), np.array([False]), np.array([0])))
            losses.append(agent.update().get("loss"))
        return agent, losses

    (fast, fast_losses), (plain, plain_losses) = run(True), run(False)
    assert fast.learner.channels_last and not plain.learner.channels_last
    assert fast.learner.observation_shape == (36, 36, 4) and plain.learner.observation_shape == (4, 36, 36)
    assert fast_losses == plain_losses and sum(loss is not None for loss in fast_losses) == 4
    for a, b in zip(fast.critic.weights + fast.actor.weights, plain.critic.weights + plain.actor.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    def moves(agent):  # the transposes of the networks' to_channels_last layers in the update
        graph_def = agent.learner.train.get_concrete_function().graph.as_graph_def()
        nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
        return [n.name for n in nodes if n.op == "Transpose" and "to_channels_last" in n.name]

    assert not moves(fast) and moves(plain)


@pytest.mark.parametrize("onednn", [True, False])
def test_jit_step_auto_compiles_with_xla_only_where_onednn_is_off(onednn, monkeypatch):
    import gymkit.tf_import as tf_import

    monkeypatch.setattr(tf_import, "onednn_enabled", lambda: onednn)
    agent = make_agent("dqn", OBS, ACT, {"hidden_sizes": [4], "jit_step": "auto"}, seed=0)
    assert agent.learner.jit_step is (not onednn)
    assert hasattr(agent.learner, "train_one") is (not onednn)


def test_jit_step_takes_true_false_or_auto_only():
    from gymkit.agents.dqn.config import DQNConfig
    from gymkit.errors import ConfigError

    assert DQNConfig(jit_step="auto").jit_step == "auto" and DQNConfig(jit_step="true").jit_step is True
    with pytest.raises(ConfigError, match=r"jit_step='fast' is not allowed.*choose one of true, false, auto"):
        DQNConfig(jit_step="fast")


@pytest.mark.parametrize("encoder,shape,dueling", [("nature-cnn", (4, 84, 84), False),
                                                   ("nature-cnn", (4, 84, 84), True),
                                                   ("book-cnn", (88, 80, 1), False)])
def test_cnn_agents_act_in_numpy_with_the_answers_of_the_tf_path(encoder, shape, dueling):
    """gymkit's CNN encoders act through NumPy (no graph dispatch per env step); the Q-values
    and greedy actions are the tf.function's, before and after an update changes the weights."""
    space = gym.spaces.Box(0, 255, shape, np.uint8)
    config = {"encoder": encoder, "dueling": dueling, "act_with": "critic", "batch_size": 2,
              "training_start": 0, "training_interval": 1, "replay_memory_size": 16}
    fast = make_agent("dqn", space, gym.spaces.Discrete(9), config, seed=1)
    slow = make_agent("dqn", space, gym.spaces.Discrete(9), {**config, "act_backend": "tf"}, seed=1)
    assert fast._numpy_q is not None and fast._tf_q is None and slow._numpy_q is None
    frames = np.random.default_rng(2).integers(0, 256, (6, *shape), dtype=np.uint8)
    for agent in (fast, slow):
        agent.observe(Transitions(frames[:1], np.array([3]), np.array([1.0], np.float32), frames[1:2],
                                  np.array([False]), np.array([False]), np.array([0])))
    np.testing.assert_allclose(fast.q_values(frames), slow.q_values(frames), rtol=1e-5, atol=1e-5)
    fast.update(), slow.update()  # act_with critic: the playing network changed
    q_fast, q_slow = fast.q_values(frames), slow.q_values(frames)
    np.testing.assert_allclose(q_fast, q_slow, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fast.act(frames, explore=False), q_slow.argmax(axis=1))


def test_act_backend_numpy_refuses_a_network_it_cannot_run():
    from gymkit.errors import ConfigError

    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    with pytest.raises(ConfigError, match="act_backend='numpy' cannot run encoder 'nature-cnn' in NumPy"):
        make_agent("dqn", space, ACT, {"encoder": "nature-cnn", "act_backend": "numpy",
                                       "encoder_options": {"activation": "gelu"}}, seed=0)
