"""The agent registry: names mapped to ``"module:Class"`` strings, resolved lazily.

Importing gymkit imports no agent (and so no TensorFlow): a name is turned into a class
only when an agent of that name is made. Third-party packages add agents through the
``gymkit.agents`` entry-point group::

    # in the plugin's pyproject.toml
    [project.entry-points."gymkit.agents"]
    my-agent = "my_package.agents:MyAgent"

and any class can be used without registering it at all: ``--agent my_package.agents:MyAgent``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gymkit.errors import RegistryError, did_you_mean

if TYPE_CHECKING:
    import gymnasium as gym

    from gymkit.agents.base import Agent

ENTRY_POINT_GROUP = "gymkit.agents"


@dataclass(frozen=True)
class AgentSpec:
    """One registered agent.

    Attributes:
        name: the name users type (``--agent NAME``).
        target: a ``"module:Class"`` string, or the class itself.
        description: one line for ``gymkit list``; defaults to the class docstring's first line.
        source: where it came from: ``"gymkit"``, ``"user"`` or the plugin's distribution name.
    """

    name: str
    target: Any
    description: str = ""
    source: str = "user"


_BUILTIN = [
    AgentSpec("random", "gymkit.agents.random:RandomAgent",
              "Uniformly random actions from a seeded generator, respecting action masks.", "gymkit"),
    AgentSpec("hardcoded", "gymkit.agents.hardcoded:HardcodedAgent",
              "The book's CartPole policy (push toward the lean), or any module:function policy.",
              "gymkit"),
    AgentSpec("value-iteration", "gymkit.agents.tabular:ValueIterationAgent",
              "Value Iteration (Eq. 16-2) on an env that exposes its model.", "gymkit"),
    AgentSpec("q-iteration", "gymkit.agents.tabular:QValueIterationAgent",
              "Q-Value Iteration (Eq. 16-3) on an env that exposes its model.", "gymkit"),
    AgentSpec("td-learning", "gymkit.agents.tabular:TDLearningAgent",
              "TD learning of state values (Eq. 16-4) under an exploration policy.", "gymkit"),
    AgentSpec("q-learning", "gymkit.agents.tabular:QLearningAgent",
              "Tabular Q-Learning (Eq. 16-5/16-6) with random, epsilon-greedy or count-based exploration.",
              "gymkit"),
    AgentSpec("reinforce", "gymkit.agents.reinforce:ReinforceAgent",
              "REINFORCE policy gradients with a Keras policy network (TensorFlow).", "gymkit"),
    AgentSpec("dqn", "gymkit.agents.dqn:DQNAgent",
              "Deep Q-Learning with an actor/critic (online/target) pair (TensorFlow).", "gymkit"),
]

_registry: dict[str, AgentSpec] = {spec.name: spec for spec in _BUILTIN}
_entry_points_loaded = False


def _load_entry_points() -> None:
    """Add the agents that installed packages declare in the ``gymkit.agents`` group."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _registry:
            continue  # a built-in or an explicit register_agent() call wins
        dist = ep.dist.name if ep.dist is not None else "plugin"
        _registry[ep.name] = AgentSpec(ep.name, ep.value, "", dist)


def register_agent(name: str, target: str | type, description: str = "") -> None:
    """Register an agent class under ``name``.

    Args:
        name: the name for ``--agent`` and :func:`make_agent`.
        target: the class, or a ``"module:Class"`` string imported only when first used.
        description: one line for ``gymkit list`` (defaults to the docstring's first line).
    """
    if not name or any(c.isspace() for c in name) or ":" in name:
        raise RegistryError(
            f"agent name {name!r} is not usable: use a non-empty name without spaces or ':'"
        )
    if isinstance(target, str) and ":" not in target:
        raise RegistryError(
            f"agent target {target!r} is not an import path: write it as 'module:Class'"
        )
    _registry[name] = AgentSpec(name, target, description, "user")


def unregister_agent(name: str) -> None:
    """Remove ``name`` from the registry (mainly for tests)."""
    _registry.pop(name, None)


def agent_specs() -> dict[str, AgentSpec]:
    """All registered agents (built-in, entry points, registered at run time), by name."""
    _load_entry_points()
    return dict(sorted(_registry.items()))


def list_agents() -> dict[str, str]:
    """Names and one-line descriptions of every known agent, without importing any of them."""
    out = {}
    for name, spec in agent_specs().items():
        desc = spec.description
        if not desc and not isinstance(spec.target, str):
            desc = _first_line(spec.target.__doc__)
        if not desc:
            desc = f"(from {spec.source}: {spec.target})"
        out[name] = desc
    return out


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]


def _import_path(path: str) -> Any:
    from gymkit.imports import import_path

    return import_path(path, "agent", RegistryError)


def resolve_agent(name: str | type) -> type[Agent]:
    """Turn a registered name or a ``"module:Class"`` path (or a class) into an Agent class."""
    from gymkit.agents.base import Agent

    specs = agent_specs()
    if isinstance(name, type):
        cls = name
    elif name in specs:
        target = specs[name].target
        cls = _import_path(target) if isinstance(target, str) else target
    elif ":" in name:
        cls = _import_path(name)
    else:
        raise RegistryError(
            f"unknown agent '{name}'{did_you_mean(name, specs)}; known agents: "
            f"{', '.join(specs)} (or give a class as 'module:Class')"
        )
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise RegistryError(
            f"'{name}' resolves to {cls!r}, which is not a gymkit Agent subclass: "
            "subclass gymkit.agents.base.Agent"
        )
    return cls


def resolve_saved_class(name: Any, source: str | Path, root: str | Path | None = None) -> type[Agent]:
    """The Agent class a saved file names (``agent.json``'s ``class``, ``config.yaml``'s ``agent``).

    Only a registered name (built-in, entry point, :func:`register_agent`) or a ``module:Class``
    import path of an installed, non-standard-library module is followed, never a file path,
    and the module must not live inside ``root`` (the run directory being read); what it names
    must be an :class:`Agent` subclass. Every refusal is a RunDirError naming ``source``.
    """
    from gymkit.errors import RunDirError
    from gymkit.imports import check_import_path

    specs = agent_specs()
    if isinstance(name, str) and name in specs:
        try:
            return resolve_agent(name)
        except RegistryError as exc:
            raise RunDirError(f"{source}: {exc}") from None
    for spec in specs.values():  # a class registered as an object: its module:qualname
        target = spec.target
        if isinstance(target, type) and f"{target.__module__}:{target.__qualname__}" == name:
            return resolve_agent(target)
    try:
        module, _ = check_import_path(name, "the agent class", RegistryError)
    except RegistryError as exc:
        raise RunDirError(f"{source}: {exc}") from None
    if root is not None:
        top = module.split(".")[0]
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            spec = None
        places = [] if spec is None else [spec.origin, *(spec.submodule_search_locations or [])]
        base = Path(root).resolve()
        for place in places:
            if place and Path(place).resolve().is_relative_to(base):
                raise RunDirError(f"{source}: the agent class '{name}' would be imported from {place}, inside "
                                  "the run directory: gymkit never loads code from a run directory")
    try:
        return resolve_agent(name)
    except RegistryError as exc:
        raise RunDirError(f"{source}: {exc}") from None


def make_agent(
    name: str | type[Agent],
    observation_space: gym.Space,
    action_space: gym.Space,
    config: Any = None,
    *,
    seed: int = 0,
) -> Agent:
    """Build an agent by name, ``"module:Class"`` path or class.

    Args:
        name: a registered name, an import path, or an Agent class.
        observation_space: the single (unbatched) observation space.
        action_space: the single (unbatched) action space.
        config: the agent's config dataclass, a dict of overrides, or None for defaults.
        seed: seeds every random generator the agent owns.
    """
    from gymkit.agents.base import config_class
    from gymkit.agents.calls import construct_agent

    cls = name if isinstance(name, type) else resolve_agent(name)
    cls.check_spaces(observation_space, action_space)
    if config is None or isinstance(config, dict):
        config = config_class(cls).from_dict(config or {})
    return construct_agent(cls, observation_space, action_space, config, seed=seed)
