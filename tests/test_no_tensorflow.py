"""Importing gymkit, listing agents and running the non-neural agents never import TensorFlow."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, tempfile, os
import gymkit
gymkit.list_agents()
from gymkit.cli import main
assert main(["list"]) == 0
d = tempfile.mkdtemp()
gymkit.train("random", "CartPole-v1", steps=300, eval_episodes=2, run_dir=os.path.join(d, "a"), progress=False)
gymkit.train("hardcoded", "CartPole-v1", steps=300, eval_episodes=2, run_dir=os.path.join(d, "b"), progress=False)
gymkit.evaluate(os.path.join(d, "b"), episodes=2)
{extra}
print("TF_LOADED" if "tensorflow" in sys.modules or "keras" in sys.modules else "TF_ABSENT")
"""

TABULAR = """
gymkit.train("q-learning", "gymkit/BookMDP-v0", steps=500, eval_episodes=1, run_dir=os.path.join(d, "c"), progress=False)
gymkit.train("q-iteration", "gymkit/BookMDP-v0", steps=10, eval_episodes=1, run_dir=os.path.join(d, "e"), progress=False)
"""


def _run(extra: str) -> str:
    res = subprocess.run([sys.executable, "-c", SCRIPT.format(extra=extra)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_core_agents_do_not_import_tensorflow():
    assert "TF_ABSENT" in _run("")


def test_tabular_agents_do_not_import_tensorflow():
    assert "TF_ABSENT" in _run(TABULAR)
