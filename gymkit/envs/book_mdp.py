"""The Markov decision process of the book's Figure 16-8, as a Gymnasium env.

Three states, up to three actions; some actions are impossible in some states::

    state 0: a0 -> 70% stay with +10, 30% to s1 | a1 -> stay | a2 -> 80% stay, 20% to s1
    state 1: a0 -> stay                         | (a1 impossible) | a2 -> to s2 with -50
    state 2: (a0 impossible) | a1 -> 80% to s0 with +40, 10% s1, 10% s2 | (a2 impossible)

The MDP never terminates; the registered env truncates episodes at 1,000 steps.
Planning agents read ``T`` (shape ``[s, a, s']``), ``R`` (same shape) and
``possible_actions`` from ``env.unwrapped``; ``info["action_mask"]`` marks the actions
allowed in the current state. Taking an impossible action raises a ValueError naming it.

Example:
    >>> import gymnasium as gym, gymkit
    >>> env = gym.make("gymkit/BookMDP-v0")
    >>> obs, info = env.reset(seed=42)
    >>> obs, info["action_mask"].tolist()
    (0, [True, True, True])
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

nan = np.nan  # impossible actions, as in the book
T = np.array(
    [  # shape [s, a, s']
        [[0.7, 0.3, 0.0], [1.0, 0.0, 0.0], [0.8, 0.2, 0.0]],
        [[0.0, 1.0, 0.0], [nan, nan, nan], [0.0, 0.0, 1.0]],
        [[nan, nan, nan], [0.8, 0.1, 0.1], [nan, nan, nan]],
    ]
)
R = np.array(
    [  # shape [s, a, s']
        [[10.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        [[10.0, 0.0, 0.0], [nan, nan, nan], [0.0, 0.0, -50.0]],
        [[nan, nan, nan], [40.0, 0.0, 0.0], [nan, nan, nan]],
    ]
)
possible_actions = [[0, 1, 2], [0, 2], [1]]


class BookMDPEnv(gym.Env[int, int]):
    """Figure 16-8's MDP: start in s0, act, and collect the rewards of T and R."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, start_state: int = 0) -> None:
        self.T = T.copy()
        self.R = R.copy()
        self.possible_actions = [list(a) for a in possible_actions]
        self.n_states, self.n_actions = T.shape[0], T.shape[1]
        self.observation_space = gym.spaces.Discrete(self.n_states)
        self.action_space = gym.spaces.Discrete(self.n_actions)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported: use 'ansi' or None")
        if start_state not in range(self.n_states):
            raise ValueError(f"start_state={start_state} must be one of 0..{self.n_states - 1}")
        self.render_mode = render_mode
        self.start_state = start_state
        self.state = start_state
        self.action_masks = np.zeros((self.n_states, self.n_actions), dtype=np.int8)
        for s, acts in enumerate(self.possible_actions):
            self.action_masks[s, acts] = 1
        #: per possible (s, a): the normalised cumulative T[s, a], exactly as numpy's
        #: ``Generator.choice(n, p=...)`` builds it before it draws one ``random()``
        self._cdf = {(s, a): self._choice_cdf(self.T[s, a]) for s, acts in enumerate(self.possible_actions)
                     for a in acts}

    @staticmethod
    def _choice_cdf(p: np.ndarray) -> np.ndarray:
        cdf = p.cumsum()
        cdf /= cdf[-1]
        return cdf

    def _info(self) -> dict[str, Any]:
        return {"action_mask": self.action_masks[self.state].copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = self.start_state
        return self.state, self._info()

    def step(self, action: int):
        a = int(action)
        if a not in self.possible_actions[self.state]:
            raise ValueError(
                f"action {a} is impossible in state {self.state} of the book MDP: "
                f"allowed actions there are {self.possible_actions[self.state]} (see info['action_mask'])"
            )
        s = self.state
        # the draw of np_random.choice(n_states, p=T[s, a]), without its per-call checks of p
        # (most of a step's time): the same next states from the same generator
        sp = int(self._cdf[s, a].searchsorted(self.np_random.random(), side="right"))
        reward = float(self.R[s, a, sp])
        self.state = sp
        return sp, reward, False, False, self._info()

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return f"state s{self.state}, possible actions {self.possible_actions[self.state]}\n"
        return None
