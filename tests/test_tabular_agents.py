"""Behaviour of the tabular agents: planning, the Q-Learning update, exploration, saving, pictures."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.agent_files import load_agent  # noqa: E402
from gymkit.agents.base import Transitions
from gymkit.errors import ConfigError, EnvError, SpaceError
from tests.tabular_driver import drive, evaluate

BOOK = "gymkit/BookMDP-v0"


def make(name, env, config=None, seed=0):
    return gymkit.make_agent(name, env.observation_space, env.action_space, config, seed=seed)


def one(s, a, r, sp, terminated=False, truncated=False) -> Transitions:
    return Transitions(np.array([s]), np.array([a]), np.array([float(r)]), np.array([sp]),
                       np.array([terminated]), np.array([truncated]), np.zeros(1, dtype=np.int64))


# -- planning ----------------------------------------------------------------------------------


def test_q_iteration_agent_plays_the_books_policy_and_reports_convergence():
    env = gym.make(BOOK)
    agent = make("q-iteration", env, {"discount_rate": 0.95, "n_iterations": 100, "tolerance": 0.0})
    agent.bind_env(env)
    assert agent.act(np.array([0, 1, 2]), explore=False).tolist() == [0, 2, 1]
    assert agent.act(np.array([0, 1, 2]), explore=True).tolist() == [0, 2, 1]
    assert 0 < agent.update()["bellman_error"] < 1e-2  # 100 sweeps: 0.95**100 of the way left
    assert agent.update() == {}  # reported once


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CliffWalking-v1"])
def test_value_iteration_and_q_iteration_agree_on_toy_text(env_id):
    env = gym.make(env_id)
    q_agent, v_agent = make("q-iteration", env, {"discount_rate": 0.99}), make("value-iteration", env, {"discount_rate": 0.99})
    q_agent.bind_env(env)
    v_agent.bind_env(env)
    np.testing.assert_allclose(v_agent.V, q_agent.Q.max(axis=1), atol=1e-6)
    states = np.arange(env.observation_space.n)
    assert np.array_equal(v_agent.act(states, explore=False), q_agent.act(states, explore=False))


def test_cliffwalking_planner_walks_the_cliff_edge_optimally():
    env = gym.make("CliffWalking-v1")
    agent = make("q-iteration", env, {"discount_rate": 1.0})
    agent.bind_env(env)
    returns = evaluate(env, agent, 3, seed=0)
    assert returns.tolist() == [-13.0] * 3  # up, 11 steps right, down


def test_planning_agent_refuses_an_env_without_a_model():
    class NoModel(gym.Env):
        observation_space = gym.spaces.Discrete(3)
        action_space = gym.spaces.Discrete(2)

    agent = make("q-iteration", NoModel())
    with pytest.raises(EnvError, match="exposes neither.*--agent q-learning"):
        agent.bind_env(NoModel())


def test_planning_agent_refuses_to_act_before_planning():
    env = gym.make(BOOK)
    with pytest.raises(EnvError, match="bind_env"):
        make("value-iteration", env).act(np.array([0]), explore=False)


@pytest.mark.parametrize("name", ["q-iteration", "value-iteration", "td-learning", "q-learning"])
def test_continuous_spaces_get_a_space_error_naming_the_space(name):
    env = gym.make("CartPole-v1")
    with pytest.raises(SpaceError, match=rf"agent '{name}' needs a Discrete observation space.*Box"):
        make(name, env)


def test_space_starting_elsewhere_than_zero_is_refused():
    with pytest.raises(SpaceError, match="starts at 1"):
        gymkit.make_agent("q-learning", gym.spaces.Discrete(3, start=1), gym.spaces.Discrete(2))


def test_planning_agent_saves_and_loads_its_table(tmp_path):
    env = gym.make("FrozenLake-v1")
    agent = make("q-iteration", env, {"discount_rate": 0.99})
    agent.bind_env(env)
    agent.save(tmp_path / "a")
    loaded = load_agent(tmp_path / "a")
    assert np.array_equal(loaded.Q, agent.Q)
    assert loaded.summary() == agent.summary()


# -- Q-Learning: the update --------------------------------------------------------------------


def test_q_learning_follows_equation_16_5_not_the_swapped_listing():
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"learning_rate0": 0.05, "learning_rate_decay": 0.1, "discount_rate": 0.95})
    agent.Q[1] = [2.0, -np.inf, 4.0]
    agent.observe(one(0, 0, 10.0, 1))
    # alpha_0 = 0.05: Q = (1 - 0.05) * 0 + 0.05 * (10 + 0.95 * 4); the listing would give 0.95 * 13.8.
    assert agent.Q[0, 0] == pytest.approx(0.05 * 13.8)
    agent.observe(one(0, 0, 10.0, 1))  # alpha_1 = 0.05 / (1 + 1 * 0.1)
    alpha1 = 0.05 / 1.1
    assert agent.Q[0, 0] == pytest.approx((1 - alpha1) * 0.05 * 13.8 + alpha1 * 13.8)
    assert agent.t == 2 and agent.visits[0, 0] == 2


def test_q_learning_bootstraps_on_truncation_never_on_termination():
    env = gym.make("FrozenLake-v1")
    agent = make("q-learning", env, {"learning_rate0": 1.0, "learning_rate_decay": 0.0, "discount_rate": 0.9})
    agent.Q[5] = [3.0, 1.0, 0.0, 0.0]
    agent.observe(one(0, 1, 1.0, 5, truncated=True))
    assert agent.Q[0, 1] == pytest.approx(1.0 + 0.9 * 3.0)
    agent.observe(one(4, 1, 1.0, 5, terminated=True))
    assert agent.Q[4, 1] == pytest.approx(1.0)


def test_per_pair_learning_rate_counts_visits_of_the_pair():
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"learning_rate0": 0.5, "learning_rate_decay": 1.0,
                                     "learning_rate_schedule": "per-pair", "discount_rate": 0.0})
    agent.observe(one(0, 1, 1.0, 0))  # first visit of (0, 1): alpha 0.5
    agent.observe(one(0, 0, 8.0, 0))  # first visit of (0, 0): alpha 0.5, although t = 1
    assert agent.Q[0, 1] == pytest.approx(0.5) and agent.Q[0, 0] == pytest.approx(4.0)


def test_impossible_actions_get_minus_infinity_and_are_never_chosen():
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"exploration": "random"})
    drive(env, agent, 3000, seed=0)  # the env raises on an impossible action
    assert np.isneginf(agent.Q[[1, 2, 2], [1, 0, 2]]).all()
    assert agent.visits[1, 1] == agent.visits[2, 0] == agent.visits[2, 2] == 0
    assert np.isfinite(agent.Q[[0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 2, 1]]).all()


# -- exploration policies ----------------------------------------------------------------------


def test_epsilon_decays_linearly_then_stays():
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"exploration": "epsilon-greedy", "eps_max": 1.0, "eps_min": 0.1,
                                     "eps_decay_steps": 100})
    assert agent.epsilon == 1.0
    agent.t = 50
    assert agent.epsilon == pytest.approx(0.55)
    agent.t = 1000
    assert agent.epsilon == pytest.approx(0.1)


def test_epsilon_greedy_explores_at_rate_epsilon():
    env = gym.make("FrozenLake-v1")
    agent = make("q-learning", env, {"exploration": "epsilon-greedy", "eps_max": 0.2, "eps_min": 0.2})
    agent.Q[0] = [0.0, 0.0, 1.0, 0.0]
    actions = agent.act(np.zeros(20_000, dtype=np.int64), explore=True)
    # greedy (2) with probability 0.8, plus a quarter of the random 0.2
    assert np.mean(actions == 2) == pytest.approx(0.8 + 0.2 / 4, abs=0.01)
    assert agent.act(np.zeros(5, dtype=np.int64), explore=False).tolist() == [2] * 5


def test_exploration_function_prefers_untried_actions_and_enters_the_target():
    env = gym.make("FrozenLake-v1")
    agent = make("q-learning", env, {"exploration": "exploration-function", "curiosity": 2.0,
                                     "learning_rate0": 1.0, "learning_rate_decay": 0.0, "discount_rate": 0.5})
    agent.Q[3] = [1.0, 0.0, 0.0, 0.0]
    agent.visits[3] = [9, 0, 5, 5]
    # f = Q + K / (1 + N) = [1.2, 2.0, 0.333, 0.333]: the untried action 1 wins over the best Q.
    assert agent.act(np.array([3]), explore=True).tolist() == [1]
    assert agent.act(np.array([3]), explore=False).tolist() == [0]
    agent.observe(one(2, 0, 0.0, 3))  # Eq. 16-6: target = r + gamma * max_a' f(Q(s', a'), N(s', a'))
    assert agent.Q[2, 0] == pytest.approx(0.5 * 2.0)


def test_config_errors_name_the_fix():
    env = gym.make(BOOK)
    with pytest.raises(ConfigError, match="eps_min <= eps_max"):
        make("q-learning", env, {"eps_min": 0.5, "eps_max": 0.1})
    with pytest.raises(ConfigError, match="did you mean 'exploration-function'"):
        make("q-learning", env, {"exploration": "exploration-functon"})


# -- saving ------------------------------------------------------------------------------------


def test_q_learning_save_load_continues_exactly(tmp_path):
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"exploration": "epsilon-greedy"}, seed=3)
    drive(env, agent, 2000, seed=1)
    agent.save(tmp_path / "a")
    loaded = load_agent(tmp_path / "a")
    assert np.array_equal(loaded.Q, agent.Q) and np.array_equal(loaded.visits, agent.visits)
    assert loaded.t == agent.t == 2000
    states = np.array([0, 1, 2, 0, 1, 0] * 10)
    masks = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 1], [1, 0, 1], [1, 1, 1]] * 10, dtype=bool)
    assert np.array_equal(loaded.act(states, explore=True, action_mask=masks),
                          agent.act(states, explore=True, action_mask=masks))  # same random stream


# -- TD Learning -------------------------------------------------------------------------------


def test_td_learning_update_and_random_policy():
    env = gym.make(BOOK)
    agent = make("td-learning", env, {"learning_rate0": 0.5, "learning_rate_decay": 0.0, "discount_rate": 0.9})
    agent.V[:] = [0.0, 2.0, 0.0]
    agent.observe(one(0, 0, 10.0, 1))
    assert agent.V[0] == pytest.approx(0.5 * (10 + 0.9 * 2.0))  # Eq. 16-4
    mask = np.array([[0, 1, 0]], dtype=bool)
    assert agent.act(np.array([2]), explore=False, action_mask=mask).tolist() == [1]


# -- pictures ----------------------------------------------------------------------------------


def test_summary_prints_the_q_table_and_greedy_policy():
    env = gym.make(BOOK)
    agent = make("q-iteration", env, {"n_iterations": 100, "tolerance": 0.0})
    agent.bind_env(env)
    text = agent.summary()
    lines = text.splitlines()
    assert any(line.split() == ["s0", "|", "21.89", "|", "20.79", "|", "16.85", "|", "a0"] for line in lines)
    assert any(line.split() == ["s1", "|", "1.11", "|", "-", "|", "1.17", "|", "a2"] for line in lines)


def test_frozenlake_summary_draws_arrows_holes_and_goal():
    env = gym.make("FrozenLake-v1")
    agent = make("q-iteration", env, {"discount_rate": 0.99})
    agent.bind_env(env)
    grid = agent.summary().split("\n\n")[-1].splitlines()
    assert grid[:4] == ["← ↑ ↑ ↑", "← H ← H", "↑ ↓ ← H", "H → ↓ G"]
    assert "left" in agent.summary()  # FrozenLake's action names in the table

    learner = make("q-learning", env)
    learner.bind_env(env)
    assert learner.summary().split("\n\n")[-1].splitlines()[0] == "? ? ? ?"  # never visited


def test_taxi_summary_is_cut_to_a_readable_length():
    env = gym.make("Taxi-v4")
    agent = make("q-iteration", env, {"discount_rate": 0.99})
    agent.bind_env(env)
    text = agent.summary()
    assert "470 more states" in text and len(text.splitlines()) < 40


def test_metrics_every_1000_updates_even_with_several_envs():
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"exploration": "epsilon-greedy"})
    reports = []
    for _ in range(700):  # batches of 3 rows, as from 3 sub-envs: t = 3, 6, ..., 2100
        agent.observe(Transitions(np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros(3),
                                  np.zeros(3, np.int64), np.zeros(3, bool), np.zeros(3, bool), np.arange(3)))
        metrics = agent.update()
        if metrics:
            reports.append((agent.t, sorted(metrics)))
    keys = ["epsilon", "learning_rate", "q_max", "q_mean", "q_min", "td_error"]
    assert reports == [(1002, keys), (2001, keys)]


def test_q_statistics_and_td_error_reported_with_the_metrics():
    env = gym.make(BOOK)
    agent = make("q-learning", env, {"exploration": "random"})
    # two hand-made transitions from state 0, action 0, reward 10, terminal: with alpha_t
    # the first TD error is 10 - 0, the second 10 - Q after the first update
    batch = Transitions(np.zeros(1, np.int64), np.zeros(1, np.int64), np.full(1, 10.0),
                        np.zeros(1, np.int64), np.ones(1, bool), np.zeros(1, bool), np.arange(1))
    errors = []
    for _ in range(1000):
        errors.append(10.0 - agent.Q[0, 0])
        agent.observe(batch)
    metrics = agent.update()
    assert metrics["q_max"] == metrics["q_min"] == metrics["q_mean"] == pytest.approx(agent.Q[0, 0])
    assert metrics["td_error"] == pytest.approx(np.mean(errors))
    later = []  # the next report averages only the updates since this one
    for _ in range(1000):
        later.append(10.0 - agent.Q[0, 0])
        agent.observe(batch)
    assert agent.update()["td_error"] == pytest.approx(np.mean(later))
    assert np.mean(later) < np.mean(errors)


@pytest.mark.parametrize("name", ["q-learning", "td-learning"])
def test_td_error_survives_a_checkpoint_between_reports(tmp_path, name):
    """A run resumed from a checkpoint saved mid-interval reports the same td_error."""
    rng = np.random.default_rng(0)
    states = rng.integers(0, 3, 1000)
    batches = [Transitions(np.array([s]), np.zeros(1, np.int64), rng.normal(size=1),
                           np.array([(s + 1) % 3]), np.zeros(1, bool), np.zeros(1, bool), np.arange(1))
               for s in states]
    env = gym.make(BOOK)
    straight = make(name, env, {})
    for b in batches[:600]:
        straight.observe(b)
    straight.save_state(tmp_path)
    resumed = make(name, env, {})
    resumed.load_state(tmp_path)
    for b in batches[600:]:
        straight.observe(b)
        resumed.observe(b)
    expected = straight.update()
    assert expected["td_error"] > 0
    assert resumed.update() == expected
