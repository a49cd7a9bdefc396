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
from gymkit.safe_files import check_tree, read_json, read_text, refuse_link, require_regular

#: 2: spaces in spaces.json; 1 (refused, see ``gymkit upgrade-run``): spaces in spaces.pkl
FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
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


def run_dir_of(folder: Path) -> Path:
    """The run directory a sealed folder belongs to (``agent/``, ``best/``, ``checkpoints/step_*``)."""
    folder = Path(folder)
    for up in (folder.parent, folder.parent.parent):
        if (up / CONFIG_FILE).exists():
            return up
    return folder


def legacy_format_message(folder: Path) -> str:
    run = run_dir_of(folder)
    return (f"{folder} was written by an older gymkit (format version {LEGACY_FORMAT_VERSION}: its spaces are "
            "a pickle, spaces.pkl, and reading a pickle can run any code): if you trust where the run came from, "
            f"convert it with: gymkit upgrade-run {run} --trust")


def _manifest_path(folder: Path, rel: Any) -> Path:
    """The file a manifest entry names, refusing entries that could leave the folder."""
    if not isinstance(rel, str) or not rel:
        raise RunDirError(f"{folder / MANIFEST} lists {rel!r}, which is not a file name: delete {folder}")
    parts = rel.split("/")
    if (rel.startswith("/") or "\\" in rel or re.match(r"^[A-Za-z]:", rel)
            or any(p in ("", ".", "..") for p in parts)):
        raise RunDirError(f"{folder / MANIFEST} lists {rel!r}, which is absolute or climbs out of the folder "
                          f"(a manifest names files inside it only): delete {folder} or restore it from a copy")
    return folder.joinpath(*parts)


def read_manifest(folder: Path, *, legacy_ok: bool = False) -> dict[str, Any]:
    """A sealed folder's manifest, its structure and format version checked (no file is hashed).

    ``legacy_ok`` (``gymkit upgrade-run`` only) accepts format version 1 too."""
    folder = Path(folder)
    mpath = folder / MANIFEST
    if not mpath.exists() and not mpath.is_symlink():
        raise RunDirError(f"{mpath} is missing: the checkpoint is incomplete or damaged; delete {folder} to use an earlier one")
    require_regular(mpath)
    try:
        manifest = read_json(mpath)
    except RunDirError:
        raise RunDirError(f"{mpath} is corrupt (not valid JSON): delete {folder} to use an earlier checkpoint") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()) or version is None:
        raise RunDirError(f"{mpath} is corrupt (not a gymkit manifest): delete {folder} to use an earlier checkpoint")
    if version == LEGACY_FORMAT_VERSION and not legacy_ok:
        raise RunDirError(legacy_format_message(folder))
    if version not in (FORMAT_VERSION, *((LEGACY_FORMAT_VERSION,) if legacy_ok else ())):
        raise RunDirError(
            f"{folder} has checkpoint format version {version}, but this gymkit reads version "
            f"{FORMAT_VERSION}: use the gymkit version that wrote it"
        )
    return manifest


def verify_folder(folder: Path, *, legacy_ok: bool = False) -> dict[str, Any]:
    """Check a sealed folder; return its manifest.

    Refused, with one line naming the file: the folder or anything in it being a symbolic
    link or not a regular file; a manifest entry that is absolute or climbs out (``..``); a
    file on disk the manifest does not list; a listed file missing or failing its sha256.
    """
    folder = Path(folder)
    refuse_link(folder)
    if not folder.is_dir():
        raise RunDirError(f"{folder} is not a folder: delete it or restore it from a copy")
    check_tree(folder, skip=())
    manifest = read_manifest(folder, legacy_ok=legacy_ok)
    files = manifest["files"]
    paths = {rel: _manifest_path(folder, rel) for rel in files}
    listed = set(paths.values())
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST and p not in listed:
            raise RunDirError(f"{p} is not listed in {folder / MANIFEST}: a sealed folder holds only the files "
                              f"its manifest names; remove it or restore {folder} from a copy")
    for rel, digest in files.items():
        p = paths[rel]
        if not p.exists() and not p.is_symlink():
            raise RunDirError(f"{p} is missing from the checkpoint: restore it or delete {folder}")
        require_regular(p)
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


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def make_generator(state: Any, source: Any = "a saved generator") -> Any:
    """A NumPy Generator restored from ``bit_generator.state`` (only NumPy's bit generators)."""
    import numpy as np

    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise RunDirError(f"{source}: {name!r} is not one of NumPy's bit generators "
                          f"({', '.join(_BIT_GENERATORS)}): restore the file from a copy")
    bitgen = getattr(np.random, name)()
    try:
        bitgen.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise RunDirError(f"{source}: not a {name} state ({exc}): restore the file from a copy") from None
    return np.random.Generator(bitgen)


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def load_loop_state(folder: Path) -> dict[str, Any]:
    """``loop_state.json``, every field the loop uses checked for its type."""
    path = folder / LOOP_STATE
    try:
        state = read_json(path)
    except RunDirError as exc:
        raise RunDirError(f"{exc} (or delete {folder} to use an earlier checkpoint)") from None
    bad = None
    if not isinstance(state, dict):
        bad = "it is not a JSON object"
    else:
        for key in ("step", "episodes", "next_log", "next_checkpoint"):
            if not _whole(state.get(key)) or state[key] < 0:
                bad = f"'{key}' is not a whole number >= 0"
        if "last_log" in state and not _whole(state["last_log"]):
            bad = "'last_log' is not a whole number"
        for key in ("recent_returns", "recent_lengths"):
            if not isinstance(state.get(key), list) or not all(_number(x) for x in state[key]):
                bad = f"'{key}' is not a list of numbers"
        metrics = state.get("metrics")
        if not isinstance(metrics, dict) or not all(isinstance(k, str) and _number(v) for k, v in metrics.items()):
            bad = "'metrics' is not a mapping of names to numbers"
        if not isinstance(state.get("exact", True), bool) or not _number(state.get("wall_time_s", 0.0)):
            bad = "'exact' or 'wall_time_s' has the wrong type"
        periodic = state.get("periodic")
        if periodic is not None and not isinstance(periodic, dict):
            bad = "'periodic' is not a mapping"
        rngs = state.get("env_rng")
        if bad is None and rngs is not None:
            if not isinstance(rngs, list):
                bad = "'env_rng' is not a list"
            else:
                for g in rngs:
                    make_generator(g, path)
        if bad is None and isinstance(periodic, dict):
            if periodic.get("env_rng") is not None:
                make_generator(periodic["env_rng"], path)
            for key in ("next_at", "evaluations", "best_step"):
                if periodic.get(key) is not None and not _whole(periodic[key]):
                    bad = f"'periodic.{key}' is not a whole number"
            if periodic.get("best_mean") is not None and not _number(periodic["best_mean"]):
                bad = "'periodic.best_mean' is not a number"
    if bad:
        raise RunDirError(f"{path} is not a loop state gymkit wrote ({bad}): delete {folder} to use an earlier checkpoint")
    return state


def remove_temporaries(run_dir: Path) -> None:
    """Delete half-written folders left by a crash (never a sealed one)."""
    run_dir = Path(run_dir)
    for parent in (run_dir, run_dir / "checkpoints"):
        if parent.exists():
            for p in parent.iterdir():
                if p.name.startswith(".tmp-") and p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
