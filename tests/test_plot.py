"""``gymkit plot``: learning curves, seeds of one configuration as a mean and a band."""

from __future__ import annotations

import numpy as np
import pytest

from gymkit.compare import load_run_info
from gymkit.errors import GymkitError, RunDirError
from gymkit.loop import train
from gymkit.plot import aggregate, group_runs, plot_runs

from .conftest import run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Random (2 seeds) and hard-coded (1 seed) CartPole runs, 1,000 steps logged every 250."""
    root = tmp_path_factory.mktemp("plot")
    out = {}
    for name, agent, seed in (("r0", "random", 0), ("r1", "random", 1), ("h0", "hardcoded", 0)):
        out[name] = root / name
        train(agent, "CartPole-v1", steps=1000, seed=seed, log_every=250, eval_episodes=2, run_dir=out[name])
    return out


def test_two_configurations_give_two_lines_and_their_evaluation_points(runs):
    fig = plot_runs([runs["r0"], runs["h0"]])
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    assert [line.get_label() for line in ax.lines] == ["random", "hardcoded"]
    assert len(ax.collections) == 2  # one evaluation marker per run, no band (one seed each)
    for line, run in zip(ax.lines, (runs["r0"], runs["h0"]), strict=True):
        rows = load_run_info(run, metrics=True).metrics
        np.testing.assert_allclose(line.get_xdata(), [r["step"] for r in rows])
        np.testing.assert_allclose(line.get_ydata(), [r["return_mean"] for r in rows])
    info = load_run_info(runs["h0"])
    np.testing.assert_allclose(ax.collections[1].get_offsets(), [[1000, info.evaluation["mean"]]])


def test_seeds_of_one_configuration_are_one_mean_line_with_a_band(runs, tmp_path):
    from matplotlib.collections import PathCollection, PolyCollection

    fig = plot_runs([runs["r0"], runs["r1"], runs["h0"]], band="minmax")
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    assert ax.lines[0].get_label() == "random: mean of 2 seeds, min-max band"
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(bands) == 1 and sum(len(p.get_offsets()) for p in points) == 3
    y0 = [r["return_mean"] for r in load_run_info(runs["r0"], metrics=True).metrics]
    y1 = [r["return_mean"] for r in load_run_info(runs["r1"], metrics=True).metrics]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), (np.array(y0) + np.array(y1)) / 2)
    # The band spans min..max of the two seeds at every step.
    verts = bands[0].get_paths()[0].vertices[:, 1]
    assert verts.min() == pytest.approx(min(y0 + y1)) and verts.max() == pytest.approx(max(y0 + y1))


def test_cli_plot_writes_a_png(runs, tmp_path):
    out = tmp_path / "curves.png"
    res = run_cli("plot", str(runs["r0"]), str(runs["r1"]), str(runs["h0"]), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_grouping_ignores_the_seed_but_not_the_agent_config(runs):
    infos = [load_run_info(runs[n]) for n in ("r0", "r1", "h0")]
    assert [len(g) for g in group_runs(infos)] == [2, 1]
    infos[1].config = {**infos[1].config, "config": {"x": 1}}
    assert [len(g) for g in group_runs(infos)] == [1, 1, 1]


def test_aggregate_interpolates_onto_the_common_steps():
    grid, ys = aggregate([(np.array([0.0, 10, 20]), np.array([0.0, 10, 20])),
                          (np.array([5.0, 15, 25]), np.array([1.0, 1, 1]))])
    np.testing.assert_allclose(grid, [5, 10, 15, 20])
    np.testing.assert_allclose(ys, [[5, 10, 15, 20], [1, 1, 1, 1]])


def test_bad_input_is_one_line(runs, tmp_path):
    with pytest.raises(GymkitError, match="--band 'x' is not one of"):
        plot_runs([runs["r0"]], band="x")
    with pytest.raises(RunDirError, match="does not exist"):
        plot_runs([tmp_path / "nope"])
    empty = tmp_path / "empty"
    train("random", "CartPole-v1", steps=5, log_every=5, eval_episodes=0, run_dir=empty)
    with pytest.raises(RunDirError, match="no row with a finished episode"):
        plot_runs([empty])
