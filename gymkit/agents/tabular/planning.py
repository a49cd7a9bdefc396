"""Planning agents: Value Iteration (Eq. 16-2) and Q-Value Iteration (Eq. 16-3).

They read the MDP from the env in :meth:`bind_env` (the book MDP's ``T``/``R``, or a
toy-text ``P`` table) and solve it there, sweeping over all states at once; training
steps after that only play the optimal policy. ``n_iterations`` counts sweeps, not env
steps. An env without a model gets an :class:`~gymkit.errors.EnvError`.

Example:
    >>> import gymnasium as gym, gymkit
    >>> env = gym.make("gymkit/BookMDP-v0")
    >>> agent = gymkit.make_agent("q-iteration", env.observation_space, env.action_space,
    ...                           {"discount_rate": 0.95, "n_iterations": 100})
    >>> agent.bind_env(env)
    >>> agent.act([0, 1, 2], explore=False).tolist()
    [0, 2, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from gymkit.agents.base import Agent, masked_argmax
from gymkit.agents.tabular.common import (
    as_mask,
    as_states,
    check_tabular_spaces,
    load_tables,
    save_tables,
)
from gymkit.agents.tabular.display import describe_env, format_q_table, format_table, summarize
from gymkit.config import AgentConfig, param
from gymkit.errors import EnvError
from gymkit.tabular_model import model_from_env, q_backup, q_value_iteration, value_iteration


@dataclass(frozen=True)
class PlanningConfig(AgentConfig):
    """Settings of Value Iteration and Q-Value Iteration."""

    discount_rate: float = param(0.95, "discount rate gamma", low=0.0, high=1.0)
    n_iterations: int = param(
        1000, "the most sweeps over all states (the book runs 100); not env steps", low=1
    )
    tolerance: float = param(
        1e-9, "stop sweeping once no value moves by more than this (0: run all n_iterations)",
        low=0.0,
    )


class _Planner:
    """What both planning agents do around their one algorithm (composition, not a base)."""

    def __init__(self, agent: Agent, name: str) -> None:
        self.agent, self.name = agent, name
        self.Q: np.ndarray | None = None
        self.env_info: dict | None = None
        self.report: dict[str, float] = {}

    def read_model(self, env: gym.Env):
        model = model_from_env(env, self.name)
        n_states, n_actions = self.agent.observation_space.n, self.agent.action_space.n
        if (model.n_states, model.n_actions) != (n_states, n_actions):
            raise EnvError(
                f"the model of {describe_env(env)['env_id']} has {model.n_states} states and "
                f"{model.n_actions} actions, but the agent was made for {n_states} and "
                f"{n_actions}: bind the env the agent was made for"
            )
        self.env_info = describe_env(env)
        return model

    def finish(self, model, Q: np.ndarray) -> None:
        """Keep Q and report how far it is from a fixed point of Equation 16-3."""
        self.Q = Q
        V = np.where(np.isfinite(Q.max(axis=1)), Q.max(axis=1), 0.0)
        backup = q_backup(model, V, self.agent.config.discount_rate)
        error = np.abs(backup[model.possible] - Q[model.possible])
        self.report = {"bellman_error": float(np.max(error, initial=0.0))}

    def act(self, observations, action_mask) -> np.ndarray:
        if self.Q is None:
            raise EnvError(
                f"agent '{self.name}' has not planned yet: give it the env first "
                "(agent.bind_env(env); gymkit train does this) or load a trained run"
            )
        states = as_states(observations)
        return masked_argmax(self.Q[states], as_mask(action_mask, len(states)))

    def update(self) -> dict[str, float]:
        report, self.report = self.report, {}
        return report

    def save(self, directory: Path, extra: dict[str, np.ndarray]) -> None:
        if self.Q is None:
            return
        save_tables(directory, {"q_table": self.Q, **extra}, {"env_info": self.env_info})

    def load(self, directory: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        if not (Path(directory) / "q_table.npy").exists():
            return {}
        arrays, meta = load_tables(directory, ("q_table", *names))
        self.Q, self.env_info = arrays["q_table"], meta.get("env_info")
        return arrays


class QValueIterationAgent(Agent):
    """Q-Value Iteration (Eq. 16-3) on an env that exposes its model; acts greedily on Q."""

    config_cls = PlanningConfig
    name = "q-iteration"

    def __init__(self, observation_space, action_space, config, *, seed):
        super().__init__(observation_space, action_space, config, seed=seed)
        self.planner = _Planner(self, self.name)

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        check_tabular_spaces(cls.name, observation_space, action_space)

    @property
    def Q(self) -> np.ndarray | None:
        """The Q-Values ``Q[s, a]`` (``-inf`` for impossible actions), once planned."""
        return self.planner.Q

    def bind_env(self, env: gym.Env) -> None:
        model = self.planner.read_model(env)
        c = self.config
        self.planner.finish(model, q_value_iteration(model, c.discount_rate, c.n_iterations, c.tolerance))

    def act(self, observations, *, explore, action_mask=None):
        # An optimal policy needs no exploration: training steps play it too.
        return self.planner.act(observations, action_mask)

    def update(self) -> dict[str, float]:
        return self.planner.update()

    def summary(self) -> str | None:
        if self.Q is None:
            return None
        table = format_q_table(self.Q, self.planner.env_info)
        title = f"Q-Value Iteration (discount {self.config.discount_rate}): Q-values and greedy policy"
        return summarize(title, table, self.Q.argmax(axis=1), self.planner.env_info)

    def save_state(self, directory: Path) -> None:
        self.planner.save(directory, {})

    def load_state(self, directory: Path) -> None:
        self.planner.load(directory, ())


class ValueIterationAgent(Agent):
    """Value Iteration (Eq. 16-2) on an env that exposes its model; acts by one-step lookahead."""

    config_cls = PlanningConfig
    name = "value-iteration"

    def __init__(self, observation_space, action_space, config, *, seed):
        super().__init__(observation_space, action_space, config, seed=seed)
        self.planner = _Planner(self, self.name)
        self.V: np.ndarray | None = None

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        check_tabular_spaces(cls.name, observation_space, action_space)

    def bind_env(self, env: gym.Env) -> None:
        model = self.planner.read_model(env)
        c = self.config
        self.V = value_iteration(model, c.discount_rate, c.n_iterations, c.tolerance)
        # V alone does not say what to do: the greedy action looks one step ahead,
        # argmax_a sum_s' T (R + gamma V(s')), which is one sweep of Q-Value Iteration.
        self.planner.finish(model, q_backup(model, self.V, c.discount_rate))

    def act(self, observations, *, explore, action_mask=None):
        return self.planner.act(observations, action_mask)

    def update(self) -> dict[str, float]:
        return self.planner.update()

    def summary(self) -> str | None:
        if self.V is None or self.planner.Q is None:
            return None
        greedy = self.planner.Q.argmax(axis=1)
        info = self.planner.env_info
        table = format_table({"V": self.V}, greedy, (info or {}).get("action_names"))
        title = f"Value Iteration (discount {self.config.discount_rate}): state values and greedy policy"
        return summarize(title, table, greedy, info)

    def save_state(self, directory: Path) -> None:
        if self.V is not None:
            self.planner.save(directory, {"v_table": self.V})

    def load_state(self, directory: Path) -> None:
        arrays = self.planner.load(directory, ("v_table",))
        self.V = arrays.get("v_table")
