"""Tools of the hostile-input catalogue: crafted files, an attacker's re-hash, byte snapshots,
and ``gymkit.cli.main`` run in-process (no 5-8 s TensorFlow import per case)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import stat
from pathlib import Path

from gymkit import cli
from gymkit.checkpoint import MANIFEST

EVALUATE = ("evaluate", "{run}", "--agent", "final", "--episodes", "1")
RESUME = ("train", "--resume", "--run-dir", "{run}", "--steps", "400", "--no-progress")


class RunsCode:
    """Unpickling this runs ``touch MARKER``: what a crafted spaces.pkl did before issue 15."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def crafted_pickle(marker: Path) -> bytes:
    return pickle.dumps(RunsCode(marker))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rehash(folder: Path, extra: dict[str, str] | None = None, version: int | None = None) -> None:
    """What an attacker does after editing a sealed folder: list and hash every file again
    (plus ``extra`` entries of their choosing), so the manifest matches."""
    folder = Path(folder)
    mpath = folder / MANIFEST
    manifest = json.loads(mpath.read_text())
    files = {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    files.update(extra or {})
    manifest["files"] = files
    if version is not None:
        manifest["format_version"] = version
    mpath.write_text(json.dumps(manifest))


def sealed_folders(run: Path) -> list[Path]:
    out = [run / "agent", run / "best"]
    out += sorted(p for p in (run / "checkpoints").iterdir() if p.name.startswith("step_"))
    return [p for p in out if p.is_dir() and not p.is_symlink()]


def snapshot(root: Path) -> dict[str, object]:
    """Every entry under ``root`` (links not followed): file bytes, link targets, folders."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(mode):
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def gymkit(capsys, *args: str, run: Path | None = None) -> tuple[int, str, str]:
    """``gymkit ARGS`` in this process: (exit code, stdout, stderr)."""
    argv = [a.format(run=run) for a in args]
    try:
        rc = cli.main(argv)
    except SystemExit as exc:  # argparse errors
        rc = int(exc.code)
    out = capsys.readouterr()
    return rc, out.out, out.err


def assert_refused(capsys, run: Path, args: tuple[str, ...], fragment: str, marker: Path | None = None,
                   outside: Path | None = None) -> str:
    """``gymkit ARGS`` prints one line containing ``fragment``, exits 2, runs nothing (no marker),
    and leaves the run directory (and ``outside``) byte-identical."""
    before = snapshot(run)
    before_outside = snapshot(outside) if outside is not None else None
    rc, _, err = gymkit(capsys, *args, run=run)
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("gymkit: error: "), err
    assert "Traceback" not in err
    assert fragment in lines[0], lines[0]
    if marker is not None:
        assert not marker.exists(), "the crafted input ran code"
    assert snapshot(run) == before, "the refusal changed the run directory"
    if outside is not None:
        assert snapshot(outside) == before_outside, "the refusal changed files outside the run directory"
    return lines[0]
