"""Sealed folders: atomically written, with a manifest that lets a reader verify them.

A sealed folder (a checkpoint, ``agent/``, ``best/``) is written under a temporary name, its
files fsynced, a ``MANIFEST.json`` (format version, step, sha256 of every file) written last,
and then renamed into place. :func:`verify_folder` checks the manifest and every checksum and
names the file at fault (see :mod:`gymkit.checkpoint` for what the manifest does and does not
guarantee).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from gymkit.errors import RunDirError
from gymkit.safe_files import check_tree, read_json, refuse_link, require_regular

#: 2: spaces in spaces.json; 1 (refused, see ``gymkit upgrade-run``): spaces in spaces.pkl
FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
CONFIG_FILE = "config.yaml"


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
