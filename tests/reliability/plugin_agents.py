"""User agents for the plugin-contract tests, used by import path
(``--agent tests.reliability.plugin_agents:Minimal``) as a plugin author would."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gymkit.agents.base import Agent

#: "METHOD:N": Flaky raises in its N-th call of METHOD (counted from when it is made or loaded)
FLAKY = "GYMKIT_TEST_FLAKY"
#: what Misbehaving's act() returns: shape, dtype, range, none, box-range, box-nan
MISBEHAVE = "GYMKIT_TEST_MISBEHAVE"


class Minimal(Agent):
    """README's minimal agent: no config_cls, and act() takes only (observations, *, explore)."""

    def act(self, observations, *, explore):
        return self.rng.integers(self.action_space.n, size=len(observations))


class MaskTaker(Agent):
    """Takes action_mask by name, picks the first allowed action, and records what it got."""

    seen: list = []

    def act(self, observations, *, explore, action_mask=None):
        type(self).seen.append(None if action_mask is None else np.asarray(action_mask).copy())
        if action_mask is None:
            return np.zeros(len(observations), dtype=np.int64)
        return np.asarray(action_mask, bool).argmax(axis=1)


class KwargsTaker(Agent):
    """Takes **kwargs: it gets action_mask (and no env_ids: it is not stateful)."""

    keys: list = []

    def act(self, observations, *, explore, **kwargs):
        type(self).keys.append(tuple(sorted(kwargs)))
        mask = kwargs.get("action_mask")
        return np.zeros(len(observations), np.int64) if mask is None else np.asarray(mask, bool).argmax(axis=1)


class Flaky(Agent):
    """A learning agent of the minimal kind that raises where $GYMKIT_TEST_FLAKY says."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        method, _, count = os.environ.get(FLAKY, ":").partition(":")
        self.fail_method, self.fail_at = method, int(count or 0)
        self.counts: dict[str, int] = {}
        self.table = np.zeros(2)

    def _maybe_fail(self, method: str) -> None:
        self.counts[method] = self.counts.get(method, 0) + 1
        if method == self.fail_method and self.counts[method] == self.fail_at:
            raise RuntimeError(f"boom in {method}")

    def act(self, observations, *, explore):
        self._maybe_fail("act")
        return self.rng.integers(2, size=len(observations))

    def episode_start(self, env_ids, *, explore):
        self._maybe_fail("episode_start")

    def observe(self, batch):
        self._maybe_fail("observe")
        self.table += np.bincount(batch.actions, minlength=2)

    def update(self):
        self._maybe_fail("update")
        return {"count": float(self.table.sum())}

    def save_state(self, directory: Path) -> None:
        self._maybe_fail("save_state")
        np.save(Path(directory) / "table.npy", self.table, allow_pickle=False)

    def load_state(self, directory: Path) -> None:
        self._maybe_fail("load_state")
        self.table = np.load(Path(directory) / "table.npy", allow_pickle=False)


class Misbehaving(Agent):
    """Returns the wrong actions $GYMKIT_TEST_MISBEHAVE names."""

    def act(self, observations, *, explore):
        n, how = len(observations), os.environ.get(MISBEHAVE, "")
        return {
            "shape": lambda: np.zeros((n, 2), np.int64),
            "dtype": lambda: np.zeros(n) + 0.5,
            "range": lambda: np.full(n, 5),
            "none": lambda: None,
            "box-range": lambda: np.full((n, 1), 10.0, np.float32),
            "box-nan": lambda: np.full((n, 1), np.nan, np.float32),
        }.get(how, lambda: np.zeros(n, np.int64))()


class NoExplore(Agent):
    def act(self, observations):
        return np.zeros(len(observations), np.int64)


class StatefulWithoutEnvIds(Agent):
    stateful = True

    def act(self, observations, *, explore):
        return np.zeros(len(observations), np.int64)


class NoSuperInit(Agent):
    def __init__(self, observation_space, action_space, config, *, seed):
        self.n = 2  # forgot super().__init__(...)

    def act(self, observations, *, explore):
        return np.zeros(len(observations), np.int64)


class BadMetrics(Agent):
    def act(self, observations, *, explore):
        return np.zeros(len(observations), np.int64)

    def update(self):
        return [1.0, 2.0]
