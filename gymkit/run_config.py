"""What a run is: the agent, the env, the budget and every setting needed to rerun it.

:func:`resolve_run` merges, in order of precedence, the command line, a preset, and the
defaults; it validates everything *before* any env or model is built, so bad input costs
nothing and touches nothing on disk.
"""

from __future__ import annotations

import dataclasses
import math
import platform
from typing import Any

from gymkit.config import AgentConfig, load_preset
from gymkit.errors import ConfigError, did_you_mean
from gymkit.registry import resolve_agent
from gymkit.run_spec import (  # noqa: F401  (re-exported)
    TRAIN_KEYS,
    RunSpec,
    run_settings,
    setting,
)

DEFAULT_STEPS = 10_000


def add_run_arguments(parser: Any, only: tuple[str, ...] | None = None) -> None:
    """Add the ``gymkit train`` flag of every run setting (or of those named in ``only``)."""
    import argparse

    from gymkit.argtypes import finite_float, non_negative_int, positive_int

    budget = None
    for f in run_settings():
        m = f.metadata
        if only is not None and f.name not in only:
            continue
        kwargs: dict[str, Any] = {"dest": f.name, "help": m["help"]}
        if m["metavar"]:
            kwargs["metavar"] = m["metavar"]
        if m["kind"] == "int":
            kwargs["type"] = positive_int if m["low"] == 1 else non_negative_int
        elif m["kind"] == "float":
            kwargs["type"] = finite_float
        elif m["kind"] == "choice":
            kwargs["choices"] = list(m["choices"])
        elif m["kind"] == "bool":
            kwargs.update(action=argparse.BooleanOptionalAction, default=None)
        target = parser
        if f.name in ("steps", "episodes"):  # one budget: steps or episodes
            budget = budget or parser.add_mutually_exclusive_group()
            target = budget
        target.add_argument(m["flag"], **kwargs)


def settings_from_args(args: Any) -> dict[str, Any]:
    """The run settings a parsed command line gives (None where a flag was not given);
    YAML flags are parsed here."""
    from gymkit.config import parse_yaml_option

    out = {}
    for f in run_settings():
        value = getattr(args, f.name, None)
        kind = f.metadata["kind"]
        if kind.startswith("yaml"):
            value = parse_yaml_option(f.metadata["flag"], value, dict if kind == "yaml-dict" else list)
        out[f.name] = value
    return out


def resume_refused(settings: dict[str, Any]) -> list[str]:
    """The flags of ``settings`` (given, not None) that ``--resume`` may not change."""
    return [f.metadata["flag"] for f in run_settings()
            if not f.metadata["resume"] and settings.get(f.name) not in (None, [], {})]


def resumed_settings(saved: RunSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The settings of a resumed run: the saved ones, except a new budget (steps or episodes)."""
    out = {f.name: getattr(saved, f.name) for f in run_settings()}
    budget = {k: given[k] for k in ("steps", "episodes") if given.get(k) is not None}
    if budget:
        out.update({"steps": None, "episodes": None, **budget})
    return out


def _positive(name: str, value: Any, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}={value!r} must be a whole number")
    if value < 0 or (value == 0 and not allow_zero):
        low = 0 if allow_zero else 1
        raise ConfigError(f"{name}={value} is out of range: it must be >= {low}")
    return value


def _check_periodic(settings: dict[str, Any]) -> None:
    """Periodic evaluation settings: whole numbers, and the best agent / early stop need them."""
    every = _positive("--eval-every", settings.get("eval_every", 0), allow_zero=True)
    _positive("--periodic-eval-episodes", settings.get("periodic_eval_episodes", 10))
    keep = settings.get("keep_best", False)
    if not isinstance(keep, bool):
        raise ConfigError(f"keep_best={keep!r} must be true or false")
    stop = settings.get("stop_at_eval")
    if stop is not None and (isinstance(stop, bool) or not isinstance(stop, int | float)
                             or not math.isfinite(stop)):
        raise ConfigError(f"--stop-at-eval {stop!r} must be a finite number (an evaluation mean return)")
    if every == 0 and (keep or stop is not None):
        flag = "--keep-best" if keep else "--stop-at-eval"
        raise ConfigError(f"{flag} needs periodic evaluations: add --eval-every N "
                          "(in the budget's unit, steps or episodes)")
    if stop is not None:
        settings["stop_at_eval"] = float(stop)


def check_settings(settings: dict[str, Any]) -> None:
    """Check merged run settings against their declarations, then the rules that join them."""
    defaults = {f.name: f.default for f in run_settings() if f.default is not dataclasses.MISSING}
    for f in run_settings():
        m, value = f.metadata, settings.get(f.name, defaults.get(f.name))
        if value is None or m["kind"] not in ("int", "choice") or f.name == "seed":
            continue
        if m["kind"] == "int":
            _positive(m["label"], value, allow_zero=m["low"] == 0)
        elif value not in m["choices"]:
            raise ConfigError(f"{f.name}={value!r} is not allowed: choose {' or '.join(m['choices'])}")
    seed = settings.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"--seed {seed!r} is out of range: use a whole number in [0, 2**32)")
    _check_periodic(settings)


def resolve_run(
    agent: str | None = None,
    env: str | None = None,
    *,
    preset: str | None = None,
    overrides: dict[str, Any] | AgentConfig | None = None,
    **train: Any,
) -> tuple[RunSpec, type, AgentConfig]:
    """Merge command line, preset and defaults into a validated RunSpec.

    Args:
        agent: an agent name or ``module:Class`` (optional when the preset names one).
        env: an env id (optional when the preset names one).
        preset: a preset name or YAML path.
        overrides: agent config values (``--set``), or a ready AgentConfig.
        **train: run-level settings (steps, episodes, seed, num_envs, ...); None means unset.

    Returns:
        The RunSpec, the agent class and its validated config.
    """
    for key in train:
        if key not in TRAIN_KEYS + ("env_kwargs", "wrappers"):
            raise ConfigError(f"unknown run setting '{key}'{did_you_mean(key, TRAIN_KEYS)}")
    p = load_preset(preset) if preset else None
    agent = agent or (p.agent if p else None)
    if not agent:
        raise ConfigError("no agent given: pass --agent NAME (see `gymkit list`) or a --preset")
    if p and agent != p.agent:
        raise ConfigError(
            f"preset '{p.name}' is for agent '{p.agent}', not '{agent}': drop --agent or pick a preset for '{agent}'"
        )
    env = env or (p.env if p else None)
    if not env:
        raise ConfigError("no env given: pass --env ENV_ID (e.g. CartPole-v1)")

    settings: dict[str, Any] = {}
    if p:
        for key in p.train:
            if key not in TRAIN_KEYS:
                raise ConfigError(f"unknown key '{key}' in preset '{p.name}' train section{did_you_mean(key, TRAIN_KEYS)}")
        settings.update(p.train)
    explicit = {k: v for k, v in train.items() if v is not None}
    if "steps" in explicit or "episodes" in explicit:
        settings.pop("steps", None)
        settings.pop("episodes", None)
    settings.update(explicit)

    if settings.get("steps") is not None and settings.get("episodes") is not None:
        raise ConfigError("give either --steps or --episodes, not both")
    if settings.get("steps") is None and settings.get("episodes") is None:
        settings["steps"] = DEFAULT_STEPS
    check_settings(settings)

    agent_cls = resolve_agent(agent)
    if isinstance(agent, type):  # a class given directly: record its import path
        agent = f"{agent.__module__}:{agent.__qualname__}"
    if isinstance(overrides, AgentConfig):
        config = overrides
    else:
        values = dict(p.config) if p else {}
        values.update(overrides or {})
        from gymkit.agents.base import config_class

        config = config_class(agent_cls).from_dict(values)

    env_kwargs = dict(p.env_kwargs) if p else {}
    env_kwargs.update(settings.pop("env_kwargs", None) or {})
    wrappers = settings.pop("wrappers", None)
    if wrappers is None:
        wrappers = list(p.wrappers) if p else []
    spec = RunSpec(agent=agent, env=env, env_kwargs=env_kwargs, wrappers=wrappers,
                   preset=p.name if p else None, config=config.to_dict(), **settings)
    return spec, agent_cls, config


def versions() -> dict[str, str]:
    """Versions of everything that can change a run's numbers."""
    import importlib.metadata as md
    import sys

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("gymkit", "gymnasium", "numpy", "ale-py"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    if "tensorflow" in sys.modules:
        for dist in ("tensorflow", "keras"):
            try:
                out[dist] = md.version(dist)
            except md.PackageNotFoundError:
                pass
    return out
