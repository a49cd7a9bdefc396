"""``gymkit evaluate --video``: one file per greedy episode, with one frame per reset and step."""

from __future__ import annotations

import json
import warnings

import imageio.v2 as iio2
import pytest

from gymkit.errors import GymkitError
from gymkit.evaluation import evaluate_run
from gymkit.loop import train
from gymkit.video import video_paths

from .conftest import run_cli

# Needs the video extra (moviepy, imageio; pygame renders CartPole), which the dev set installs.


def mp4_frames(path) -> tuple[int, tuple[int, int]]:
    reader = iio2.get_reader(path, format="ffmpeg")
    try:
        return reader.count_frames(), reader.get_meta_data()["size"]
    finally:
        reader.close()


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("video") / "cartpole"
    train("hardcoded", "CartPole-v1", steps=100, eval_episodes=0, run_dir=run_dir)
    return run_dir


def test_cartpole_mp4_has_one_frame_per_step_plus_the_reset(cartpole_run, tmp_path):
    stats = evaluate_run(cartpole_run, episodes=2, seed=5, video_dir=tmp_path, video_format="mp4")
    files = video_paths(tmp_path, "mp4", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval-episode-0.mp4", "eval-episode-1.mp4"]
    assert stats.lengths[0] != stats.lengths[1]  # so a mix-up of the two files would show
    for path, length in zip(files, stats.lengths, strict=True):
        assert mp4_frames(path) == (length + 1, (600, 400))


def test_cartpole_gif_plays_one_frame_per_step_plus_the_reset(cartpole_run, tmp_path):
    from PIL import Image, ImageSequence

    stats = evaluate_run(cartpole_run, episodes=2, seed=5, video_dir=tmp_path, video_format="gif")
    for path, length in zip(video_paths(tmp_path, "gif", 2), stats.lengths, strict=True):
        with Image.open(path) as gif:  # the iterator seeks one image object: read as it goes
            durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
            size = gif.size
        # Pillow merges identical consecutive frames into a longer one: count time, not images.
        # CartPole renders at 50 fps, 20 ms a frame (exact in GIF's centiseconds).
        assert sum(durations) == 20 * (length + 1)
        assert length // 2 < len(durations) <= length + 1
        assert size == (600, 400)


def test_mspacman_mp4_has_one_frame_per_step_plus_the_reset(tmp_path):
    run_dir = tmp_path / "mspacman"
    # A random agent (the README's frame comes from one too); a 40-step time limit keeps it short.
    train("random", "ALE/MsPacman-v5", steps=50, eval_episodes=0, run_dir=run_dir,
          env_kwargs={"max_episode_steps": 40})
    stats = evaluate_run(run_dir, episodes=1, video_dir=tmp_path / "videos")
    assert stats.lengths == [40]
    assert mp4_frames(tmp_path / "videos" / "eval-episode-0.mp4") == (41, (160, 210))


def test_cli_evaluate_video_lists_the_files(cartpole_run, tmp_path):
    res = run_cli("evaluate", str(cartpole_run), "--episodes", "1", "--video", str(tmp_path / "v"),
                  "--video-format", "gif")
    assert res.returncode == 0, res.stderr
    assert f"videos: {tmp_path / 'v' / 'eval-episode-0.gif'}" in res.stdout
    lengths = json.loads((cartpole_run / "evaluation.json").read_text())["lengths"]
    assert (tmp_path / "v" / "eval-episode-0.gif").exists() and len(lengths) == 1


def test_an_env_that_cannot_render_images_is_refused_in_one_line(tmp_path):
    run_dir = tmp_path / "mdp"
    train("random", "gymkit/BookMDP-v0", steps=10, eval_episodes=0, run_dir=run_dir)
    with warnings.catch_warnings(), pytest.raises(GymkitError, match="cannot render images for a video"):
        warnings.simplefilter("ignore")  # Gymnasium's own warning about the render mode
        evaluate_run(run_dir, episodes=1, video_dir=tmp_path / "v")
    assert not (tmp_path / "v").exists()
