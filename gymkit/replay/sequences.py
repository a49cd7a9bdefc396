"""Sequence sampling for recurrent Q-networks: windows of consecutive steps from one stream.

A recurrent Q-network needs the observations that led to a step, not the step alone. Each
sampled window is ``W = burn_in + sequence_length`` consecutive transitions of one env stream
that *end* at a uniformly drawn transition ``e`` (so every stored step is equally likely to
close a window), plus one more observation, ``e``'s next one, to bootstrap from::

    position   0 ........ burn_in ........ W-1 | W
    slot       e-W+1 ..................... e   | e+1 (next observation of e)
               [ burn-in: no loss ][ loss     ]

A window never mixes episodes: positions before the first step of ``e``'s episode (another
episode, or slots the ring has already overwritten) are masked out; the recurrent state then
starts at zero at the episode's first step, as it did while acting (R2D2's "zero start
state"). After ``e`` nothing of a later episode is shown: ``e + 1`` is masked when ``e``
terminated (no next observation, discount 0) and holds the final observation when the
episode was truncated (bootstrap from it).

NumPy only: no TensorFlow import.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gymkit.replay.flags import FIRST, TERMINATED, TRUNCATED, VALID


class SequenceSample(NamedTuple):
    """A batch of windows; ``W = burn_in + sequence_length``.

    Attributes:
        observations: ``(batch, W + 1, *obs_shape)``; masked positions hold stale frames
            (finite values the mask makes irrelevant).
        mask: ``(batch, W + 1)`` bool, True where the observation belongs to the window's
            episode (feed it to the recurrent network: masked steps leave the state unchanged).
        actions: ``(batch, W)`` int32, the action taken at each position.
        rewards: ``(batch, W)`` float32.
        discounts: ``(batch, W)`` float32, ``gamma`` or 0 where the step terminated the episode:
            the target at position ``t`` is ``rewards[t] + discounts[t] * max_a Q(obs[t+1], a)``.
        loss_mask: ``(batch, W)`` bool, True where position ``t`` carries a loss: a step of the
            window's episode at or after ``burn_in``.
        loss_weights: ``(batch, W)`` float32, ``loss_mask / c_t`` where ``c_t`` is the number
            of windows whose loss positions can hold that step (see below): weighting by it
            makes every stored step count equally in expectation, as in uniform replay.
    """

    observations: np.ndarray
    mask: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    discounts: np.ndarray
    loss_mask: np.ndarray
    loss_weights: np.ndarray


def sample_sequences(memory: Any, rng: np.random.Generator, batch_size: int,
                     sequence_length: int, discount: float, burn_in: int = 0) -> SequenceSample:
    """Draw ``batch_size`` windows of ``burn_in + sequence_length`` steps (see the module doc).

    Args:
        memory: the :class:`~gymkit.replay.memory.ReplayMemory` (its ``ring``, ``flags``,
            ``filled``, ``cursor`` and ``stack`` are its public sampling API).
        rng: the generator that draws the windows' last steps.
        batch_size: windows to draw.
        sequence_length: positions that carry a loss (the window's last ones).
        discount: gamma.
        burn_in: positions before them that only warm up the recurrent state.
    """
    w = int(burn_in) + int(sequence_length)
    e = memory.sample_indices(rng, batch_size)
    cap = memory.stream_capacity
    offsets = np.arange(-(w - 1), 2)  # positions 0..W: slots e-W+1 .. e+1
    slots = memory.ring(e[:, None], offsets[None, :])
    flags = memory.flags[slots]
    # How far back from e the ring still holds this stream's history: ``age`` slots are older
    # than e (fewer when full and stacked: the oldest stack_size-1 slots lost their stacks).
    streams = e // cap
    filled = memory.filled[streams]
    oldest = (memory.cursor[streams] - filled) % cap
    age = (e % cap - oldest) % cap
    if memory.stack_size > 1:
        age = age - np.where(filled == cap, memory.stack_size - 1, 0)
    back = (w - 1) - np.arange(w)  # distance of position k from e
    written = back[None, :] <= age[:, None]
    # Walking back from e: position k is in e's episode while no FIRST slot lies in k+1..e.
    first = (flags[:, 1:w] & FIRST) != 0  # is position k+1 an episode's first slot?
    crossed = np.flip(np.cumsum(np.flip(first, axis=1), axis=1), axis=1) > 0
    in_episode = np.ones((len(e), w), dtype=bool)
    in_episode[:, :-1] = ~crossed
    in_episode &= written
    terminated = (memory.flags[e] & TERMINATED) != 0
    mask = np.concatenate([in_episode, ~terminated[:, None]], axis=1)
    transitions = in_episode & ((flags[:, :w] & VALID) != 0)
    loss_mask = transitions & (np.arange(w) >= burn_in)[None, :]
    discounts = np.full((len(e), w), discount, dtype=np.float32)
    discounts[:, -1] = np.where(terminated, 0.0, discount)
    # Coverage: a step t lies in the loss positions of the windows ending at t .. t+L-1 of its
    # episode, c_t = min(L, steps from t to the episode's newest stored step). Windows end at
    # uniformly drawn steps, so without 1/c_t the last steps of an episode, the terminal one
    # above all (c = 1 against L), would be under-weighted L-fold and Q overestimated.
    length = int(sequence_length)
    after = np.zeros(len(e), dtype=np.int64)  # stored steps of e's episode after e (< L)
    going = np.ones(len(e), dtype=bool)
    prev = e
    for j in range(1, length):
        nxt = memory.ring(e, j)
        going &= ((memory.flags[prev] & (TERMINATED | TRUNCATED)) == 0)
        going &= ((memory.flags[nxt] & VALID) != 0) & ((memory.flags[nxt] & FIRST) == 0)
        going &= age + j < filled
        after += going
        prev = nxt
    coverage = np.minimum(length, (w - np.arange(w))[None, :] + after[:, None])
    loss_weights = np.where(loss_mask, 1.0 / coverage, 0.0).astype(np.float32)
    observations = memory.stack(slots.reshape(-1)).reshape(len(e), w + 1, *memory.observation_shape)
    return SequenceSample(observations, mask, memory.actions[slots[:, :w]].copy(),
                          memory.rewards[slots[:, :w]].copy(), discounts, loss_mask, loss_weights)
