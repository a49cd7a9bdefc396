"""Learning agents: TD Learning (Eq. 16-4) and Q-Learning (Eq. 16-5, 16-6).

They know only the states and actions, learn from each transition as it happens (in
:meth:`observe`), and use the book's decaying learning rate
``alpha_t = learning_rate0 / (1 + t * learning_rate_decay)``, where ``t`` counts updates
(``learning_rate_schedule: global``, the book's) or, for Q-Learning, the visits ``N(s, a)``
of the pair being updated (``per-pair``: a pair visited rarely still learns at a useful
rate; ``learning_rate0 = 1`` with ``learning_rate_decay = 1 - gamma`` converges well).

Q-Learning follows Equation 16-5 (the book's listing swaps alpha and 1 - alpha)::

    Q(s, a) <- (1 - alpha) Q(s, a) + alpha (r + gamma * max_a' Q(s', a'))

bootstrapping on truncation (time limits) and never on termination. Impossible actions
(``action_mask``, read the first time a state is seen) get ``Q = -inf`` as in the book.

Exploration policies (``exploration``):

- ``random``: uniformly random among allowed actions, the book's "drunken monkey";
- ``epsilon-greedy``: random with probability epsilon, which decays linearly from
  ``eps_max`` to ``eps_min`` over ``eps_decay_steps`` updates, else greedy;
- ``exploration-function``: Equation 16-6. With ``f(q, n) = q + K / (1 + n)`` and
  ``N(s, a)`` the number of times a was chosen in s, the target is
  ``r + gamma * max_a' f(Q(s', a'), N(s', a'))`` and the agent acts greedily on f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gymkit.agents.base import Agent, masked_argmax, sample_masked
from gymkit.agents.tabular.common import (
    as_mask,
    as_states,
    check_tabular_spaces,
    learning_rate,
    load_tables,
    save_tables,
)
from gymkit.agents.tabular.display import describe_env, format_q_table, format_table, summarize
from gymkit.agents.tabular.learning_config import QLearningConfig, TDLearningConfig
from gymkit.agents.tabular.learning_metrics import (  # noqa: F401  (METRICS_EVERY re-exported)
    METRICS_EVERY,
    _TDErrors,
    metrics_due,
    table_stats,
)


class TDLearningAgent(Agent):
    """TD Learning (Eq. 16-4): the state values of the uniformly random policy it follows.

    ``V(s) <- (1 - alpha) V(s) + alpha (r + gamma * V(s'))`` (no ``V(s')`` after termination).
    TD Learning evaluates the policy it follows; with no action values it has no greedy
    policy, so it acts uniformly at random (among allowed actions) in evaluation too.
    """

    config_cls = TDLearningConfig
    name = "td-learning"

    def __init__(self, observation_space, action_space, config, *, seed):
        super().__init__(observation_space, action_space, config, seed=seed)
        self.n_actions = int(action_space.n)
        self.V = np.zeros(int(observation_space.n))
        self.visits = np.zeros((int(observation_space.n), self.n_actions), dtype=np.int64)
        self._td_errors = _TDErrors()
        self.t = 0  # updates so far: t in the learning rate and the epsilon schedule
        self._t_before = 0  # t before the last observe(), to know when metrics are due
        self.env_info: dict | None = None
        self.eval_rng = np.random.default_rng([self.seed, 1])

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        check_tabular_spaces(cls.name, observation_space, action_space)

    def bind_env(self, env) -> None:
        self.env_info = describe_env(env)

    def act(self, observations, *, explore, action_mask=None):
        n = len(as_states(observations))
        rng = self.rng if explore else self.eval_rng  # evaluation never shifts training's draws
        return sample_masked(rng, self.n_actions, n, as_mask(action_mask, n))

    def observe(self, batch) -> None:
        c, V = self.config, self.V
        self._t_before = self.t
        rows = zip(batch.observations.tolist(), batch.actions.tolist(), batch.rewards.tolist(),
                   batch.next_observations.tolist(), batch.terminated.tolist(), strict=True)
        for s, a, r, sp, terminated in rows:
            alpha = learning_rate(c.learning_rate0, c.learning_rate_decay, self.t)
            target = r if terminated else r + c.discount_rate * V[sp]
            self._td_errors.add(target - V[s])
            V[s] += alpha * (target - V[s])  # = (1 - alpha) V(s) + alpha * target
            self.visits[s, a] += 1
            self.t += 1

    def update(self) -> dict[str, float]:
        if not metrics_due(self.t, self._t_before):
            return {}
        c = self.config
        visited = self.visits.sum(axis=1) > 0
        return {"learning_rate": learning_rate(c.learning_rate0, c.learning_rate_decay, self.t),
                **table_stats("v", self.V, visited), **self._td_errors.pop()}

    def summary(self) -> str | None:
        table = format_table({"V": self.V, "visits": self.visits.sum(axis=1)})
        return f"TD Learning (discount {self.config.discount_rate}): state values of the random policy\n\n{table}"

    def save_state(self, directory: Path) -> None:
        meta = {"t": self.t, "rng": self.rng.bit_generator.state, "env_info": self.env_info,
                "td_errors": self._td_errors.state(), "eval_rng": self.eval_rng.bit_generator.state}
        save_tables(directory, {"v_table": self.V, "visits": self.visits}, meta)

    def load_state(self, directory: Path) -> None:
        arrays, meta = load_tables(directory, ("v_table", "visits"), {"v_table": self.V, "visits": self.visits})
        self.V, self.visits = arrays["v_table"], arrays["visits"]
        self.t, self.env_info = int(meta["t"]), meta.get("env_info")
        self._t_before = self.t
        self.rng.bit_generator.state = meta["rng"]
        if "eval_rng" in meta:
            self.eval_rng.bit_generator.state = meta["eval_rng"]
        self._td_errors.load(meta.get("td_errors"))


class QLearningAgent(Agent):
    """Tabular Q-Learning (Eq. 16-5/16-6) with random, epsilon-greedy or count-based exploration."""

    config_cls = QLearningConfig
    name = "q-learning"

    def __init__(self, observation_space, action_space, config, *, seed):
        super().__init__(observation_space, action_space, config, seed=seed)
        n_states, self.n_actions = int(observation_space.n), int(action_space.n)
        self.Q = np.zeros((n_states, self.n_actions))
        self.visits = np.zeros((n_states, self.n_actions), dtype=np.int64)  # N(s, a)
        self.mask_seen = np.zeros(n_states, dtype=bool)
        self._td_errors = _TDErrors()
        self.t = 0  # updates so far: t in the learning rate and the epsilon schedule
        self._t_before = 0  # t before the last observe(), to know when metrics are due
        self.env_info: dict | None = None

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        check_tabular_spaces(cls.name, observation_space, action_space)

    def bind_env(self, env) -> None:
        self.env_info = describe_env(env)

    # -- acting ---------------------------------------------------------------------------

    @property
    def epsilon(self) -> float:
        """Epsilon-greedy's current epsilon: linear from eps_max to eps_min over eps_decay_steps."""
        c = self.config
        return max(c.eps_min, c.eps_max - (c.eps_max - c.eps_min) * self.t / c.eps_decay_steps)

    def exploration_values(self, states: np.ndarray) -> np.ndarray:
        """``f(Q(s, a), N(s, a)) = Q(s, a) + K / (1 + N(s, a))`` for each row of ``states``."""
        return self.Q[states] + self.config.curiosity / (1.0 + self.visits[states])

    def _record_masks(self, states: np.ndarray, mask: np.ndarray) -> None:
        """Mark impossible actions with Q = -inf, as the book does, the first time a state is seen."""
        new = ~self.mask_seen[states]
        if new.any():
            s, m = states[new], mask[new]
            self.Q[s] = np.where(m, self.Q[s], -np.inf)
            self.mask_seen[s] = True

    def act(self, observations, *, explore, action_mask=None):
        states = as_states(observations)
        mask = as_mask(action_mask, len(states))
        if mask is not None:
            self._record_masks(states, mask)
        if not explore:
            return masked_argmax(self.Q[states], mask)
        kind = self.config.exploration
        if kind == "random":
            return sample_masked(self.rng, self.n_actions, len(states), mask)
        if kind == "exploration-function":
            return masked_argmax(self.exploration_values(states), mask, self.rng)
        greedy = masked_argmax(self.Q[states], mask, self.rng)
        random = sample_masked(self.rng, self.n_actions, len(states), mask)
        return np.where(self.rng.random(len(states)) < self.epsilon, random, greedy)

    # -- learning -------------------------------------------------------------------------

    def observe(self, batch) -> None:
        c, Q, N = self.config, self.Q, self.visits
        self._t_before = self.t
        gamma, K = c.discount_rate, c.curiosity
        use_f = c.exploration == "exploration-function"
        global_t = c.learning_rate_schedule == "global"
        rows = zip(batch.observations.tolist(), batch.actions.tolist(), batch.rewards.tolist(),
                   batch.next_observations.tolist(), batch.terminated.tolist(), strict=True)
        for s, a, r, sp, terminated in rows:
            N[s, a] += 1
            if terminated:
                target = r  # a terminal state has no future: never bootstrap on termination
            else:
                # Truncated or not, s' has a future worth max_a' Q(s', a') (or f(Q, N), Eq. 16-6).
                future = (Q[sp] + K / (1.0 + N[sp])).max() if use_f else Q[sp].max()
                target = r + gamma * (future if future > -np.inf else 0.0)
            t = self.t if global_t else N[s, a] - 1
            alpha = learning_rate(c.learning_rate0, c.learning_rate_decay, t)
            self._td_errors.add(target - Q[s, a])
            Q[s, a] += alpha * (target - Q[s, a])  # = (1 - alpha) Q(s, a) + alpha * target
            self.t += 1

    def update(self) -> dict[str, float]:
        if not metrics_due(self.t, self._t_before):
            return {}
        c = self.config
        metrics = {"learning_rate": learning_rate(c.learning_rate0, c.learning_rate_decay, self.t)}
        if c.exploration == "epsilon-greedy":
            metrics["epsilon"] = self.epsilon
        # Q statistics over the (state, action) pairs tried so far, and the mean |TD error|
        # of the updates since the last report: a falling TD error is the sign of convergence.
        metrics.update(table_stats("q", self.Q, self.visits > 0))
        metrics.update(self._td_errors.pop())
        return metrics

    # -- showing and saving ---------------------------------------------------------------

    def greedy_policy(self) -> np.ndarray:
        """The greedy action of every state (``argmax_a Q(s, a)`` over possible actions)."""
        return self.Q.argmax(axis=1)

    def summary(self) -> str | None:
        unknown = self.visits.sum(axis=1) == 0
        title = (f"Q-Learning ({self.config.exploration} exploration, {self.t} updates): "
                 "Q-values and greedy policy")
        table = format_q_table(self.Q, self.env_info)
        return summarize(title, table, self.greedy_policy(), self.env_info, unknown)

    def save_state(self, directory: Path) -> None:
        meta = {"t": self.t, "rng": self.rng.bit_generator.state, "env_info": self.env_info,
                "td_errors": self._td_errors.state()}
        arrays = {"q_table": self.Q, "visits": self.visits, "mask_seen": self.mask_seen}
        save_tables(directory, arrays, meta)

    def load_state(self, directory: Path) -> None:
        arrays, meta = load_tables(directory, ("q_table", "visits", "mask_seen"),
                                   {"q_table": self.Q, "visits": self.visits, "mask_seen": self.mask_seen})
        self.Q, self.visits, self.mask_seen = arrays["q_table"], arrays["visits"], arrays["mask_seen"]
        self.t, self.env_info = int(meta["t"]), meta.get("env_info")
        self._t_before = self.t
        self.rng.bit_generator.state = meta["rng"]
        self._td_errors.load(meta.get("td_errors"))
