"""Experiment tracking: wandb offline and its fallbacks, and what the TensorBoard events hold."""

from __future__ import annotations

import csv
import json
import socket
import struct
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from gymkit import tracking
from gymkit.loop import train

from .conftest import run_cli

# -- reading files back (no wandb server, no TensorFlow) -------------------------------------


def read_wandb_records(path: Path) -> list:
    """The Record protos of a ``run-ID.wandb`` file (wandb's LevelDB-style log).

    Layout: a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then 32 KiB blocks of
    chunks, each ``crc32(type + data)`` (uint32), length (uint16), type (1 full, 2 first,
    3 middle, 4 last) and data; fewer than 7 bytes left in a block are padding.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert struct.unpack("<4sHB", data[:7]) == (b":W&B", 0xBEE1, 0)
    block, pos, parts, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + 7:pos + 7 + length]
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF == crc
        pos += 7 + length
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(parts + chunk if kind == 4 else chunk)
            records.append(rec)
            parts = b""
        else:
            parts += chunk
    return records


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def wandb_history_and_config(run_dir: Path, wait_s: float = 30.0) -> tuple[list[dict], dict]:
    """History rows and config of the run's one offline wandb run.

    ``run.finish()`` returns before wandb's service process has written the whole file, so
    this waits (up to ``wait_s``) for its last record, ``exit``.
    """
    files = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    deadline = time.monotonic() + wait_s
    while True:
        records = read_wandb_records(files[0])
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    history, config = [], {}
    for rec in records:
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            history.append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "run":
            config.update({_key(i): json.loads(i.value_json) for i in rec.run.config.update})
    return history, config


def read_tb_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Scalars of a run's TensorBoard event files: tag -> [(step, value)] (TFRecord framing)."""
    from tensorboard.compat.proto.event_pb2 import Event

    out: dict[str, list[tuple[int, float]]] = {}
    for path in sorted((run_dir / "tb").glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


@pytest.fixture
def no_wandb_env(monkeypatch, tmp_path):
    """No credentials, no WANDB_* settings from the caller's environment."""
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_BASE_URL",
                 "WANDB_PROJECT", "WANDB_DIR"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "netrc"
    empty.write_text("")
    monkeypatch.setenv("NETRC", str(empty))


# -- wandb -------------------------------------------------------------------------------


def test_offline_run_writes_its_files_and_the_metrics_read_back(tmp_path, no_wandb_env):
    run_dir = tmp_path / "run"
    sink = tracking.make_wandb_sink(run_dir, project="gymkit-test", group="g", tags=["t"], mode="offline")
    assert not run_dir.exists()  # the factory writes nothing: train() needs a free directory
    result = train("random", "CartPole-v1", steps=2000, seed=3, log_every=500, eval_episodes=3,
                   run_dir=run_dir, sinks=(sink,))
    history, config = wandb_history_and_config(run_dir)
    assert config["agent"] == "random" and config["env"] == "CartPole-v1" and config["seed"] == 3
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    logged = {h["_step"]: h for h in history if "return_mean" in h}
    assert sorted(logged) == [int(r["step"]) for r in rows] == [500, 1000, 1500, 2000]
    for r in rows:
        assert logged[int(r["step"])]["return_mean"] == pytest.approx(float(r["return_mean"]))
        assert logged[int(r["step"])]["time/steps_per_s"] > 0
    episodes = [h["episode/return"] for h in history if "episode/return" in h]
    assert len(episodes) >= 20  # 2000 CartPole steps at random: ~90 episodes, <= 50 a second kept
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    final = [h for h in history if "eval/mean" in h]
    assert len(final) == 1 and final[0]["_step"] == result.steps == 2000
    assert final[0]["eval/mean"] == pytest.approx(evaluation["mean"])


def test_online_without_api_key_goes_offline_without_waiting(tmp_path, no_wandb_env):
    start = time.perf_counter()
    sink = tracking.make_wandb_sink(tmp_path / "run", mode="online")
    assert sink.mode == "offline" and "API key" in sink.reason
    assert time.perf_counter() - start < 5.0


def test_disabled_mode_gives_no_sink(tmp_path, no_wandb_env):
    assert tracking.make_wandb_sink(tmp_path / "run", mode="disabled") is None


def test_unreachable_server_falls_back_to_offline_and_the_run_finishes(tmp_path, no_wandb_env):
    with socket.socket() as s:  # a local port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"WANDB_API_KEY": "a" * 40, "WANDB_BASE_URL": f"http://127.0.0.1:{port}"}
    run_dir = tmp_path / "run"
    start = time.perf_counter()
    res = run_cli("train", "--agent", "random", "--env", "CartPole-v1", "--steps", "500",
                  "--eval-episodes", "2", "--run-dir", str(run_dir), "--wandb", "--wandb-mode", "online",
                  env=env, timeout=120)
    elapsed = time.perf_counter() - start
    assert res.returncode == 0, res.stderr
    assert "not reachable" in res.stderr and f"wandb sync {run_dir}/wandb/offline-run-" in res.stderr
    assert list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert elapsed < 60, elapsed


def test_online_start_that_hangs_falls_back_to_offline(tmp_path, no_wandb_env, monkeypatch):
    """A server that accepts connections but never answers: wandb.init times out, the run goes on."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept_and_say_nothing() -> None:
        try:
            while True:
                held.append(server.accept())
        except OSError:  # the server socket was closed
            pass

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setattr(tracking, "INIT_TIMEOUT_S", 3.0)
    sink = tracking.make_wandb_sink(tmp_path / "run", {"agent": "x", "env": "y"}, mode="online")
    assert sink.mode == "online"  # the port answers, so wandb gets its chance
    start = time.perf_counter()
    sink.write({"step": 10, "return_mean": 1.5}, 10)
    sink.close()
    assert time.perf_counter() - start < 30
    assert sink.mode == "offline" and "online start failed" in sink.reason
    history, config = wandb_history_and_config(tmp_path / "run")
    assert config["agent"] == "x" and config["env"] == "y"
    assert [h["return_mean"] for h in history if "return_mean" in h] == [1.5]
    server.close()


def test_train_with_wandb_but_wandb_not_installed_fails_with_the_install_command(
        tmp_path, monkeypatch, capsys):
    from gymkit.cli import main

    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` now raises ImportError
    run_dir = tmp_path / "run"
    code = main(["train", "--agent", "random", "--env", "CartPole-v1", "--steps", "100",
                 "--run-dir", str(run_dir), "--wandb"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("gymkit: error: --wandb needs the wandb package, which is not installed: "
                           "pip install 'gymkit[track]'")
    assert not run_dir.exists()  # nothing written


def test_evaluate_with_video_and_wandb_logs_the_videos_offline(tmp_path, no_wandb_env, capsys):
    from gymkit.cli import main

    run_dir = tmp_path / "run"
    train("hardcoded", "CartPole-v1", steps=100, eval_episodes=0, run_dir=run_dir)
    assert main(["evaluate", str(run_dir), "--episodes", "2", "--video", str(tmp_path / "v"),
                 "--video-format", "gif", "--wandb", "--wandb-mode", "offline"]) == 0
    history, config = wandb_history_and_config(run_dir)
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    (row,) = [h for h in history if "eval/mean" in h]
    assert row["eval/mean"] == pytest.approx(evaluation["mean"]) and config["agent"] == "hardcoded"
    (files,) = (run_dir / "wandb").glob("offline-run-*/files")
    for k in range(2):
        assert row[f"video/eval-episode-{k}/_type"] == "video-file"
        copied = files / row[f"video/eval-episode-{k}/path"]
        assert copied.read_bytes() == (tmp_path / "v" / f"eval-episode-{k}.gif").read_bytes()


def test_a_failing_wandb_never_ends_the_run(tmp_path, no_wandb_env, monkeypatch, capsys):
    import wandb

    def broken_init(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(wandb, "init", broken_init)
    sink = tracking.make_wandb_sink(tmp_path / "run", mode="offline")
    result = train("random", "CartPole-v1", steps=600, log_every=200, eval_episodes=1,
                   run_dir=tmp_path / "run", sinks=(sink,))
    assert result.steps == 600 and result.evaluation is not None
    assert sink.broken == "logging failed (RuntimeError: disk full)"
    assert capsys.readouterr().err.count("the run goes on without wandb") == 1


class _FakeRun:
    def __init__(self):
        self.logged: list[tuple[dict, int]] = []

    def log(self, values, step=None):
        self.logged.append((values, step))


def test_fast_episode_events_are_thinned_but_metric_rows_never(tmp_path):
    sink = tracking.WandbSink(tmp_path, {}, "offline")
    sink.run = _FakeRun()
    for i in range(1000):  # 1000 episodes in far less than a second
        sink.write({"episode/return": 1.0, "episode/length": 10}, i)
    for i in range(200):
        sink.write({"step": 1000 + i, "return_mean": 1.0, "loss": float("nan")}, 1000 + i)
    episodes = [v for v, _ in sink.run.logged if "episode/return" in v]
    rows = [v for v, _ in sink.run.logged if "return_mean" in v]
    assert len(episodes) <= tracking.EPISODE_EVENTS_PER_S + 5
    assert sink.thinned == 1000 - len(episodes)
    assert len(rows) == 200 and all("loss" not in v and "step" not in v for v in rows)  # NaN dropped


# -- TensorBoard -------------------------------------------------------------------------


def test_tensorboard_events_hold_episodes_agent_metrics_speed_and_evaluation(tmp_path):
    run_dir = tmp_path / "run"
    train("q-learning", "gymkit/BookMDP-v0", steps=3000, seed=0, log_every=1000, eval_episodes=2,
          config={"exploration": "epsilon-greedy"}, run_dir=run_dir)
    scalars = read_tb_scalars(run_dir)
    for tag in ("episode/return", "episode/length", "return_mean", "length_mean",
                "epsilon", "learning_rate", "time/steps_per_s", "eval/mean", "eval/std"):
        assert tag in scalars, tag
    assert [s for s, _ in scalars["return_mean"]] == [1000, 2000, 3000]
    assert [s for s, _ in scalars["epsilon"]] == [1000, 2000, 3000]
    assert scalars["epsilon"][0][1] == pytest.approx(0.905)  # 1 - 0.95 * 1000 / 10000
    assert scalars["episode/length"][0] == (1000, 1000.0)  # BookMDP's time limit
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert scalars["eval/mean"] == [(3000, pytest.approx(evaluation["mean"]))]


def test_wandb_plot_compare_and_video_import_no_tensorflow(tmp_path, no_wandb_env):
    import subprocess

    script = f"""
import sys
from gymkit.cli import main
run = {str(tmp_path / "run")!r}
assert main(["train", "--agent", "random", "--env", "CartPole-v1", "--steps", "300", "--run-dir", run,
             "--eval-episodes", "1", "--log-every", "100", "--wandb", "--wandb-mode", "offline"]) == 0
assert main(["plot", run, "--out", run + ".png"]) == 0
assert main(["compare", run]) == 0
assert main(["evaluate", run, "--episodes", "1", "--video", run + "-v", "--video-format", "gif"]) == 0
print("TF_LOADED" if "tensorflow" in sys.modules or "keras" in sys.modules else "TF_ABSENT")
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("TF_ABSENT")
