"""Periodic evaluation during training, and the best agent it selects.

Every ``eval_every`` steps (or episodes, the budget's unit) the loop pauses training and plays
``periodic_eval_episodes`` greedy episodes on an evaluation env of its own: one persistent
env, seeded once from a child of the run's seed (never ``seed + 1``, the final evaluation's),
then reset without a seed, so each evaluation sees new episodes. The agent acts with
``explore=False``, which stateful agents keep apart from the training stream, and agents draw
evaluation randomness from generators of their own, so evaluating does not change training.

With ``keep_best`` the agent with the best evaluation mean so far is written to
``RUN_DIR/best/`` (sealed like ``agent/``; what acting needs, without the replay memory):
Stable-Baselines3's ``EvalCallback`` ``best_model``. Because the best agent was *chosen* on
these episodes, its mean on them is biased upwards; the loop scores it again on fresh
episodes (the final evaluation's stream) before reporting it.

The evaluator's state (its env's generator, the next evaluation, the best so far) goes into
every checkpoint, so a resumed run evaluates exactly as an uninterrupted one.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.checkpoint import BEST_DIR, BEST_FILE, make_generator, save_sealed_agent
from gymkit.envs.factory import make_env
from gymkit.evaluation import EvalStats, play_episodes

#: spawn key of the evaluation stream's seed (a child of the run's seed; any fixed tag works)
PERIODIC_EVAL_STREAM = 1


def periodic_eval_seed(seed: int) -> int:
    """The seed of the periodic-evaluation env: a child of ``seed``, never ``seed + 1``."""
    child = int(np.random.SeedSequence(int(seed), spawn_key=(PERIODIC_EVAL_STREAM,)).generate_state(1)[0])
    return child + 1 if child == seed + 1 else child


class PeriodicEvaluator:
    """Runs the periodic evaluations of one training run and keeps the best agent.

    Args:
        spec: the run's :class:`~gymkit.run_config.RunSpec` (``eval_every``,
            ``periodic_eval_episodes``, ``keep_best``, ``stop_at_eval``, env settings).
        run_dir: where ``best/`` goes (None: a temporary folder, removed by :meth:`close`).
        state: what :meth:`state` returned when the checkpoint was taken (None: a new run).
    """

    def __init__(self, spec: Any, run_dir: Path | None, state: dict[str, Any] | None = None) -> None:
        state = state or {}
        self.spec = spec
        self.every = int(spec.eval_every)
        self.episodes = int(spec.periodic_eval_episodes)
        self.by_episodes = spec.steps is None
        self.next_at = int(state.get("next_at", self.every))
        self.best_mean: float | None = state.get("best_mean")
        self.best_step: int | None = state.get("best_step")
        self.evaluations = int(state.get("evaluations", 0))
        self._env_rng: dict[str, Any] | None = state.get("env_rng")
        self._env: Any = None
        self._tmp = None
        if run_dir is None and spec.keep_best:
            self._tmp = tempfile.TemporaryDirectory(prefix="gymkit-best-")
        self.best_dir = (run_dir / BEST_DIR) if run_dir is not None else (
            Path(self._tmp.name) / BEST_DIR if self._tmp else None)

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def due(self, step: int, episodes: int) -> bool:
        """True when the budget counter (steps or episodes) has reached the next evaluation."""
        return self.enabled and (episodes if self.by_episodes else step) >= self.next_at

    def _stream(self) -> tuple[Any, int | None]:
        """The evaluation env, and the seed of its next reset (only the very first one has one)."""
        if self._env is None:
            s = self.spec
            self._env = make_env(s.env, s.env_kwargs, s.wrappers)
            if self._env_rng is not None:  # resumed: continue the saved generator
                self._env.unwrapped.np_random = make_generator(self._env_rng)
        first = self._env_rng is None and self.evaluations == 0
        return self._env, periodic_eval_seed(self.spec.seed) if first else None

    def evaluate(self, agent: Any, step: int, episodes: int) -> tuple[EvalStats, bool]:
        """Play the evaluation episodes now; save the agent to ``best/`` if it is the best.

        Returns:
            The statistics, and whether this evaluation is the best so far.
        """
        env, seed = self._stream()
        returns, lengths = play_episodes(agent, env, self.episodes, seed=seed)
        self._env_rng = env.unwrapped.np_random.bit_generator.state
        self.evaluations += 1
        stats = EvalStats.from_returns(returns, lengths, periodic_eval_seed(self.spec.seed))
        counter = episodes if self.by_episodes else step
        while self.next_at <= counter:
            self.next_at += self.every
        improved = self.best_mean is None or stats.mean > self.best_mean
        if improved:
            self.best_mean, self.best_step = stats.mean, step
            if self.spec.keep_best:
                self._save_best(agent, step, stats)
        return stats, improved

    def _save_best(self, agent: Any, step: int, stats: EvalStats) -> None:
        info = {"step": int(step), "selected_by": {
            "periodic_eval_episodes": stats.episodes, "mean": stats.mean, "std": stats.std,
            "min": stats.min, "max": stats.max, "stream_seed": stats.seed}}

        def write(folder: Path) -> None:
            from gymkit.agents.calls import AgentCalls

            AgentCalls.of(agent).save(folder, learning_state=False, step=step)
            (folder / BEST_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")

        save_sealed_agent(self.best_dir, write, step)

    def reached(self, stats: EvalStats) -> bool:
        """True when ``stop_at_eval`` is set and this evaluation's mean reached it."""
        return self.spec.stop_at_eval is not None and stats.mean >= float(self.spec.stop_at_eval)

    def state(self) -> dict[str, Any]:
        """What a checkpoint must hold to resume the evaluations exactly."""
        return {"next_at": self.next_at, "best_mean": self.best_mean, "best_step": self.best_step,
                "evaluations": self.evaluations, "env_rng": self._env_rng}

    def has_best(self) -> bool:
        return self.best_dir is not None and (self.best_dir / BEST_FILE).exists()

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None

    def cleanup(self) -> None:
        """Remove the temporary ``best/`` of a run without a run directory."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
