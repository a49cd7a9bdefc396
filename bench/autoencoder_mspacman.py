"""Benchmark: a convolutional autoencoder pretrained on Ms. Pac-Man frames, then DQN on its
frozen encoder against the same DQN learning its encoder from scratch, over the same steps.

Stages (each skipped when its output directory exists, so the script can be resumed):

1. ``pretrain``: ``gymkit pretrain --preset dqn-mspacman-book --kind stacked`` on frames a
   random policy collects (the book's 88x80 preprocessing); the encoder has the shape of
   ``book-cnn`` (conv 32/64/64, dense 512).
2. ``frozen``: the ``dqn-mspacman-book`` preset with ``encoder=autoencoder@.../encoder.keras``.
3. ``scratch``: the same preset and settings with ``encoder=book-cnn``.
(``measure``, after pretraining: the held-out error over all pixels and over the moving ones.)
4. ``plot``: ``gymkit plot`` of both runs, and a summary line per run.

    python bench/autoencoder_mspacman.py --dir runs/ae-bench --steps 40000 --observations 20000 --epochs 8
    python bench/autoencoder_mspacman.py --dir runs/ae-bench-s1 --seed 1 --encoder runs/ae-bench/autoencoder/encoder.keras
    python bench/autoencoder_mspacman.py --stage plot --plot-dirs runs/ae-bench runs/ae-bench-s1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

ROOT = Path(__file__).resolve().parents[1]


def dqn_overrides(steps: int) -> dict:
    """The book preset's agent, with epsilon decayed over the first half of a short budget
    (the book's 50,000 training steps would keep it near 1 for the whole run)."""
    return {"eps_decay_unit": "env_steps", "eps_decay_steps": steps // 2}


def measure(ae_dir: Path) -> dict:
    """Held-out MSE of the autoencoder and of the mean training frame, over all pixels and
    over the pixels that differ from the mean frame by more than 0.1 (sprites, eaten pellets):
    the mean frame already gets the maze right, so the second figure says whether the
    codings hold what moves. The held-out frames are collected again (seeded random play)."""
    import numpy as np

    from gymkit.config import load_preset
    from gymkit.encoders.autoencoders.saving import load_pretrained
    from gymkit.encoders.autoencoders.training import reconstruct
    from gymkit.envs.factory import make_env
    from gymkit.pretrain import collect_observations

    info = json.loads((ae_dir / "pretrain.json").read_text())
    n_train, n_held = info["observations"]["train"], info["observations"]["held_out"]
    preset = load_preset("dqn-mspacman-book")
    env = make_env(preset.env, preset.env_kwargs, preset.wrappers)
    data, _ = collect_observations(env, n_train + n_held, seed=int(info["seed"]))
    env.close()
    ae = load_pretrained(ae_dir)
    x0, rebuilt = reconstruct(ae, data[n_train:])
    mean_frame = sum(np.asarray(ae.prepare(data[i:min(i + 1000, n_train)])).sum(axis=0, dtype=np.float64)
                     for i in range(0, n_train, 1000)) / n_train
    moving = np.abs(x0 - mean_frame) > 0.1
    detail_picture(x0, rebuilt, mean_frame, ROOT / "docs" / "images" / "mspacman_autoencoder_detail.png")
    return {"held_out_mse": float(np.mean((rebuilt - x0) ** 2)),
            "mean_frame_mse": float(np.mean((mean_frame - x0) ** 2)),
            "moving_pixel_fraction": float(moving.mean()),
            "moving_pixels_mse": float(np.mean(((rebuilt - x0) ** 2)[moving])),
            "moving_pixels_mean_frame_mse": float(np.mean(((mean_frame - x0) ** 2)[moving]))}


def detail_picture(x0, rebuilt, mean_frame, path: Path, rows: int = 4, size: int = 28) -> None:
    """Crops of ``rows`` held-out frames (evenly spaced) around the pixel farthest from the
    mean frame (in the maze, above the lives row): original, reconstruction, difference."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 3)
    height, width = x0.shape[1:3]
    for r, k in enumerate(np.linspace(0, len(x0) - 1, rows).round().astype(int)):
        a, b = x0[k, ..., -1], rebuilt[k, ..., -1]
        far = np.abs(a - mean_frame[..., -1])[:80]
        y, x = np.unravel_index(np.argmax(far), far.shape)
        top = int(np.clip(y - size // 2, 0, height - size))
        left = int(np.clip(x - size // 2, 0, width - size))
        for ax, img, title in ((axes[r, 0], a, "original"), (axes[r, 1], b, "reconstruction"),
                               (axes[r, 2], np.abs(b - a), "|difference|")):
            ax.imshow(img[top:top + size, left:left + size], cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.axis("off")
            ax.set_title(title if r == 0 else "")
    fig.suptitle(f"{size}x{size} crops around the pixel farthest from the mean frame (held-out frames)")
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="runs/ae-bench", help="where the runs go")
    parser.add_argument("--stage", choices=["pretrain", "measure", "frozen", "scratch", "plot", "all"],
                        default="all")
    parser.add_argument("--steps", type=int, default=40_000, help="agent steps of each DQN run")
    parser.add_argument("--observations", type=int, default=20_000, help="frames to pretrain on")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--encoder", help="use this pretrained encoder.keras (skips pretraining), e.g. "
                                          "another seed's, so DQN seeds vary over one encoder")
    parser.add_argument("--plot-dirs", nargs="*", help="plot these bench dirs together (several seeds)")
    args = parser.parse_args()
    base = Path(args.dir)
    ae_dir, frozen_dir, scratch_dir = base / "autoencoder", base / "dqn-frozen", base / "dqn-scratch"
    encoder_file = Path(args.encoder) if args.encoder else ae_dir / "encoder.keras"
    stages = ["pretrain", "measure", "frozen", "scratch", "plot"] if args.stage == "all" else [args.stage]
    if args.encoder:
        stages = [s for s in stages if s != "pretrain"]

    if "pretrain" in stages and not ae_dir.exists():
        from gymkit.pretrain import pretrain

        t = time.perf_counter()
        result = pretrain(kind="stacked", preset="dqn-mspacman-book", out=ae_dir, seed=args.seed,
                          observations=args.observations, epochs=args.epochs)
        print(json.dumps({"stage": "pretrain", "wall_s": round(time.perf_counter() - t, 1),
                          "mse": result.info["reconstruction_mse"]}), flush=True)
        images = ROOT / "docs" / "images"
        images.mkdir(parents=True, exist_ok=True)
        shutil.copy(ae_dir / "reconstructions.png", images / "mspacman_autoencoder.png")

    if "measure" in stages and (ae_dir / "autoencoder.weights.npz").exists():
        print(json.dumps({"stage": "measure", **measure(ae_dir)}), flush=True)

    for stage, run_dir, encoder in (("frozen", frozen_dir, f"autoencoder@{encoder_file}"),
                                    ("scratch", scratch_dir, "book-cnn")):
        if stage not in stages or run_dir.exists():
            continue
        from gymkit.loop import train

        config = {**dqn_overrides(args.steps), "encoder": encoder}
        result = train(preset="dqn-mspacman-book", config=config, steps=args.steps, seed=args.seed,
                       run_dir=run_dir, eval_episodes=args.eval_episodes, checkpoint_every=0,
                       log_every=1_000, progress=False)
        ev = result.evaluation
        print(json.dumps({"stage": stage, "steps": result.steps, "episodes": result.episodes,
                          "train_steps": result.agent.train_steps, "wall_s": round(result.wall_time_s, 1),
                          "recent_mean_return": result.recent_mean_return,
                          "eval_mean": ev.mean if ev else None, "eval_std": ev.std if ev else None}),
              flush=True)

    bases = [Path(d) for d in (args.plot_dirs or [base])]
    runs = [str(b / name) for name in ("dqn-frozen", "dqn-scratch") for b in bases if (b / name).exists()]
    if "plot" in stages and runs:
        from gymkit.cli import main as gymkit

        out = ROOT / "docs" / "images" / "mspacman_pretrained_vs_scratch.png"
        gymkit(["plot", *runs, "--out", str(out),
                "--title", f"DQN on Ms. Pac-Man, {args.steps:,} steps: frozen pretrained encoder vs scratch"])


if __name__ == "__main__":
    main()
