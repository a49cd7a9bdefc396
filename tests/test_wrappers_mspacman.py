"""The book's Ms. Pac-Man preprocessing on real ALE/MsPacman-v5 frames."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from gymkit.envs.atari import atari_recipe, make_atari_env, register_atari_envs
from gymkit.errors import ConfigError
from gymkit.wrappers import apply_wrappers
from gymkit.wrappers.mspacman import (
    MSPACMAN_COLOR_SUM,
    MsPacmanPreprocessing,
    preprocess_observation,
    save_preprocessing_figure,
)
from gymkit.wrappers.skip_start import SkipStart

MSPACMAN_RGB = (210, 164, 74)
MAZE_RGB = (228, 111, 111)  # the maze walls: channel sum 450, two away from hers


def book_preprocess_observation(obs: np.ndarray) -> np.ndarray:
    """The book's function transcribed, up to its greyscale mean (before its slipped scaling)."""
    mspacman_color = np.array([210, 164, 74]).mean()
    img = obs[1:176:2, ::2]
    img = img.mean(axis=2)
    img[img == mspacman_color] = 0
    return img


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A real screen with Ms. Pac-Man in the maze (seed 0, the book's 90 no-ops, 30 random steps)."""
    register_atari_envs()
    env = SkipStart(gym.make("ALE/MsPacman-v5"), skip_start=90)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(30):
        obs, *_ = env.step(env.action_space.sample())
    env.close()
    return obs


def her_mask(obs: np.ndarray) -> np.ndarray:
    return np.all(obs[1:176:2, ::2] == MSPACMAN_RGB, axis=2)


def test_real_frame_has_her_and_the_maze(frame):
    assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8
    assert sum(MSPACMAN_RGB) == MSPACMAN_COLOR_SUM == 448
    assert her_mask(frame).sum() >= 5  # she is on screen, inside the crop (10 pixels here)
    assert np.all(frame[1:176:2, ::2] == MAZE_RGB, axis=2).sum() > 1000


def test_default_is_uint8_88x80(frame):
    img = preprocess_observation(frame)
    assert img.shape == (88, 80) and img.dtype == np.uint8
    assert preprocess_observation(frame, keep_dim=True).shape == (88, 80, 1)


def test_contrast_rule_blacks_out_only_her(frame):
    img = preprocess_observation(frame)
    mask = her_mask(frame)
    assert np.all(img[mask] == 0)
    maze = np.all(frame[1:176:2, ::2] == MAZE_RGB, axis=2)
    assert np.all(img[maze] == 150)  # 450 / 3: one step of colour away from hers, kept
    # Nothing else of the frame is black unless it was black to begin with.
    black = frame[1:176:2, ::2].sum(axis=2) == 0
    assert np.array_equal(img == 0, mask | black)


def test_matches_the_book_function(frame):
    book = book_preprocess_observation(frame)
    # uint8 is the book's float mean rounded to the nearest integer.
    assert np.array_equal(preprocess_observation(frame), np.rint(book).astype(np.uint8))
    # "book" scaling is the book's mean mapped onto [-1, 1], as its comment intended.
    scaled = preprocess_observation(frame, scale="book", keep_dim=True)
    assert scaled.shape == (88, 80, 1) and scaled.dtype == np.float32
    np.testing.assert_allclose(scaled[..., 0], book / 127.5 - 1, atol=1e-6)
    assert np.all(scaled[her_mask(frame)] == -1.0)


def test_matches_the_book_function_on_every_colour():
    """Random screens, plus her colour and colours one away from her sum (447, 449)."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs = rng.integers(0, 256, (210, 160, 3), dtype=np.uint8)
        for rgb, share in [(MSPACMAN_RGB, 0.1), ((210, 164, 73), 0.05), ((210, 164, 75), 0.05)]:
            obs[rng.random((210, 160)) < share] = rgb
        book = book_preprocess_observation(obs)
        assert np.array_equal(preprocess_observation(obs), np.rint(book).astype(np.uint8))
        np.testing.assert_allclose(
            preprocess_observation(obs, scale="book"), book / 127.5 - 1, atol=1e-6
        )


def test_book_scaling_spans_minus_one_to_one():
    obs = np.zeros((210, 160, 3), np.uint8)
    obs[1:100] = 255
    img = preprocess_observation(obs, scale="book")
    assert img.min() == -1.0 and img.max() == 1.0
    # The book's own formula, (img - 128) / 128 - 1, would give [-2, 0]: the slip we fix.
    raw = obs[1:176:2, ::2].mean(axis=2)
    assert ((raw - 128) / 128 - 1).max() < 0.0


def test_unknown_scale_is_a_config_error(frame):
    with pytest.raises(ConfigError, match="scale"):
        preprocess_observation(frame, scale="unit")


def test_wrapper_spaces_and_env_checker():
    register_atari_envs()
    env = apply_wrappers(
        gym.make("ALE/MsPacman-v5"), [{"skip-start": {"skip_start": 90}}, "mspacman"]
    )
    assert isinstance(env, MsPacmanPreprocessing)
    assert env.observation_space == gym.spaces.Box(0, 255, (88, 80), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the env is a wrapper" advice; errors still raise
        check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    book = MsPacmanPreprocessing(gym.make("ALE/MsPacman-v5"), scale="book", keep_dim=True)
    assert book.observation_space == gym.spaces.Box(-1.0, 1.0, (88, 80, 1), np.float32)
    assert book.observation_space.contains(book.reset(seed=0)[0])


def test_wrapper_refuses_non_mspacman_screens():
    with pytest.raises(ConfigError, match="210x160 RGB"):
        MsPacmanPreprocessing(gym.make("CartPole-v1"))
    register_atari_envs()
    with pytest.raises(ConfigError, match="scale"):
        MsPacmanPreprocessing(gym.make("ALE/MsPacman-v5"), scale="unit")


def test_frame_stack_of_book_frames():
    env = make_atari_env(nature=False, frame_stack=4, skip_start=0)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 88, 80) and obs.dtype == np.uint8
    assert env.observation_space.shape == (4, 88, 80)


def test_nature_recipe():
    recipe = atari_recipe(nature=True)
    assert recipe["env_kwargs"] == {"frameskip": 1}
    env = make_atari_env("ALE/MsPacman-v5", nature=True)
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.unwrapped._frameskip == 1
    assert env.spec.kwargs["repeat_action_probability"] == 0.25  # v5's sticky actions kept
    _, _, _, _, info2 = env.step(0)
    assert info2["frame_number"] - info["frame_number"] == 4  # one agent step = 4 frames


def test_figure_16_9_png(tmp_path):
    path = save_preprocessing_figure(tmp_path / "fig" / "figure_16_9.png", steps=5)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_figure_falls_back_to_opencv_without_matplotlib(tmp_path, monkeypatch):
    import cv2

    import gymkit.wrappers.mspacman as mspacman

    def no_matplotlib(*args):
        raise ImportError("no matplotlib")

    monkeypatch.setattr(mspacman, "_figure_matplotlib", no_matplotlib)
    path = save_preprocessing_figure(tmp_path / "figure_16_9.png", steps=0)
    picture = cv2.imread(str(path))
    assert picture.shape == (210, 160 + 8 + 160, 3)  # the screen, a gap, the frame at 2x
