"""Recording greedy episodes: MP4 with Gymnasium's ``RecordVideo``, or GIF with imageio.

Both record the frame after ``reset`` and one after every step, so an episode of length
``T`` gives a file of ``T + 1`` frames, named ``NAME-episode-K.mp4`` / ``.gif``. The env
must be made with ``render_mode="rgb_array"``; Ms. Pac-Man's frames are the ALE screen
(210x160) every ``frameskip`` emulator frames, CartPole's its 600x400 drawing (pygame).

GIF writers (Pillow) merge identical consecutive frames into one longer frame, so a GIF
may hold fewer images than ``T + 1`` but still plays for ``(T + 1) / fps`` seconds; GIF
frame times are whole centiseconds, so 50 fps (CartPole) is exact and 30 fps is not.

Example::

    env = record_episodes(make_env("CartPole-v1", render_mode="rgb_array"), "videos", "gif", 2)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.errors import GymkitError

FORMATS = ("mp4", "gif")
INSTALL_HINT = "pip install 'gymkit[video]'"


class _RenderErrors(gym.Wrapper):
    """Turn a renderer's missing dependency (pygame for CartPole, ...) into a one-line GymkitError."""

    def render(self) -> Any:
        try:
            return self.env.render()
        except gym.error.DependencyNotInstalled as exc:
            raise GymkitError(f"recording {self.env.spec.id if self.env.spec else 'this env'} "
                              f"needs a renderer that is not installed: {exc}") from None


class RecordGif(gym.Wrapper):
    """Write each of the first ``episodes`` episodes to a GIF (one frame per reset/step).

    Args:
        env: an env made with ``render_mode="rgb_array"``.
        video_folder: where the GIFs go (created if missing).
        episodes: how many episodes, from the first, to record.
        name_prefix: file names are ``{name_prefix}-episode-{k}.gif``.
        fps: frames per second (default: the env's ``render_fps``, else 30).
    """

    def __init__(self, env: gym.Env, video_folder: str | Path, episodes: int,
                 name_prefix: str = "rl-video", fps: int | None = None) -> None:
        super().__init__(env)
        self.video_folder = Path(video_folder)
        self.video_folder.mkdir(parents=True, exist_ok=True)
        self.episodes, self.name_prefix = episodes, name_prefix
        self.fps = fps or env.metadata.get("render_fps") or 30
        self.episode_id = -1
        self.frames: list[np.ndarray] = []

    def reset(self, **kwargs: Any) -> Any:
        out = super().reset(**kwargs)
        self._flush()
        self.episode_id += 1
        if self.episode_id < self.episodes:
            self.frames = [self.env.render()]
        return out

    def step(self, action: Any) -> Any:
        out = super().step(action)
        if self.frames:
            self.frames.append(self.env.render())
        return out

    def _flush(self) -> None:
        if not self.frames:
            return
        import imageio.v3 as iio

        path = self.video_folder / f"{self.name_prefix}-episode-{self.episode_id}.gif"
        # GIF frame durations are in milliseconds; loop=0 repeats forever.
        iio.imwrite(path, np.stack(self.frames), plugin="pillow", extension=".gif",
                    duration=1000.0 / self.fps, loop=0)
        self.frames = []

    def close(self) -> None:
        self._flush()
        super().close()


def make_rgb_env(env_id: str, env_kwargs: dict[str, Any] | None = None, wrappers: Any = None) -> gym.Env:
    """:func:`gymkit.envs.factory.make_env` with ``render_mode="rgb_array"``, or a one-line error."""
    from gymkit.envs.factory import make_env

    try:
        env = make_env(env_id, env_kwargs, wrappers, render_mode="rgb_array")
    except (ValueError, TypeError) as exc:  # the env's constructor refused the render mode
        raise GymkitError(f"env '{env_id}' cannot render images for a video ({exc}): "
                          "record an env with 'rgb_array' rendering") from None
    modes = env.unwrapped.metadata.get("render_modes", [])
    if "rgb_array" not in modes:
        env.close()
        raise GymkitError(f"env '{env_id}' cannot render images for a video (its render modes: {modes}): "
                          "record an env with 'rgb_array' rendering")
    return env


def record_episodes(env: gym.Env, video_dir: str | Path, video_format: str = "mp4",
                    episodes: int = 1, name_prefix: str = "eval") -> gym.Env:
    """Wrap ``env`` so that its first ``episodes`` episodes are written to ``video_dir``.

    Raises:
        GymkitError: unknown format, an env that does not render images, or a missing package.
    """
    if video_format not in FORMATS:
        raise GymkitError(f"--video-format {video_format!r} is not one of {', '.join(FORMATS)}: pick one")
    if env.render_mode != "rgb_array":
        raise GymkitError(f"recording needs an env made with render_mode='rgb_array', not {env.render_mode!r}")
    try:
        import imageio  # noqa: F401

        if video_format == "mp4":
            import moviepy  # noqa: F401
    except ImportError as exc:
        raise GymkitError(f"--video needs {exc.name}, which is not installed: {INSTALL_HINT}") from None
    # rgb_array rendering never opens a window; without this, pygame (CartPole's renderer)
    # probes for a display and prints an XDG_RUNTIME_DIR error on headless machines.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env = _RenderErrors(env)
    if video_format == "gif":
        return RecordGif(env, video_dir, episodes, name_prefix)
    return gym.wrappers.RecordVideo(env, str(video_dir), episode_trigger=lambda k: k < episodes,
                                    name_prefix=name_prefix, disable_logger=True)


def video_paths(video_dir: str | Path, video_format: str, episodes: int, name_prefix: str = "eval") -> list[Path]:
    """The files :func:`record_episodes` writes for ``episodes`` episodes, in episode order."""
    return [Path(video_dir) / f"{name_prefix}-episode-{k}.{video_format}" for k in range(episodes)]
