"""Benchmark 3 (wrapper half): Ms. Pac-Man steps/s through gymkit's wrappers against raw ALE.

Runs, in one process and interleaved (round-robin, so that load on this shared machine hits
every configuration alike), ``--steps`` random-action steps of each configuration per
round, ``--repeats`` rounds; the ratio wrapped/raw is taken within each round and the
median of the rounds is reported.

Configurations:

* ``raw``: ``gym.make("ALE/MsPacman-v5")`` (v5: frameskip 4, sticky actions).
* ``book``: raw + SkipStart(90) + MsPacmanPreprocessing (the ``dqn-mspacman-book`` stack).
* ``book+stack4``: ``book`` + FrameStackObservation(4).
* ``mspacman``: raw + MsPacmanPreprocessing alone (the preprocessing's own cost).
* ``nature``: frameskip-1 env + AtariPreprocessing(84x84, skip 4) + FrameStackObservation(4)
  (the ``dqn-mspacman`` stack), for reference.
* ``nature-cpp``: the same recipe in ale-py's C++ ``AtariVectorEnv`` (one env, one thread;
  :func:`gymkit.envs.atari.make_atari_vector_env`), for reference.

Two rates per configuration: agent steps/s (what an agent sees) and ALE steps/s, counting
the SkipStart no-ops too (ALE steps = frames / 4, read from ``info["frame_number"]``).
SkipStart replaces ~90 agent steps per episode with no-ops, which is not overhead, so the
wrapper overhead is the ALE-steps ratio; both are printed. Each is timed by the wall
clock and by this process's CPU time (``time.process_time``): on a machine shared with
other jobs the wall clock mostly measures waiting for a core, CPU time the work done.

Also times :func:`preprocess_observation` alone on a real frame (median of repeats, CPU us),
beside a NumPy transcription of the book's float version.

Usage::

    python bench/wrappers_speed.py --steps 3000 --repeats 7
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import timeit
from datetime import date

import gymnasium as gym
import numpy as np

from gymkit.envs.atari import make_atari_vector_env, register_atari_envs
from gymkit.wrappers import apply_wrappers
from gymkit.wrappers.mspacman import preprocess_observation

CONFIGS: dict[str, tuple[dict, list]] = {
    "raw": ({}, []),
    "book": ({}, [{"skip-start": {"skip_start": 90}}, "mspacman"]),
    "book+stack4": (
        {},
        [{"skip-start": {"skip_start": 90}}, "mspacman", {"frame-stack": {"stack_size": 4}}],
    ),
    "mspacman": ({}, ["mspacman"]),
    "nature": (
        {"frameskip": 1},
        [
            {"atari": {"noop_max": 30, "frame_skip": 4, "screen_size": 84}},
            {"frame-stack": {"stack_size": 4}},
        ],
    ),
    "nature-cpp": ({}, []),  # built by make_atari_vector_env, see make()
}


def make(name: str) -> gym.Env | gym.vector.VectorEnv:
    if name == "nature-cpp":
        return make_atari_vector_env("ALE/MsPacman-v5", num_envs=1, num_threads=1)
    env_kwargs, wrappers = CONFIGS[name]
    return apply_wrappers(gym.make("ALE/MsPacman-v5", **env_kwargs), wrappers)


def run(env: gym.Env, actions: np.ndarray) -> dict[str, float]:
    """Step ``env`` through ``actions`` (resetting at episode ends); steps/s by both clocks.

    Returns agent and ALE steps per second of wall time and of this process's CPU time.
    CPU time leaves out the time spent waiting for a core, which on a shared machine is most
    of the noise; the env, ALE and the wrappers all run in this one thread.
    """
    if isinstance(env, gym.vector.VectorEnv):  # one sub-env, autoreset inside
        _, info = env.step(actions[:1])[-2:]
        start_frames = int(info["frame_number"][0])
        batched = actions[:, None]
        wall, cpu = time.perf_counter(), time.process_time()
        for action in batched:
            *_, info = env.step(action)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        ale_steps = (int(info["frame_number"][0]) - start_frames) / 4
    else:
        _, info = env.reset()
        start_frames = info["frame_number"]
        wall, cpu = time.perf_counter(), time.process_time()
        for action in actions:
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                _, info = env.reset()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        ale_steps = (info["frame_number"] - start_frames) / 4
    return {
        "agent_wall": len(actions) / wall,
        "ale_wall": ale_steps / wall,
        "agent_cpu": len(actions) / cpu,
        "ale_cpu": ale_steps / cpu,
    }


def bench_preprocessing(repeats: int) -> dict[str, float]:
    env = apply_wrappers(gym.make("ALE/MsPacman-v5"), [{"skip-start": {"skip_start": 90}}])
    obs, _ = env.reset(seed=0)
    env.close()
    mspacman_color = np.array([210, 164, 74]).mean()

    def book(obs: np.ndarray) -> np.ndarray:  # the book's function, scaling fixed
        img = obs[1:176:2, ::2]
        img = img.mean(axis=2)
        img[img == mspacman_color] = 0
        img = img / 127.5 - 1
        return img.reshape(88, 80, 1)

    out = {}
    for label, fn in [
        ("gymkit uint8", lambda: preprocess_observation(obs)),
        ("gymkit scale='book' float32", lambda: preprocess_observation(obs, scale="book")),
        ("book's NumPy float64", lambda: book(obs)),
    ]:
        number = 2000
        times = timeit.repeat(fn, number=number, repeat=repeats, timer=time.process_time)
        out[label] = statistics.median(times) / number * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=3000, help="agent steps per configuration per round"
    )
    parser.add_argument("--repeats", type=int, default=7, help="rounds (medians are over these)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    register_atari_envs()
    envs = {name: make(name) for name in CONFIGS}
    for i, env in enumerate(envs.values()):
        env.reset(seed=args.seed + i)
    actions = np.random.default_rng(args.seed).integers(0, 9, args.steps)
    run(envs["raw"], actions[:200])  # warm-up
    rates: dict[str, list[dict[str, float]]] = {name: [] for name in CONFIGS}
    for r in range(args.repeats):
        order = list(CONFIGS)[r % len(CONFIGS) :] + list(CONFIGS)[: r % len(CONFIGS)]
        for name in order:
            rates[name].append(run(envs[name], actions))
    print(
        f"# wrappers_speed {date.today()} python {platform.python_version()} "
        f"gymnasium {gym.__version__} steps={args.steps} repeats={args.repeats}"
    )
    print(
        "| configuration | agent steps/s wall | agent steps/s CPU | ALE steps/s CPU | "
        "ratio agent steps CPU | ratio ALE steps CPU | ratio ALE steps wall |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    raw = rates["raw"]
    for name, values in rates.items():

        def median(key: str, values: list[dict[str, float]] = values) -> float:
            return statistics.median(v[key] for v in values)

        def ratio(key: str, clock: str, values: list[dict[str, float]] = values) -> float:
            # Within each round, against raw agent steps/s (= raw ALE steps/s) of the same clock.
            pairs = zip(values, raw, strict=True)
            return statistics.median(v[f"{key}_{clock}"] / r[f"agent_{clock}"] for v, r in pairs)

        print(
            f"| {name} | {median('agent_wall'):,.0f} | {median('agent_cpu'):,.0f} | "
            f"{median('ale_cpu'):,.0f} | {ratio('agent', 'cpu'):.3f} | "
            f"{ratio('ale', 'cpu'):.3f} | {ratio('ale', 'wall'):.3f} |"
        )
    print()
    print("| preprocessing, one frame | median CPU us |")
    print("|---|---:|")
    for label, us in bench_preprocessing(args.repeats).items():
        print(f"| {label} | {us:.1f} |")


if __name__ == "__main__":
    main()
