"""Replay memory: each frame stored once, stacks rebuilt within episodes, wraparound, saving."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import FrameStackObservation

from gymkit.errors import ConfigError, RunDirError
from gymkit.replay import METADATA_BYTES, ReplayMemory, budget


class CounterEnv(gym.Env):
    """2x2 uint8 frames that encode (episode id, step) so every frame is unique.

    Episodes last 1-7 steps and end by termination or truncation at random.
    """

    observation_space = gym.spaces.Box(0, 255, (2, 2), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def __init__(self, env_id: int) -> None:
        self.env_id, self.episode, self.t, self.length = env_id, -1, 0, 0

    def _frame(self) -> np.ndarray:
        return np.array([[self.env_id, self.episode % 256], [self.episode // 256, self.t]], np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        self.length = int(self.np_random.integers(1, 8))
        self.truncates = bool(self.np_random.random() < 0.5)
        return self._frame(), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.length
        return (self._frame(), float(10 * self.t + action), done and not self.truncates,
                done and self.truncates, {})


def drive(memory: ReplayMemory, n_envs: int, steps: int, stack: int, padding: str = "reset"):
    """Step ``n_envs`` stacked CounterEnvs in lockstep, storing every transition; return them
    keyed by their observation's newest frame (unique)."""
    envs = [FrameStackObservation(CounterEnv(i), stack, padding_type=padding) for i in range(n_envs)]
    obs = [env.reset(seed=i)[0] for i, env in enumerate(envs)]
    seen = {}
    rng = np.random.default_rng(0)
    for _ in range(steps):
        rows = []
        for i, env in enumerate(envs):
            a = int(rng.integers(3))
            nxt, r, term, trunc, _ = env.step(a)
            rows.append((obs[i], a, r, nxt, term, trunc, i))
            seen[obs[i][-1].tobytes()] = (obs[i], a, r, nxt, term, trunc)
            obs[i] = env.reset()[0] if term or trunc else nxt
        cols = list(zip(*rows, strict=True))
        memory.add(np.stack(cols[0]), np.array(cols[1]), np.array(cols[2]), np.stack(cols[3]),
                   np.array(cols[4]), np.array(cols[5]), np.array(cols[6]))
    return seen


@pytest.mark.parametrize("n_envs,padding", [(1, "reset"), (2, "reset"), (2, "zero")])
def test_stacks_rebuilt_exactly_across_episode_boundaries_and_wraparound(n_envs, padding):
    memory = ReplayMemory(30 * n_envs, (3, 2, 2), np.uint8, stack_size=3, padding=padding,
                          num_streams=n_envs)
    seen = drive(memory, n_envs, steps=200, stack=3, padding=padding)  # wraps ~7 times
    assert memory.filled.tolist() == [30] * n_envs
    slots = np.flatnonzero(memory._sampleable(np.arange(memory.capacity)))
    assert len(slots) > 20 * n_envs
    for slot in slots:
        obs = memory.stack(np.array([slot]))[0]
        stored = seen[obs[-1].tobytes()]
        np.testing.assert_array_equal(obs, stored[0])  # the stack the agent saw, padding included
        assert memory.actions[slot] == stored[1] and memory.rewards[slot] == stored[2]
    # Sampled next observations equal the env's, and no stack mixes two episodes.
    batch = memory.sample(np.random.default_rng(1), 500, discount=0.9)
    for obs, nxt, term, trunc in zip(batch.observations, batch.next_observations,
                                     batch.terminated, batch.truncated, strict=True):
        stored = seen[obs[-1].tobytes()]
        assert (term, trunc) == (stored[4], stored[5])
        if not term:
            np.testing.assert_array_equal(nxt, stored[3])
        real = obs if padding == "reset" else obs[obs.reshape(3, -1).any(axis=1)]
        assert len({(f[0, 0], f[0, 1], f[1, 0]) for f in real}) == 1  # one env, one episode


@pytest.mark.parametrize("frame_shape,stack,padding", [
    ((2, 2), 3, "reset"), ((2, 2), 3, "zero"),  # grey frames: (k, H, W) -> (H, W, k)
    ((2, 2, 3), 2, "zero"),                     # colour frames: (k, H, W, C) -> (H, W, k * C)
    ((3, 2, 2), 1, "reset"),                    # no stacking: a channels-first image
])
def test_channels_last_samples_are_the_same_draws_with_the_stack_axis_moved_last(frame_shape, stack, padding):
    """What a CNN's channels-last view takes: the same transitions, each observation's first
    axis moved last (merged with a trailing channel axis), zero padding included."""
    shape = (stack, *frame_shape) if stack > 1 else frame_shape
    memory = ReplayMemory(40, shape, np.uint8, stack_size=stack, padding=padding)
    rng = np.random.default_rng(3)
    obs = rng.integers(1, 256, shape, dtype=np.uint8)
    for t in range(60):  # episodes of 7 steps, so stacks start padded
        nxt = rng.integers(1, 256, shape, dtype=np.uint8)
        end = t % 7 == 6
        memory.add(obs[None], np.array([t % 3]), np.array([1.0]), nxt[None], np.array([end]), np.array([False]))
        obs = rng.integers(1, 256, shape, dtype=np.uint8) if end else nxt
    plain = memory.sample(np.random.default_rng(9), 64, 0.9, n_step=3)
    last = memory.sample(np.random.default_rng(9), 64, 0.9, n_step=3, channels_last=True)
    k, height, width = shape[:3]
    assert last.observations.shape == (64, height, width, k * int(np.prod(shape[3:], dtype=int)))
    for got, want in ((last.observations, plain.observations), (last.next_observations, plain.next_observations)):
        moved = np.moveaxis(want, 1, 3).reshape(got.shape)
        np.testing.assert_array_equal(got, moved)
        assert got.flags.c_contiguous
    if padding == "zero":
        assert (plain.observations.reshape(64, k, -1) == 0).all(axis=2).any()  # padding was sampled
    for name in ("actions", "rewards", "discounts", "terminated", "truncated"):
        np.testing.assert_array_equal(getattr(last, name), getattr(plain, name))


def test_terminal_and_truncated_transitions_cost_and_discount():
    memory = ReplayMemory(16, (3,), np.float32)
    obs = np.arange(3, dtype=np.float32)
    # Episode 1: two steps, terminated. Episode 2: one step, truncated (final obs stored).
    memory.add(obs[None], np.array([0]), np.array([1.0]), (obs + 1)[None], [False], [False])
    memory.add((obs + 1)[None], np.array([1]), np.array([2.0]), (obs + 2)[None], [True], [False])
    memory.add((obs + 5)[None], np.array([2]), np.array([3.0]), (obs + 6)[None], [False], [True])
    assert len(memory) == 3
    assert memory.filled[0] == 4  # episode 1: 2 slots (no final frame); episode 2: 1 + its final frame
    batch = memory.sample(np.random.default_rng(0), 64, discount=0.9)
    for nxt, r, d, term, trunc in zip(batch.next_observations, batch.rewards,
                                            batch.discounts, batch.terminated, batch.truncated, strict=True):
        if r == 2.0:
            assert term and not trunc and d == 0.0  # never bootstrap on termination
        elif r == 3.0:
            assert trunc and d == pytest.approx(0.9)  # bootstrap on truncation ...
            np.testing.assert_array_equal(nxt, obs + 6)  # ... from the final observation
        else:
            assert d == pytest.approx(0.9)
            np.testing.assert_array_equal(nxt, obs + 1)


def test_n_step_returns_stop_at_episode_end():
    memory = ReplayMemory(16, (1,), np.float32)
    rewards = [1.0, 2.0, 4.0]
    for t, r in enumerate(rewards):
        memory.add(np.array([[t]], np.float32), np.array([0]), np.array([r]),
                   np.array([[t + 1]], np.float32), [t == 2], [False])
    batch = memory.sample(np.random.default_rng(0), 200, discount=0.5, n_step=2)
    by_start = {float(o[0]): (float(r), float(d), float(n[0])) for o, r, d, n in zip(
        batch.observations, batch.rewards, batch.discounts, batch.next_observations, strict=True)}
    assert by_start[0.0] == (1.0 + 0.5 * 2.0, 0.25, 2.0)  # two steps, bootstrap from s_2
    assert by_start[1.0][:2] == (2.0 + 0.5 * 4.0, 0.0)  # window ends at the terminal step
    assert by_start[2.0][:2] == (4.0, 0.0)


def test_bytes_per_transition_is_one_frame_plus_metadata():
    memory = ReplayMemory(1000, (4, 88, 80), np.uint8, stack_size=4)
    assert memory.bytes_per_slot == 88 * 80 + METADATA_BYTES <= 88 * 80 + 16
    assert memory.nbytes == 1000 * memory.bytes_per_slot


def test_refuses_what_does_not_fit(monkeypatch):
    monkeypatch.setattr(budget, "available_memory_bytes", lambda: 2 * 2**30)
    with pytest.raises(ConfigError, match="needs 6.56 GiB .* only 2.00 GiB is available: give a smaller replay_memory_size"):
        ReplayMemory(1_000_000, (4, 88, 80), np.uint8, stack_size=4)
    ReplayMemory(100_000, (4, 88, 80), np.uint8, stack_size=4)  # 0.66 GiB fits


def test_save_and_load_restore_contents_and_cursor(tmp_path):
    memory = ReplayMemory(40, (2, 2, 2), np.uint8, stack_size=2, num_streams=2)
    drive(memory, 2, steps=50, stack=2)
    memory.save(tmp_path / "replay")
    restored = ReplayMemory(40, (2, 2, 2), np.uint8, stack_size=2, num_streams=2)
    restored.load(tmp_path / "replay")
    for name in ("frames", "actions", "rewards", "flags", "cursor", "filled", "open"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(memory, name))
    a = memory.sample(np.random.default_rng(3), 32, 0.9)
    b = restored.sample(np.random.default_rng(3), 32, 0.9)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(RunDirError, match=r"has shape \(40,.*expected \(20,"):
        ReplayMemory(20, (2, 2, 2), np.uint8, stack_size=2, num_streams=2).load(tmp_path / "replay")
