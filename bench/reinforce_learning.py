"""REINFORCE learning benchmark: episodes and wall time until a greedy evaluation passes a bar.

For each seed: build the agent from a preset, train it with the same protocol as
``gymkit.loop.train`` (a one-env SyncVectorEnv, NEXT_STEP autoreset rows never shown to
the agent), and every ``--eval-every`` updates run ``gymkit.evaluation.evaluate_agent``
(``--eval-episodes`` episodes, evaluation seed 10_000 + seed). A seed succeeds at the
first evaluation whose mean reaches ``--target``: its episodes and training wall time
(evaluations excluded) are reported. With ``--stop`` the run ends there; otherwise it
goes on to ``--max-episodes`` (evaluating every ``--eval-every-after`` updates once the
target was reached), and the report adds the share of later evaluations at the target
and a final evaluation of ``--final-episodes`` episodes in each mode, greedy and sampled.

    python bench/reinforce_learning.py --preset reinforce-cartpole --seeds 0 1 2 3 4
    python bench/reinforce_learning.py --preset reinforce-acrobot --target -100
    python bench/reinforce_learning.py --preset reinforce-cartpole-book --max-episodes 2500 --target 1000
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import gymkit
from gymkit.agents.base import Transitions
from gymkit.config import load_preset, parse_set
from gymkit.envs.factory import make_env, make_vector_env
from gymkit.evaluation import evaluate_agent


def run_seed(preset, seed: int, overrides: dict, args) -> dict:
    env_id = args.env or preset.env
    env_kwargs = preset.env_kwargs
    probe = make_env(env_id, env_kwargs, preset.wrappers)
    agent = gymkit.make_agent(preset.agent, probe.observation_space, probe.action_space,
                              {**preset.config, **overrides}, seed=seed)
    envs = make_vector_env(env_id, 1, "sync", env_kwargs, preset.wrappers)
    obs, _ = envs.reset(seed=seed)
    autoreset = np.zeros(1, bool)
    train_time, evals, best = 0.0, [], -np.inf
    reached = None
    t0 = time.perf_counter()
    every = args.eval_every
    while agent.episodes < args.max_episodes:
        valid = ~autoreset
        actions = agent.act(obs, explore=True) if valid.all() else envs.action_space.sample()
        next_obs, rewards, terminated, truncated, _ = envs.step(actions)
        if valid.all():
            agent.observe(Transitions(obs, actions, rewards, next_obs, terminated, truncated, np.arange(1)))
            metrics = agent.update()
            if metrics and agent.updates % every == 0:
                train_time += time.perf_counter() - t0
                stats = evaluate_agent(agent, env_id, episodes=args.eval_episodes, seed=10_000 + seed,
                                       env_kwargs=env_kwargs, wrappers=preset.wrappers)
                evals.append((agent.episodes, stats.mean))
                best = max(best, stats.mean)
                if args.verbose:
                    print(f"  seed {seed} episodes {agent.episodes} batch {metrics['batch_return_mean']:.1f} "
                          f"eval {stats.mean:.1f} ({train_time:.0f}s)", flush=True)
                if stats.mean >= args.target and reached is None:
                    reached = (agent.episodes, agent.steps, train_time, stats.mean)
                    evals = []
                    every = args.eval_every_after
                    if args.stop:
                        break
                t0 = time.perf_counter()
        obs, autoreset = next_obs, np.logical_or(terminated, truncated)
    else:
        train_time += time.perf_counter() - t0
    envs.close()
    out = {"seed": seed, "reached": reached, "episodes": agent.episodes, "steps": agent.steps,
           "train_time": train_time, "best": best, "last": evals[-1][1] if evals else float("nan"),
           "after": (float(np.mean([m >= args.target for _, m in evals])) if reached and evals
                     else float("nan"))}
    if not args.stop:
        for mode in ("greedy", "sample"):
            agent.config = agent.config.replace(eval_mode=mode)
            out[mode] = evaluate_agent(agent, env_id, episodes=args.final_episodes, seed=20_000 + seed,
                                       env_kwargs=env_kwargs, wrappers=preset.wrappers).mean
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="reinforce-cartpole")
    parser.add_argument("--env", default=None, help="env id (default: the preset's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--target", type=float, default=475.0)
    parser.add_argument("--max-episodes", type=int, default=2000)
    parser.add_argument("--eval-every", type=int, default=1, help="updates between evaluations")
    parser.add_argument("--eval-every-after", type=int, default=5,
                        help="updates between evaluations once the target was reached")
    parser.add_argument("--stop", action="store_true", help="stop each seed when it reaches the target")
    parser.add_argument("--final-episodes", type=int, default=100)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--set", action="append", default=[], help="config override key=value")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    preset = load_preset(args.preset)
    overrides = parse_set(args.set)
    print(f"# {args.preset} on {args.env or preset.env}, target eval mean >= {args.target} over "
          f"{args.eval_episodes} greedy/eval-mode episodes, {datetime.date.today()}, overrides {overrides}")
    print("| seed | reached | episodes | env steps | train wall s | eval mean then | later evals at target "
          "| final greedy | final sampled | total episodes | total train s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for seed in args.seeds:
        r = run_seed(preset, seed, overrides, args)
        rows.append(r)
        ok = r["reached"] is not None
        eps, steps, wall, mean = r["reached"] if ok else (r["episodes"], r["steps"], r["train_time"], r["last"])
        if not ok:
            mean = r["best"]  # never reached: the best evaluation seen
        print(f"| {seed} | {'yes' if ok else 'no'} | {eps} | {steps} | {wall:.1f} | {mean:.1f} "
              f"| {r['after']:.0%} | {r.get('greedy', float('nan')):.1f} | {r.get('sample', float('nan')):.1f} "
              f"| {r['episodes']} | {r['train_time']:.1f} |", flush=True)
    n_ok = sum(r["reached"] is not None for r in rows)
    print(f"\n{n_ok}/{len(rows)} seeds reached {args.target}")


if __name__ == "__main__":
    main()
