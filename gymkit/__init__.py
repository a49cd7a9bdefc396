"""gymkit: the agents of the classic textbook RL chapter on Gymnasium and TensorFlow 2.

The public API::

    import gymkit
    gymkit.list_agents()                       # {"dqn": "...", "q-learning": "...", ...}
    agent = gymkit.make_agent("random", env.observation_space, env.action_space, seed=0)
    result = gymkit.train("q-learning", "gymkit/BookMDP-v0", steps=20_000, run_dir="runs/q")
    stats = gymkit.evaluate("runs/q", episodes=10)

Importing gymkit registers its envs and imports no TensorFlow: the neural agents import it
when they are made.
"""

from __future__ import annotations

import os
from typing import Any

# TensorFlow's C++ start-up chatter (CUDA probing on machines without a GPU, oneDNN notices)
# drowns the CLI's output (real failures still surface as Python exceptions);
# users who want it set TF_CPP_MIN_LOG_LEVEL themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from gymkit.envs import register_envs
from gymkit.registry import list_agents, make_agent, register_agent

__version__ = "0.1.0"
__all__ = ["__version__", "evaluate", "list_agents", "make_agent", "register_agent", "train"]

register_envs()


def train(*args: Any, **kwargs: Any) -> Any:
    """Train an agent; see :func:`gymkit.loop.train`."""
    from gymkit.loop import train as _train

    return _train(*args, **kwargs)


def evaluate(*args: Any, **kwargs: Any) -> Any:
    """Evaluate a saved run; see :func:`gymkit.evaluation.evaluate_run`."""
    from gymkit.evaluation import evaluate_run

    return evaluate_run(*args, **kwargs)
