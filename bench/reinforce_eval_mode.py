"""Greedy vs sampled evaluation of REINFORCE policies, part-way through training and at the end.

For each seed, trains a preset with ``gymkit.train`` for each budget in ``--episodes`` (a
fresh run per budget, same seed, so each budget's agent is what a user training that long
gets) and evaluates the trained policy both ways on the same ``--eval-episodes`` episodes
(seed 30_000 + seed): greedy (argmax) and sampled from the softmax. On CartPole it also
counts how evaluation episodes ended: the pole fell, the cart left the screen (|x| > 2.4),
or the time limit.

    python bench/reinforce_eval_mode.py --preset reinforce-cartpole --episodes 100 200 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import datetime
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import gymkit
from gymkit.config import load_preset
from gymkit.envs.factory import make_env

X_LIMIT, THETA_LIMIT = 2.4, 12 * 2 * np.pi / 360  # CartPole's termination thresholds


def play(agent, env, episodes: int, seed: int) -> tuple[list[float], dict[str, int]]:
    """Returns and, for CartPole, why each episode ended."""
    returns, ends = [], {"pole fell": 0, "off screen": 0, "time limit": 0}
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs[None], explore=False)[0])
            total += reward
            done = terminated or truncated
        if truncated and not terminated:
            ends["time limit"] += 1
        elif abs(obs[0]) > X_LIMIT:
            ends["off screen"] += 1
        else:
            ends["pole fell"] += 1
        returns.append(total)
        obs, _ = env.reset()
    return returns, ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="reinforce-cartpole")
    parser.add_argument("--episodes", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--eval-episodes", type=int, default=50)
    args = parser.parse_args()
    preset = load_preset(args.preset)
    print(f"# {args.preset} on {preset.env}: greedy vs sampled evaluation over {args.eval_episodes} "
          f"episodes, {datetime.date.today()}")
    print("| train episodes | seed | greedy mean | sampled mean | greedy ends (fell/off/limit) "
          "| sampled ends (fell/off/limit) | train s |")
    print("|---|---|---|---|---|---|---|")
    summary: dict[int, list[tuple[float, float]]] = {}
    for budget in args.episodes:
        for seed in args.seeds:
            result = gymkit.train(preset=args.preset, episodes=budget, seed=seed, eval_episodes=0,
                                  progress=False)
            agent, row = result.agent, {}
            for mode in ("greedy", "sample"):
                agent.config = agent.config.replace(eval_mode=mode)
                env = make_env(preset.env, preset.env_kwargs, preset.wrappers)
                row[mode] = play(agent, env, args.eval_episodes, 30_000 + seed)
                env.close()
            g, s = (float(np.mean(row[m][0])) for m in ("greedy", "sample"))
            summary.setdefault(budget, []).append((g, s))
            ends = {m: "/".join(str(v) for v in row[m][1].values()) for m in row}
            print(f"| {budget} | {seed} | {g:.1f} | {s:.1f} | {ends['greedy']} | {ends['sample']} "
                  f"| {result.wall_time_s:.1f} |", flush=True)
    for budget, pairs in summary.items():
        g, s = np.median(pairs, axis=0)
        wins = sum(a >= b for a, b in pairs)
        print(f"\n{budget} episodes: median greedy {g:.1f}, median sampled {s:.1f}; "
              f"greedy >= sampled for {wins}/{len(pairs)} seeds")


if __name__ == "__main__":
    main()
