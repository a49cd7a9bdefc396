"""``gymkit/EmbeddedReber-v0``: a memory task on the embedded Reber grammar.

A Reber string walks this graph (Jenny Orr's, the one the book's exercise 14.7 points to)::

    start -B-> 1      1 -T-> 2   1 -P-> 3      2 -S-> 2   2 -X-> 4      3 -T-> 3   3 -V-> 5
    4 -X-> 3   4 -S-> end      5 -P-> 4   5 -V-> end      end -E->

An embedded Reber string is ``B a R a E`` with ``a`` in {T, P} and ``R`` a Reber string, so
its second symbol equals its second-to-last one, with a whole Reber string between them
(Hochreiter and Schmidhuber's LSTM benchmark).

The episode shows ``B a R`` one symbol per step (one-hot over ``BTPSXVE``); when the inner
Reber string's ``E`` is shown, the agent answers the missing second-to-last symbol: action 0
for T, 1 for P. Reward +1 for the right answer, ``wrong_reward`` (default 0) otherwise; actions
taken while reading are ignored (reward 0). The answer is the second symbol, which only a
policy with memory knows: the inner Reber string is independent of it, so any memoryless
policy (one that sees only the current symbol) answers right half the time.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

SYMBOLS = "BTPSXVE"
ANSWERS = "TP"  # action 0 answers T, action 1 answers P

#: node -> the two (symbol, next node) edges of the Reber graph; node 6 is the end
REBER_GRAPH: dict[int, tuple[tuple[str, int], ...]] = {
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
}


def generate_reber(rng: np.random.Generator) -> str:
    """A Reber string: B, a walk of the graph taking each edge with probability 1/2, E."""
    out, node = ["B"], 1
    while node != 6:
        symbol, node = REBER_GRAPH[node][int(rng.integers(2))]
        out.append(symbol)
    return "".join(out) + "E"


def generate_embedded_reber(rng: np.random.Generator, max_length: int | None = None) -> str:
    """An embedded Reber string ``B a R a E``, at most ``max_length`` symbols long (rejection
    sampling keeps the grammar's distribution, truncated)."""
    while True:
        a = ANSWERS[int(rng.integers(2))]
        s = "B" + a + generate_reber(rng) + a + "E"
        if max_length is None or len(s) <= max_length:
            return s


def is_reber(s: str) -> bool:
    """Whether ``s`` is a Reber string (the graph is deterministic given the symbols)."""
    if len(s) < 2 or s[0] != "B" or s[-1] != "E":
        return False
    node = 1
    for symbol in s[1:-1]:
        nxt = dict(REBER_GRAPH.get(node, ())).get(symbol)
        if nxt is None:
            return False
        node = nxt
    return node == 6


def is_embedded_reber(s: str) -> bool:
    """Whether ``s`` is an embedded Reber string ``B a R a E``."""
    return (len(s) >= 5 and s[0] == "B" and s[-1] == "E" and s[1] in ANSWERS
            and s[-2] == s[1] and is_reber(s[2:-2]))


class EmbeddedReberEnv(gym.Env):
    """Read an embedded Reber string, then answer its second-to-last symbol.

    Args:
        max_length: longest embedded string generated (the episode lasts ``len - 2`` steps).
        wrong_reward: reward of a wrong answer (0, or -1 for a zero-mean random policy).

    Example:
        >>> import gymnasium as gym, gymkit
        >>> env = gym.make("gymkit/EmbeddedReber-v0")
        >>> obs, info = env.reset(seed=0)
        >>> info["string"], SYMBOLS[int(obs.argmax())]
        ('BPBPVPXTTTTVVEPE', 'B')
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, max_length: int = 20, wrong_reward: float = 0.0, render_mode: str | None = None):
        if max_length < 9:  # the shortest embedded Reber string, BTBTXSETE, has 9 symbols
            raise ValueError(f"max_length must be at least 9, got {max_length}")
        self.max_length = int(max_length)
        self.wrong_reward = float(wrong_reward)
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(len(SYMBOLS),), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._string = ""
        self._shown = ""  # the symbols shown: the string without its last two
        self._t = 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(len(SYMBOLS), np.float32)
        obs[SYMBOLS.index(self._shown[self._t])] = 1.0
        return obs

    def _info(self) -> dict[str, Any]:
        return {"string": self._string, "answer_step": self._t == len(self._shown) - 1}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._string = generate_embedded_reber(self.np_random, self.max_length)
        self._shown = self._string[:-2]
        self._t = 0
        return self._obs(), self._info()

    def step(self, action: Any):
        if not self._shown:
            raise RuntimeError("call reset() before step()")
        if self._t < len(self._shown) - 1:  # still reading: the action is ignored
            self._t += 1
            return self._obs(), 0.0, False, False, self._info()
        correct = ANSWERS[int(action)] == self._string[-2]
        reward = 1.0 if correct else self.wrong_reward
        info = {**self._info(), "correct": bool(correct)}
        return self._obs(), reward, True, False, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._shown[: self._t + 1] + ("?" if self._t == len(self._shown) - 1 else "")
        return None
