"""The agent registry: built-ins, run-time registration, module paths, entry-point plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium as gym
import pytest

import gymkit
from gymkit.agents.base import Agent
from gymkit.agents.random import RandomAgent
from gymkit.errors import RegistryError
from gymkit.registry import list_agents, register_agent, resolve_agent, unregister_agent

from .conftest import run_cli

BUILTINS = {"random", "hardcoded", "value-iteration", "q-iteration", "td-learning",
            "q-learning", "reinforce", "dqn"}


def test_builtins_are_listed_with_descriptions():
    agents = list_agents()
    assert BUILTINS <= set(agents)
    assert all(agents[name] for name in BUILTINS)


def test_builtin_resolves_to_its_class():
    assert resolve_agent("random") is RandomAgent


def test_module_path_resolves_without_registration():
    assert resolve_agent("gymkit.agents.random:RandomAgent") is RandomAgent


def test_register_class_and_string_then_make():
    class Lefty(RandomAgent):
        """Always pushes left."""

        def act(self, observations, *, explore, action_mask=None):
            return [0] * len(observations)

    register_agent("lefty", Lefty)
    register_agent("lazy-random", "gymkit.agents.random:RandomAgent", "lazy")
    try:
        assert list_agents()["lefty"] == "Always pushes left."
        env = gym.make("CartPole-v1")
        agent = gymkit.make_agent("lefty", env.observation_space, env.action_space, seed=0)
        assert isinstance(agent, Lefty)
        assert resolve_agent("lazy-random") is RandomAgent
    finally:
        unregister_agent("lefty")
        unregister_agent("lazy-random")


def test_unknown_name_suggests_the_closest():
    with pytest.raises(RegistryError, match="did you mean 'q-learning'"):
        resolve_agent("q-lerning")


@pytest.mark.parametrize("path, fragment", [
    ("nosuchmodule_xyz:Agent", "cannot import module"),
    ("gymkit.agents.random:Nope", "has no attribute 'Nope'"),
    ("gymkit.agents.random:RandomConfig", "not a gymkit Agent subclass"),
])
def test_bad_module_paths(path, fragment):
    with pytest.raises(RegistryError, match=fragment):
        resolve_agent(path)


def test_register_rejects_bad_names():
    with pytest.raises(RegistryError):
        register_agent("has space", RandomAgent)
    with pytest.raises(RegistryError):
        register_agent("ok", "no_colon_here")


def test_agent_base_is_abstract():
    with pytest.raises(TypeError):
        Agent(gym.spaces.Discrete(2), gym.spaces.Discrete(2), None, seed=0)  # type: ignore[abstract]


PLUGIN_AGENT = '''
import numpy as np
from dataclasses import dataclass
from gymkit.agents.base import Agent
from gymkit.config import AgentConfig, param


@dataclass(frozen=True)
class AlwaysConfig(AgentConfig):
    action: int = param(1, "the action to take", low=0)


class AlwaysAgent(Agent):
    """Takes the same action every step (a plugin for tests)."""

    config_cls = AlwaysConfig

    def act(self, observations, *, explore, action_mask=None):
        return np.full(len(observations), self.config.action)
'''

PLUGIN_PYPROJECT = '''
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "gymkit-test-plugin"
version = "0.0.1"

[project.entry-points."gymkit.agents"]
always = "gymkit_test_plugin:AlwaysAgent"
'''


def test_entry_point_plugin_trains_from_the_cli(tmp_path):
    src = tmp_path / "src"
    (src / "gymkit_test_plugin").mkdir(parents=True)
    (src / "gymkit_test_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN_AGENT))
    (src / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(src)],
        check=True, capture_output=True, text=True,
    )
    env = {"PYTHONPATH": str(target)}
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "always" in listed.stdout
    run_dir = tmp_path / "run"
    res = run_cli("train", "--agent", "always", "--env", "CartPole-v1", "--steps", "300",
                  "--set", "action=1", "--run-dir", str(run_dir), "--eval-episodes", "3", env=env)
    assert res.returncode == 0, res.stderr
    # Always pushing right topples the pole within a few dozen steps.
    assert "evaluation over 3 episodes" in res.stdout
    assert (run_dir / "agent" / "agent.json").exists()
    bad = run_cli("train", "--agent", "always", "--env", "CartPole-v1", "--steps", "10",
                  "--set", "acton=1", "--run-dir", str(tmp_path / "run2"), env=env)
    assert bad.returncode == 2
    assert "did you mean 'action'" in bad.stderr
