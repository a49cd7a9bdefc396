"""Greedy evaluation: play ``explore=False`` episodes on a fresh env and summarise the returns.

The summary is the book's: mean, standard deviation, minimum and maximum of the episode
returns (``np.mean(totals), np.std(totals), np.min(totals), np.max(totals)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.checkpoint import (
    BEST_DIR,
    read_best_info,
    read_run_config,
    require_run_dir,
    verify_folder,
    write_json_atomic,
)
from gymkit.envs.factory import make_env
from gymkit.errors import RunDirError, SpaceError

EVAL_FILE = "evaluation.json"
#: the best agent's evaluation (runs trained with --keep-best)
BEST_EVAL_FILE = "evaluation-best.json"
AGENT_CHOICES = ("best", "final")


@dataclass
class EvalStats:
    """Returns of greedy episodes and their summary."""

    episodes: int
    seed: int
    mean: float
    std: float
    min: float
    max: float
    mean_length: float
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    #: which agent of the run played: "final" (``agent/``) or "best" (``best/``)
    agent: str = "final"
    #: the training step that agent was saved at (None: unknown)
    step: int | None = None

    @classmethod
    def from_returns(cls, returns: list[float], lengths: list[int], seed: int) -> EvalStats:
        r = np.asarray(returns, dtype=np.float64)
        return cls(
            episodes=len(r), seed=seed, mean=float(r.mean()), std=float(r.std()),
            min=float(r.min()), max=float(r.max()), mean_length=float(np.mean(lengths)),
            returns=[float(x) for x in r], lengths=[int(x) for x in lengths],
        )

    def line(self) -> str:
        return (f"evaluation over {self.episodes} episodes (seed {self.seed}): "
                f"mean {self.mean:.2f}  std {self.std:.2f}  min {self.min:.2f}  max {self.max:.2f}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def spaces_match(a: Any, b: Any) -> bool:
    return a == b


def evaluate_agent(
    agent: Any,
    env_id: str,
    *,
    episodes: int = 10,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    wrappers: Any = None,
    env: Any = None,
    video_dir: str | Path | None = None,
    video_format: str = "mp4",
) -> EvalStats:
    """Play ``episodes`` greedy episodes on a fresh env (seeded once, at the first reset).

    With ``video_dir``, every episode is also recorded there (``eval-episode-K.mp4`` or
    ``.gif``, see :mod:`gymkit.video`); the env is then made with ``render_mode="rgb_array"``.
    """
    if episodes < 1:
        raise ValueError("episodes must be >= 1")
    if video_dir is not None:
        from gymkit.video import make_rgb_env, record_episodes

        env = record_episodes(env if env is not None else make_rgb_env(env_id, env_kwargs, wrappers),
                              video_dir, video_format, episodes)
    env = env if env is not None else make_env(env_id, env_kwargs, wrappers)
    if not (spaces_match(env.observation_space, agent.observation_space)
            and spaces_match(env.action_space, agent.action_space)):
        raise SpaceError(
            f"the env's spaces ({env.observation_space}, {env.action_space}) differ from the agent's "
            f"({agent.observation_space}, {agent.action_space}): evaluate on the env it was trained on"
        )
    try:
        returns, lengths = play_episodes(agent, env, episodes, seed=seed)
    finally:
        env.close()
    return EvalStats.from_returns(returns, lengths, seed)


def play_episodes(agent: Any, env: Any, episodes: int, *, seed: int | None = None
                  ) -> tuple[list[float], list[int]]:
    """Play ``episodes`` greedy (``explore=False``) episodes on ``env``; their returns and lengths.

    The env is reset with ``seed`` before the first episode (None: continue its generator,
    as a persistent evaluation stream does) and between episodes without one; it is left
    at the end of the last episode, not reset again, and not closed.
    """
    from gymkit.agents.calls import AgentCalls

    calls = AgentCalls.of(agent)  # the kwargs act() takes, failures in one line, actions checked
    returns, lengths = [], []
    env0 = np.zeros(1, np.int64)
    obs, info = env.reset(seed=seed)
    step = 0
    for i in range(episodes):
        if i:
            obs, info = env.reset()
        total, length, done = 0.0, 0, False
        calls.episode_start(env0, explore=False, step=step, stream="evaluation")
        while not done:
            mask = info.get("action_mask")
            action = calls.act(
                np.asarray(obs)[None], explore=False,
                action_mask=None if mask is None else np.asarray(mask, dtype=bool)[None], env_ids=env0,
                step=step, stream="evaluation",
            )[0]
            step += 1
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            length += 1
            done = terminated or truncated
        returns.append(total)
        lengths.append(length)
    return returns, lengths


def default_agent_choice(run_dir: Path) -> str:
    """``best`` when the run kept a best agent (``--keep-best``), else ``final``."""
    return "best" if (Path(run_dir) / BEST_DIR).is_dir() else "final"


def load_run_agent(run_dir: Path, which: str = "final") -> Any:
    """A run's agent, verified: ``final`` (``agent/``, or the latest checkpoint if the run never
    finished) or ``best`` (``best/``, the agent of the best periodic evaluation)."""
    from gymkit.agent_files import load_agent
    from gymkit.checkpoint import latest_checkpoint

    if which not in AGENT_CHOICES:
        raise RunDirError(f"--agent {which!r} is not one of {', '.join(AGENT_CHOICES)}: pick one")
    if which == "best":
        folder = run_dir / BEST_DIR
        if not folder.is_dir():
            raise RunDirError(f"{run_dir} kept no best agent (no {BEST_DIR}/): train with --eval-every N "
                              "--keep-best, or evaluate --agent final")
        verify_folder(folder)
        return load_agent(folder)
    final = run_dir / "agent"
    folder = final if final.exists() else latest_checkpoint(run_dir)
    if folder is None:
        raise RunDirError(f"{run_dir} holds no saved agent (no agent/ and no checkpoints): train it first")
    verify_folder(folder)
    return load_agent(folder)


def evaluate_run(
    run_dir: str | Path, *, episodes: int | None = None, seed: int | None = None, env: str | None = None,
    video_dir: str | Path | None = None, video_format: str = "mp4", agent: str | None = None,
) -> EvalStats:
    """Load a run's agent and config, play greedy episodes, write ``evaluation.json``.

    Args:
        run_dir: a directory written by ``gymkit train``.
        episodes: greedy episodes to play (default: the run's ``eval_episodes``).
        seed: the env seed (default: the run's seed + 1, which training's evaluation used too).
        env: another env id to evaluate on (its spaces must equal the agent's).
        video_dir: record the episodes there too (see :func:`evaluate_agent`).
        video_format: ``"mp4"`` or ``"gif"``.
        agent: ``"final"`` or ``"best"`` (default: ``best`` when the run kept one, else
            ``final``); the best agent's result goes to ``evaluation-best.json``.
    """
    import gymkit  # noqa: F401 - registers gymkit's envs

    run_dir = require_run_dir(Path(run_dir))
    cfg = read_run_config(run_dir)
    which = agent or default_agent_choice(run_dir)
    player = load_run_agent(run_dir, which)
    episodes = int(episodes if episodes is not None else (cfg.get("eval_episodes") or 10))
    if episodes < 1:
        raise RunDirError(f"--episodes {episodes} is out of range: it must be >= 1")
    seed = int(seed if seed is not None else cfg.get("seed", 0) + 1)
    same_env = env is None or env == cfg["env"]
    stats = evaluate_agent(player, cfg["env"] if same_env else env, episodes=episodes, seed=seed,
                           env_kwargs=cfg.get("env_kwargs") if same_env else None,
                           wrappers=cfg.get("wrappers") if same_env else None,
                           video_dir=video_dir, video_format=video_format)
    stats.agent = which
    if which == "best":
        stats.step = int(read_best_info(run_dir / BEST_DIR)["step"])
    write_json_atomic(run_dir / (BEST_EVAL_FILE if which == "best" else EVAL_FILE), stats.to_dict())
    return stats
