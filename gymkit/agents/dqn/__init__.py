"""Deep Q-Learning (the book's Ms. Pac-Man agent and its modern variants).

Importing this package imports no TensorFlow; building a :class:`DQNAgent` does.
"""

from gymkit.agents.dqn.agent import DQNAgent
from gymkit.agents.dqn.config import DQNConfig

__all__ = ["DQNAgent", "DQNConfig"]
