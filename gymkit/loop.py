"""The one env/agent loop: ``train()`` drives any agent on a vector env and writes a run directory.

One training step (the loop knows no algorithm)::

    agent.episode_start(ids, explore=True)                          # rows showing a reset observation
    actions = agent.act(obs, explore=True, action_mask=mask)        # rows still in an episode
    next_obs, rewards, terminated, truncated, infos = envs.step(actions)
    agent.observe(Transitions(...))                                 # autoreset rows filtered out
    metrics = agent.update()                                        # the agent decides
    logger.write({...metrics, ...episode stats, "step": t})         # every log_every steps

Gymnasium's vector envs autoreset on the step *after* an episode ends (NEXT_STEP): that
step ignores the action and returns the first observation of the next episode. The loop
neither asks the agent for that action nor shows it the step, and counts only real steps.

Checkpoints are taken at episode boundaries (every sub-env just finished an episode), when
the envs' whole state is their random generators: saving those, the agent and the loop's
counters makes a resumed run continue exactly as an uninterrupted one would.
"""

from __future__ import annotations

import enum
import math
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.agents.base import Transitions
from gymkit.agents.calls import AgentCalls, construct_agent
from gymkit.checkpoint import (
    CONFIG_FILE,
    check_run_dir_free,
    latest_checkpoint,
    load_loop_state,
    make_generator,
    prepare_new_run_dir,
    read_best_info,
    read_run_config,
    remove_temporaries,
    require_run_dir,
    save_checkpoint,
    save_final_agent,
    verify_folder,
    write_json_atomic,
    write_yaml_atomic,
)
from gymkit.envs.factory import EnvCrash, make_env, make_vector_env
from gymkit.errors import EnvError, GymkitError, RunDirError, SpaceError
from gymkit.evaluation import BEST_EVAL_FILE, EVAL_FILE, EvalStats, evaluate_agent
from gymkit.logging import Logger, Progress
from gymkit.periodic_eval import PeriodicEvaluator
from gymkit.run_config import RunSpec, resolve_run, resumed_settings, versions

RECENT = 100  # episodes in the "recent mean return"
SUMMARY_FILE = "summary.json"
GRACE_S = 5.0  # after a signal, how long to wait for an episode boundary before checkpointing


class NonFiniteError(GymkitError):
    """A NaN or infinity in an observation, a reward or a training metric."""


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


def _check_finite(name: str, values: np.ndarray, step: int) -> None:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise NonFiniteError(
            f"non-finite value (NaN or inf) in {name} at step {step}: check the env or lower the "
            "learning rate; the last checkpoint holds only finite weights"
        )


class _Signals:
    """Turn SIGINT/SIGTERM into a flag so the loop can checkpoint and stop cleanly."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
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


def train(
    agent: str | None = None,
    env: str | None = None,
    *,
    preset: str | None = None,
    config: Any = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    stop_after_steps: int | None = None,
    sinks: tuple[Any, ...] = (),
    **settings: Any,
) -> TrainResult:
    """Train an agent and write its run directory.

    Args:
        agent: agent name or ``module:Class`` (or from the preset).
        env: env id (or from the preset).
        preset: a preset name or YAML path.
        config: agent config overrides (dict) or an AgentConfig.
        run_dir: where the run is written (None: nothing written, for quick experiments).
        resume: continue the run in ``run_dir`` from its latest checkpoint.
        progress: show a progress bar (default: when stderr is a terminal).
        stop_after_steps: stop (with a checkpoint) after this many steps, for tests of resume.
        sinks: extra metric sinks (objects with ``write(row, step)`` and ``close()``, such as a
            wandb sink); they receive every row the CSV and TensorBoard receive, and episode
            and evaluation events.
        **settings: steps, episodes, seed, num_envs, vectorization, eval_episodes,
            checkpoint_every, log_every, env_kwargs, wrappers, eval_every,
            periodic_eval_episodes, keep_best, stop_at_eval.
    """
    import gymkit  # noqa: F401 - registers gymkit's envs

    if resume:
        if run_dir is None:
            raise RunDirError("--resume needs the --run-dir of the run to continue")
        from gymkit.registry import resolve_saved_class

        run_dir = require_run_dir(Path(run_dir))
        saved = RunSpec.from_dict(read_run_config(run_dir))
        resolve_saved_class(saved.agent, run_dir / CONFIG_FILE, run_dir)  # data names no code
        spec, agent_cls, agent_config = resolve_run(saved.agent, saved.env, overrides=saved.config,
                                                    **resumed_settings(saved, settings))
        spec.preset = saved.preset
    else:
        spec, agent_cls, agent_config = resolve_run(agent, env, preset=preset, overrides=config, **settings)
        if run_dir is not None:
            check_run_dir_free(Path(run_dir))  # refuses a used directory before any work
    run_dir = Path(run_dir) if run_dir is not None else None

    probe = make_env(spec.env, spec.env_kwargs, spec.wrappers)
    try:
        try:
            agent_cls.check_spaces(probe.observation_space, probe.action_space)
        except SpaceError as exc:
            raise SpaceError(f"{exc} [env {spec.env}: observation space {probe.observation_space}, "
                             f"action space {probe.action_space}]") from None
        if run_dir is not None:  # spaces.json must describe them: refuse now, not at the first checkpoint
            from gymkit.spaces_json import check_describable

            check_describable(probe.observation_space, probe.action_space, spec.env)
        agent_obj = construct_agent(agent_cls, probe.observation_space, probe.action_space, agent_config,
                                    seed=spec.seed)
        AgentCalls.of(agent_obj)  # act()'s signature is read once, here
        agent_obj.bind_env(probe)
    finally:
        probe.close()

    state = _fresh_state(spec)
    if resume:
        folder = latest_checkpoint(run_dir)
        if folder is None:
            raise RunDirError(f"{run_dir} has no checkpoint to resume from: start a new run with another --run-dir")
        verify_folder(folder)
        state = load_loop_state(folder)
        agent_obj = agent_cls.load(folder)
        AgentCalls.of(agent_obj)
        remove_temporaries(run_dir)  # only once everything read has been accepted
    elif run_dir is not None:
        prepare_new_run_dir(run_dir)  # every check has passed: only now is anything written
        write_yaml_atomic(run_dir / CONFIG_FILE, {**spec.to_dict(), "versions": versions()})

    return _run(spec, agent_obj, state, run_dir, progress, stop_after_steps, sinks)


def _fresh_state(spec: RunSpec) -> dict[str, Any]:
    return {"step": 0, "episodes": 0, "recent_returns": [], "recent_lengths": [],
            "metrics": {}, "next_log": spec.log_every, "next_checkpoint": spec.checkpoint_every,
            "env_rng": None, "exact": True, "wall_time_s": 0.0}


def _budget_done(spec: RunSpec, step: int, episodes: int) -> bool:
    return step >= spec.steps if spec.steps is not None else episodes >= spec.episodes


def _run(spec: RunSpec, agent: Any, state: dict[str, Any], run_dir: Path | None,
         progress: bool | None, stop_after_steps: int | None, sinks: tuple[Any, ...] = ()) -> TrainResult:
    envs = make_vector_env(spec.env, spec.num_envs, spec.vectorization, spec.env_kwargs, spec.wrappers)
    n = spec.num_envs
    if run_dir is not None and state["step"] > 0:
        from gymkit.logging import CSVWriter

        CSVWriter(run_dir / "metrics.csv").truncate_after(state["step"])
    logger = Logger(run_dir, sinks)
    evaluator = PeriodicEvaluator(spec, run_dir, state.get("periodic"))
    step, episodes = int(state["step"]), int(state["episodes"])
    recent_r = deque(state["recent_returns"], maxlen=RECENT)
    recent_l = deque(state["recent_lengths"], maxlen=RECENT)
    metrics: dict[str, float] = dict(state["metrics"])
    next_log, next_ckpt = int(state["next_log"]), int(state["next_checkpoint"])

    if state["env_rng"] is not None and state.get("exact", True):
        # Resume exactly: give each sub-env the generator it had when the checkpoint was taken
        # (all were at an episode boundary), then reset without a seed, as autoreset would.
        envs.unwrapped.set_attr("np_random", [make_generator(s) for s in state["env_rng"]])
        obs, infos = envs.reset()
    else:
        # a resumed run reseeds its envs: 7919 (a prime) spreads the seeds of resumes at
        # nearby steps far apart, and never onto the evaluation's seed + 1
        obs, infos = envs.reset(seed=spec.seed + (step * 7919 if step else 0))
    autoreset = np.zeros(n, dtype=bool)
    starting = np.ones(n, dtype=bool)  # rows whose observation is the first of an episode
    calls = AgentCalls.of(agent)  # kwargs act() takes, failures in one line, actions checked
    stateful = calls.pass_env_ids
    filler = np.stack([envs.single_action_space.sample() for _ in range(n)])
    total = spec.steps if spec.steps is not None else spec.episodes
    bar = Progress(total, "steps" if spec.steps is not None else "episodes", progress)
    start, t0_step = time.perf_counter(), step
    prior_wall = float(state.get("wall_time_s", 0.0))  # time spent before a resume
    stopped_by, signal_number = StopReason.BUDGET, None

    last_log = int(state.get("last_log", -1))

    def log_row(extra: dict[str, float] | None = None) -> None:
        nonlocal last_log
        elapsed = time.perf_counter() - start
        speed = (step - t0_step) / max(elapsed, 1e-9)
        row = {"step": step, "episodes": episodes,
               "return_mean": float(np.mean(recent_r)) if recent_r else float("nan"),
               "length_mean": float(np.mean(recent_l)) if recent_l else float("nan"),
               **metrics, **(extra or {}), "time/elapsed_s": elapsed, "time/steps_per_s": speed}
        logger.write(row)
        last_log = step
        bar.update(step if spec.steps is not None else episodes, speed, row["return_mean"])

    def loop_state(exact: bool) -> dict[str, Any]:
        rng = [g.bit_generator.state for g in envs.unwrapped.get_attr("np_random")]
        return {"step": step, "episodes": episodes, "recent_returns": list(recent_r),
                "recent_lengths": list(recent_l), "metrics": metrics, "next_log": next_log,
                "next_checkpoint": next_ckpt, "env_rng": rng, "exact": exact, "last_log": last_log,
                "wall_time_s": prior_wall + time.perf_counter() - start,
                "periodic": evaluator.state()}

    crashed = False
    try:
        with _Signals() as signals:
            while not _budget_done(spec, step, episodes):
                valid = ~autoreset
                mask = _action_mask(infos, n)
                begin = valid & starting
                if begin.any():
                    calls.episode_start(np.flatnonzero(begin), explore=True, step=step)
                if valid.all():
                    actions = calls.act(obs, explore=True, action_mask=mask,
                                        env_ids=np.arange(n) if stateful else None, step=step)
                else:
                    actions = filler.copy()
                    if valid.any():
                        actions[valid] = calls.act(obs[valid], explore=True,
                                                   action_mask=None if mask is None else mask[valid],
                                                   env_ids=np.flatnonzero(valid) if stateful else None, step=step)
                try:
                    next_obs, rewards, terminated, truncated, infos = envs.step(actions)
                except EnvCrash as exc:
                    crashed = True
                    raise EnvError(f"{exc} at step {step}; the run stopped and its last checkpoint "
                                   "is intact: fix the env, then resume with --resume") from None
                nvalid = int(valid.sum())
                if nvalid:
                    _check_finite("the observation", next_obs, step)
                    _check_finite("the reward", rewards, step)
                    if nvalid == n:
                        batch = Transitions(obs, actions, rewards, next_obs, terminated, truncated,
                                            np.arange(n), mask)
                    else:
                        idx = np.flatnonzero(valid)
                        batch = Transitions(obs[idx], actions[idx], rewards[idx], next_obs[idx],
                                            terminated[idx], truncated[idx], idx,
                                            None if mask is None else mask[idx])
                    calls.observe(batch, step)
                    new = calls.update(step)
                    if new:
                        for k, v in new.items():
                            if not math.isfinite(float(v)):
                                raise NonFiniteError(
                                    f"non-finite {k}={v} at step {step}: lower the learning rate or "
                                    "clip gradients; the last checkpoint holds only finite weights")
                        metrics.update({k: float(v) for k, v in new.items()})
                step += nvalid
                obs = next_obs
                starting = autoreset  # the rows autoreset by this step now show a reset observation
                autoreset = np.logical_or(terminated, truncated)
                if "_episode" in infos:
                    for i in np.flatnonzero(infos["_episode"]):
                        r, ln = float(infos["episode"]["r"][i]), int(infos["episode"]["l"][i])
                        recent_r.append(r)
                        recent_l.append(ln)
                        episodes += 1
                        logger.write_event({"episode/return": r, "episode/length": ln}, step)
                evaluated, target_reached = None, False
                if evaluator.due(step, episodes):
                    stats, _ = evaluator.evaluate(agent, step, episodes)
                    evaluated = {f"eval/{k}": getattr(stats, k) for k in ("mean", "std", "min", "max")}
                    target_reached = evaluator.reached(stats)
                if step >= next_log or evaluated:
                    log_row(evaluated)
                    while next_log <= step:
                        next_log += spec.log_every
                at_boundary = bool(autoreset.all())
                if run_dir is not None and spec.checkpoint_every and step >= next_ckpt:
                    overdue = step >= next_ckpt + spec.checkpoint_every
                    if at_boundary or overdue:
                        while next_ckpt <= step:
                            next_ckpt += spec.checkpoint_every
                        save_checkpoint(run_dir, agent, loop_state(at_boundary), step)
                if target_reached:  # SB3's StopTrainingOnRewardThreshold: a finished run
                    stopped_by = StopReason.STOP_AT_EVAL
                    break
                # On SIGINT/SIGTERM, finish the current episodes (at most a few seconds) so the
                # final checkpoint sits at an episode boundary and a resume is exact.
                if signals.received is not None and (at_boundary or time.perf_counter() - signals.t >= GRACE_S):
                    stopped_by, signal_number = StopReason.SIGNAL, signals.received
                    break
                if stop_after_steps is not None and step >= stop_after_steps and at_boundary:
                    stopped_by = StopReason.STOP_AFTER_STEPS
                    break
    finally:
        bar.close()
        evaluator.close()
        envs.close(**({"terminate": True} if crashed and spec.vectorization == "async" else {}))

    wall = time.perf_counter() - start
    finished = stopped_by.finished
    if finished and step > last_log:
        log_row()  # the last step always gets a row, so short runs can be plotted too
    if run_dir is not None:
        save_checkpoint(run_dir, agent, loop_state(bool(autoreset.all())), step)
        if finished:
            save_final_agent(run_dir, agent, step)
    evaluation, best_agent, best_evaluation = None, None, None
    if finished and spec.eval_episodes:
        evaluation, best_agent, best_evaluation = _final_evaluations(spec, agent, evaluator, step,
                                                                     run_dir, logger)
    evaluator.cleanup()
    if run_dir is not None:
        write_json_atomic(run_dir / SUMMARY_FILE, {
            "steps": step, "episodes": episodes, "finished": finished, "stopped_by": stopped_by.value,
            "wall_time_s": prior_wall + wall,
            "recent_mean_return": float(np.mean(recent_r)) if recent_r else None,
            "evaluation_mean": evaluation.mean if evaluation else None,
            "best_step": evaluator.best_step, "best_periodic_eval_mean": evaluator.best_mean,
            "best_evaluation_mean": best_evaluation.mean if best_evaluation else None,
        })
    logger.close()
    if stopped_by is StopReason.SIGNAL:
        where = f"; resume with: gymkit train --resume --run-dir {run_dir}" if run_dir else ""
        print(f"stopped by signal {signal_number} at step {step}{where}", file=sys.stderr)
    return TrainResult(run_dir, agent, step, episodes, wall, evaluation,
                       float(np.mean(recent_r)) if recent_r else None, signal_number, stopped_by,
                       best_agent, best_evaluation, evaluator.best_step, evaluator.best_mean)


def _final_evaluations(spec: RunSpec, agent: Any, evaluator: PeriodicEvaluator, step: int,
                       run_dir: Path | None, logger: Logger) -> tuple[EvalStats, Any, EvalStats | None]:
    """Score the final agent, and the best one when kept, on the same fresh episodes.

    Both play the final evaluation's stream (seed + 1), which the periodic evaluations that
    chose the best agent never saw, so neither score is biased by the selection.
    """
    from gymkit.agents.base import Agent

    def score(who: Any, name: str, at: int) -> EvalStats:
        stats = evaluate_agent(who, spec.env, episodes=spec.eval_episodes, seed=spec.seed + 1,
                               env_kwargs=spec.env_kwargs, wrappers=spec.wrappers)
        stats.agent, stats.step = name, at
        return stats

    evaluation = score(agent, "final", step)
    logger.write_event({f"eval/{k}": getattr(evaluation, k) for k in ("mean", "std", "min", "max")}, step)
    if run_dir is not None:
        write_json_atomic(run_dir / EVAL_FILE, evaluation.to_dict())
    if not (spec.keep_best and evaluator.has_best()):
        return evaluation, None, None
    verify_folder(evaluator.best_dir)
    best_agent = Agent.load(evaluator.best_dir)
    best = score(best_agent, "best", int(read_best_info(evaluator.best_dir)["step"]))
    logger.write_event({f"best_eval/{k}": getattr(best, k) for k in ("mean", "std", "min", "max")}, step)
    if run_dir is not None:
        write_json_atomic(run_dir / BEST_EVAL_FILE, best.to_dict())
    return evaluation, best_agent, best


def _action_mask(infos: dict[str, Any], n: int) -> np.ndarray | None:
    mask = infos.get("action_mask")
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    present = infos.get("_action_mask")
    if present is not None and not np.all(present):
        mask = mask.copy()
        mask[~np.asarray(present, dtype=bool)] = True  # no mask for that env: allow everything
    return mask.reshape(n, -1)

