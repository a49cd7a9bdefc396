"""Atari envs the two ways gymkit trains on them: the book's recipe and the Nature recipe.

Both start from ``ALE/MsPacman-v5`` (the ROMs ship with ale-py), which keeps v5's sticky
actions (``repeat_action_probability=0.25``) and its 108,000-frame episode cap.

**The book's recipe** (chapter 16, preset ``dqn-mspacman-book``): v5's own frame skip of
4, the waiting start skipped with 90 no-ops, and the book's 88x80 grey frame, one frame
per state::

    wrappers: [{skip-start: {skip_start: 90}}, mspacman]

**The Nature recipe** (Mnih et al. 2015, the Atari-100k setup, preset ``dqn-mspacman``):
ale-py's frame skip off (``frameskip=1``) so that Gymnasium's ``AtariPreprocessing`` can
repeat each action 4 frames and max-pool the last two (flicker), up to 30 random no-ops
at reset, 84x84 grey frames, and the last 4 frames stacked into a ``(4, 84, 84)`` uint8
state::

    env_kwargs: {frameskip: 1}
    wrappers: [{atari: {noop_max: 30, frame_skip: 4, screen_size: 84}}, {frame-stack: {stack_size: 4}}]

100,000 agent steps of this env are 400,000 frames: the Atari-100k budget.

:func:`make_atari_env` builds either; :func:`atari_recipe` gives the ``env_kwargs`` and
wrapper list for a run or preset, so the two never disagree.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from gymkit.errors import EnvError


def register_atari_envs() -> None:
    """Register ale-py's ``ALE/...`` envs with Gymnasium (idempotent; imports ale-py)."""
    try:
        import ale_py
    except ImportError:
        raise EnvError("the Atari envs need ale-py: pip install 'ale-py>=0.10'") from None
    gym.register_envs(ale_py)


def atari_recipe(
    nature: bool = True, frame_stack: int | None = None, skip_start: int = 90
) -> dict[str, Any]:
    """The ``env_kwargs`` and ``wrappers`` (registry names) of one of the two recipes.

    Args:
        nature: True for the Nature/Atari-100k recipe (84x84, AtariPreprocessing on a
            frameskip-1 env), False for the book's (skip-start, 88x80 ``mspacman``; Ms. Pac-Man only).
        frame_stack: frames per state; None means 4 (Nature) or 1 (book); 1 adds no stacking.
        skip_start: the book recipe's no-op steps after reset (ignored by the Nature recipe,
            which starts with up to 30 random no-ops instead).

    Returns:
        ``{"env_kwargs": {...}, "wrappers": [...]}`` in the YAML form presets use.
    """
    if frame_stack is None:
        frame_stack = 4 if nature else 1
    if frame_stack < 1:
        raise EnvError(f"frame_stack must be >= 1, got {frame_stack}")
    if nature:
        env_kwargs: dict[str, Any] = {"frameskip": 1}
        wrappers: list[Any] = [
            {"atari": {"noop_max": 30, "frame_skip": 4, "screen_size": 84,
                       "terminal_on_life_loss": False, "grayscale_obs": True, "scale_obs": False}}
        ]
    else:
        env_kwargs = {}
        wrappers = [{"skip-start": {"skip_start": skip_start}}, "mspacman"]
    if frame_stack > 1:
        wrappers.append({"frame-stack": {"stack_size": frame_stack}})
    return {"env_kwargs": env_kwargs, "wrappers": wrappers}


def make_atari_env(
    env_id: str = "ALE/MsPacman-v5",
    *,
    nature: bool = True,
    frame_stack: int | None = None,
    skip_start: int = 90,
    **env_kwargs: Any,
) -> gym.Env:
    """Make an Atari env wrapped by one of the two recipes (see the module docstring).

    Args:
        env_id: an ``ALE/...`` id; the book recipe needs Ms. Pac-Man's 210x160 RGB screens.
        nature: the Nature recipe (True) or the book's (False).
        frame_stack: frames per state; None means 4 (Nature) or 1 (book).
        skip_start: the book recipe's no-op steps after reset.
        **env_kwargs: passed to ``gym.make`` over the recipe's (e.g. ``render_mode``,
            ``repeat_action_probability``).

    Example::

        >>> env = make_atari_env("ALE/MsPacman-v5")            # Nature: (4, 84, 84) uint8
        >>> env = make_atari_env(nature=False)                  # book: (88, 80) uint8
    """
    from gymkit.wrappers import apply_wrappers

    register_atari_envs()
    recipe = atari_recipe(nature=nature, frame_stack=frame_stack, skip_start=skip_start)
    try:
        env = gym.make(env_id, **{**recipe["env_kwargs"], **env_kwargs})
    except gym.error.Error as exc:
        raise EnvError(f"cannot make '{env_id}' ({exc}): use an ALE id such as 'ALE/MsPacman-v5'") from None
    return apply_wrappers(env, recipe["wrappers"])
