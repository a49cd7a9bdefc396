"""The training loop as named steps: :class:`Runner` drives one agent on a vector env.

:func:`gymkit.loop.train` resolves the settings, builds (or loads) the agent and hands it to
a Runner with a :class:`LoopState`. Each iteration of :meth:`Runner.run` is::

    act                   the agent picks actions for the rows still in an episode
    step_envs             the vector env steps (a crash names its sub-env)
    observe_and_update    finite checks, Transitions of the valid rows, observe, update
    count_episodes        episode returns and lengths from RecordEpisodeStatistics
    evaluate_if_due       a periodic evaluation (--eval-every) and best/ (--keep-best)
    log_if_due            one metrics.csv / TensorBoard / wandb row
    checkpoint_if_due     at an episode boundary (or one interval overdue)
    stop_reason           --stop-at-eval, a signal, stop_after_steps (the budget ends the loop)

and :meth:`Runner.finish` writes the last checkpoint, the final agent, the final evaluations
and ``summary.json``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.agents.base import Transitions
from gymkit.agents.calls import AgentCalls
from gymkit.checkpoint import make_generator, save_checkpoint
from gymkit.envs.factory import EnvCrash, make_vector_env
from gymkit.errors import EnvError, GymkitError
from gymkit.logging import Logger, Progress
from gymkit.loop_state import RECENT, LoopState  # noqa: F401  (RECENT re-exported)
from gymkit.loop_types import Signals, StopReason
from gymkit.periodic_eval import PeriodicEvaluator
from gymkit.run_config import RunSpec

GRACE_S = 5.0  # after a signal, how long to wait for an episode boundary before checkpointing
#: a resumed run that could not restore its envs' generators reseeds them with seed + step * this
#: prime: resumes at nearby steps get far-apart seeds, never the evaluation's seed + 1
RESEED_PRIME = 7919


class NonFiniteError(GymkitError):
    """A NaN or infinity in an observation, a reward or a training metric."""


def check_finite(name: str, values: np.ndarray, step: int) -> None:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise NonFiniteError(
            f"non-finite value (NaN or inf) in {name} at step {step}: check the env or lower the "
            "learning rate; the last checkpoint holds only finite weights"
        )


def action_mask(infos: dict[str, Any], n: int) -> np.ndarray | None:
    """The vector env's ``info["action_mask"]`` as ``(n, actions)`` bools (all allowed where absent)."""
    mask = infos.get("action_mask")
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    present = infos.get("_action_mask")
    if present is not None and not np.all(present):
        mask = mask.copy()
        mask[~np.asarray(present, dtype=bool)] = True  # no mask for that env: allow everything
    return mask.reshape(n, -1)


def act_rows(calls: AgentCalls, obs: np.ndarray, valid: np.ndarray, mask: np.ndarray | None,
             filler: np.ndarray, *, explore: bool, step: int) -> np.ndarray:
    """Actions for every row: the agent's for the ``valid`` rows, ``filler`` for the others
    (rows whose next step is an autoreset, which ignores its action)."""
    ids = np.flatnonzero(valid)
    if valid.all():
        return calls.act(obs, explore=explore, action_mask=mask, env_ids=ids if calls.pass_env_ids else None,
                         step=step)
    actions = filler.copy()
    if len(ids):
        actions[valid] = calls.act(obs[valid], explore=explore, action_mask=None if mask is None else mask[valid],
                                   env_ids=ids if calls.pass_env_ids else None, step=step)
    return actions


class Runner:
    """One training run from a :class:`LoopState` (fresh or loaded from a checkpoint)."""

    def __init__(self, spec: RunSpec, agent: Any, state: LoopState, run_dir: Path | None,
                 progress: bool | None, stop_after_steps: int | None, sinks: tuple[Any, ...] = (),
                 first_env: Any = None) -> None:
        self.spec, self.agent, self.s, self.run_dir = spec, agent, state, run_dir
        self.stop_after_steps = stop_after_steps
        self.n = n = spec.num_envs
        # first_env: the loop's probe, never reset, as sub-env 0 (make_vector_env)
        self.envs = make_vector_env(spec.env, n, spec.vectorization, spec.env_kwargs, spec.wrappers,
                                    first_env=first_env)
        if run_dir is not None and state.step > 0:
            from gymkit.logging import CSVWriter

            CSVWriter(run_dir / "metrics.csv").truncate_after(state.step)
        self.logger = Logger(run_dir, sinks)
        self.evaluator = PeriodicEvaluator(spec, run_dir, state.periodic)
        self.obs, self.infos = self._reset_envs()
        self.autoreset = np.zeros(n, dtype=bool)  # rows whose next step is Gymnasium's autoreset
        self.starting = np.ones(n, dtype=bool)  # rows whose observation is the first of an episode
        self.calls = AgentCalls.of(agent)  # kwargs act() takes, failures in one line, actions checked
        self.filler = np.stack([self.envs.single_action_space.sample() for _ in range(n)])
        total = spec.steps if spec.steps is not None else spec.episodes
        self.bar = Progress(total, "steps" if spec.steps is not None else "episodes", progress)
        self.start, self.t0_step = time.perf_counter(), state.step
        self.prior_wall = state.wall_time_s  # time spent before a resume
        self.crashed = False

    def _reset_envs(self) -> tuple[np.ndarray, dict[str, Any]]:
        s = self.s
        if s.env_rng is not None and s.exact:
            # Resume exactly: give each sub-env the generator it had when the checkpoint was taken
            # (all were at an episode boundary), then reset without a seed, as autoreset would.
            self.envs.unwrapped.set_attr("np_random", [make_generator(g) for g in s.env_rng])
            return self.envs.reset()
        return self.envs.reset(seed=self.spec.seed + (s.step * RESEED_PRIME if s.step else 0))

    # -- the named steps -------------------------------------------------------------------

    def budget_done(self) -> bool:
        spec, s = self.spec, self.s
        return s.step >= spec.steps if spec.steps is not None else s.episodes >= spec.episodes

    def act(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(actions, valid rows, action mask)``; episode starts are announced first."""
        valid = ~self.autoreset
        mask = action_mask(self.infos, self.n)
        begin = valid & self.starting
        if begin.any():
            self.calls.episode_start(np.flatnonzero(begin), explore=True, step=self.s.step)
        actions = act_rows(self.calls, self.obs, valid, mask, self.filler, explore=True, step=self.s.step)
        return actions, valid, mask

    def step_envs(self, actions: np.ndarray) -> tuple[Any, ...]:
        try:
            return self.envs.step(actions)
        except EnvCrash as exc:
            self.crashed = True
            raise EnvError(f"{exc} at step {self.s.step}; the run stopped and its last checkpoint "
                           "is intact: fix the env, then resume with --resume") from None

    def observe_and_update(self, actions: np.ndarray, valid: np.ndarray, mask: np.ndarray | None,
                           outcome: tuple[Any, ...]) -> None:
        next_obs, rewards, terminated, truncated, _ = outcome
        step, nvalid = self.s.step, int(valid.sum())
        if nvalid:
            check_finite("the observation", next_obs, step)
            check_finite("the reward", rewards, step)
            if nvalid == self.n:
                batch = Transitions(self.obs, actions, rewards, next_obs, terminated, truncated,
                                    np.arange(self.n), mask)
            else:
                idx = np.flatnonzero(valid)
                batch = Transitions(self.obs[idx], actions[idx], rewards[idx], next_obs[idx], terminated[idx],
                                    truncated[idx], idx, None if mask is None else mask[idx])
            self.calls.observe(batch, step)
            new = self.calls.update(step)
            for k, v in (new or {}).items():
                if not math.isfinite(float(v)):
                    raise NonFiniteError(f"non-finite {k}={v} at step {step}: lower the learning rate or "
                                         "clip gradients; the last checkpoint holds only finite weights")
            self.s.metrics.update({k: float(v) for k, v in (new or {}).items()})
        self.s.step += nvalid
        self.obs, self.infos = next_obs, outcome[4]
        self.starting = self.autoreset  # the rows autoreset by this step now show a reset observation
        self.autoreset = np.logical_or(terminated, truncated)

    def count_episodes(self) -> None:
        infos, s = self.infos, self.s
        if "_episode" not in infos:
            return
        for i in np.flatnonzero(infos["_episode"]):
            r, ln = float(infos["episode"]["r"][i]), int(infos["episode"]["l"][i])
            s.recent_returns.append(r)
            s.recent_lengths.append(ln)
            s.episodes += 1
            self.logger.write_event({"episode/return": r, "episode/length": ln}, s.step)

    def evaluate_if_due(self) -> tuple[dict[str, float] | None, bool]:
        """``(eval/* columns, whether --stop-at-eval is reached)`` when an evaluation was due."""
        if not self.evaluator.due(self.s.step, self.s.episodes):
            return None, False
        stats, _ = self.evaluator.evaluate(self.agent, self.s.step, self.s.episodes)
        return ({f"eval/{k}": getattr(stats, k) for k in ("mean", "std", "min", "max")},
                self.evaluator.reached(stats))

    def log_if_due(self, evaluated: dict[str, float] | None) -> None:
        s = self.s
        if s.step >= s.next_log or evaluated:
            self.log_row(evaluated)
            while s.next_log <= s.step:
                s.next_log += self.spec.log_every

    def log_row(self, extra: dict[str, float] | None = None) -> None:
        s = self.s
        elapsed = time.perf_counter() - self.start
        speed = (s.step - self.t0_step) / max(elapsed, 1e-9)
        row = {"step": s.step, "episodes": s.episodes,
               "return_mean": float(np.mean(s.recent_returns)) if s.recent_returns else float("nan"),
               "length_mean": float(np.mean(s.recent_lengths)) if s.recent_lengths else float("nan"),
               **s.metrics, **(extra or {}), "time/elapsed_s": elapsed, "time/steps_per_s": speed}
        self.logger.write(row)
        s.last_log = s.step
        self.bar.update(s.step if self.spec.steps is not None else s.episodes, speed, row["return_mean"])

    def at_boundary(self) -> bool:
        """Every sub-env just ended an episode: the envs' whole state is their generators."""
        return bool(self.autoreset.all())

    def checkpoint_if_due(self) -> None:
        spec, s = self.spec, self.s
        if self.run_dir is None or not spec.checkpoint_every or s.step < s.next_checkpoint:
            return
        if self.at_boundary() or s.step >= s.next_checkpoint + spec.checkpoint_every:
            while s.next_checkpoint <= s.step:
                s.next_checkpoint += spec.checkpoint_every
            self.checkpoint()

    def checkpoint(self) -> None:
        s = self.s
        s.env_rng = [g.bit_generator.state for g in self.envs.unwrapped.get_attr("np_random")]
        s.exact = self.at_boundary()
        s.wall_time_s = self.prior_wall + time.perf_counter() - self.start
        s.periodic = self.evaluator.state()
        save_checkpoint(self.run_dir, self.agent, s.to_dict(), s.step)

    def stop_reason(self, reached: bool, signals: Signals) -> StopReason | None:
        """Why the loop stops after this step (None: it goes on until the budget is done)."""
        if reached:  # SB3's StopTrainingOnRewardThreshold: a finished run
            return StopReason.STOP_AT_EVAL
        # On SIGINT/SIGTERM, finish the current episodes (at most a few seconds) so the final
        # checkpoint sits at an episode boundary and a resume is exact.
        if signals.received is not None and (self.at_boundary() or time.perf_counter() - signals.t >= GRACE_S):
            return StopReason.SIGNAL
        if self.stop_after_steps is not None and self.s.step >= self.stop_after_steps and self.at_boundary():
            return StopReason.STOP_AFTER_STEPS
        return None

    def run(self) -> tuple[StopReason, int | None]:
        """Step until the budget is done or a stop reason arises: ``(reason, signal number)``."""
        stopped_by, signal_number = StopReason.BUDGET, None
        try:
            with Signals() as signals:
                while not self.budget_done():
                    actions, valid, mask = self.act()
                    self.observe_and_update(actions, valid, mask, self.step_envs(actions))
                    self.count_episodes()
                    evaluated, reached = self.evaluate_if_due()
                    self.log_if_due(evaluated)
                    self.checkpoint_if_due()
                    reason = self.stop_reason(reached, signals)
                    if reason is not None:
                        stopped_by = reason
                        signal_number = signals.received if reason is StopReason.SIGNAL else None
                        break
        finally:
            self.bar.close()
            self.evaluator.close()
            self.envs.close(**({"terminate": True} if self.crashed and self.spec.vectorization == "async" else {}))
        return stopped_by, signal_number
