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
wrapper list for a run or preset, so the two never disagree. :func:`make_atari_vector_env`
builds the Nature recipe with ale-py's C++ ``AtariVectorEnv`` instead (no Python per frame).

Measured on this 2-core machine (``bench/results/atari.md``): the book's stack keeps ~0.9 of
raw ALE steps/s; the Python Nature stack ~0.56 of raw v5 agent steps/s (4 Python ALE steps,
a resize and a max-pool per agent step), ale-py's C++ vector env ~0.76.
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
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner per env
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
            {
                "atari": {
                    "noop_max": 30,
                    "frame_skip": 4,
                    "screen_size": 84,
                    "terminal_on_life_loss": False,
                    "grayscale_obs": True,
                    "scale_obs": False,
                }
            }
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
        raise EnvError(
            f"cannot make '{env_id}' ({exc}): use an ALE id such as 'ALE/MsPacman-v5'"
        ) from None
    return apply_wrappers(env, recipe["wrappers"])


def make_atari_vector_env(
    env_id: str = "ALE/MsPacman-v5",
    num_envs: int = 1,
    *,
    frame_stack: int = 4,
    num_threads: int | None = None,
    **options: Any,
) -> gym.vector.VectorEnv:
    """The Nature recipe done in C++ by ale-py's ``AtariVectorEnv``: same settings, faster.

    ale-py's vector env repeats each action 4 frames, max-pools the last two, starts with up
    to 30 no-ops, resizes to 84x84 grey and stacks ``frame_stack`` frames, like
    ``AtariPreprocessing`` + ``FrameStackObservation``, but without a Python step per frame:
    measured here at ~1.27x the agent steps/s of the Python stack for one env (see
    ``bench/results/atari.md``). Observations are ``(num_envs, frame_stack, 84, 84)`` uint8,
    the layout of the Python recipe. The id's own settings are kept (v5: sticky actions
    0.25, 108,000 frames per episode); rewards are not clipped and losing a life does not
    end the episode (as in the Python recipe); autoreset is NEXT_STEP, as gymkit's loop expects.

    Args:
        env_id: an ``ALE/...`` id.
        num_envs: envs stepped together.
        frame_stack: frames per state.
        num_threads: ale-py worker threads; None means ``min(num_envs, cpu count)``.
        **options: passed to ``AtariVectorEnv`` over these settings.
    """
    import os

    register_atari_envs()
    from ale_py.vector_env import AtariVectorEnv

    try:
        kwargs = gym.spec(env_id).kwargs
    except gym.error.Error as exc:
        raise EnvError(
            f"cannot make '{env_id}' ({exc}): use an ALE id such as 'ALE/MsPacman-v5'"
        ) from None
    if "game" not in kwargs:
        raise EnvError(f"'{env_id}' is not an ALE env: use an id such as 'ALE/MsPacman-v5'")
    settings: dict[str, Any] = {
        "repeat_action_probability": kwargs.get("repeat_action_probability", 0.25),
        "max_num_frames_per_episode": kwargs.get("max_num_frames_per_episode", 108_000),
        "full_action_space": kwargs.get("full_action_space", False),
        "frameskip": 4,
        "maxpool": True,
        "noop_max": 30,
        "img_height": 84,
        "img_width": 84,
        "grayscale": True,
        "stack_num": frame_stack,
        "episodic_life": False,
        "reward_clipping": False,
        "use_fire_reset": False,
        "autoreset_mode": "NextStep",
        "num_threads": num_threads or min(num_envs, os.cpu_count() or 1),
    }
    settings.update(options)
    return AtariVectorEnv(kwargs["game"], num_envs, **settings)
