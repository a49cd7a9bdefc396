"""The book's Ms. Pac-Man preprocessing (chapter 16, Figure 16-9) as a Gymnasium wrapper.

The book's ``preprocess_observation`` crops the 210x160 RGB screen to the maze, keeps
every other row and column (88x80), turns it grey and blacks out Ms. Pac-Man so she
stands out::

    img = obs[1:176:2, ::2]              # crop and downsize: 88 rows x 80 columns
    img = img.mean(axis=2)               # to greyscale
    img[img == mspacman_color] = 0       # improve contrast
    img = (img - 128) / 128 - 1          # "normalize from -1. to 1." (see below)

Two slips of the book's code are fixed here (``shared/seeds/README.md``):

* ``(img - 128) / 128 - 1`` maps [0, 255] to [-2, 0], not [-1, 1]. With
  ``scale="book"`` we output ``mean / 127.5 - 1``, which really is [-1, 1].
* The contrast rule compared a float mean with ``mspacman_color`` for exact equality.
  The mean of three integers equals 448 / 3 exactly when their *sum* is 448, so we test
  the integer channel sum ``210 + 164 + 74 = 448`` instead: the same pixels, no floats.

By default the output is the **uint8** grey frame of shape ``(88, 80)`` (the rounded
channel mean, ``(sum + 1) // 3``): replay memory stores it at one byte a pixel and the
network scales it (the CNN encoders divide by 255 inside the model). The 2-D shape is
the one Gymnasium's ``AtariPreprocessing`` uses, so ``FrameStackObservation`` turns
either into ``(stack, H, W)`` and the CNN encoders accept both. ``keep_dim=True`` gives
the book's ``(88, 80, 1)``.

Example::

    >>> import gymnasium as gym, ale_py
    >>> gym.register_envs(ale_py)
    >>> env = MsPacmanPreprocessing(gym.make("ALE/MsPacman-v5"))
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype
    ((88, 80), dtype('uint8'))
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from gymkit.errors import ConfigError

#: The sum of Ms. Pac-Man's RGB colour (210, 164, 74); the book's ``mspacman_color`` is its mean.
MSPACMAN_COLOR_SUM = 210 + 164 + 74
#: The book's ``mspacman_color`` (a float mean), kept for readers comparing with the book.
mspacman_color = MSPACMAN_COLOR_SUM / 3
#: Output height and width: rows 1:176:2 and every other one of the 160 columns.
OUTPUT_SHAPE = (88, 80)
SCALES = ("none", "book")

# Greyscale and contrast in one lookup, indexed by the channel sum s in [0, 765]:
#   uint8:  round(s / 3) = (s + 1) // 3 (s / 3 has fractional part 0, 1/3 or 2/3),
#   "book": s / 3 / 127.5 - 1 = s / 382.5 - 1, which maps [0, 255] onto [-1, 1];
# and Ms. Pac-Man's sum (448) maps to 0, resp. -1: the contrast rule.
_SUMS = np.arange(3 * 255 + 1)
_GREY_UINT8 = ((_SUMS + 1) // 3).astype(np.uint8)
_GREY_UINT8[MSPACMAN_COLOR_SUM] = 0
_GREY_BOOK = (_SUMS / 382.5 - 1).astype(np.float32)
_GREY_BOOK[MSPACMAN_COLOR_SUM] = -1.0


def preprocess_observation(
    obs: np.ndarray, *, scale: str | None = None, keep_dim: bool = False
) -> np.ndarray:
    """The book's ``preprocess_observation``: crop, downsize, greyscale, contrast.

    Args:
        obs: one Ms. Pac-Man screen, uint8 of shape (210, 160, 3).
        scale: None or "none" for uint8 in [0, 255] (the rounded channel mean); "book" for
            float32 in [-1, 1] (``mean / 127.5 - 1``, the range the book meant).
        keep_dim: return (88, 80, 1), the book's shape, instead of (88, 80).

    Returns:
        The preprocessed frame; Ms. Pac-Man's pixels are 0 (uint8) or -1 ("book").
    """
    if scale is None or scale == "none":
        table = _GREY_UINT8
    elif scale == "book":
        table = _GREY_BOOK
    else:
        raise ConfigError(
            f"unknown scale {scale!r} for the Ms. Pac-Man preprocessing: use one of {SCALES}"
        )
    img = obs[1:176:2, ::2]  # crop and downsize: a (88, 80, 3) view, nothing copied yet
    # Integer channel sum (at most 765, exact in uint16), then one table lookup: three passes
    # over the strided view instead of eight. Measured (CPU): ~29 us a step inside an env loop
    # against ~37 us for sum-compare-divide; ~19 us in a hot loop against ~144 us for the
    # book's float mean (bench/results/atari.md).
    total = np.add(img[..., 0], img[..., 1], dtype=np.uint16)
    total += img[..., 2]
    img = table.take(total)
    return img[..., None] if keep_dim else img


class MsPacmanPreprocessing(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Apply the book's :func:`preprocess_observation` to every Ms. Pac-Man observation.

    Args:
        env: an env with (210, 160, 3) uint8 RGB observations, e.g. ``ALE/MsPacman-v5``.
        scale: None/"none" (uint8, default: the network scales) or "book" (float32 in [-1, 1]).
        keep_dim: observations of shape (88, 80, 1) (the book's) instead of (88, 80).
    """

    def __init__(self, env: gym.Env, scale: str | None = None, keep_dim: bool = False) -> None:
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or space.shape != (210, 160, 3):
            raise ConfigError(
                f"the 'mspacman' preprocessing needs 210x160 RGB screens (ALE/MsPacman-v5), got "
                f"{space}: make the env with obs_type='rgb' and put 'mspacman' before other image wrappers"
            )
        if scale not in (None, *SCALES):
            raise ConfigError(
                f"unknown scale {scale!r} for the 'mspacman' wrapper: use one of {SCALES}"
            )
        gym.utils.RecordConstructorArgs.__init__(self, scale=scale, keep_dim=keep_dim)
        super().__init__(env)
        self.scale = None if scale == "none" else scale
        self.keep_dim = bool(keep_dim)
        shape = OUTPUT_SHAPE + ((1,) if self.keep_dim else ())
        if self.scale == "book":
            self.observation_space = gym.spaces.Box(-1.0, 1.0, shape, np.float32)
        else:
            self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return preprocess_observation(observation, scale=self.scale, keep_dim=self.keep_dim)


def save_preprocessing_figure(
    path: str | Path,
    *,
    env_id: str = "ALE/MsPacman-v5",
    seed: int = 0,
    skip_start: int = 90,
    steps: int = 30,
) -> Path:
    """Write the book's Figure 16-9 to a PNG: a Ms. Pac-Man screen beside its preprocessing.

    The game is reset with ``seed``, its waiting start skipped (``skip_start`` no-ops, as the
    book trains), then ``steps`` random actions (seeded) are played so she is in the maze.

    Args:
        path: the PNG to write (parent folders are created).
        env_id: an Atari env id with RGB observations.
        seed: seeds the reset and the random actions.
        skip_start: no-op steps after the reset.
        steps: random steps after those.

    Returns:
        The path written.
    """
    from gymkit.envs.atari import register_atari_envs
    from gymkit.wrappers.skip_start import SkipStart

    register_atari_envs()
    env = SkipStart(gym.make(env_id), skip_start=skip_start)
    try:
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(steps):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()
    frame = preprocess_observation(obs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _figure_matplotlib(obs, frame, path)
    except ImportError:
        _figure_opencv(obs, frame, path)
    return path


def _figure_matplotlib(obs: np.ndarray, frame: np.ndarray, path: Path) -> None:
    # Figure + the Agg canvas directly: headless, and the user's pyplot backend is untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.5))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.imshow(obs, interpolation="nearest")
    left.set_title(f"Original observation ({obs.shape[0]}x{obs.shape[1]} RGB)")
    right.imshow(frame, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    right.set_title(f"Preprocessed observation ({frame.shape[0]}x{frame.shape[1]} grey)")
    for ax in (left, right):
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _figure_opencv(obs: np.ndarray, frame: np.ndarray, path: Path) -> None:
    import cv2

    # Show the 88x80 frame at twice its size (176x160), padded to the screen's 210 rows.
    big = cv2.resize(frame, (160, 176), interpolation=cv2.INTER_NEAREST)
    big = cv2.copyMakeBorder(
        big, 0, obs.shape[0] - big.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=0
    )
    gap = np.full((obs.shape[0], 8, 3), 255, np.uint8)
    picture = cv2.hconcat(
        [cv2.cvtColor(obs, cv2.COLOR_RGB2BGR), gap, cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)]
    )
    if not cv2.imwrite(str(path), picture):
        raise OSError(f"OpenCV could not write {path}")
