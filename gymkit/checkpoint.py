"""Run directories and atomic, verifiable checkpoints.

A run directory holds::

    config.yaml            everything needed to rerun (agent, env, seed, versions, config)
    metrics.csv            one row per log interval (deterministic values only)
    tb/                    TensorBoard event files
    checkpoints/step_000000012345/   agent files + loop_state.json + MANIFEST.json
    agent/                 the final agent (same layout as a checkpoint)
    evaluation.json        the latest `gymkit evaluate` result

Every saved folder is written under a temporary name, its files fsynced, a
``MANIFEST.json`` (format version, step, sha256 of every file) written last, and then
renamed into place, so a crash mid-write leaves the previous checkpoint as the latest one.
Loading verifies the manifest and every checksum and names the file at fault.

The manifest guarantees *integrity* (the files are the ones written, none missing, none
added), not *trust*: anyone can rewrite a folder and re-hash its manifest. So nothing read
from a run directory can run code (no pickle, safe YAML, Keras ``safe_mode``, NumPy without
pickles, agent classes only by registered name or import path), nothing is read through a
symbolic link or outside the directory, and format-1 folders (``spaces.pkl``) are refused
until ``gymkit upgrade-run DIR --trust`` converts them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gymkit.errors import RunDirError
from gymkit.loop_state import (  # noqa: F401  (re-exported)
    LOOP_STATE,
    load_loop_state,
    make_generator,
)
from gymkit.safe_files import check_tree, read_json, read_text
from gymkit.sealed import (  # noqa: F401  (re-exported)
    CONFIG_FILE,
    FORMAT_VERSION,
    LEGACY_FORMAT_VERSION,
    MANIFEST,
    _fsync_dir,
    _manifest_path,
    _sha256,
    legacy_format_message,
    read_manifest,
    run_dir_of,
    seal_folder,
    verify_folder,
    write_json_atomic,
)

#: the agent of the best periodic evaluation (``--keep-best``), and what selected it
BEST_DIR = "best"
BEST_FILE = "best.json"
_STEP_DIR = re.compile(r"^step_(\d{12})$")


# -- run directories --------------------------------------------------------------------


def check_run_dir_free(path: Path) -> Path:
    """Refuse (without touching anything) a run directory that already holds anything."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--run-dir {path} is a file, not a directory: choose another --run-dir")
    if path.exists() and any(path.iterdir()):
        if (path / CONFIG_FILE).exists():
            raise RunDirError(
                f"run directory {path} already holds a run: continue it with --resume, "
                "or choose another --run-dir"
            )
        raise RunDirError(
            f"directory {path} is not empty and is not a gymkit run: choose another --run-dir"
        )
    return path


def prepare_new_run_dir(path: Path) -> Path:
    """Create a fresh run directory, refusing one that already holds anything."""
    path = check_run_dir_free(path)
    (path / "checkpoints").mkdir(parents=True, exist_ok=True)
    return path


def require_run_dir(path: Path) -> Path:
    """An existing run directory (with its config.yaml), or a one-line error.

    Anything gymkit could read in it (every folder but ``wandb/``) must be a regular file or
    folder: a symbolic link anywhere is refused, so a run directory cannot reach outside itself.
    """
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"run directory {path} does not exist: give the --run-dir of a finished or saved run")
    if not path.is_dir():
        raise RunDirError(f"{path} is a file, not a run directory: give a run's directory")
    if not (path / CONFIG_FILE).exists() and not (path / CONFIG_FILE).is_symlink():
        raise RunDirError(f"{path} has no {CONFIG_FILE}, so it is not a gymkit run directory: give a run's directory")
    check_tree(path)
    return path


def write_yaml_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """``config.yaml``, read with YAML's safe loader (a ``!!python`` tag is refused, never run)."""
    path = Path(run_dir) / CONFIG_FILE
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = " ".join(str(getattr(exc, "problem", None) or exc.__class__.__name__).split())
        raise RunDirError(f"{path} is not plain YAML ({problem}); gymkit reads it with the safe loader, which "
                          "never builds Python objects: restore it from a copy") from None
    except RecursionError:
        raise RunDirError(f"{path} is nested too deeply to be a gymkit run config: restore it from a copy") from None
    if not isinstance(data, dict) or "agent" not in data or "env" not in data:
        raise RunDirError(f"{path} lacks the 'agent' and 'env' keys: it is not a gymkit run config")
    env = data["env"]
    if not isinstance(env, str):
        raise RunDirError(f"{path}: env {env!r} is not an env id: restore the file from a copy")
    if ":" in env:  # Gymnasium imports the module of "module:EnvId": the same rules as agent classes
        import sys

        module = env.split(":")[0]
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", module):
            raise RunDirError(f"{path}: env '{env}' does not name an importable module before ':' (gymkit never "
                              "loads code from a file path): restore the file from a copy")
        if module.split(".")[0] in sys.stdlib_module_names:
            raise RunDirError(f"{path}: env '{env}' would import {module}, from Python's standard library, which "
                              "holds no env: restore the file from a copy")
    return data


# -- checkpoints -------------------------------------------------------------------------


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Sealed-or-not checkpoint folders, oldest first (temporary folders excluded)."""
    root = Path(run_dir) / "checkpoints"
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name))


def save_checkpoint(run_dir: Path, agent: Any, loop_state: dict[str, Any], step: int, keep: int = 2) -> Path:
    """Atomically write the agent and the loop's state as checkpoint ``step``; keep the last ``keep``."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-step_{step:012d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _save(agent, tmp, True, step)
        (tmp / LOOP_STATE).write_text(json.dumps(loop_state), encoding="utf-8")
        final = seal_folder(tmp, root / f"step_{step:012d}", step)
    except BaseException:  # a plugin that raised: the earlier checkpoints stay as they were
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in checkpoint_dirs(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def save_sealed_agent(final: Path, write: Callable[[Path], None], step: int) -> Path:
    """Fill a temporary folder beside ``final`` with ``write(folder)``, then seal it as ``final``."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        return seal_folder(tmp, final, step)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _save(agent: Any, folder: Path, learning_state: bool, step: int) -> None:
    """``agent.save``; through :class:`~gymkit.agents.calls.AgentCalls` so a failure names the agent."""
    from gymkit.agents.calls import AgentCalls

    AgentCalls.of(agent).save(folder, learning_state=learning_state, step=step)


def save_final_agent(run_dir: Path, agent: Any, step: int) -> Path:
    """Write the final agent to ``run_dir/agent`` with the same atomic procedure."""
    return save_sealed_agent(Path(run_dir) / "agent", lambda folder: _save(agent, folder, True, step), step)


def read_best_info(best_dir: Path) -> dict[str, Any]:
    """The ``best.json`` of a ``best/`` folder: the step and the evaluation that selected it."""
    path = Path(best_dir) / BEST_FILE
    try:
        info = read_json(path)
    except RunDirError as exc:
        raise RunDirError(f"{exc} (or delete {best_dir})") from None
    if not isinstance(info, dict) or isinstance(info.get("step"), bool) or not isinstance(info.get("step"), int):
        raise RunDirError(f"{path} has no whole-number 'step': delete {best_dir} or restore it from a copy")
    return info


def latest_checkpoint(run_dir: Path) -> Path | None:
    dirs = checkpoint_dirs(run_dir)
    return dirs[-1] if dirs else None


def remove_temporaries(run_dir: Path) -> None:
    """Delete half-written folders left by a crash (never a sealed one)."""
    run_dir = Path(run_dir)
    for parent in (run_dir, run_dir / "checkpoints"):
        if parent.exists():
            for p in parent.iterdir():
                if p.name.startswith(".tmp-") and p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)


def timestamped_dir(parent: str | Path, name: str) -> Path:
    """``parent/NAME_YYYYmmdd-HHMMSS`` (``-1``, ``-2``, ... when taken), NAME made path-safe."""
    import re
    import time

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    base = Path(parent) / f"{safe}_{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path
