"""Import TensorFlow (and Keras) once, without the native start-up lines on stderr.

Importing TensorFlow's pip package on a machine without a GPU writes lines such as
``WARNING: All log messages before absl::InitializeLog() is called ...``, ``Could not find cuda
drivers on your machine`` and ``failed call to cuInit`` straight to file descriptor 2, from C++,
before ``TF_CPP_MIN_LOG_LEVEL`` is read. Every gymkit entry point that needs TensorFlow (the
DQN and REINFORCE agents, the encoders, pretraining) calls :func:`tensorflow` first, which
points descriptor 2 at ``/dev/null`` for the import and the CPU device set-up only, then puts
it back; later imports find the module already loaded. ``GYMKIT_TF_LOGS=1`` keeps the lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: whether :func:`freeze_imported_objects` has run in this process
_FROZEN = False


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what C++ writes to file descriptor 2 to /dev/null inside the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def tensorflow() -> Any:
    """The ``tensorflow`` module, imported (with Keras and the CPU device) quietly the first
    time, and the objects the import made frozen (:func:`freeze_imported_objects`)."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        freeze_imported_objects()  # once, also when the caller imported TensorFlow itself
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own INFO and WARNING lines
    if os.environ.get("GYMKIT_TF_LOGS") == "1":
        import keras  # noqa: F401
        import tensorflow as tf

        freeze_imported_objects()
        return tf
    with native_stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_logical_devices("CPU")  # device set-up writes the cuInit line
    freeze_imported_objects()
    return tf


def freeze_imported_objects() -> None:
    """Move every object alive now (TensorFlow's and Keras's modules, some 370,000 of them)
    out of the garbage collector's reach (``gc.freeze``).

    They live as long as the process anyway, but each full collection walked them all again:
    tracing a Nature-CNN DQN update creates enough objects to trigger several, which made up
    half of its 0.35-0.39 s (0.17-0.18 s frozen, on a 2-core AMD EPYC). Objects created later
    are collected as before.
    """
    global _FROZEN
    if not _FROZEN:
        import gc

        gc.freeze()  # (no gc.collect() first: it costs 0.15 s and finds nothing right after the import)
        _FROZEN = True


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN kernels (convolutions, matrix products) in this process.

    TensorFlow turns them on by default on x86 CPUs with AVX-512 VNNI, BF16 or AMX, and off on
    others (an AVX2-only core); ``TF_ENABLE_ONEDNN_OPTS=0`` or ``1`` forces the choice. With them
    on, a Nature-CNN DQN update ran 17.9 ms with TensorFlow's kernels against 22.7 ms under XLA
    on a 2-core AMD EPYC with AVX-512; with them off, 25.0 ms against 21.7 ms
    (``bench/results/speed.md``): ``jit_step: auto`` reads this to pick the faster path.
    """
    tensorflow()
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # a TensorFlow without it: its documented default on x86
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false", "False")
    return bool(_pywrap_util_port.IsMklEnabled())
