"""Benchmark 2: replay bytes per stored transition for Ms. Pac-Man observations.

Ours (:class:`gymkit.replay.ReplayMemory`) against Stable-Baselines3's ``ReplayBuffer`` with
and without ``optimize_memory_usage``, and the book's design (a deque of float64
``(state, action, reward, next_state, continue)`` tuples) as arithmetic. Each buffer is
built in a fresh subprocess and filled with ``--fill`` real transitions; reported are the
bytes its arrays hold per slot (``nbytes / capacity``) and the resident memory the process
gained while allocating and filling it, per stored transition.

    python bench/replay_bytes.py --capacity 20000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

OBSERVATIONS = {
    "book 88x80 frame": (88, 80),
    "88x80, 4 stacked": (4, 88, 80),
    "Nature 84x84, 4 stacked": (4, 84, 84),
}


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(kind: str, shape: tuple[int, ...], capacity: int) -> dict:
    """Build one buffer, fill it with ``capacity`` transitions, report its footprint."""
    import gymnasium as gym

    rng = np.random.default_rng(0)
    stacked = len(shape) == 3
    frames = rng.integers(0, 256, size=(64, *shape[-2:]), dtype=np.uint8)

    def observation(t: int) -> np.ndarray:
        if not stacked:
            return frames[t % 64]
        return np.stack([frames[(t - i) % 64] for i in range(shape[0] - 1, -1, -1)])

    # Import first, so that the libraries' own memory is not counted as the buffer's.
    if kind == "gymkit":
        from gymkit.replay import ReplayMemory
    else:
        from stable_baselines3.common.buffers import ReplayBuffer
    observation(0), observation(1)
    before = rss_bytes()
    if kind == "gymkit":
        buf = ReplayMemory(capacity, shape, np.uint8, stack_size=shape[0] if stacked else 1)
        for t in range(capacity):
            done = t % 500 == 499
            buf.add(observation(t)[None], np.array([t % 9]), np.array([1.0]), observation(t + 1)[None],
                    np.array([done]), np.array([False]))
        nbytes = buf.nbytes
    else:
        space = gym.spaces.Box(0, 255, shape, np.uint8)
        buf = ReplayBuffer(capacity, space, gym.spaces.Discrete(9), device="cpu",
                           optimize_memory_usage=kind == "sb3-optimized", handle_timeout_termination=False)
        for t in range(capacity):
            buf.add(observation(t)[None], observation(t + 1)[None], np.array([[t % 9]]), np.array([1.0]),
                    np.array([t % 500 == 499]), [{}])
        nbytes = sum(getattr(buf, name).nbytes for name in
                     ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
                     if getattr(buf, name, None) is not None)
    gained = rss_bytes() - before
    return {"kind": kind, "shape": shape, "capacity": capacity, "bytes_per_transition": nbytes / capacity,
            "rss_per_transition": gained / capacity}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capacity", type=int, default=20_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, label = args.child
        print(json.dumps(child(kind, OBSERVATIONS[label], args.capacity)))
        return
    print(f"Bytes per stored transition ({args.capacity:,} transitions, arrays / resident memory gained)\n")
    print("| observation | book (float64 x2, computed) | SB3 ReplayBuffer | SB3 optimize_memory_usage | gymkit ReplayMemory |")
    print("|---|---|---|---|---|")
    for label, shape in OBSERVATIONS.items():
        cells = [f"{int(np.prod(shape)) * 8 * 2 + 3 * 8:,}"]
        for kind in ("sb3", "sb3-optimized", "gymkit"):
            out = subprocess.run([sys.executable, __file__, "--capacity", str(args.capacity), "--child", kind, label],
                                 capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            cells.append(f"{r['bytes_per_transition']:,.0f} / {r['rss_per_transition']:,.0f}")
        print(f"| {label} ({'x'.join(map(str, shape))}) | " + " | ".join(cells) + " |", flush=True)
    one = 88 * 80
    print(f"\nTarget: one 88x80 frame + 16 B = {one + 16:,} B; 1M transitions of ours: "
          f"{(one + 9) * 1_000_000 / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
