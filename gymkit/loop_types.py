"""What the loop returns and why it stopped; the signal handling it stops on."""

from __future__ import annotations

import enum
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymkit.evaluation import EvalStats


class StopReason(enum.StrEnum):
    """Why the loop ended."""

    BUDGET = "budget"                       # the steps or episodes were done (finished)
    STOP_AT_EVAL = "stop_at_eval"           # a periodic evaluation reached stop_at_eval (finished)
    SIGNAL = "signal"                       # SIGINT/SIGTERM: checkpointed, resumable
    STOP_AFTER_STEPS = "stop_after_steps"   # train(stop_after_steps=...), for tests of resume

    @property
    def finished(self) -> bool:
        return self in (StopReason.BUDGET, StopReason.STOP_AT_EVAL)


@dataclass
class TrainResult:
    """What :func:`train` returns.

    ``evaluation`` scores the final agent; with ``keep_best``, ``best_agent`` is the agent of
    the best periodic evaluation (``RUN_DIR/best/``) and ``best_evaluation`` scores it again
    on fresh episodes (the final evaluation's), not on the episodes that selected it.
    """

    run_dir: Path | None
    agent: Any
    steps: int
    episodes: int
    wall_time_s: float
    evaluation: EvalStats | None
    recent_mean_return: float | None
    stopped_by_signal: int | None = None
    stopped_by: StopReason = StopReason.BUDGET
    best_agent: Any = None
    best_evaluation: EvalStats | None = None
    #: step and periodic-evaluation mean of the best agent (also without keep_best)
    best_step: int | None = None
    best_selection_mean: float | None = None


class Signals:
    """Turn SIGINT/SIGTERM into a flag so the loop can checkpoint and stop cleanly."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        self.received = signum
        self.t = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
