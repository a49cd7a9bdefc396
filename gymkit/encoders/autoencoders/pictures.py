"""Pictures of an autoencoder: originals beside reconstructions (the book's Figure 15-6),
and, for the variational kind, codings sampled from the prior and decoded (Figure 15-12).

Images show the last frame (or channel) of each observation; vector observations show as
heat maps, one row per observation, one column per input. Drawn with matplotlib (Agg, no
pyplot) when it is installed, else with OpenCV as plain tiles without labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gymkit.encoders.cnn import image_layout


def as_frames(x: np.ndarray, settings: dict[str, Any]) -> np.ndarray | None:
    """``(N, H, W)`` frames from prepared inputs, or None for vector observations."""
    shape = tuple(settings["observation_shape"])
    if len(shape) < 2:
        return None
    if settings["architecture"] == "conv":  # channels last: the last frame / channel
        return x.reshape(len(x), *x.shape[1:])[..., -1]
    x = x.reshape(len(x), *shape)
    layout = image_layout(shape)
    return {"HW": lambda a: a, "HWC": lambda a: a[..., -1], "CHW": lambda a: a[:, -1],
            "SHWC": lambda a: a[:, -1, ..., -1]}[layout](x)


def _figure() -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def make(figsize: tuple[float, float]) -> Any:
        fig = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(fig)
        return fig

    return make


def _tiles(frames: list[np.ndarray], columns: int, low: float, high: float) -> np.ndarray:
    """One uint8 picture of frames in a grid, 4-pixel white gaps (the OpenCV fallback)."""
    h, w = frames[0].shape
    rows = -(-len(frames) // columns)
    out = np.full((rows * (h + 4), columns * (w + 4)), 255, np.uint8)
    for k, frame in enumerate(frames):
        r, c = divmod(k, columns)
        scaled = np.clip((frame - low) / max(high - low, 1e-8), 0, 1) * 255
        out[r * (h + 4):r * (h + 4) + h, c * (w + 4):c * (w + 4) + w] = scaled.astype(np.uint8)
    return out


def _write_tiles(picture: np.ndarray, path: Path) -> None:
    import cv2

    big = cv2.resize(picture, (picture.shape[1] * 2, picture.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
    if not cv2.imwrite(str(path), big):
        raise OSError(f"OpenCV could not write {path}")


def save_reconstructions(x0: np.ndarray, reconstructions: np.ndarray, path: str | Path,
                         settings: dict[str, Any], title: str, count: int = 6) -> Path:
    """Originals beside their reconstructions, ``count`` observations spread evenly over the
    given ones (consecutive frames of a game are near-copies)."""
    path = Path(path)
    picks = np.unique(np.linspace(0, len(x0) - 1, min(count, len(x0))).round().astype(int))
    x0, out = x0[picks], reconstructions[picks]
    frames, rebuilt = as_frames(x0, settings), as_frames(out, settings)
    low, high = (0.0, 1.0) if settings["observation_dtype"] == "uint8" else (
        float(min(x0.min(), out.min())), float(max(x0.max(), out.max())))
    try:
        make = _figure()
    except ImportError:
        if frames is None:
            pairs = [np.hstack([x0.reshape(len(x0), -1), out.reshape(len(out), -1)])]
            _write_tiles(_tiles([np.kron(pairs[0], np.ones((8, 8)))], 1, low, high), path)
        else:
            _write_tiles(_tiles([f for pair in zip(frames, rebuilt, strict=True) for f in pair],
                                2, low, high), path)
        return path
    if frames is None:
        fig = make((8, 3.5))
        axes = fig.subplots(1, 2)
        for ax, data, name in zip(axes, (x0, out), ("original", "reconstruction"), strict=True):
            im = ax.imshow(data.reshape(len(data), -1), cmap="viridis", vmin=low, vmax=high,
                           aspect="auto", interpolation="nearest")
            ax.set_title(name)
            ax.set_xlabel("input")
            ax.set_ylabel("observation")
        fig.colorbar(im, ax=list(axes))
    else:  # pairs side by side, three pairs a row
        pairs_per_row = min(3, len(frames))
        rows = -(-len(frames) // pairs_per_row)
        height, width = frames[0].shape
        fig = make((2.0 * 2 * pairs_per_row * width / max(height, width) + 0.5, 2.2 * rows + 0.8))
        axes = fig.subplots(rows, 2 * pairs_per_row, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for k, (a, b) in enumerate(zip(frames, rebuilt, strict=True)):
            r, c = divmod(k, pairs_per_row)
            for ax, img, name in ((axes[r, 2 * c], a, "original"), (axes[r, 2 * c + 1], b, "reconstruction")):
                ax.imshow(img, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
                ax.set_title(name, fontsize=9)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    return path


def save_samples(samples: np.ndarray, path: str | Path, settings: dict[str, Any],
                 title: str, columns: int = 6) -> Path:
    """Decoded codings sampled from N(0, I): what a variational autoencoder generates."""
    path = Path(path)
    frames = as_frames(samples, settings)
    low, high = (0.0, 1.0) if settings["observation_dtype"] == "uint8" else (
        float(samples.min()), float(samples.max()))
    try:
        make = _figure()
    except ImportError:
        tiles = [np.kron(samples.reshape(len(samples), -1), np.ones((8, 8)))] if frames is None \
            else list(frames)
        _write_tiles(_tiles(tiles, 1 if frames is None else columns, low, high), path)
        return path
    if frames is None:
        fig = make((6, 3.5))
        ax = fig.subplots()
        im = ax.imshow(samples.reshape(len(samples), -1), cmap="viridis", aspect="auto",
                       interpolation="nearest")
        ax.set_xlabel("input")
        ax.set_ylabel("sample")
        fig.colorbar(im, ax=ax)
    else:
        rows = -(-len(frames) // columns)
        fig = make((1.6 * columns, 1.8 * rows))
        axes = np.atleast_2d(fig.subplots(rows, columns, squeeze=False))
        for k, ax in enumerate(axes.flat):
            if k < len(frames):
                ax.imshow(frames[k], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
            ax.axis("off")
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    return path
