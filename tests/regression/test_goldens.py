"""The project's own golden files: each is rerun and must show no regression (``auto`` mode:
bit-identical metrics on the machine that recorded them, no significant drop elsewhere).

Re-record one after a change that moves its numbers on purpose, and say why in the commit::

    gymkit regress record --agent random --env CartPole-v1 --steps 2000 --eval-episodes 5 \\
        --seeds 5 --alpha 0.01 --out tests/regression/random-cartpole.json --force

(the command of each file is in ``tests/regression/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gymkit.testing import check_regression

HERE = Path(__file__).parent
FAST = ["random-cartpole", "hardcoded-cartpole", "q-learning-bookmdp", "reinforce-cartpole-short"]
SLOW = ["dqn-cartpole-short", "reinforce-reber-short", "dqn-mspacman-short",
        "dqn-mspacman-xla-overlap"]


@pytest.mark.parametrize("name", FAST)
def test_golden(name):
    report = check_regression(HERE / f"{name}.json", mode="auto")
    assert len(report.rows) == 5


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_slow_golden(name):
    report = check_regression(HERE / f"{name}.json", mode="auto")
    assert len(report.rows) >= 2
