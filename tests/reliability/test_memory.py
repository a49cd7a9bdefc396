"""Promise 11: memory. The refusal of a replay that will not fit is tested in test_replay.py and
test_dqn.py; here, a long DQN run's resident memory stays flat once its replay is full."""

from __future__ import annotations

import pytest

import gymkit


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RSSProbe:
    """A metrics sink that records the process's resident memory at each logged step."""

    def __init__(self) -> None:
        self.samples: dict[int, float] = {}

    def write(self, row, step):
        if "return_mean" in row:
            self.samples[int(step)] = _rss_mb()

    def close(self) -> None:
        pass


@pytest.mark.slow
def test_dqn_resident_memory_is_flat_once_replay_is_full(tmp_path):
    """Replay of 5,000 CartPole transitions fills by step 5,000; compare RSS at steps 20,000
    and 40,000 (two late points): growth must stay under 50 MB."""
    probe = RSSProbe()
    gymkit.train("dqn", "CartPole-v1", steps=40_000, seed=0, log_every=1_000, eval_episodes=0,
                 checkpoint_every=10_000, run_dir=tmp_path / "run", progress=False, sinks=(probe,),
                 config={"replay_memory_size": 5_000, "training_start": 1_000, "training_interval": 4,
                         "batch_size": 32, "copy_steps": 500, "eps_decay_steps": 5_000})
    early, late = probe.samples[20_000], probe.samples[40_000]
    print(f"RSS at 20k steps {early:.1f} MB, at 40k steps {late:.1f} MB, growth {late - early:.1f} MB")
    assert late - early < 50.0
