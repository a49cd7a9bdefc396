"""Pictures of what a tabular agent learnt: a table of values and, on grid worlds, arrows.

::

    state |    a0 |    a1 |    a2 | greedy
    ------+-------+-------+-------+-------
       s0 | 21.89 | 20.79 | 16.85 |     a0
       s1 |  1.11 |     - |  1.17 |     a2
       s2 |     - | 53.86 |     - |     a1

    ← ↑ ↑ ↑
    ← H ← H          (FrozenLake-v1's optimal policy: H hole, G goal,
    ↑ ↓ ← H           ? a state never visited)
    H → ↓ G
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

# Per toy-text env class: the name of each action and its arrow on the grid.
_ACTIONS: dict[str, tuple[list[str], str]] = {
    "FrozenLakeEnv": (["left", "down", "right", "up"], "←↓→↑"),
    "CliffWalkingEnv": (["up", "right", "down", "left"], "↑→↓←"),
    "TaxiEnv": (["south", "north", "east", "west", "pickup", "dropoff"], ""),
}


def describe_env(env: gym.Env) -> dict[str, Any]:
    """What the pictures need from an env, as plain JSON-able values.

    Returns:
        ``{"env_id", "action_names", "arrows", "grid"}``: ``grid`` is one string per row,
        one character per state in observation order (``H`` hole, ``G`` goal, ``C`` cliff,
        ``.`` anything else), or None when the env is not a grid world.
    """
    inner = env.unwrapped
    names, arrows = _ACTIONS.get(type(inner).__name__, (None, ""))
    grid = None
    desc = getattr(inner, "desc", None)
    if type(inner).__name__ == "FrozenLakeEnv" and desc is not None:
        grid = ["".join(c if c in "HG" else "." for c in row)
                for row in np.asarray(desc).astype(str).tolist()]
    elif type(inner).__name__ == "CliffWalkingEnv" and hasattr(inner, "shape"):
        rows, cols = inner.shape
        cells = np.full((rows, cols), ".")
        cliff = getattr(inner, "_cliff", None)  # private in Gymnasium 1.x: draw it when there
        if cliff is not None:
            cells[np.asarray(cliff, dtype=bool)] = "C"
        cells[rows - 1, cols - 1] = "G"
        grid = ["".join(row) for row in cells.tolist()]
    n = getattr(inner.observation_space, "n", None)
    if grid is not None and sum(map(len, grid)) != n:
        grid = None
    return {
        "env_id": env.spec.id if env.spec is not None else type(inner).__name__,
        "action_names": names,
        "arrows": arrows or None,
        "grid": grid,
    }


def _fmt(x: float) -> str:
    return "-" if np.isneginf(x) else f"{x:.2f}"


def format_table(
    columns: dict[str, np.ndarray],
    greedy: np.ndarray | None = None,
    action_names: list[str] | None = None,
    max_rows: int = 30,
) -> str:
    """A text table, one row per state: the given value columns and the greedy action.

    Args:
        columns: column title -> values per state (``-inf`` prints as ``-``: impossible).
        greedy: the greedy action per state, or None for no such column.
        action_names: names for the greedy column (default ``a0``, ``a1``, ...).
        max_rows: states shown; the rest are counted in a last line.
    """
    n_states = len(next(iter(columns.values())))
    titles = ["state", *columns] + (["greedy"] if greedy is not None else [])
    rows = []
    for s in range(min(n_states, max_rows)):
        row = [f"s{s}", *(_fmt(float(v[s])) for v in columns.values())]
        if greedy is not None:
            a = int(greedy[s])
            row.append(action_names[a] if action_names else f"a{a}")
        rows.append(row)
    widths = [max(len(t), *(len(r[i]) for r in rows)) for i, t in enumerate(titles)]
    lines = [" | ".join(t.rjust(w) for t, w in zip(titles, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if n_states > max_rows:
        lines.append(f"... {n_states - max_rows} more states (the whole table is saved as .npy)")
    return "\n".join(lines)


def format_q_table(
    Q: np.ndarray, env_info: dict[str, Any] | None = None, max_rows: int = 30
) -> str:
    """The Q-table with one column per action and the greedy policy (masked argmax)."""
    columns = {f"a{a}": Q[:, a] for a in range(Q.shape[1])}
    names = (env_info or {}).get("action_names")
    return format_table(columns, Q.argmax(axis=1), names, max_rows)


def format_grid(
    greedy: np.ndarray, env_info: dict[str, Any] | None, unknown: np.ndarray | None = None
) -> str | None:
    """The greedy policy as a grid of arrows, or None when the env is not a known grid world.

    Holes (``H``), the goal (``G``) and cliff cells (``C``) are shown as such; states in
    ``unknown`` (never visited) as ``?``.
    """
    info = env_info or {}
    grid, arrows = info.get("grid"), info.get("arrows")
    if not grid or not arrows:
        return None
    out, s = [], 0
    for row in grid:
        cells = []
        for cell in row:
            if cell != ".":
                cells.append(cell)
            elif unknown is not None and unknown[s]:
                cells.append("?")
            else:
                cells.append(arrows[int(greedy[s])])
            s += 1
        out.append(" ".join(cells))
    legend = "arrows: greedy action; H hole, G goal, C cliff, ? never visited"
    return "\n".join(out) + "\n" + legend


def summarize(
    title: str,
    table: str,
    greedy: np.ndarray,
    env_info: dict[str, Any] | None,
    unknown: np.ndarray | None = None,
) -> str:
    """Title, table and (on grid worlds) the arrow grid, as the CLI prints them."""
    parts = [title, table]
    grid = format_grid(greedy, env_info, unknown)
    if grid is not None:
        parts.append(grid)
    return "\n\n".join(parts)
