"""The configs of the learning agents: TD Learning (Eq. 16-4) and Q-Learning (Eq. 16-5, 16-6);
see :mod:`gymkit.agents.tabular.learning` for what the settings mean."""

from __future__ import annotations

from dataclasses import dataclass

from gymkit.config import AgentConfig, param
from gymkit.errors import ConfigError


@dataclass(frozen=True)
class TDLearningConfig(AgentConfig):
    """Settings of TD Learning (the book's defaults)."""

    discount_rate: float = param(0.95, "discount rate gamma", low=0.0, high=1.0)
    learning_rate0: float = param(0.05, "alpha0 in alpha_t = alpha0 / (1 + t * decay)",
                                  low=0.0, high=1.0, low_open=True)
    learning_rate_decay: float = param(0.1, "decay in alpha_t = alpha0 / (1 + t * decay); t counts updates",
                                       low=0.0)


@dataclass(frozen=True)
class QLearningConfig(TDLearningConfig):
    """Settings of Q-Learning (defaults: the book's, on the book MDP): TD Learning's, and more."""

    learning_rate_schedule: str = param(
        "global", "what t counts in alpha_t: all updates ('global', the book's) or the visits "
        "N(s, a) of the pair being updated ('per-pair')", choices=("global", "per-pair"))
    exploration: str = param("random", "exploration policy while training",
                             choices=("random", "epsilon-greedy", "exploration-function"))
    eps_max: float = param(1.0, "epsilon-greedy: epsilon at the first update", low=0.0, high=1.0)
    eps_min: float = param(0.05, "epsilon-greedy: epsilon after eps_decay_steps updates", low=0.0, high=1.0)
    eps_decay_steps: int = param(10_000, "epsilon-greedy: updates over which epsilon decays linearly", low=1)
    curiosity: float = param(
        300.0, "exploration function: K in f(q, n) = q + K / (1 + n) (Eq. 16-6); scale it with the "
        "rewards (a few times the largest |reward|: on the book MDP a K below ~50 never goes "
        "through the fire again)", low=0.0)

    def check(self) -> None:
        if self.eps_min > self.eps_max:
            raise ConfigError(
                f"eps_min={self.eps_min} is above eps_max={self.eps_max}: epsilon decays from "
                "eps_max down to eps_min, so set eps_min <= eps_max"
            )
