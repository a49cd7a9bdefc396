"""``run_sweep``: the sampled configurations times the seeds, as Ray Tune trials.

Layout of a sweep directory::

    SWEEP_DIR/space.yaml           the space file, as given
    SWEEP_DIR/trials/c003_s1/      trial = configuration 3, seed 1: an ordinary run directory
    SWEEP_DIR/attempts/c003_s1.jsonl   one line per attempt (pid, host, fresh or resumed)
    SWEEP_DIR/ray/                 Tune's experiment state and per-trial result logs
    SWEEP_DIR/sweep.json           configurations, trials, scores, the best
    SWEEP_DIR/best.yaml            the best configuration as a preset
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymkit.checkpoint import check_run_dir_free
from gymkit.errors import ConfigError, GymkitError
from gymkit.sweep import results as res
from gymkit.sweep.space import Variant, check_variants, load_space, sample_variants
from gymkit.sweep.trainable import run_trial, tune_trial_name

INSTALL_HINT = "gymkit sweep needs Ray Tune, which is not installed: pip install 'gymkit[ray]'"


def require_ray() -> None:
    """Raise a one-line :class:`GymkitError` with the install command when Ray is missing."""
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        raise GymkitError(INSTALL_HINT) from None


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns."""

    sweep_dir: Path
    variants: list[Variant]
    trials: list[res.TrialOutcome]
    scores: list[res.ConfigScore]
    best: res.ConfigScore | None
    best_preset: Path | None
    wall_time_s: float


def default_sweep_dir(agent: str, env: str) -> Path:
    from gymkit.checkpoint import timestamped_dir

    return timestamped_dir("sweeps", f"{agent}_{env}")


def _scheduler(kind: str, variants: list[Variant], grace: int | None) -> Any:
    if kind == "fifo":
        from ray.tune.schedulers import FIFOScheduler

        return FIFOScheduler()
    if kind != "asha":
        raise ConfigError(f"--scheduler {kind!r} is not known: choose asha or fifo")
    from ray.tune.schedulers import ASHAScheduler

    by_episodes = {v.train.get("episodes") is not None for v in variants}
    if len(by_episodes) > 1:
        raise ConfigError("ASHA needs one budget unit: give every configuration steps, or every one episodes")
    time_attr = "episodes" if by_episodes.pop() else "step"
    budgets = [int(v.train["episodes"] if time_attr == "episodes" else v.train.get("steps") or 10_000)
               for v in variants]
    max_t = max(budgets)
    grace = grace or max(1, max_t // 4)
    if not 0 < grace < max_t:
        raise ConfigError(f"--grace-period {grace} must be between 0 and the budget ({max_t} {time_attr})")
    # Rungs at grace * 2^k: each keeps the better half of the trials that reach it, judged
    # by the recent training return (return_mean, what metrics.csv logs).
    return ASHAScheduler(time_attr=time_attr, metric="return_mean", mode="max", max_t=max_t,
                         grace_period=grace, reduction_factor=2)


def _start_ray(address: str | None, num_cpus: int | None, num_gpus: int | None) -> bool:
    """Start a local Ray (default) or join a cluster; True when this call started Ray."""
    import ray

    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    if address:
        if num_cpus or num_gpus:
            raise ConfigError("--num-cpus/--num-gpus size a local Ray; a cluster has its own: drop them with --address")
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, TimeoutError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GymkitError(f"cannot join the Ray cluster at --address {address} ({first}): start it with "
                              "`ray start --head` and check `ray status`, or drop --address for a local Ray") from None
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), num_gpus=num_gpus, **quiet)
    return True


def _echo_callback(total: int) -> Any:
    """A Tune callback printing one line per finished, failed or retried trial."""
    from ray.tune import Callback

    class Echo(Callback):
        def __init__(self) -> None:
            self.done, self.t0 = 0, time.perf_counter()

        def _line(self, trial: Any, text: str) -> None:
            print(f"[{time.perf_counter() - self.t0:7.1f} s] {trial}: {text}", flush=True)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.done += 1
            mean = trial.last_result.get("eval_mean")
            self._line(trial, f"done ({self.done}/{total})" + (
                f", eval mean {mean:.4g}" if mean is not None else ", stopped early by the scheduler"))

        def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._line(trial, "failed (worker died or raised); retrying from its last checkpoint")

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.done += 1
            self._line(trial, f"failed for good ({self.done}/{total}); see {trial.local_path}")

    return Echo()


def run_sweep(
    agent: str | None, env: str | None, space: str | Path, *, sweep_dir: str | Path | None = None,
    seeds: int = 1, samples: int = 1, scheduler: str = "fifo", address: str | None = None,
    num_cpus: int | None = None, num_gpus: int | None = None, cpus_per_trial: float = 1,
    gpus_per_trial: float = 0, max_concurrent: int | None = None, max_failures: int = 2,
    search_seed: int = 0, grace_period: int | None = None, command: str = "gymkit sweep",
    verbose: bool = True,
) -> SweepResult:
    """Run every sampled configuration with seeds 0..seeds-1 as Ray Tune trials.

    Args:
        agent, env: the agent and env (default: the space file's).
        space: the search-space YAML (format: :mod:`gymkit.sweep.space`).
        sweep_dir: where everything is written (must be new or empty).
        seeds: seeds per configuration. samples: random draws per grid point.
        scheduler: ``fifo`` (every trial runs its budget) or ``asha`` (early stopping).
        address: None for a local Ray, ``auto`` or ``ray://HOST:10001`` to join a cluster.
        num_cpus, num_gpus: size of the local Ray (default: this machine's CPUs).
        cpus_per_trial, gpus_per_trial: resources Ray reserves for each trial.
        max_concurrent: at most this many trials at once (default: as resources allow).
        max_failures: retries of a trial whose worker dies or raises.
        search_seed: seeds the sampling of configurations.
        grace_period: ASHA's first rung, in steps or episodes (default: a quarter of the budget).
        command: the command line, recorded in best.yaml.
        verbose: print one line per trial and the summary table.
    """
    require_ray()
    if seeds < 1 or samples < 1:
        raise ConfigError("--seeds and --samples must be >= 1")
    if not cpus_per_trial > 0 or gpus_per_trial < 0:
        raise ConfigError(f"--cpus-per-trial {cpus_per_trial} must be > 0 and --gpus-per-trial {gpus_per_trial} >= 0")
    spec = load_space(space)
    agent, env = agent or spec.agent, env or spec.env
    if not agent or not env:
        raise ConfigError("a sweep needs an agent and an env: pass --agent and --env, or set them in the space file")
    variants = sample_variants(spec, samples, search_seed)
    check_variants(agent, env, spec, variants)
    sched = _scheduler(scheduler, variants, grace_period)
    sweep_dir = Path(sweep_dir) if sweep_dir is not None else default_sweep_dir(agent.split(":")[-1], env)
    check_run_dir_free(sweep_dir)

    from ray import tune

    started = _start_ray(address, num_cpus, num_gpus)  # before anything is written
    t0 = time.perf_counter()
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        sweep_dir = sweep_dir.resolve()  # trials run with another working directory
        shutil.copyfile(space, sweep_dir / "space.yaml")
        job = {"agent": agent, "env": env, "wrappers": spec.wrappers, "sweep_dir": str(sweep_dir),
               "cpus_per_trial": cpus_per_trial}
        trainable = tune.with_resources(tune.with_parameters(run_trial, job=job),
                                        {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
        total = len(variants) * seeds
        tuner = tune.Tuner(
            trainable,
            param_space={"variant": tune.grid_search([v.to_dict() for v in variants]),
                         "seed": tune.grid_search(list(range(seeds)))},
            tune_config=tune.TuneConfig(scheduler=sched, num_samples=1, max_concurrent_trials=max_concurrent,
                                        reuse_actors=True,
                                        trial_name_creator=tune_trial_name,
                                        trial_dirname_creator=tune_trial_name),
            run_config=tune.RunConfig(name="ray", storage_path=str(sweep_dir),
                                      failure_config=tune.FailureConfig(max_failures=max_failures),
                                      verbose=0, callbacks=[_echo_callback(total)] if verbose else []),
        )
        grid = tuner.fit()
        status: dict[tuple[int, int], tuple[str, str | None]] = {}
        for r in grid:
            key = (int(r.config["variant"]["id"]), int(r.config["seed"]))
            if r.error is not None:
                status[key] = ("error", str(r.error).strip().splitlines()[-1][:300])
            else:
                status[key] = ("stopped early", None)
    finally:
        if started:
            import ray

            ray.shutdown()
    wall = time.perf_counter() - t0

    trials = [res.trial_outcome(sweep_dir, v.id, s, *status.get((v.id, s), ("not run", None)))
              for v in variants for s in range(seeds)]
    scores = res.score_configs(variants, trials, seeds)
    best = res.choose_best(scores)
    best_path = None
    if best is not None:
        best_path = sweep_dir / res.BEST_FILE
        res.write_best_preset(best_path, agent, env, variants[best.variant], best, spec.wrappers, command)
    res.write_sweep_json(sweep_dir, {"agent": agent, "env": env, "seeds": seeds, "samples": samples,
                                     "scheduler": scheduler, "search_seed": search_seed,
                                     "wall_time_s": wall, "command": command},
                         variants, trials, scores, best)
    if verbose:
        res.print_table(scores, trials, best)
        failed = [t for t in trials if t.status == "error"]
        for t in failed:
            print(f"trial {t.name} failed: {t.error}", file=sys.stderr)
        print(f"{len(trials)} trials in {wall:.1f} s; run directories under {sweep_dir / 'trials'}")
        print(f"best configuration: {best_path} (gymkit train --preset {best_path})" if best_path
              else "no trial finished, so there is no best configuration")
    return SweepResult(sweep_dir, variants, trials, scores, best, best_path, wall)
