"""The search-space file of ``gymkit sweep`` and the configurations sampled from it.

A space file is a preset (see :class:`gymkit.config.Preset`) in which any value under
``train``, ``config`` or ``env_kwargs`` may be a search distribution, written as a mapping
with one key::

    agent: q-learning              # optional: --agent wins
    env: FrozenLake-v1             # optional: --env wins
    train:                         # run settings (no seed: seeds come from --seeds)
      steps: 5000
      eval_episodes: 100
    config:                        # the agent's config keys (`gymkit list --agent NAME`)
      learning_rate0: {loguniform: [0.01, 1.0]}
      learning_rate_decay: {uniform: [0.0, 0.01]}
      exploration: {choice: [random, epsilon-greedy]}
      eps_decay_steps: {randint: [1000, 5000]}       # low inclusive, high exclusive
      discount_rate: {grid_search: [0.9, 0.95]}
      curiosity: 10.0                                # a constant

A top-level key that is none of ``description agent env train config env_kwargs wrappers``
is shorthand: a run setting when it names one (``steps``, ``episodes``, ``eval_episodes``,
...), otherwise an agent config key. So ``learning_rate0: {loguniform: [0.01, 1]}`` may sit
at the top level.

Sampling follows Ray Tune's semantics (``num_samples`` times the grid): every grid point is
combined with ``--samples K`` random draws of the other distributions. The draws are made
here, up front, with Tune's own distributions and a seeded generator (``--search-seed``),
because each configuration is then run with several seeds, and Tune would draw new values
for every grid point, seed included.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.config import _read_yaml
from gymkit.errors import ConfigError, did_you_mean
from gymkit.run_config import TRAIN_KEYS, resolve_run

SECTIONS = ("train", "config", "env_kwargs")
PRESET_KEYS = ("description", "agent", "env", "wrappers") + SECTIONS
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice", "grid_search")
RUN_SETTINGS = tuple(k for k in TRAIN_KEYS if k != "seed")


@dataclass(frozen=True)
class Dist:
    """One search dimension: a distribution name and its arguments."""

    kind: str
    args: tuple[Any, ...]

    def to_tune(self) -> Any:
        """The Ray Tune domain (``tune.loguniform(...)``, ...) or ``tune.grid_search``."""
        from ray import tune

        return getattr(tune, self.kind)(*self.args) if self.kind != "choice" else tune.choice(list(self.args[0]))

    def text(self) -> str:
        return f"{self.kind}{list(self.args[0]) if self.kind in ('choice', 'grid_search') else list(self.args)}"


@dataclass
class SearchSpace:
    """A parsed space file: constants and distributions per section."""

    agent: str | None
    env: str | None
    description: str = ""
    wrappers: list[Any] = field(default_factory=list)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)  # section -> key -> value | Dist

    def dimensions(self) -> dict[tuple[str, str], Dist]:
        return {(s, k): v for s, values in self.sections.items() for k, v in values.items()
                if isinstance(v, Dist)}


@dataclass
class Variant:
    """One sampled configuration (run with every seed)."""

    id: int
    train: dict[str, Any]
    config: dict[str, Any]
    env_kwargs: dict[str, Any]
    sampled: dict[str, Any]  # "section.key" -> value, the searched values only

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "train": self.train, "config": self.config,
                "env_kwargs": self.env_kwargs, "sampled": self.sampled}


def _parse_value(where: str, value: Any) -> Any:
    """A constant, or a :class:`Dist` for a one-key mapping that names a distribution."""
    if not (isinstance(value, dict) and len(value) == 1):
        return value
    (kind, args), = value.items()
    if kind not in DISTRIBUTIONS:
        hint = did_you_mean(str(kind), DISTRIBUTIONS)
        if hint:  # looks like a misspelt distribution, not a dict-valued constant
            raise ConfigError(f"{where}: unknown distribution '{kind}'{hint}; use one of {', '.join(DISTRIBUTIONS)}")
        return value
    if kind in ("choice", "grid_search"):
        if not isinstance(args, list) or not args:
            raise ConfigError(f"{where}: {kind} needs a non-empty list of values, e.g. {{{kind}: [a, b]}}")
        return Dist(kind, (tuple(args),))
    if not (isinstance(args, list) and len(args) == 2 and all(
            isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a) for a in args)):
        raise ConfigError(f"{where}: {kind} needs [low, high] numbers, e.g. {{{kind}: [0.001, 0.1]}}")
    low, high = args
    if not low < high:
        raise ConfigError(f"{where}: {kind} [{low}, {high}] is empty: low must be below high")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: loguniform [{low}, {high}] needs low > 0: use uniform for ranges that include 0")
    if kind == "randint":
        if not all(isinstance(a, int) for a in args):
            raise ConfigError(f"{where}: randint [{low}, {high}] needs whole numbers (high excluded)")
        return Dist(kind, (int(low), int(high)))
    return Dist(kind, (float(low), float(high)))


def load_space(path: str | Path) -> SearchSpace:
    """Read and check a space file (distributions only; config keys are checked when sampled)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"space file {path} does not exist: give the path of a YAML search space (see docs/sweep.md)")
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"space file {path} must be a YAML mapping such as 'config: {{learning_rate0: {{loguniform: [0.01, 1]}}}}'")
    sections: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    for s in SECTIONS:
        raw = data.get(s) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"'{s}' in space file {path} must be a mapping of keys to values or distributions")
        sections[s].update(raw)
    for key, value in data.items():  # shorthand: top-level run settings and config keys
        if key not in PRESET_KEYS:
            sections["train" if key in RUN_SETTINGS else "config"][key] = value
    if "seed" in sections["train"]:
        raise ConfigError(f"space file {path} sets a seed: seeds come from --seeds N (seeds 0..N-1); remove it")
    for key in sections["train"]:
        if key not in RUN_SETTINGS:
            raise ConfigError(f"unknown run setting '{key}' in space file {path}{did_you_mean(key, RUN_SETTINGS)}")
    parsed = {s: {k: _parse_value(f"{path}: {s}.{k}", v) for k, v in values.items()}
              for s, values in sections.items()}
    return SearchSpace(agent=data.get("agent"), env=data.get("env"),
                       description=str(data.get("description", "")),
                       wrappers=list(data.get("wrappers") or []), sections=parsed)


def _plain(value: Any) -> Any:
    """NumPy scalars from Tune's samplers as plain Python (for YAML and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def sample_variants(space: SearchSpace, samples: int, search_seed: int = 0) -> list[Variant]:
    """Every grid point times ``samples`` random draws, in a reproducible order.

    Args:
        space: the parsed space.
        samples: random draws per grid point (Tune's ``num_samples``).
        search_seed: seeds the draws, so the same command samples the same configurations.
    """
    dims = space.dimensions()
    grid = [(where, d) for where, d in dims.items() if d.kind == "grid_search"]
    randoms = [(where, d.to_tune()) for where, d in dims.items() if d.kind != "grid_search"]
    rng = np.random.RandomState(search_seed)  # Tune's samplers take a legacy RandomState
    points = list(itertools.product(*[d.args[0] for _, d in grid]))
    variants = []
    for _ in range(samples):
        for point in points:
            values = {where: v for (where, _), v in zip(grid, point, strict=True)}
            values.update({where: _plain(domain.sample(random_state=rng)) for where, domain in randoms})
            out: dict[str, dict[str, Any]] = {s: {k: v for k, v in space.sections[s].items() if not isinstance(v, Dist)}
                                               for s in SECTIONS}
            for (s, k), v in values.items():
                out[s][k] = v
            sampled = {f"{s}.{k}": values[(s, k)] for (s, k) in dims}
            variants.append(Variant(len(variants), out["train"], out["config"], out["env_kwargs"], sampled))
    return variants


def check_variants(agent: str, env: str, space: SearchSpace, variants: list[Variant]) -> None:
    """Validate every sampled configuration as ``gymkit train`` would, before any trial starts."""
    for v in variants:
        try:
            spec, _, _ = resolve_run(agent, env, overrides=v.config, env_kwargs=v.env_kwargs,
                                     wrappers=space.wrappers, **v.train)
        except ConfigError as exc:
            raise ConfigError(f"sampled configuration {v.id} ({short_text(v.sampled)}) is invalid: {exc}") from None
        if not spec.eval_episodes:
            raise ConfigError("a sweep picks the best configuration by its greedy evaluation: "
                              "set train.eval_episodes >= 1 in the space file")


def short_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k.split('.', 1)[1]}={fmt_value(v)}" for k, v in values.items()) or "no searched values"


def fmt_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
