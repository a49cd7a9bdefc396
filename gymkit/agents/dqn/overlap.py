"""Acting and learning on two cores at once, on a fixed schedule (``overlap: true``).

Without overlap, a training round at env step ``t`` runs to the end before step ``t + 1`` is
played. With overlap the round runs in a background thread while the main thread plays steps
``t + 1 .. t + training_interval`` with a **player**: a copy of the playing network as it was
when the round started. At the next round the agent first waits for the previous one, copies
the playing network into the player, samples the new batch and starts it::

    env step   t: join round t-k, player := network, sample batch_t, start round t
    env steps t+1..t+k: act with the player (weights after round t-k)
    env step t+k: join round t, player := network, sample batch_t+k, start round t+k

What each round trains on and when the player changes depend on step counts only, never on
which thread finishes first, so two runs with one seed are identical and a checkpoint (which
waits for the round in flight and saves the player with the networks) resumes exactly. The
price is a player one round behind the learner. TensorFlow releases the GIL while a graph
runs, so the round and the env steps share the two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np


class BackgroundRounds:
    """At most one training round in flight, and the metrics of the last one that finished.

    Args:
        train: the learner's ``train(*batches) -> (loss, q_mean)``.
    """

    def __init__(self, train: Callable[..., Any]) -> None:
        self.train = train
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        #: (loss, mean Q) of the round finished last (None before the first one)
        self.last: tuple[float, float] | None = None

    def start(self, *batches: np.ndarray) -> None:
        """Run ``train(*batches)`` in the background (after :meth:`join`)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gymkit-learner")
        self._pending = self._pool.submit(self._round, batches)

    def _round(self, batches: tuple[np.ndarray, ...]) -> tuple[float, float]:
        loss, q_mean = self.train(*batches)
        return float(loss), float(q_mean)

    def join(self) -> tuple[float, float] | None:
        """Wait for the round in flight (re-raising its error), and return the last metrics."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.last = pending.result()
        return self.last

    @property
    def in_flight(self) -> bool:
        return self._pending is not None
