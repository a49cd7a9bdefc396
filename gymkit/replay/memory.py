"""A circular replay memory that stores each frame once (Dopamine's design).

Storage is one *slot* per environment step, per env stream::

    frames[i]   the newest frame of the observation the action was taken in (uint8 for images)
    actions[i]  int32      rewards[i]  float32      flags[i]  uint8 (VALID, FIRST, TERMINATED, TRUNCATED)

so a stored transition costs one frame plus 9 bytes. The next observation is slot ``i + 1``
(written in the same call), so it costs nothing extra, except when an episode is cut short
by a time limit: its final observation is needed to bootstrap from and takes one more slot
(that slot is not a transition). A terminated episode needs no final observation at all.

Frame stacks (``stack_size`` > 1, observations shaped ``(stack_size, *frame_shape)`` as
Gymnasium's ``FrameStackObservation`` makes them) are rebuilt at sampling time by walking
back from the slot; a stack never crosses an episode's first slot: the missing frames are
padded with the episode's first frame (``padding="reset"``, Gymnasium's default) or with
zeros (``padding="zero"``), so the rebuilt stacks are exactly the ones the agent saw.

With several envs (``num_streams`` > 1) the capacity is split into one contiguous ring per
env stream, so each stream's steps stay in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gymkit.errors import ConfigError
from gymkit.replay.budget import check_memory, slot_bytes
from gymkit.replay.flags import FIRST, TERMINATED, TRUNCATED, VALID
from gymkit.replay.layout import planes_last
from gymkit.replay.samples import ReplaySample
from gymkit.replay.sequences import SequenceSample, sample_sequences

__all__ = ["FIRST", "TERMINATED", "TRUNCATED", "VALID", "ReplayMemory", "ReplaySample"]
_ARRAYS = ("frames", "actions", "rewards", "flags")


class ReplayMemory:
    """Circular replay memory storing each frame once.

    Args:
        capacity: slots in all (the book's ``replay_memory_size``).
        observation_shape: shape of one (possibly stacked) observation.
        dtype: observation dtype; float64 observations are stored as float32.
        stack_size: frames per observation (1: the observation is stored whole).
        padding: ``"reset"`` or ``"zero"``: how stacks are padded at an episode's start.
        num_streams: independent env streams (the vector env's ``num_envs``).
        memory_fraction: refuse to allocate more than this fraction of available memory.
    """

    def __init__(
        self,
        capacity: int,
        observation_shape: tuple[int, ...],
        dtype: Any = np.float32,
        *,
        stack_size: int = 1,
        padding: str = "reset",
        num_streams: int = 1,
        memory_fraction: float = 0.9,
    ) -> None:
        observation_shape = tuple(int(d) for d in observation_shape)
        if stack_size > 1 and (not observation_shape or observation_shape[0] != stack_size):
            raise ConfigError(
                f"stacked observations must be shaped (stack_size={stack_size}, ...), got "
                f"{observation_shape}: stack frames with FrameStackObservation"
            )
        if padding not in ("reset", "zero"):
            raise ConfigError(f"replay padding={padding!r} is not allowed: use 'reset' or 'zero'")
        self.stream_capacity = int(capacity) // int(num_streams)
        if self.stream_capacity < stack_size + 2:
            raise ConfigError(
                f"replay_memory_size={capacity} is too small for {num_streams} env(s): "
                f"give at least {(stack_size + 2) * num_streams}"
            )
        self.capacity = self.stream_capacity * int(num_streams)
        self.observation_shape = observation_shape
        self.stack_size = int(stack_size)
        self.padding = padding
        self.num_streams = int(num_streams)
        self.frame_shape = observation_shape[1:] if stack_size > 1 else observation_shape
        self.dtype = np.dtype(np.float32 if np.dtype(dtype) == np.float64 else dtype)
        self.bytes_per_slot = self.slot_bytes(observation_shape, self.dtype, self.stack_size)
        self.check_memory(self.capacity, self.bytes_per_slot, memory_fraction)
        self.frames = np.zeros((self.capacity, *self.frame_shape), dtype=self.dtype)
        self.actions = np.zeros(self.capacity, dtype=np.int32)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.flags = np.zeros(self.capacity, dtype=np.uint8)
        self.cursor = np.zeros(self.num_streams, dtype=np.int64)  # next slot, per stream
        self.filled = np.zeros(self.num_streams, dtype=np.int64)  # slots written, per stream
        self.open = np.zeros(self.num_streams, dtype=bool)  # an episode is being written

    @staticmethod
    def slot_bytes(observation_shape: tuple[int, ...], dtype: Any, stack_size: int = 1) -> int:
        """Bytes one stored transition takes: one frame plus the metadata."""
        return slot_bytes(observation_shape, dtype, stack_size)

    @staticmethod
    def check_memory(capacity: int, bytes_per_slot: int, memory_fraction: float = 0.9) -> None:
        """Raise ConfigError when ``capacity`` slots would not fit in available memory."""
        check_memory(capacity, bytes_per_slot, memory_fraction)

    # -- writing ----------------------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        """Bytes held by the storage arrays."""
        return sum(getattr(self, name).nbytes for name in _ARRAYS)

    def __len__(self) -> int:
        """Stored transitions (slots flagged VALID)."""
        return int(np.count_nonzero(self.flags & VALID))

    def _newest(self, observations: np.ndarray) -> np.ndarray:
        return observations[:, -1] if self.stack_size > 1 else observations

    def _write_frames(self, streams: np.ndarray, frames: np.ndarray, flags: int | np.ndarray) -> np.ndarray:
        slots = streams * self.stream_capacity + self.cursor[streams]
        self.frames[slots] = frames
        self.flags[slots] = flags
        self.cursor[streams] = (self.cursor[streams] + 1) % self.stream_capacity
        self.filled[streams] = np.minimum(self.filled[streams] + 1, self.stream_capacity)
        return slots

    def add(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        streams: np.ndarray | None = None,
    ) -> None:
        """Store a batch of transitions, at most one per stream (rows of a vector env step)."""
        n = len(actions)
        if n == 1:  # one env: the same steps with scalars, several times cheaper per step
            self._add_one(observations[0], actions[0], rewards[0], next_observations[0],
                          bool(terminated[0]), bool(truncated[0]), 0 if streams is None else int(streams[0]))
            return
        streams = np.arange(n) if streams is None else np.asarray(streams, dtype=np.int64)
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool) & ~terminated
        # Streams starting an episode first write its first frame, flagged FIRST.
        starting = ~self.open[streams]
        if starting.any():
            first = self._newest(np.asarray(observations)[starting])
            self._write_frames(streams[starting], first, FIRST)
        # The slot just before each cursor holds the current frame: complete its transition.
        current = streams * self.stream_capacity + (self.cursor[streams] - 1) % self.stream_capacity
        self.actions[current] = actions
        self.rewards[current] = rewards
        ends = np.where(terminated, TERMINATED, 0) | np.where(truncated, TRUNCATED, 0)
        self.flags[current] |= (VALID | ends).astype(np.uint8)
        # The next frame goes in the following slot, unless the episode terminated (not needed).
        keep = ~terminated
        if keep.any():
            self._write_frames(streams[keep], self._newest(np.asarray(next_observations)[keep]), 0)
        self.open[streams] = ~(terminated | truncated)

    def _write_one(self, stream: int, frame: np.ndarray, flags: int) -> None:
        cursor = int(self.cursor[stream])
        slot = stream * self.stream_capacity + cursor
        self.frames[slot] = frame
        self.flags[slot] = flags
        self.cursor[stream] = (cursor + 1) % self.stream_capacity
        self.filled[stream] = min(int(self.filled[stream]) + 1, self.stream_capacity)

    def _add_one(self, obs: np.ndarray, action: Any, reward: Any, next_obs: np.ndarray,
                 terminated: bool, truncated: bool, stream: int) -> None:
        newest = self.stack_size > 1
        if not self.open[stream]:
            self._write_one(stream, obs[-1] if newest else obs, FIRST)
        current = stream * self.stream_capacity + (int(self.cursor[stream]) - 1) % self.stream_capacity
        self.actions[current] = action
        self.rewards[current] = reward
        self.flags[current] |= VALID | (TERMINATED if terminated else TRUNCATED if truncated else 0)
        if not terminated:
            self._write_one(stream, next_obs[-1] if newest else next_obs, 0)
        self.open[stream] = not (terminated or truncated)

    # -- sampling ---------------------------------------------------------------------------

    def ring(self, slots: np.ndarray, offset: int | np.ndarray) -> np.ndarray:
        """``slots + offset`` wrapped inside each slot's own stream ring."""
        base = slots - slots % self.stream_capacity
        return base + (slots % self.stream_capacity + offset) % self.stream_capacity

    def _sampleable(self, slots: np.ndarray) -> np.ndarray:
        ok = (self.flags[slots] & VALID) != 0
        if self.stack_size > 1:
            # In a full ring the k-1 oldest slots may have lost the frames before them.
            streams = slots // self.stream_capacity
            age = (slots % self.stream_capacity - self.cursor[streams]) % self.stream_capacity
            full = self.filled[streams] == self.stream_capacity
            ok &= ~(full & (age < self.stack_size - 1))
        return ok

    def sample_indices(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniformly drawn slots holding a transition (rejection sampling)."""
        out = np.empty(0, dtype=np.int64)
        for _ in range(8):
            streams = rng.integers(self.num_streams, size=2 * n)
            slots = streams * self.stream_capacity + (
                rng.random(2 * n) * self.filled[streams]).astype(np.int64)
            out = np.concatenate([out, slots[self._sampleable(slots)]])
            if len(out) >= n:
                return out[:n]
        candidates = np.flatnonzero(self._sampleable(np.arange(self.capacity)))
        if len(candidates) == 0:
            raise ValueError("the replay memory holds no transition yet")
        return rng.choice(candidates, size=n)

    def stack(self, slots: np.ndarray, channels_last: bool = False) -> np.ndarray:
        """The observations ending at ``slots``, stacks rebuilt within each episode.

        ``channels_last``: each observation's first axis (the stack) moved last, merged with a
        trailing channel axis: ``(k, H, W) -> (H, W, k)``, ``(k, H, W, C) -> (H, W, k * C)``
        (what a CNN's channels-last view takes), written plane by plane (:mod:`.layout`).
        """
        if self.stack_size == 1:
            whole = self.frames[slots]
            return planes_last(lambda j: whole[:, j], whole.shape[1]) if channels_last else whole
        k = self.stack_size
        index = np.empty((len(slots), k), dtype=np.int64)
        pad = np.zeros((len(slots), k), dtype=bool)
        index[:, k - 1] = slots
        at_start = (self.flags[slots] & FIRST) != 0
        for j in range(k - 2, -1, -1):
            # Once the episode's first slot is reached, keep pointing at it (reset padding).
            prev = self.ring(index[:, j + 1], -1)
            index[:, j] = np.where(at_start, index[:, j + 1], prev)
            pad[:, j] = at_start
            at_start = at_start | ((self.flags[index[:, j]] & FIRST) != 0)
        if channels_last:
            return planes_last(lambda j: self.frames[index[:, j]], k, pad if self.padding == "zero" else None)
        out = self.frames[index]
        if self.padding == "zero":
            out[pad] = 0
        return out

    def sample(self, rng: np.random.Generator, batch_size: int, discount: float,
               n_step: int = 1, *, channels_last: bool = False) -> ReplaySample:
        """Draw a batch with ``n_step`` returns; the window stops at an episode's end.

        Target pieces: ``rewards = sum_{i<m} gamma^i r_{t+i}`` and ``discounts = gamma^m`` (0 if
        the episode terminated inside the window), ``m <= n_step``; the caller bootstraps
        ``y = rewards + discounts * max_a Q(next_observations, a)``. ``channels_last``: the
        observations as :meth:`stack` gives them with that flag (the same draws either way).
        """
        slots = self.sample_indices(rng, batch_size)
        returns = self.rewards[slots].astype(np.float32)
        end = slots.copy()  # the slot whose transition closes the window
        power = np.ones(batch_size, dtype=np.float32)
        for _ in range(n_step - 1):
            flags = self.flags[end]
            nxt = self.ring(end, 1)
            more = ((flags & (TERMINATED | TRUNCATED)) == 0) & ((self.flags[nxt] & VALID) != 0)
            if not more.any():
                break
            end = np.where(more, nxt, end)
            power = np.where(more, power * discount, power)
            returns = returns + np.where(more, power * self.rewards[end], 0.0).astype(np.float32)
        flags = self.flags[end]
        terminated = (flags & TERMINATED) != 0
        truncated = (flags & TRUNCATED) != 0
        # A terminated transition has no next frame stored: point at itself (masked below).
        next_slots = np.where(terminated, end, self.ring(end, 1))
        discounts = np.where(terminated, 0.0, power * discount).astype(np.float32)
        return ReplaySample(self.stack(slots, channels_last), self.actions[slots].copy(), returns,
                            self.stack(next_slots, channels_last), discounts, terminated, truncated)

    def sample_sequences(self, rng: np.random.Generator, batch_size: int, sequence_length: int,
                         discount: float, burn_in: int = 0) -> SequenceSample:
        """Windows of consecutive steps for a recurrent Q-network (never mixing episodes):
        see :func:`gymkit.replay.sequences.sample_sequences`."""
        return sample_sequences(self, rng, batch_size, sequence_length, discount, burn_in)

    def save(self, directory: str | Path) -> None:
        """Write contents and cursors to ``directory`` (plain ``.npy`` files)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        from gymkit.safe_files import save_npy

        for name in (*_ARRAYS, "cursor", "filled", "open"):
            save_npy(directory / f"{name}.npy", getattr(self, name))

    def load(self, directory: str | Path) -> None:
        """Read back what :meth:`save` wrote: each file's header is checked first (same dtype and
        shape as this memory's arrays, which fixes its size) before it is read."""
        from gymkit.safe_files import load_npy

        directory = Path(directory)
        for name in (*_ARRAYS, "cursor", "filled", "open"):
            current = getattr(self, name)
            current[...] = load_npy(directory / f"{name}.npy", dtype=current.dtype, shape=current.shape)

