"""DQN's optimizer slots in a checkpoint: ``optimizer.npz`` (``v0, v1, ...``), and their
checked restore (the same number of variables, each of the same shape)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

OPTIMIZER_FILE = "optimizer.npz"


def save_optimizer_variables(path: Path, optimizer: Any) -> None:
    """Write ``optimizer.variables`` to ``path`` as ``v0, v1, ...``."""
    from gymkit.safe_files import save_npz

    opt_vars = {f"v{i}": v.numpy() for i, v in enumerate(optimizer.variables)}
    save_npz(path, opt_vars)


def load_optimizer_variables(path: Path, optimizer: Any) -> None:
    """Assign what :func:`save_optimizer_variables` wrote, refusing another optimizer's file."""
    from gymkit.errors import RunDirError
    from gymkit.safe_files import load_npz

    saved = load_npz(path, finite="all")
    variables = optimizer.variables
    if set(saved) != {f"v{i}" for i in range(len(variables))}:
        raise RunDirError(f"{path} holds {len(saved)} arrays, this agent's optimizer "
                          f"{len(variables)}: it was saved by another config; restore it from a copy")
    for i, var in enumerate(variables):
        value = saved[f"v{i}"]
        if tuple(value.shape) != tuple(var.shape):
            raise RunDirError(f"{path} member v{i} has shape {value.shape}, the "
                              f"optimizer's variable {tuple(var.shape)}: restore it from a copy")
        var.assign(value)
