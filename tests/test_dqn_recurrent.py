"""Recurrent DQN: sequence replay, burn-in, carried acting state, the loop, saving, determinism."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gymkit.agent_files import load_agent  # noqa: E402
from gymkit.agents.base import Transitions
from gymkit.errors import ConfigError
from gymkit.registry import make_agent
from gymkit.replay import ReplayMemory
from gymkit.replay.memory import TERMINATED, TRUNCATED, VALID

OBS = gym.spaces.Box(-10.0, 10.0, (3,), np.float32)
ACT = gym.spaces.Discrete(2)
SMALL = {"encoder": "lstm", "hidden_sizes": [8], "batch_size": 4, "training_start": 8,
         "training_interval": 2, "sequence_length": 4, "copy_steps": 5}


# -- sequence sampling ---------------------------------------------------------------------------


def code(stream: int, episode: int, t: int) -> float:
    """Observation value naming its stream, episode and step (decoded by ``decode``)."""
    return stream * 10_000 + episode * 100 + t


def decode(value: float) -> tuple[int, int, int]:
    v = int(round(value))
    return v // 10_000, (v % 10_000) // 100, v % 100


def filled_replay(capacity: int, lengths: dict[int, list[tuple[int, str]]]) -> ReplayMemory:
    """Two streams stepped together; ``lengths[s]`` lists each episode's (length, end) with end
    'term', 'trunc' or 'open'. Rewards equal the observation's code + 0.5."""
    memory = ReplayMemory(capacity, (1,), np.float32, num_streams=2)
    plans = {s: [(e, t, n, end) for e, (n, end) in enumerate(eps) for t in range(n)]
             for s, eps in lengths.items()}
    for i in range(max(len(p) for p in plans.values())):
        rows = [(s, plan[i]) for s, plan in plans.items() if i < len(plan)]
        obs = np.array([[code(s, e, t)] for s, (e, t, n, end) in rows], np.float32)
        nxt = np.array([[code(s, e, t + 1)] for s, (e, t, n, end) in rows], np.float32)
        last = [t == n - 1 for s, (e, t, n, end) in rows]
        term = np.array([lt and end == "term" for lt, (s, (e, t, n, end)) in zip(last, rows, strict=True)])
        trunc = np.array([lt and end == "trunc" for lt, (s, (e, t, n, end)) in zip(last, rows, strict=True)])
        memory.add(obs, np.array([t % 2 for s, (e, t, n, end) in rows]), obs[:, 0] + 0.5, nxt,
                   term, trunc, np.array([s for s, _ in rows]))
    return memory


@pytest.mark.parametrize("capacity", [200, 40])  # 40: each stream's ring wraps (20 slots)
def test_windows_never_mix_episodes_or_streams_and_mask_exactly(capacity):
    from gymkit.replay.sequences import sample_sequences

    plan = {0: [(3, "term"), (5, "trunc"), (7, "term"), (4, "open")],
            1: [(6, "term"), (2, "trunc"), (9, "term"), (3, "open")]}
    memory = filled_replay(capacity, plan)
    burn_in, length, gamma = 2, 4, 0.9
    w = burn_in + length
    ends = np.flatnonzero(memory.flags & VALID)
    memory.sample_indices = lambda rng, n: ends  # every stored transition ends one window
    s = sample_sequences(memory, np.random.default_rng(0), 0, length, gamma, burn_in)
    assert s.observations.shape == (len(ends), w + 1, 1) and s.loss_mask.shape == (len(ends), w)
    oldest_code = {}  # per stream, the oldest (episode, step) still in the ring
    for stream in (0, 1):
        base = stream * memory.stream_capacity
        written = [decode(memory.frames[base + j, 0]) for j in range(memory.filled[stream])]
        ring = [(base + (memory.cursor[stream] - memory.filled[stream] + j) % memory.stream_capacity)
                for j in range(memory.filled[stream])]
        oldest_code[stream] = decode(memory.frames[ring[0], 0])[1:]
        assert written  # the stream holds something
    for row, e in enumerate(ends):
        stream, episode, t = decode(memory.frames[e, 0])
        first_t = oldest_code[stream][1] if oldest_code[stream][0] == episode else 0
        for k in range(w):
            back = w - 1 - k
            expected_in = t - back >= first_t
            assert s.mask[row, k] == expected_in, (row, k)
            if expected_in:  # same stream, same episode, consecutive steps
                assert decode(s.observations[row, k, 0]) == (stream, episode, t - back)
                assert s.rewards[row, k] == pytest.approx(code(stream, episode, t - back) + 0.5)
                assert s.actions[row, k] == (t - back) % 2
            assert s.loss_mask[row, k] == (expected_in and k >= burn_in)
            # weight 1/c: c = windows whose loss positions hold this step (min(L, steps to the end))
            coverage = min(length, plan[stream][episode][0] - (t - back))
            assert s.loss_weights[row, k] == pytest.approx(1 / coverage if s.loss_mask[row, k] else 0)
        terminated = bool(memory.flags[e] & TERMINATED)
        assert s.mask[row, w] == (not terminated)  # a terminal step has no next observation
        assert s.discounts[row, -1] == pytest.approx(0.0 if terminated else gamma)
        assert np.allclose(s.discounts[row, :-1], gamma)
        if not terminated:  # the next observation, or the final one of a truncated episode
            assert decode(s.observations[row, w, 0]) == (stream, episode, t + 1)
        if memory.flags[e] & TRUNCATED:
            assert s.mask[row, w]
    assert not s.loss_mask[:, :burn_in].any()
    if capacity == 40:  # the ring dropped the start of some episodes: windows stop there
        assert (s.mask[:, 0] == False).any() and s.mask[:, :w].all(axis=1).any()  # noqa: E712


def test_sampled_windows_end_on_stored_transitions():
    memory = filled_replay(200, {0: [(5, "term"), (4, "open")], 1: [(3, "trunc"), (6, "open")]})
    drawn = []
    draw = memory.sample_indices
    memory.sample_indices = lambda rng, n: drawn.append(draw(rng, n)) or drawn[-1]
    s = memory.sample_sequences(np.random.default_rng(1), 64, 3, 0.99, burn_in=1)
    assert len(drawn) == 1 and len(drawn[0]) == 64  # the windows' last steps ...
    assert ((memory.flags[drawn[0]] & VALID) != 0).all()  # ... are stored transitions
    assert s.loss_mask[:, -1].all() and not s.loss_mask[:, 0].any()


# -- the learner -----------------------------------------------------------------------------------


def stepped_agent(config: dict, steps: int = 40, seed: int = 0, num_envs: int = 2):
    """A recurrent DQN fed random transitions (episodes end at random), updating as it goes."""
    agent = make_agent("dqn", OBS, ACT, {**SMALL, **config}, seed=seed)
    rng = np.random.default_rng(seed)
    ids = np.arange(num_envs)
    agent.episode_start(ids, explore=True)
    metrics = []
    for _ in range(steps):
        o = rng.normal(size=(num_envs, 3)).astype(np.float32)
        a = agent.act(o, explore=True, env_ids=ids)
        term = rng.random(num_envs) < 0.15
        agent.observe(Transitions(o, a, rng.normal(size=num_envs).astype(np.float32),
                                  rng.normal(size=(num_envs, 3)).astype(np.float32), term,
                                  np.zeros(num_envs, bool), ids))
        if term.any():
            agent.episode_start(np.flatnonzero(term), explore=True)
        metrics.append(agent.update())
    return agent, metrics


def test_burn_in_steps_carry_no_loss_but_warm_up_the_state():
    agent, _ = stepped_agent({"burn_in": 3, "sequence_length": 4})
    s = agent.replay.sample_sequences(np.random.default_rng(0), 16, 4, 0.95, burn_in=3)
    assert not s.loss_mask[:, :3].any() and s.loss_mask[:, 3:].any()
    s = s._replace(mask=np.ones_like(s.mask), loss_weights=np.ones_like(s.loss_weights))

    def loss(sample):
        return float(agent.learner._loss(sample.observations, sample.mask, sample.actions,
                                           sample.rewards, sample.discounts, sample.loss_weights)[0])

    base = loss(s)
    rewards, actions = s.rewards.copy(), s.actions.copy()
    rewards[:, :3] += 100.0
    actions[:, :3] = 1 - actions[:, :3]
    assert loss(s._replace(rewards=rewards, actions=actions)) == pytest.approx(base, rel=1e-6)
    rewards = s.rewards.copy()
    rewards[:, 3] += 1.0
    assert abs(loss(s._replace(rewards=rewards)) - base) > 1e-3  # a loss position counts
    obs = s.observations.copy()
    obs[:, 0] += 3.0
    assert abs(loss(s._replace(observations=obs)) - base) > 1e-6  # burn-in feeds the state


@pytest.mark.parametrize("burn_in", [0, 2, 5])
def test_steps_of_another_episode_change_nothing_even_across_the_burn_in(burn_in):
    """A window whose episode starts at position 4: positions 0-3 hold garbage (another
    episode) and are masked; the critic's Q-values from the episode start on equal those of
    the episode unrolled alone from a zero state, wherever the burn-in split falls."""
    agent = make_agent("dqn", OBS, ACT, {**SMALL, "burn_in": burn_in, "sequence_length": 8 - burn_in},
                       seed=2)
    rng = np.random.default_rng(0)
    episode = rng.normal(size=(2, 5, 3)).astype(np.float32)
    window = np.concatenate([100.0 * rng.normal(size=(2, 4, 3)).astype(np.float32), episode], axis=1)
    mask = np.arange(9)[None].repeat(2, axis=0) >= 4
    q = agent.learner._critic_q(window, mask).numpy()  # positions burn_in .. 8
    alone = agent.critic.unroll(episode)[0].numpy()  # positions 4 .. 8
    np.testing.assert_allclose(q[:, 4 - burn_in:] if burn_in <= 4 else q,
                               alone if burn_in <= 4 else alone[:, burn_in - 4:], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("extra", [{"dueling": True, "double_dqn": True, "encoder": "gru"},
                                   {"encoder": "simple-rnn", "loss": "huber", "burn_in": 2},
                                   {"encoder_options": {"peephole": True}, "act_with": "critic"}])
def test_variants_train(extra):
    agent, metrics = stepped_agent(extra, steps=30)
    trained = [m for m in metrics if m]
    assert agent.stateful and agent.train_steps > 0 and trained
    assert all(np.isfinite(m["loss"]) for m in trained)


def test_unsupported_settings_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match="use n_step=1"):
        make_agent("dqn", OBS, ACT, {**SMALL, "n_step": 3}, seed=0)
    with pytest.raises(ConfigError, match="replay_memory_size"):
        make_agent("dqn", OBS, ACT, {**SMALL, "replay_memory_size": 6, "burn_in": 2}, seed=0)


# -- acting ----------------------------------------------------------------------------------------


def test_acting_carries_state_and_episode_start_resets_exactly_the_given_rows():
    agent = make_agent("dqn", OBS, ACT, SMALL, seed=3)
    a, b, x = (np.full((1, 3), v, np.float32) for v in (1.0, -1.0, 0.5))
    agent.episode_start(np.arange(3), explore=True)
    agent.q_values(np.concatenate([a, b]), explore=True, env_ids=np.array([0, 1]))
    q = agent.q_values(np.concatenate([x, x, x]), explore=True, env_ids=np.arange(3))
    assert np.abs(q[0] - q[1]).max() > 1e-4  # same observation, different histories
    fresh = q[2]
    agent.episode_start(np.array([0]), explore=True)
    q2 = agent.q_values(np.concatenate([x, x]), explore=True, env_ids=np.array([0, 1]))
    np.testing.assert_allclose(q2[0], fresh, rtol=1e-5, atol=1e-6)  # row 0 starts over
    # row 1 kept its history: the same as unrolling its whole episode b, x, x at once
    seq = np.concatenate([b, x, x])[None]
    unrolled = agent.actor.unroll(seq)[0].numpy()[0, -1]
    np.testing.assert_allclose(q2[1], unrolled, rtol=1e-5, atol=1e-5)
    # acting advances the state too, and epsilon-greedy stays on top (all random here)
    before = [t.copy() for layer in agent._carried.stream(True) for t in layer]
    actions = agent.act(np.concatenate([x, x]), explore=True, env_ids=np.array([0, 2]))
    after = [t for layer in agent._carried.stream(True) for t in layer]
    assert actions.shape == (2,) and agent.epsilon() == 1.0
    assert all(np.abs(u[[0, 2]] - v[[0, 2]]).max() > 0 for u, v in zip(before, after, strict=True))
    assert all(np.array_equal(u[1], v[1]) for u, v in zip(before, after, strict=True))


def test_evaluation_stream_is_independent_of_the_training_stream():
    agent = make_agent("dqn", OBS, ACT, SMALL, seed=1)
    obs = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    agent.episode_start(np.arange(2), explore=True)
    agent.q_values(obs, explore=True, env_ids=np.arange(2))
    train_state = [t.copy() for layer in agent._carried.stream(True) for t in layer]
    agent.episode_start(np.array([0]), explore=False)
    for _ in range(3):
        agent.act(obs[:1], explore=False, env_ids=np.array([0]))
    assert all(np.array_equal(u, v) for u, v in
               zip(train_state, [t for layer in agent._carried.stream(True) for t in layer], strict=True))
    q_next = agent.q_values(obs, explore=True, env_ids=np.arange(2))
    twin = make_agent("dqn", OBS, ACT, SMALL, seed=1)  # never evaluated
    twin.episode_start(np.arange(2), explore=True)
    twin.q_values(obs, explore=True, env_ids=np.arange(2))
    np.testing.assert_allclose(q_next, twin.q_values(obs, explore=True, env_ids=np.arange(2)),
                               rtol=1e-6)


# -- saving, the loop, the CLI ---------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_q_values_and_training(tmp_path):
    agent, _ = stepped_agent({"burn_in": 1}, steps=30, seed=4)
    agent.save(tmp_path / "agent")
    loaded = load_agent(tmp_path / "agent", type(agent))
    assert loaded.stateful and loaded.train_steps == agent.train_steps
    seq = np.random.default_rng(5).normal(size=(3, 6, 3)).astype(np.float32)
    for name in ("critic", "actor"):
        np.testing.assert_array_equal(getattr(agent, name).unroll(seq)[0].numpy(),
                                      getattr(loaded, name).unroll(seq)[0].numpy())

    def more(a):
        rng = np.random.default_rng(9)
        out = []
        a.episode_start(np.arange(2), explore=True)
        for _ in range(12):
            o = rng.normal(size=(2, 3)).astype(np.float32)
            act = a.act(o, explore=True, env_ids=np.arange(2))
            a.observe(Transitions(o, act, rng.normal(size=2).astype(np.float32), o,
                                  np.array([False, True]), np.zeros(2, bool), np.arange(2)))
            a.episode_start(np.array([1]), explore=True)
            out.append(a.update())
        return out

    assert more(agent) == more(loaded)


TRAIN = {**SMALL, "hidden_sizes": [16], "batch_size": 8, "training_start": 100,
         "training_interval": 4, "eps_decay_steps": 300, "eps_decay_unit": "env_steps"}


LOOP = {"steps": 500, "num_envs": 2, "seed": 7, "eval_episodes": 2, "progress": False}


@pytest.fixture(scope="module")
def reference_run():
    from gymkit.loop import train

    return train("dqn", "CartPole-v1", config=TRAIN, **LOOP)


def same_run(first, second) -> None:
    assert first.steps == second.steps and first.agent.train_steps == second.agent.train_steps
    assert first.evaluation.returns == second.evaluation.returns
    for u, v in zip(first.agent.critic.get_weights() + first.agent.actor.get_weights(),
                    second.agent.critic.get_weights() + second.agent.actor.get_weights(), strict=True):
        np.testing.assert_array_equal(u, v)


def test_loop_trains_evaluates_and_is_deterministic(reference_run):
    from gymkit.loop import train

    first, second = reference_run, train("dqn", "CartPole-v1", config=TRAIN, **LOOP)
    assert first.agent.stateful and first.agent.train_steps == (first.steps - 100) // 4 + 1
    assert first.evaluation is not None and len(first.evaluation.returns) == 2
    assert first.recent_mean_return == second.recent_mean_return
    same_run(first, second)


def test_resume_continues_exactly(reference_run, tmp_path):
    from gymkit.loop import train

    run = tmp_path / "run"
    part = train("dqn", "CartPole-v1", config=TRAIN, run_dir=run, stop_after_steps=250,
                 checkpoint_every=50, **LOOP)
    assert 250 <= part.steps < 500
    same_run(reference_run, train(run_dir=run, resume=True, progress=False))


def test_cli_trains_dqn_with_every_recurrent_encoder_setting(tmp_path):
    # in process: the --set values reaching the agent are the point, not a fresh process
    from tests.conftest import run_cli_in_process as run_cli

    res = run_cli("train", "--agent", "dqn", "--env", "CartPole-v1", "--steps", "300",
                  "--set", "encoder=lstm", "--set", "encoder_options={peephole: true}",
                  "--set", "training_start=100", "--set", "hidden_sizes=[8]",
                  "--eval-episodes", "1", "--run-dir", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr[-2000:]
    res = run_cli("train", "--agent", "dqn", "--env", "CartPole-v1", "--steps", "100",
                  "--set", "encoder=gru", "--set", "n_step=2", "--run-dir", str(tmp_path / "bad"))
    assert res.returncode == 2 and "use n_step=1" in res.stderr


# -- learning --------------------------------------------------------------------------------------

REBER = {"hidden_sizes": [32], "learning_rate": 0.003, "discount_rate": 0.9, "batch_size": 32,
         "replay_memory_size": 20_000, "training_start": 500, "training_interval": 8,
         "copy_steps": 50, "eps_min": 0.1, "eps_decay_steps": 10_000, "eps_decay_unit": "env_steps",
         "act_with": "critic", "loss": "huber"}


def test_lstm_dqn_remembers_embedded_reber_and_the_mlp_cannot():
    """Embedded Reber (chance 0.5 for any memoryless policy): 5,000 env steps (8 envs), seed 0,
    greedy accuracy over 200 held-out strings. Measured: MLP 0.510; LSTM 1.000 (bench, 500 strings)."""
    from gymkit.loop import train

    settings = {"steps": 5_000, "num_envs": 8, "seed": 0, "eval_episodes": 200, "progress": False}
    lstm = train("dqn", "gymkit/EmbeddedReber-v0", **settings,
                 config={**REBER, "encoder": "lstm", "sequence_length": 20})
    mlp = train("dqn", "gymkit/EmbeddedReber-v0", **settings,
                config={**REBER, "encoder": "mlp", "hidden_sizes": [32, 32]})
    assert lstm.evaluation.mean >= 0.95
    assert 0.40 <= mlp.evaluation.mean <= 0.60
