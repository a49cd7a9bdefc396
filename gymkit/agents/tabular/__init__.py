"""The chapter's tabular agents, in NumPy (no TensorFlow).

- :class:`ValueIterationAgent` (Eq. 16-2) and :class:`QValueIterationAgent` (Eq. 16-3) plan
  on the env's model (``T``/``R`` or a toy-text ``P`` table);
- :class:`TDLearningAgent` (Eq. 16-4) learns the state values of the random policy;
- :class:`QLearningAgent` (Eq. 16-5, 16-6) learns Q-values with random, epsilon-greedy or
  exploration-function exploration.

The dynamic programming itself (``q_value_iteration``, ``value_iteration``) lives in
:mod:`gymkit.tabular_model`.
"""

from gymkit.agents.tabular.learning import QLearningAgent, TDLearningAgent
from gymkit.agents.tabular.planning import QValueIterationAgent, ValueIterationAgent

__all__ = ["QLearningAgent", "QValueIterationAgent", "TDLearningAgent", "ValueIterationAgent"]
