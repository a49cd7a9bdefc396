"""Agent folders on disk: :func:`load_agent` rebuilds an agent that :meth:`Agent.save` wrote.

It reads only data (``agent.json``, ``spaces.json``, the agent's own files through its
``load_state``) and resolves the class through the registry, never through a file path. It
lives here, not on :class:`~gymkit.agents.base.Agent`, so the base class needs no registry
(``agents.base`` <- ``registry`` <- ``agent_files``: no cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gymkit.agents.base import AGENT_FILE, LEGACY_SPACES_FILE, Agent, config_class
from gymkit.agents.calls import construct_agent, plugin_call
from gymkit.errors import RunDirError
from gymkit.registry import resolve_saved_class
from gymkit.safe_files import check_tree, read_json, refuse_link
from gymkit.spaces_json import SPACES_FILE, read_spaces


def load_agent(directory: str | Path, cls: type[Agent] = Agent) -> Agent:
    """Rebuild an agent saved by :meth:`Agent.save`: of whatever class ``agent.json`` names
    (``cls`` Agent), or of ``cls``, which ``agent.json`` must name (``--resume``).

    Reads only data: ``agent.json`` (the class is a registered name or an importable
    ``module:Class``, never a file path, and must be an Agent subclass) and ``spaces.json``;
    ``__init__`` and :meth:`load_state` failures are one-line PluginErrors.
    """
    directory = Path(directory)
    refuse_link(directory)
    check_tree(directory, skip=())  # no symbolic link: nothing is read from outside the folder
    if (directory / LEGACY_SPACES_FILE).exists() or (directory / LEGACY_SPACES_FILE).is_symlink():
        raise RunDirError(f"{directory / LEGACY_SPACES_FILE} is a pickle, which gymkit never reads, in a folder "
                          "of format version 2 (spaces live in spaces.json): the folder was tampered with; "
                          "restore it from a copy")
    meta = read_agent_meta(directory / AGENT_FILE)
    if cls is Agent:
        agent_cls = resolve_saved_class(meta["class"], directory / AGENT_FILE, _run_root(directory))
    else:  # e.g. --resume: the class config.yaml names; agent.json must agree
        agent_cls, own = cls, f"{cls.__module__}:{cls.__qualname__}"
        if meta["class"] != own:
            raise RunDirError(f"{directory / AGENT_FILE} names the agent class {meta['class']!r}, but the folder is "
                              f"being loaded as {own}: it belongs to another agent; restore it from a copy")
    observation_space, action_space = read_spaces(directory / SPACES_FILE)
    try:
        config = config_class(agent_cls).from_dict(meta["config"])
    except (TypeError, ValueError) as exc:
        raise RunDirError(f"{directory / AGENT_FILE}: its config does not fit {agent_cls.__name__} ({exc}): "
                          "restore the file from a copy") from None
    agent = construct_agent(agent_cls, observation_space, action_space, config, seed=meta["seed"])
    if "rng_state" in meta:
        try:
            agent.rng.bit_generator.state = meta["rng_state"]
        except (TypeError, ValueError, KeyError) as exc:
            raise RunDirError(f"{directory / AGENT_FILE}: rng_state is not a generator state ({exc}): "
                              "restore the file from a copy") from None
    with plugin_call(agent, "load_state"):
        agent.load_state(directory)
    return agent


def read_agent_meta(path: Path) -> dict[str, Any]:
    """``agent.json``, its fields checked: class (str), config (mapping), seed (int), rng_state."""
    meta = read_json(path)
    problems = []
    if not isinstance(meta, dict):
        problems.append("it is not a JSON object")
    else:
        if not isinstance(meta.get("class"), str):
            problems.append("'class' is not a string")
        if not isinstance(meta.get("config"), dict):
            problems.append("'config' is not a mapping")
        if isinstance(meta.get("seed"), bool) or not isinstance(meta.get("seed"), int):
            problems.append("'seed' is not a whole number")
        if "rng_state" in meta and not isinstance(meta["rng_state"], dict):
            problems.append("'rng_state' is not a mapping")
    if problems:
        raise RunDirError(f"{path} is not an agent description ({'; '.join(problems)}): restore it from a copy")
    return meta


def _run_root(directory: Path) -> Path:
    """The run directory a sealed folder belongs to (``agent/``, ``best/``, ``checkpoints/step_*``)."""
    for up in (directory.parent, directory.parent.parent):
        if (up / "config.yaml").exists():
            return up
    return directory


# -- helpers for check_spaces ------------------------------------------------------------
