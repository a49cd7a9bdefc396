"""Wrappers gymkit adds to Gymnasium's, and the names runs use to ask for any wrapper.

A run (or preset) lists wrappers by name, applied in order to each single env::

    wrappers:
      - skip-start: {skip_start: 90}
      - mspacman
      - frame-stack: {stack_size: 4}

Names map to ``"module:Class"`` strings, imported only when used, so Gymnasium's own
wrappers (``AtariPreprocessing``, ``FrameStackObservation``) are named the same way.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from gymkit.errors import ConfigError, did_you_mean

WRAPPERS: dict[str, str] = {
    "mspacman": "gymkit.wrappers.mspacman:MsPacmanPreprocessing",
    "skip-start": "gymkit.wrappers.skip_start:SkipStart",
    "velocity-mask": "gymkit.wrappers.masking:VelocityMask",
    "atari": "gymnasium.wrappers:AtariPreprocessing",
    "frame-stack": "gymnasium.wrappers:FrameStackObservation",
    "time-limit": "gymnasium.wrappers:TimeLimit",
    "flatten": "gymnasium.wrappers:FlattenObservation",
    "rescale-observation": "gymnasium.wrappers:RescaleObservation",
}


def register_wrapper(name: str, target: str) -> None:
    """Make ``target`` (``"module:Class"``) available to runs as ``name``."""
    WRAPPERS[name] = target


def normalize_wrapper_specs(specs: Any) -> list[tuple[str, dict[str, Any]]]:
    """Turn the YAML forms (``"name"`` or ``{name: {kwargs}}``) into (name, kwargs) pairs."""
    out: list[tuple[str, dict[str, Any]]] = []
    for spec in specs or []:
        if isinstance(spec, str):
            out.append((spec, {}))
        elif isinstance(spec, dict) and len(spec) == 1:
            (name, kwargs), = spec.items()
            if kwargs is not None and not isinstance(kwargs, dict):
                raise ConfigError(f"wrapper '{name}' options must be a mapping, got {kwargs!r}")
            out.append((str(name), dict(kwargs or {})))
        else:
            raise ConfigError(
                f"wrapper spec {spec!r} is not understood: write 'name' or {{name: {{option: value}}}}"
            )
    return out


def resolve_wrapper(name: str) -> type[gym.Wrapper]:
    target = WRAPPERS.get(name)
    if target is None:
        if ":" not in name:
            raise ConfigError(
                f"unknown wrapper '{name}'{did_you_mean(name, WRAPPERS)}; known wrappers: "
                f"{', '.join(WRAPPERS)} (or 'module:Class')"
            )
        target = name
    from gymkit.imports import import_path

    cls = import_path(target, "wrapper", ConfigError)
    if not (isinstance(cls, type) and issubclass(cls, gym.Wrapper)):
        raise ConfigError(f"wrapper '{name}' resolves to {cls!r}, which is not a gymnasium.Wrapper subclass: "
                          "give a wrapper class as module:Class")
    return cls


def apply_wrappers(env: gym.Env, specs: Any) -> gym.Env:
    """Wrap ``env`` with each wrapper of ``specs`` in order."""
    for name, kwargs in normalize_wrapper_specs(specs):
        cls = resolve_wrapper(name)
        try:
            env = cls(env, **kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"wrapper '{name}' rejected its options {kwargs} or its env ({exc})") from None
    return env
