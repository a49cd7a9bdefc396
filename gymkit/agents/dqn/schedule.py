"""The book's exploration schedule and the agent's training clock (no TensorFlow here)."""

from __future__ import annotations

import math


def linear_epsilon(step: int, eps_max: float, eps_min: float, eps_decay_steps: int) -> float:
    """The book's epsilon: ``max(eps_min, eps_max - (eps_max - eps_min) * step / eps_decay_steps)``.

    Args:
        step: steps taken so far (training steps in the book, env steps in SB3 and Dopamine).
        eps_max: epsilon at step 0.
        eps_min: the floor reached after ``eps_decay_steps``.
        eps_decay_steps: length of the linear decay (0: ``eps_min`` from the start).
    """
    if eps_decay_steps <= 0:
        return float(eps_min)
    return float(max(eps_min, eps_max - (eps_max - eps_min) * step / eps_decay_steps))


def first_training_step(training_start: int, training_interval: int) -> int:
    """The first env step at which the book's loop trains.

    The book trains when ``iteration >= training_start and iteration % training_interval == 0``
    (``iteration`` counts env steps from 1), so the first round is the first multiple of
    ``training_interval`` that is at least ``training_start``.
    """
    start = max(int(training_start), 1)
    return int(math.ceil(start / training_interval) * training_interval)


def rounds_due(env_steps: int, next_round_at: int, training_interval: int) -> tuple[int, int]:
    """Training rounds due after ``env_steps`` env steps, and when the next one falls.

    With a vector env several env steps arrive at once, so several rounds can be due at once;
    the agent runs all their gradient steps in one graph call.
    """
    if env_steps < next_round_at:
        return 0, next_round_at
    due = (env_steps - next_round_at) // training_interval + 1
    return int(due), int(next_round_at + due * training_interval)
