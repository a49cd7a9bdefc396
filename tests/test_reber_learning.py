"""Learning on gymkit/EmbeddedReber-v0 with REINFORCE + whole-episode BPTT (the driver in
bench/reber_reinforce.py): an LSTM encoder answers right, a memoryless MLP stays at chance."""

import importlib.util
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

pytest.importorskip("tensorflow")

_PATH = Path(__file__).resolve().parents[1] / "bench" / "reber_reinforce.py"
_spec = importlib.util.spec_from_file_location("reber_reinforce", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_lstm_learns_the_answer_that_an_mlp_cannot():
    # seed 0, 60 updates of 32 episodes (lr 0.003); greedy accuracy over 256 held-out episodes
    lstm = bench.run("lstm", seed=0, updates=60, batch=32, units=32, lr=0.003, n_eval=256)
    assert lstm["accuracy"] >= 0.95, lstm
    mlp = bench.run("mlp", seed=0, updates=60, batch=32, units=32, lr=0.003, n_eval=256)
    assert 0.40 <= mlp["accuracy"] <= 0.60, mlp
