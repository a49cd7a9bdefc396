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

import sys
import time
from pathlib import Path
from typing import Any

from gymkit.agent_files import load_agent
from gymkit.agents.calls import AgentCalls, construct_agent
from gymkit.checkpoint import (
    CONFIG_FILE,
    check_run_dir_free,
    latest_checkpoint,
    load_loop_state,
    prepare_new_run_dir,
    read_best_info,
    read_run_config,
    remove_temporaries,
    require_run_dir,
    save_final_agent,
    verify_folder,
    write_json_atomic,
    write_yaml_atomic,
)
from gymkit.envs.factory import make_env, never_reset
from gymkit.errors import RunDirError, SpaceError
from gymkit.evaluation import BEST_EVAL_FILE, EVAL_FILE, EvalStats, evaluate_agent
from gymkit.logging import Logger
from gymkit.loop_types import Signals, StopReason, TrainResult
from gymkit.periodic_eval import PeriodicEvaluator
from gymkit.run_config import RunSpec, resolve_run, resumed_settings, versions
from gymkit.runner import GRACE_S, RECENT, LoopState, NonFiniteError, Runner

SUMMARY_FILE = "summary.json"

__all__ = ["GRACE_S", "RECENT", "SUMMARY_FILE", "LoopState", "NonFiniteError", "Signals", "StopReason",
           "TrainResult", "train"]

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
        agent_obj = _build_agent(spec, agent_cls, agent_config, probe, run_dir)
        # the probe, if nothing reset it (bind_env may not), becomes the first sub-env of a
        # sync vector env: one env fewer to make (an Atari ROM load); else it is closed here
        spare = probe if spec.vectorization == "sync" and never_reset(probe) else None
        if spare is None:
            probe.close()
        runner = _start(spec, agent_cls, agent_obj, run_dir, resume, progress, stop_after_steps, sinks, spare)
    except BaseException:
        probe.close()  # idempotent: a vector env that took it closes it again harmlessly
        raise
    stopped_by, signal_number = runner.run()
    return _finish(runner, stopped_by, signal_number)


def _build_agent(spec: RunSpec, agent_cls: Any, agent_config: Any, probe: Any, run_dir: Path | None) -> Any:
    """The agent, built for the probe env's spaces (checked first) and bound to it."""
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
    return agent_obj


def _start(spec: RunSpec, agent_cls: Any, agent_obj: Any, run_dir: Path | None, resume: bool,
           progress: bool | None, stop_after_steps: int | None, sinks: tuple[Any, ...],
           first_env: Any) -> Runner:
    """The loop's state (fresh, or the latest checkpoint's), the run directory, the runner."""
    state = LoopState.fresh(spec)
    if resume:
        folder = latest_checkpoint(run_dir)
        if folder is None:
            raise RunDirError(f"{run_dir} has no checkpoint to resume from: start a new run with another --run-dir")
        verify_folder(folder)
        state = LoopState.from_dict(load_loop_state(folder))
        agent_obj = load_agent(folder, agent_cls)
        AgentCalls.of(agent_obj)
        remove_temporaries(run_dir)  # only once everything read has been accepted
    elif run_dir is not None:
        prepare_new_run_dir(run_dir)  # every check has passed: only now is anything written
        write_yaml_atomic(run_dir / CONFIG_FILE, {**spec.to_dict(), "versions": versions()})

    return Runner(spec, agent_obj, state, run_dir, progress, stop_after_steps, sinks, first_env)


def _finish(runner: Runner, stopped_by: StopReason, signal_number: int | None) -> TrainResult:
    """After the loop: the last row and checkpoint, the final agent, its evaluations, summary.json."""
    spec, s, run_dir, agent, evaluator = runner.spec, runner.s, runner.run_dir, runner.agent, runner.evaluator
    end_training = getattr(agent, "end_training", None)  # plugins need not subclass Agent
    if end_training is not None:
        end_training()
    wall = time.perf_counter() - runner.start
    finished = stopped_by.finished
    if finished and s.step > s.last_log:
        runner.log_row()  # the last step always gets a row, so short runs can be plotted too
    if run_dir is not None:
        runner.checkpoint()
        if finished:
            save_final_agent(run_dir, agent, s.step)
    evaluation, best_agent, best_evaluation = None, None, None
    if finished and spec.eval_episodes:
        evaluation, best_agent, best_evaluation = _final_evaluations(spec, agent, evaluator, s.step,
                                                                     run_dir, runner.logger)
    evaluator.cleanup()
    if run_dir is not None:
        write_json_atomic(run_dir / SUMMARY_FILE, {
            "steps": s.step, "episodes": s.episodes, "finished": finished, "stopped_by": stopped_by.value,
            "wall_time_s": runner.prior_wall + wall, "recent_mean_return": s.recent_mean_return(),
            "evaluation_mean": evaluation.mean if evaluation else None,
            "best_step": evaluator.best_step, "best_periodic_eval_mean": evaluator.best_mean,
            "best_evaluation_mean": best_evaluation.mean if best_evaluation else None,
        })
    runner.logger.close()
    if stopped_by is StopReason.SIGNAL:
        where = f"; resume with: gymkit train --resume --run-dir {run_dir}" if run_dir else ""
        print(f"stopped by signal {signal_number} at step {s.step}{where}", file=sys.stderr)
    return TrainResult(run_dir, agent, s.step, s.episodes, wall, evaluation, s.recent_mean_return(),
                       signal_number, stopped_by, best_agent, best_evaluation, evaluator.best_step,
                       evaluator.best_mean)


def _final_evaluations(spec: RunSpec, agent: Any, evaluator: PeriodicEvaluator, step: int,
                       run_dir: Path | None, logger: Logger) -> tuple[EvalStats, Any, EvalStats | None]:
    """Score the final agent, and the best one when kept, on the same fresh episodes.

    Both play the final evaluation's stream (seed + 1), which the periodic evaluations that
    chose the best agent never saw, so neither score is biased by the selection.
    """

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
    best_agent = load_agent(evaluator.best_dir)
    best = score(best_agent, "best", int(read_best_info(evaluator.best_dir)["step"]))
    logger.write_event({f"best_eval/{k}": getattr(best, k) for k in ("mean", "std", "min", "max")}, step)
    if run_dir is not None:
        write_json_atomic(run_dir / BEST_EVAL_FILE, best.to_dict())
    return evaluation, best_agent, best
