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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gymkit.errors import RunDirError

FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
LOOP_STATE = "loop_state.json"
CONFIG_FILE = "config.yaml"
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
    """An existing run directory (with its config.yaml), or a one-line error."""
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"run directory {path} does not exist: give the --run-dir of a finished or saved run")
    if not (path / CONFIG_FILE).exists():
        raise RunDirError(f"{path} has no {CONFIG_FILE}, so it is not a gymkit run directory: give a run's directory")
    return path


def write_yaml_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_run_config(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RunDirError(f"{path} is not valid YAML ({exc.__class__.__name__}): restore it from a copy") from None
    if not isinstance(data, dict) or "agent" not in data or "env" not in data:
        raise RunDirError(f"{path} lacks the 'agent' and 'env' keys: it is not a gymkit run config")
    return data


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# -- verified folders --------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal_folder(tmp: Path, final: Path, step: int) -> Path:
    """fsync every file in ``tmp``, write its manifest last, and rename it to ``final``."""
    files = {}
    for p in sorted(tmp.rglob("*")):
        if p.is_file():
            with open(p, "rb+") as fh:
                os.fsync(fh.fileno())
            files[p.relative_to(tmp).as_posix()] = _sha256(p)
    manifest = {"format_version": FORMAT_VERSION, "step": int(step), "files": files}
    write_json_atomic(tmp / MANIFEST, manifest)
    _fsync_dir(tmp)
    if final.exists():  # the same step saved again (e.g. after a resume): replace it whole
        trash = final.with_name(final.name + ".old")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(final.parent)
    return final


def verify_folder(folder: Path) -> dict[str, Any]:
    """Check a sealed folder's manifest and checksums; return the manifest."""
    mpath = folder / MANIFEST
    if not mpath.exists():
        raise RunDirError(f"{mpath} is missing: the checkpoint is incomplete or damaged; delete {folder} to use an earlier one")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
        version = manifest["format_version"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{mpath} is corrupt ({exc.__class__.__name__}): delete {folder} to use an earlier checkpoint") from None
    if version != FORMAT_VERSION:
        raise RunDirError(
            f"{folder} has checkpoint format version {version}, but this gymkit reads version "
            f"{FORMAT_VERSION}: use the gymkit version that wrote it"
        )
    for rel, digest in files.items():
        p = folder / rel
        if not p.exists():
            raise RunDirError(f"{p} is missing from the checkpoint: restore it or delete {folder}")
        if _sha256(p) != digest:
            raise RunDirError(f"{p} fails its checksum (truncated or modified): restore it or delete {folder}")
    return manifest


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
    agent.save(tmp)
    (tmp / LOOP_STATE).write_text(json.dumps(loop_state), encoding="utf-8")
    final = seal_folder(tmp, root / f"step_{step:012d}", step)
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
    write(tmp)
    return seal_folder(tmp, final, step)


def save_final_agent(run_dir: Path, agent: Any, step: int) -> Path:
    """Write the final agent to ``run_dir/agent`` with the same atomic procedure."""
    return save_sealed_agent(Path(run_dir) / "agent", agent.save, step)


def read_best_info(best_dir: Path) -> dict[str, Any]:
    """The ``best.json`` of a ``best/`` folder: the step and the evaluation that selected it."""
    path = Path(best_dir) / BEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path} cannot be read ({exc.__class__.__name__}): delete {best_dir}") from None


def latest_checkpoint(run_dir: Path) -> Path | None:
    dirs = checkpoint_dirs(run_dir)
    return dirs[-1] if dirs else None


def load_loop_state(folder: Path) -> dict[str, Any]:
    path = folder / LOOP_STATE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirError(f"{path} cannot be read ({exc.__class__.__name__}): delete {folder} to use an earlier checkpoint") from None


def remove_temporaries(run_dir: Path) -> None:
    """Delete half-written folders left by a crash (never a sealed one)."""
    run_dir = Path(run_dir)
    for parent in (run_dir, run_dir / "checkpoints"):
        if parent.exists():
            for p in parent.iterdir():
                if p.name.startswith(".tmp-") and p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
