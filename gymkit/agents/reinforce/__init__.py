"""REINFORCE (the book's policy gradients) with a Keras softmax policy on any encoder.

Importing this package imports no TensorFlow; building a :class:`ReinforceAgent` does.

Example:
    >>> import gymnasium as gym, gymkit
    >>> env = gym.make("CartPole-v1")
    >>> agent = gymkit.make_agent("reinforce", env.observation_space, env.action_space,
    ...                           {"episodes_per_update": 10}, seed=42)
"""

from gymkit.agents.reinforce.agent import ReinforceAgent
from gymkit.agents.reinforce.config import ReinforceConfig
from gymkit.agents.reinforce.returns import discount_and_normalize_rewards, discount_rewards

__all__ = ["ReinforceAgent", "ReinforceConfig", "discount_and_normalize_rewards", "discount_rewards"]
