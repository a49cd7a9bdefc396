"""Presets: named sets of hyperparameters for one agent, read from YAML files
(``gymkit/presets/NAME.yaml`` or any path), their keys checked with clear errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gymkit.errors import ConfigError, did_you_mean

PRESET_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class Preset:
    """A named set of hyperparameters for one agent (and usually one env).

    A preset file ``gymkit/presets/NAME.yaml`` (or any path given to ``--preset``) holds::

        description: one line
        agent: q-learning
        env: gymkit/BookMDP-v0      # the env it was made for (the default for --env)
        train: {steps: 20000}       # run-level defaults: steps/episodes, num_envs, ...
        config: {...}               # the agent's config values
        env_kwargs: {...}           # keyword arguments for gymnasium.make
        wrappers: [name, {name: {option: value}}, ...]   # see gymkit.wrappers
    """

    name: str
    agent: str
    description: str = ""
    env: str | None = None
    train: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    wrappers: list[Any] = field(default_factory=list)
    #: the evaluation mean a seed must reach to count as a success (its learning claim:
    #: ``bench/learning.py`` measures the rate over seeds, ``gymkit regress`` checks it)
    target: float | None = None


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"malformed YAML in {path}{where}: {problem}; fix the file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def list_presets() -> dict[str, Preset]:
    """The presets shipped with gymkit, by name."""
    return {p.stem: load_preset(p.stem) for p in sorted(PRESET_DIR.glob("*.yaml"))}


def load_preset(name_or_path: str) -> Preset:
    """Load a shipped preset by name, or a preset YAML file by path."""
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = PRESET_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        names = [p.stem for p in PRESET_DIR.glob("*.yaml")]
        raise ConfigError(
            f"unknown preset '{name_or_path}'{did_you_mean(name_or_path, names)}; "
            f"known presets: {', '.join(sorted(names)) or '(none)'} (or give a path to a .yaml file)"
        )
    data = _read_yaml(path)
    if not isinstance(data, dict) or "agent" not in data:
        raise ConfigError(f"preset file {path} must be a mapping with at least an 'agent' key")
    allowed = {"description", "agent", "env", "train", "config", "env_kwargs", "wrappers", "target"}
    for key in data:
        if key not in allowed:
            raise ConfigError(
                f"unknown key '{key}' in preset {path}{did_you_mean(key, allowed)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
    return Preset(
        name=path.stem,
        agent=str(data["agent"]),
        description=str(data.get("description", "")),
        env=data.get("env"),
        train=dict(data.get("train") or {}),
        config=dict(data.get("config") or {}),
        env_kwargs=dict(data.get("env_kwargs") or {}),
        wrappers=list(data.get("wrappers") or []),
        target=_target(path, data.get("target")),
    )


def _target(path: Path, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"target {value!r} in preset {path} must be a finite number (an evaluation mean)")
    return float(value)
