"""CLI runs in processes forked from one that has already imported TensorFlow.

The reliability tests kill and signal training runs, so each of those runs must be a process of
its own; but each need not import TensorFlow and Keras again (7-9 s of a 2-core machine). The
first call starts one Python process (multiprocessing's fork server) that imports gymkit's CLI,
TensorFlow and Keras and nothing else: no op runs, no model is built, so the forked children
start from the state a fresh interpreter has after its imports. Each run is a child forked from
it: its own pid, its own signal handlers, killed with its own SIGKILL.

The references these runs are compared with are still trained in genuinely fresh processes
(``subprocess``), so a byte-for-byte match also shows that the fork changes nothing.

:class:`PreloadedRun` answers the part of ``subprocess.Popen``'s interface the tests use.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: what the fork server imports once (``tests.preloaded_imports`` imports TensorFlow quietly)
PRELOAD = ["tests.preloaded_imports"]

_context: Any = None


def _server_context(env: dict[str, str]) -> Any:
    """The fork-server context, started the first time with ``env`` as its environment (so its
    children have, e.g., the hash seed the references were run with)."""
    global _context
    if _context is None:
        from multiprocessing import forkserver

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        _context = ctx
    return _context


def _child(args: list[str], out_path: str, err_path: str) -> None:
    """In the forked child: stdout and stderr to files, then the CLI; its code is the exit code."""
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the process's own stdout
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    from gymkit.cli import main

    code = main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(code)


class PreloadedRun:
    """``gymkit ARGS`` in a child of the preloaded fork server, read like a ``Popen``."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        ctx = _server_context(env)
        self._dir = tempfile.TemporaryDirectory(prefix="gymkit-run-")
        self._out, self._err = Path(self._dir.name, "stdout"), Path(self._dir.name, "stderr")
        self._proc = ctx.Process(target=_child, args=(list(args), str(self._out), str(self._err)))
        self._proc.start()
        self.pid = self._proc.pid
        self.args = args

    @property
    def returncode(self) -> int | None:
        """The exit code; ``-N`` for a child ended by signal N (as ``Popen``'s)."""
        return self._proc.exitcode

    def poll(self) -> int | None:
        return self._proc.exitcode

    def send_signal(self, sig: int) -> None:
        if self._proc.exitcode is None:
            os.kill(self.pid, sig)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self._proc.join(timeout)
        if self._proc.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        out = self._out.read_text() if self._out.exists() else ""
        err = self._err.read_text() if self._err.exists() else ""
        self._dir.cleanup()
        return out, err
