"""What the learning agents (TD Learning, Q-Learning) report every :data:`METRICS_EVERY`
updates: statistics of their table and the mean |TD error| since the last report."""

from __future__ import annotations

import numpy as np

METRICS_EVERY = 1000  # updates between two metric reports (a report per step would flood logs)


def metrics_due(t: int, t_before: int) -> bool:
    """True when the last observed batch crossed a multiple of METRICS_EVERY updates."""
    return t // METRICS_EVERY > t_before // METRICS_EVERY


def table_stats(prefix: str, values: np.ndarray, visited: np.ndarray) -> dict[str, float]:
    """Mean, max and min of the table's finite entries where ``visited`` (empty dict if none):
    unvisited entries still hold their initial 0, impossible actions -inf."""
    seen = values[visited & np.isfinite(values)]
    if seen.size == 0:
        return {}
    return {f"{prefix}_mean": float(seen.mean()), f"{prefix}_max": float(seen.max()),
            f"{prefix}_min": float(seen.min())}


class _TDErrors:
    """Running mean of |target - estimate| over the updates since the last report."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, error: float) -> None:
        self.total += abs(error)
        self.count += 1

    def state(self) -> list:
        """What a checkpoint keeps, so that a resumed run reports the same td_error."""
        return [self.total, self.count]

    def load(self, state: list | None) -> None:
        self.total, self.count = (float(state[0]), int(state[1])) if state else (0.0, 0)

    def pop(self) -> dict[str, float]:
        out = {"td_error": self.total / self.count} if self.count else {}
        self.total, self.count = 0.0, 0
        return out
