"""Shared fixtures: a quiet TensorFlow, a CLI runner (fresh process or in process), and tiny test envs."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m gymkit.cli ARGS`` in a fresh process and capture its output."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gymkit.cli", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )


def run_cli_in_process(*args: str) -> subprocess.CompletedProcess:
    """Run ``gymkit.cli.main(ARGS)`` in this process; the result reads like :func:`run_cli`'s.

    For tests where a fresh process is not the point: it saves the interpreter start and,
    for the TensorFlow agents, the TensorFlow import (5-10 s) of a subprocess. The return
    code is ``main``'s, or the code of a ``SystemExit`` (argparse's errors); an exception
    that would end a real process with a traceback propagates, failing the test. What the
    command changes of this process is put back: SIGINT/SIGTERM handlers (the train loop
    installs its own while it runs) and the working directory. Callers that compare bytes
    with a subprocess run (which sets ``PYTHONHASHSEED=0``) check that nothing depends on
    this process's hash seed.
    """
    from gymkit.cli import main

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # what the interpreter would make of it
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        os.chdir(cwd)
    return subprocess.CompletedProcess(["gymkit", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep ``--dist loadgroup`` grouping on pytest 9.2 (pytest-xdist issue #1386).

    An xdist worker appends ``@GROUP`` to the node id of each test marked
    ``xdist_group(GROUP)``, and the controller sends the tests of one group to one worker
    by that suffix. pytest 9.2 holds node ids in a structured ``_id`` that xdist 3.8's
    assignment no longer reaches, so the groups silently fall apart. This appends the
    suffix where it is missing (the same string xdist would write); with an xdist that
    does it, every id already carries it and nothing changes.
    """
    if not (hasattr(config, "workerinput") and config.getvalue("loadgroup")):
        return
    for item in items:
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                 for m in item.iter_markers("xdist_group")}
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            item._id = type(item._id).parse(item.nodeid + suffix)
