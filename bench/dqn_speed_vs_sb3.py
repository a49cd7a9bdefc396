"""Issue 17's three speed ratios, gymkit's DQN against Stable-Baselines3's, side by side in one run.

1. **Ms. Pac-Man learning phase**: ``ALE/MsPacman-v5`` (frameskip 1), the Nature preprocessing
   (no-op starts, 4-frame skip with max-pooling, 84x84 grey) and a 4-frame stack, the Nature
   CNN, batch 32, one update every 4 agent steps from step 1,000, plain DQN (no Double, no
   dueling, 1-step targets), Huber loss, gradient norm 10, Adam 1e-4 (epsilon 1.5e-4), gamma
   0.99, the target network refreshed after every update, epsilon 1 -> 0.01 over 5,000 steps,
   replay 20,000. The learning phase is env steps 1,001 to 4,000 (750 updates): env steps
   per second of wall time.
2. **The first 1,000 Ms. Pac-Man steps**, counting everything from the library's first call:
   making the env, building the networks, acting, and the first update at step 1,000 (with
   TensorFlow's tracing of the update; SB3 has none to do). Both libraries' imports are done
   before the clock starts (gymkit imports TensorFlow lazily, so this script imports it first,
   as importing SB3 imports PyTorch).
3. **CartPole-v1**: the ``dqn-cartpole`` preset (zoo settings plus Double DQN and the learning
   rate decay) against SB3 with the zoo settings, 50,000 steps, no evaluation on the clock;
   env steps per second of the whole call (building and tracing included); median of the seeds.

The libraries alternate run by run in one process each, SB3 with ``torch.set_num_threads``
equal to TensorFlow's default of one thread per core. What each measures is printed with
the CPU model, and a JSON line per run is appended to ``--out``.

    pip install -e ".[bench]"          # SB3 and PyTorch (CPU)
    python bench/dqn_speed_vs_sb3.py                    # all three, seeds 0 1 2
    python bench/dqn_speed_vs_sb3.py --only atari --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from gymkit.agents.dqn import DQNAgent  # noqa: E402

ATARI_ID = "ALE/MsPacman-v5"
#: where the first phase ends and the learning phase starts (the clock is read after this step)
WARMUP = 1_000
ATARI_STEPS = 4_000
ATARI = dict(training_start=WARMUP, training_interval=4, double_dqn=False, dueling=False, n_step=1,
             replay_memory_size=20_000)
CARTPOLE_STEPS = 50_000


class ClockedDQN(DQNAgent):
    """DQNAgent that notes the wall clock once its env step count passes ``WARMUP``."""

    warm_at: float | None = None

    def observe(self, batch):  # type: ignore[no-untyped-def]
        super().observe(batch)
        if self.env_steps > WARMUP and self.warm_at is None:
            self.warm_at = time.perf_counter()


#: extra gymkit settings for both benches (``--gymkit-set``), e.g. ``overlap=true``
EXTRA: dict = {}


def gymkit_atari(seed: int) -> dict:
    from gymkit.config import load_preset
    from gymkit.loop import train

    preset = load_preset("dqn-mspacman")
    t0 = time.perf_counter()
    result = train(f"{Path(__file__).stem}:ClockedDQN", ATARI_ID, config={**preset.config, **ATARI, **EXTRA},
          env_kwargs=preset.env_kwargs, wrappers=preset.wrappers, steps=ATARI_STEPS, seed=seed,
          eval_episodes=0, checkpoint_every=0, progress=False)
    _check_complete(result.steps, ATARI_STEPS)
    return _atari_row("gymkit", seed, t0, result.agent.warm_at, time.perf_counter())


def sb3_atari(seed: int) -> dict:
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.atari_wrappers import AtariWrapper
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    class Clock(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps > WARMUP and "warm" not in marks:
                marks["warm"] = time.perf_counter()
            return True

    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    # gymkit's preset keeps lives in one episode and rewards unclipped; so does this env
    venv = VecFrameStack(DummyVecEnv([lambda: AtariWrapper(gym.make(ATARI_ID, frameskip=1),
                                                           terminal_on_life_loss=False,
                                                           clip_reward=False)]), 4)
    model = DQN("CnnPolicy", venv, learning_rate=1e-4, buffer_size=ATARI["replay_memory_size"],
                # SB3 trains once num_timesteps > learning_starts: 999 puts its first update at
                # step 1,000, where gymkit's training_start 1,000 puts it
                learning_starts=WARMUP - 1, batch_size=32, gamma=0.99, train_freq=4, gradient_steps=1,
                target_update_interval=4,  # env steps: after every update, as copy_steps 1
                exploration_fraction=5_000 / ATARI_STEPS, exploration_initial_eps=1.0,
                exploration_final_eps=0.01, max_grad_norm=10.0,
                policy_kwargs={"optimizer_kwargs": {"eps": 1.5e-4}}, seed=seed, device="cpu", verbose=0)
    model.learn(ATARI_STEPS, callback=Clock())
    return _atari_row("sb3", seed, t0, marks["warm"], time.perf_counter())


def _atari_row(lib: str, seed: int, t0: float, warm: float, end: float) -> dict:
    return {"bench": "atari", "lib": lib, "seed": seed, "first_1000_s": warm - t0,
            "learning_s": end - warm, "learning_steps_per_s": (ATARI_STEPS - WARMUP) / (end - warm)}


def gymkit_cartpole(seed: int) -> dict:
    from gymkit.config import load_preset
    from gymkit.loop import train

    preset = load_preset("dqn-cartpole")
    t0 = time.perf_counter()
    result = train("dqn", "CartPole-v1", config={**preset.config, **EXTRA}, steps=CARTPOLE_STEPS, seed=seed,
                   eval_episodes=0, eval_every=0, checkpoint_every=0, progress=False)
    _check_complete(result.steps, CARTPOLE_STEPS)
    return _cartpole_row("gymkit", seed, time.perf_counter() - t0)


def _check_complete(steps: int, budget: int) -> None:
    """A run stopped early (SIGINT/SIGTERM ends gymkit's loop cleanly) has no speed to report."""
    if steps < budget:
        raise SystemExit(f"the gymkit run stopped at step {steps} of {budget}: no figure recorded")


def sb3_cartpole(seed: int) -> dict:
    import gymnasium as gym
    from stable_baselines3 import DQN

    t0 = time.perf_counter()
    from dqn_cartpole_vs_sb3 import sb3_zoo_cartpole

    model = DQN("MlpPolicy", gym.make("CartPole-v1"), **sb3_zoo_cartpole(), seed=seed, device="cpu",
                verbose=0)
    model.learn(CARTPOLE_STEPS)
    return _cartpole_row("sb3", seed, time.perf_counter() - t0)


def _cartpole_row(lib: str, seed: int, wall: float) -> dict:
    return {"bench": "cartpole", "lib": lib, "seed": seed, "wall_s": wall,
            "steps_per_s": CARTPOLE_STEPS / wall}


def cpu_model() -> str:
    """The CPU's name, family, model and vector width (two "AMD EPYC" hosts differ), and cores."""
    from gymkit.machine import cpu_label

    return f"{cpu_label()}, {os.cpu_count()} cores"


def ratio(rows: list[dict], bench: str, key: str) -> tuple[float, list[float]]:
    """gymkit / SB3 per seed (runs of one seed pair up), and their median."""
    g = {r["seed"]: r[key] for r in rows if r["bench"] == bench and r["lib"] == "gymkit"}
    s = {r["seed"]: r[key] for r in rows if r["bench"] == bench and r["lib"] == "sb3"}
    per_seed = [g[k] / s[k] for k in sorted(g) if k in s]
    return (statistics.median(per_seed) if per_seed else float("nan")), per_seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=["atari", "cartpole"], default=None)
    parser.add_argument("--out", default="/tmp/dqn_speed_vs_sb3.jsonl")
    parser.add_argument("--libs", nargs="+", choices=["gymkit", "sb3"], default=["gymkit", "sb3"])
    parser.add_argument("--gymkit-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a gymkit DQN setting in both benches (repeatable)")
    args = parser.parse_args()
    from gymkit.config import parse_set

    EXTRA.update(parse_set(args.gymkit_set))
    t = time.perf_counter()
    import stable_baselines3  # noqa: F401
    import torch

    from gymkit.tf_import import tensorflow

    tf = tensorflow()

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"# {cpu_model()}; TensorFlow {tf.__version__}, PyTorch {torch.__version__}, "
          f"imports {time.perf_counter() - t:.1f} s (off the clock)", flush=True)
    runs = []
    if args.only in (None, "atari"):
        runs += [(f, s) for s in args.seeds for f in (gymkit_atari, sb3_atari) if f.__name__.split("_")[0] in args.libs]
    if args.only in (None, "cartpole"):
        runs += [(f, s) for s in args.seeds for f in (gymkit_cartpole, sb3_cartpole)
                 if f.__name__.split("_")[0] in args.libs]
    rows = []
    with open(args.out, "a", encoding="utf-8") as fh:
        for fn, seed in runs:
            row = fn(seed)
            row["cpu"] = cpu_model()
            row["gymkit_set"] = EXTRA
            rows.append(row)
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            shown = {k: round(v, 2) for k, v in row.items() if isinstance(v, float)}
            print(f"{row['bench']:8s} {row['lib']:6s} seed {seed}: {shown}", flush=True)
    print()
    checks = []
    if args.only in (None, "atari"):
        checks += [("Ms. Pac-Man learning phase (env steps/s)", "atari", "learning_steps_per_s", 2.0, False),
                   ("Ms. Pac-Man first 1,000 steps (speed = 1 / time)", "atari", "first_1000_s", 0.8, True)]
    if args.only in (None, "cartpole"):
        checks += [("CartPole-v1 dqn-cartpole, 50,000 steps (env steps/s)", "cartpole", "steps_per_s", 4.0, False)]
    for label, bench, key, goal, inverse in checks:
        med, per_seed = ratio(rows, bench, key)
        if inverse:  # a time: the speed ratio is SB3's time over gymkit's
            med, per_seed = 1 / med, [1 / r for r in per_seed]
        verdict = "meets" if med >= goal else "MISSES"
        print(f"{label}: gymkit/SB3 = {med:.2f} (per seed {', '.join(f'{r:.2f}' for r in per_seed)}); "
              f"goal {goal}: {verdict}")


if __name__ == "__main__":
    main()
