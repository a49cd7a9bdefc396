"""RunSpec: what a run is (what ``config.yaml`` holds), each run setting declared once with
:func:`setting` (its CLI flag, help, range and resume rule; see :mod:`gymkit.run_config`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def setting(default: Any, help: str, *, flag: str | None = None, label: str | None = None,
            kind: str = "int", low: int | None = None, choices: tuple[str, ...] | None = None,
            resume: bool = False, metavar: str | None = None) -> Any:
    """A run setting: a RunSpec field that carries its CLI flag, help, range and resume rule.

    Args:
        default: the value when neither the command line nor the preset gives one.
        help: the flag's help text.
        flag: the ``gymkit train`` flag (None: preset-only).
        label: how messages name it (default: the flag).
        kind: int, float, bool, choice, yaml-dict or yaml-list (how the flag parses).
        low: smallest allowed whole number (0 or 1).
        resume: ``--resume`` may change it (the budget); otherwise config.yaml decides.
    """
    factory = {"default_factory": dict} if default == {} else {"default_factory": list} if default == [] else {
        "default": default}
    return field(**factory, metadata={"help": help, "flag": flag, "label": label or flag, "kind": kind,
                                      "low": low, "choices": choices, "resume": resume,
                                      "metavar": metavar, "setting": True})


@dataclass
class RunSpec:
    """Everything a run needs; written to ``config.yaml`` in the run directory.

    Each run setting is declared once, here, with :func:`setting`: the ``gymkit train``
    flags (:func:`add_run_arguments`), the checks (:func:`check_settings`), the preset keys
    (:data:`TRAIN_KEYS`) and the flags ``--resume`` refuses (:func:`resume_refused`) are all
    generated from these declarations.
    """

    agent: str
    env: str
    seed: int = setting(0, "random seed (default 0)", flag="--seed", low=0)
    steps: int | None = setting(None, "train for N env steps (all envs together)", flag="--steps", low=1,
                                resume=True)
    episodes: int | None = setting(None, "train for N episodes", flag="--episodes", low=1, resume=True)
    num_envs: int = setting(1, "parallel envs in the vector env (default 1)", flag="--num-envs", low=1)
    vectorization: str = setting("sync", "vector env kind (default sync)", flag="--vectorization",
                                 kind="choice", choices=("sync", "async"))
    eval_episodes: int = setting(10, "greedy episodes after training (default 10)", flag="--eval-episodes",
                                 low=0)
    checkpoint_every: int = setting(10_000, "steps between checkpoints (0: only at the end)",
                                    flag="--checkpoint-every", label="checkpoint_every", low=0)
    log_every: int = setting(1_000, "steps between metrics.csv rows (default 1000)", flag="--log-every",
                             label="log_every", low=1)
    eval_every: int = setting(
        0, "a periodic greedy evaluation every N steps (or N episodes with --episodes) on an evaluation env "
           "of its own; eval/mean, eval/std, eval/min, eval/max in metrics.csv (default 0: none)",
        flag="--eval-every", low=0, metavar="N")
    periodic_eval_episodes: int = setting(10, "episodes per periodic evaluation (default 10)",
                                          flag="--periodic-eval-episodes", low=1, metavar="K")
    keep_best: bool = setting(False, "keep the agent of the best periodic evaluation as RUN_DIR/best/ (scored "
                                     "again on fresh episodes at the end; needs --eval-every)",
                              flag="--keep-best", kind="bool")
    stop_at_eval: float | None = setting(None, "end training, as a finished run, once a periodic evaluation "
                                               "mean reaches R", flag="--stop-at-eval", kind="float",
                                         metavar="R")
    env_kwargs: dict[str, Any] = setting({}, "gymnasium.make keyword arguments (over the preset's), e.g. "
                                             "'{is_slippery: false}'", flag="--env-kwargs", kind="yaml-dict",
                                         metavar="YAML")
    wrappers: list[Any] = setting([], "wrappers for each env, as in presets (replace the preset's), e.g. "
                                      "'[velocity-mask]', or flatten (Discrete observations -> one-hot)",
                                  flag="--wrappers", kind="yaml-list", metavar="YAML")
    preset: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def run_settings() -> list[dataclasses.Field]:
    """The declared run settings, in RunSpec's order."""
    return [f for f in dataclasses.fields(RunSpec) if f.metadata.get("setting")]


#: the keys of a preset's ``train`` section (env_kwargs and wrappers are top-level preset keys)
TRAIN_KEYS = tuple(f.name for f in run_settings() if not f.metadata["kind"].startswith("yaml"))
