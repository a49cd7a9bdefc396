"""Paths in run directories: no symbolic links, only regular files and folders (a FIFO would
block reading), opened without following links; see :mod:`gymkit.safe_files`."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from gymkit.errors import RunDirError

#: folders inside a run directory that gymkit never reads (wandb keeps its own links there)
UNREAD_FOLDERS = ("wandb",)


def refuse_link(path: Path) -> None:
    """RunDirError if ``path`` is a symbolic link (a run directory must not reach outside itself)."""
    if Path(path).is_symlink():
        raise RunDirError(f"{path} is a symbolic link, which gymkit does not follow in a run directory "
                          "(it could reach outside it): replace it with the file itself")


def require_regular(path: Path) -> os.stat_result:
    """The ``lstat`` of ``path``, refusing a link, a missing file and anything not a regular file."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise RunDirError(f"{path} is missing: restore it from a copy") from None
    except OSError as exc:
        raise RunDirError(f"{path} cannot be read ({exc.strerror}): check its permissions") from None
    if stat.S_ISLNK(st.st_mode):
        refuse_link(path)
    if not stat.S_ISREG(st.st_mode):
        raise RunDirError(f"{path} is not a regular file: replace it with the file gymkit wrote")
    return st


def open_regular(path: Path) -> IO[bytes]:
    """Open a regular file for reading, never through a link (``O_NOFOLLOW``), never blocking."""
    require_regular(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise RunDirError(f"{path} cannot be opened ({exc.strerror}): replace it with the file gymkit wrote") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the check and the open
        os.close(fd)
        raise RunDirError(f"{path} is not a regular file: replace it with the file gymkit wrote")
    return os.fdopen(fd, "rb")


def check_tree(root: Path, skip: Iterable[str] = UNREAD_FOLDERS) -> None:
    """Refuse any symbolic link or special file anywhere under ``root`` (``root`` itself may be
    a link: it is the path the user gave). Top-level folders named in ``skip`` are not visited."""
    root = Path(root)
    skip = set(skip)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d not in skip or (here / d).is_symlink()]
        for name in (*dirnames, *filenames):
            p = here / name
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                refuse_link(p)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise RunDirError(f"{p} is not a regular file or folder: remove it from the run directory")

