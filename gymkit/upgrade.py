"""``gymkit upgrade-run DIR --trust``: convert a format-1 run directory to format 2, in place.

Format 1 stored each sealed folder's spaces as ``spaces.pkl``, a pickle: reading a pickle can
run any code, so gymkit refuses such folders. Converting one means reading that pickle once,
so the command runs only when the user says they trust where the directory came from
(``--trust``). Even then the pickle is read by an unpickler that builds nothing but
Gymnasium's spaces and the NumPy objects inside them (a crafted file that names ``os.system``
is refused, and nothing runs).

The conversion is atomic per folder and resumable: every format-1 folder (``agent/``,
``best/``, ``checkpoints/step_*``) is first verified against its manifest and rebuilt beside
itself (``.tmp-upgrade-NAME``: the same files, hard-linked where possible, ``spaces.json``
instead of ``spaces.pkl``, a format-2 manifest with the same step); only when every folder has
been rebuilt are they swapped in, each with two renames. A failure before the swap changes
nothing; an interruption during it is finished by running the command again.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym

from gymkit.checkpoint import (
    BEST_DIR,
    FORMAT_VERSION,
    LEGACY_FORMAT_VERSION,
    MANIFEST,
    _fsync_dir,
    _sha256,
    checkpoint_dirs,
    read_manifest,
    require_run_dir,
    verify_folder,
    write_json_atomic,
)
from gymkit.errors import RunDirError, SpaceError
from gymkit.safe_files import open_regular
from gymkit.spaces_json import SPACES_FILE, write_spaces

LEGACY_SPACES = "spaces.pkl"
STAGE, OLD = ".tmp-upgrade-", ".old-upgrade-"

#: the only globals a format-1 spaces.pkl may name: Gymnasium's spaces and NumPy's pieces
_ALLOWED = {
    *((f"gymnasium.spaces.{m}", c) for m, c in (("box", "Box"), ("discrete", "Discrete"),
                                                 ("multi_discrete", "MultiDiscrete"), ("multi_binary", "MultiBinary"),
                                                 ("tuple", "Tuple"), ("dict", "Dict"))),
    *((m, n) for m in ("numpy._core.multiarray", "numpy.core.multiarray") for n in ("_reconstruct", "scalar")),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random._pcg64", "PCG64DXSM"), ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._philox", "Philox"), ("numpy.random._sfc64", "SFC64"), ("collections", "OrderedDict"),
}


class _SpacesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which is not part of a Gymnasium space")
        return super().find_class(module, name)


def read_legacy_spaces(path: Path) -> tuple[gym.Space, gym.Space]:
    """The two spaces of a format-1 ``spaces.pkl``, unpickled with the restricted unpickler."""
    with open_regular(path) as fh:
        data = fh.read()
    try:
        spaces = _SpacesUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # noqa: BLE001 - any unreadable pickle is one refusal
        raise RunDirError(f"{path} is not a pickle of two Gymnasium spaces ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); nothing was run or changed: "
                          "restore the file from a copy") from None
    if not (isinstance(spaces, tuple) and len(spaces) == 2 and all(isinstance(s, gym.Space) for s in spaces)):
        raise RunDirError(f"{path} does not hold (observation_space, action_space): restore it from a copy")
    return spaces


def sealed_folders(run_dir: Path) -> list[Path]:
    """``agent/``, ``best/`` and every ``checkpoints/step_*`` that exists."""
    out = [run_dir / name for name in ("agent", BEST_DIR) if (run_dir / name).is_dir()]
    return out + checkpoint_dirs(run_dir)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _stage(folder: Path) -> Path:
    """Build the format-2 copy of a verified format-1 folder beside it; return its path."""
    manifest = verify_folder(folder, legacy_ok=True)
    pkl = folder / LEGACY_SPACES
    if LEGACY_SPACES not in manifest["files"]:
        raise RunDirError(f"{folder} has format version 1 but no {LEGACY_SPACES}: restore it from a copy")
    observation_space, action_space = read_legacy_spaces(pkl)
    stage = folder.parent / f"{STAGE}{folder.name}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        files = {}
        for rel in manifest["files"]:
            if rel != LEGACY_SPACES:
                _link_or_copy(folder / rel, stage / rel)
        try:
            write_spaces(stage / SPACES_FILE, observation_space, action_space)
        except SpaceError as exc:
            raise RunDirError(f"{pkl}: {exc}") from None
        for p in sorted(stage.rglob("*")):
            if p.is_file():
                with open(p, "rb+") as fh:
                    os.fsync(fh.fileno())
                files[p.relative_to(stage).as_posix()] = _sha256(p)
        write_json_atomic(stage / MANIFEST, {"format_version": FORMAT_VERSION, "step": int(manifest.get("step", 0)),
                                             "files": files, "upgraded_from": LEGACY_FORMAT_VERSION})
        _fsync_dir(stage)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


def _finish_interrupted(run_dir: Path) -> int:
    """Complete (or undo) the swaps an interrupted upgrade left; return how many were finished."""
    finished = 0
    for parent in (run_dir, run_dir / "checkpoints"):
        if not parent.is_dir():
            continue
        for old in sorted(parent.glob(f"{OLD}*")):
            name = old.name[len(OLD):]
            final, stage = parent / name, parent / f"{STAGE}{name}"
            if not final.exists():
                if stage.is_dir() and (stage / MANIFEST).exists():
                    os.replace(stage, final)
                    finished += 1
                else:
                    os.replace(old, final)  # the swap had not begun: the old folder goes back
                    continue
            shutil.rmtree(old, ignore_errors=True)
        for stage in parent.glob(f"{STAGE}*"):
            shutil.rmtree(stage, ignore_errors=True)  # a build that never reached its swap
    return finished


def upgrade_run(run_dir: str | Path, *, trust: bool = False) -> list[Path]:
    """Convert every format-1 folder of ``run_dir`` to format 2; return the folders converted."""
    run_dir = Path(run_dir)
    if not trust:
        raise RunDirError(f"upgrade-run reads the spaces.pkl pickles of {run_dir}, and reading a pickle from "
                          "someone else can run their code: if you trust where this run directory came from, "
                          f"run: gymkit upgrade-run {run_dir} --trust")
    run_dir = require_run_dir(run_dir)
    _finish_interrupted(run_dir)
    legacy = []
    for folder in sealed_folders(run_dir):
        if read_manifest(folder, legacy_ok=True)["format_version"] == LEGACY_FORMAT_VERSION:
            legacy.append(folder)
    staged: list[tuple[Path, Path]] = []
    try:
        for folder in legacy:  # every folder is rebuilt before any is replaced
            staged.append((folder, _stage(folder)))
    except BaseException:
        for _, stage in staged:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    for folder, stage in staged:
        old = folder.parent / f"{OLD}{folder.name}"
        os.replace(folder, old)
        os.replace(stage, folder)
        _fsync_dir(folder.parent)
        shutil.rmtree(old, ignore_errors=True)
    return [f for f, _ in staged]
