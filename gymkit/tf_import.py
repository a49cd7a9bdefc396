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
    """The ``tensorflow`` module, imported (with Keras and the CPU device) quietly the first time."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own INFO and WARNING lines
    if os.environ.get("GYMKIT_TF_LOGS") == "1":
        import keras  # noqa: F401
        import tensorflow as tf

        return tf
    with native_stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_logical_devices("CPU")  # device set-up writes the cuInit line
    return tf
