"""Tabular agents' figures: Q-Learning on the book MDP, FrozenLake-v1 and Taxi-v4.

Usage::

    python bench/tabular_exploration.py book      [--seeds 10] [--steps 300000]
    python bench/tabular_exploration.py frozenlake [--seeds 3]
    python bench/tabular_exploration.py taxi       [--seeds 3]

``book`` runs the shipped QLearningAgent on gymkit/BookMDP-v0 with each exploration
policy and measures, per seed:

- steps to optimal: the first step after which the greedy policy equals Q-Value
  Iteration's at every remaining step of the run (checked after every update);
- the largest error ``max |Q - Q*|`` at the end;

at discount 0.9 (where the decisions have clear margins) and at the book's 0.95 (where
state s1's two actions are within 0.06 of each other). It also reports the book preset
(20,000 steps, alpha0 0.05, decay 0.1) following Equation 16-5, and the listing's swapped
update for comparison. ``frozenlake`` and ``taxi`` train the shipped presets and compare the
greedy policy with the planning agent's over 1,000 evaluation episodes.

Prints Markdown (paste into bench/results/tabular.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymkit  # noqa: E402
from gymkit.config import load_preset  # noqa: E402
from gymkit.envs.book_mdp import R, T  # noqa: E402
from gymkit.tabular_model import model_from_arrays, q_value_iteration  # noqa: E402
from tests.tabular_driver import drive, evaluate  # noqa: E402

BOOK = "gymkit/BookMDP-v0"

#: The exploration settings compared on the book MDP (besides the discount).
BOOK_CONFIGS = {
    "random": {"exploration": "random"},
    "epsilon-greedy": {"exploration": "epsilon-greedy", "eps_max": 1.0, "eps_min": 0.1, "eps_decay_steps": 20_000},
    "exploration-function": {"exploration": "exploration-function", "curiosity": 300.0},
}


def book_rate(discount: float) -> dict:
    """The learning rate they share: alpha = 1 / (1 + (1 - gamma) N(s, a)), per pair."""
    return {"learning_rate0": 1.0, "learning_rate_decay": round(1 - discount, 6),
            "learning_rate_schedule": "per-pair"}


def make(name: str, env: gym.Env, config: dict, seed: int):
    return gymkit.make_agent(name, env.observation_space, env.action_space, config, seed=seed)


def steps_to_optimal(config: dict, discount: float, steps: int, seed: int) -> tuple[int, float]:
    """(first step after which the greedy policy stays optimal, final max |Q - Q*|)."""
    Q_star = q_value_iteration(model_from_arrays(T, R), discount, 5000, 1e-12)
    optimal, finite = Q_star.argmax(axis=1), np.isfinite(Q_star)
    env = gym.make(BOOK)
    agent = make("q-learning", env, {**config, "discount_rate": discount}, seed)
    last_bad = [0]

    def check(t: int) -> None:
        if not np.array_equal(agent.Q.argmax(axis=1), optimal):
            last_bad[0] = t

    drive(env, agent, steps, seed=seed, on_step=check)
    return last_bad[0], float(np.max(np.abs(agent.Q[finite] - Q_star[finite])))


def book_listing(n_iterations: int, seed: int) -> np.ndarray:
    """The book's Q-Learning listing as printed (alpha and 1 - alpha swapped), for comparison."""
    rng = np.random.default_rng(seed)
    possible_actions = [[0, 1, 2], [0, 2], [1]]
    Q = np.full((3, 3), -np.inf)
    for state, actions in enumerate(possible_actions):
        Q[state, actions] = 0.0
    s = 0
    for iteration in range(n_iterations):
        a = rng.choice(possible_actions[s])
        sp = rng.choice(range(3), p=T[s, a])
        learning_rate = 0.05 / (1 + iteration * 0.1)
        Q[s, a] = learning_rate * Q[s, a] + (1 - learning_rate) * (R[s, a, sp] + 0.95 * np.max(Q[sp]))
        s = sp
    return Q


def bench_book_preset(seeds: int) -> None:
    """The book's settings, following Eq. 16-5 (gymkit) and as the listing prints them."""
    Q95 = q_value_iteration(model_from_arrays(T, R), 0.95, 5000, 1e-12)
    finite = np.isfinite(Q95)
    print("### The book's settings: 20,000 random steps, alpha0 0.05, decay 0.1, discount 0.95\n")
    print("| update | seed | max abs(Q - Q*) | greedy policy |\n|---|---|---|---|")
    env = gym.make(BOOK)
    preset = load_preset("q-learning-bookmdp")
    for seed in range(seeds):
        agent = make("q-learning", env, preset.config, seed)
        drive(env, agent, preset.train["steps"], seed=seed)
        err = np.max(np.abs(agent.Q[finite] - Q95[finite]))
        print(f"| Eq. 16-5 (gymkit) | {seed} | {err:.2f} | {agent.Q.argmax(axis=1).tolist()} |")
    for seed in range(seeds):
        Q = book_listing(20_000, seed)
        err = np.max(np.abs(Q[finite] - Q95[finite]))
        print(f"| the listing (swapped) | {seed} | {err:.2f} | {Q.argmax(axis=1).tolist()} |")
    print(f"\nQ-Value Iteration: {Q95.round(2).tolist()}\n")


def bench_book(seeds: int, steps: int, discounts: list[float], preset_table: bool) -> None:
    print("## Q-Learning on the book MDP (gymkit/BookMDP-v0)\n")
    if preset_table:
        bench_book_preset(min(seeds, 5))
    for discount in discounts:
        print(f"### Steps to the optimal policy, discount {discount}, {steps:,} steps per run, seeds 0-{seeds - 1}\n")
        print(f"Learning rate: {book_rate(discount)}.\n")
        print("| exploration | settings | runs optimal at the end | steps to optimal: median | min-max "
              "| final max abs(Q - Q*): median | wall s |")
        print("|---|---|---|---|---|---|---|")
        for name, cfg in BOOK_CONFIGS.items():
            t0 = time.perf_counter()
            res = [steps_to_optimal({**book_rate(discount), **cfg}, discount, steps, s) for s in range(seeds)]
            reached = [r[0] for r in res if r[0] < steps]
            med = f"{int(np.median([r[0] for r in res])):,}" if len(reached) > seeds // 2 else "not reached"
            span = f"{min(reached):,}-{max(reached):,}" if reached else "-"
            settings = ", ".join(f"{k} {v}" for k, v in cfg.items() if k != "exploration") or "-"
            print(f"| {name} | {settings} | {len(reached)}/{seeds} | {med} | {span} | "
                  f"{np.median([r[1] for r in res]):.2f} | {time.perf_counter() - t0:.0f} |", flush=True)
        print()


def bench_solve(env_id: str, learner: str, planner: str, seeds: int, what: str) -> None:
    env = gym.make(env_id)
    plan_preset, learn_preset = load_preset(planner), load_preset(learner)
    plan = make(plan_preset.agent, env, plan_preset.config, 0)
    plan.bind_env(env)
    ref = evaluate(env, plan, 1000, seed=1000)
    print(f"## {env_id}: preset `{learner}` against `{planner}` (1,000 greedy episodes, env seed 1000)\n")
    print(f"Planning agent ({plan_preset.config}): {what} {ref.mean():.3f}\n")
    print(f"| seed | steps | {what} | difference from the planner | wall s |\n|---|---|---|---|---|")
    for seed in range(seeds):
        agent = make(learn_preset.agent, env, learn_preset.config, seed)
        t0 = time.perf_counter()
        drive(env, agent, learn_preset.train["steps"], seed=seed)
        wall = time.perf_counter() - t0
        got = evaluate(env, agent, 1000, seed=1000).mean()
        print(f"| {seed} | {learn_preset.train['steps']:,} | {got:.3f} | {got - ref.mean():+.3f} | {wall:.0f} |",
              flush=True)
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("book", "frozenlake", "taxi"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100_000, help="steps per run (book)")
    parser.add_argument("--discounts", type=float, nargs="+", default=[0.9], help="discount rates (book)")
    parser.add_argument("--no-preset", action="store_true", help="skip the book preset's table (book)")
    args = parser.parse_args(argv)
    print(f"Command: `python bench/tabular_exploration.py {' '.join(sys.argv[1:])}`, "
          f"{time.strftime('%Y-%m-%d')}\n")
    if args.what == "book":
        bench_book(args.seeds, args.steps, args.discounts, not args.no_preset)
    elif args.what == "frozenlake":
        bench_solve("FrozenLake-v1", "q-learning-frozenlake", "q-iteration-frozenlake", args.seeds, "success rate")
    else:
        bench_solve("Taxi-v4", "q-learning-taxi", "q-iteration-taxi", args.seeds, "mean return")


if __name__ == "__main__":
    main()
